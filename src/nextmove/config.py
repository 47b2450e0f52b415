"""Settings: the only module that reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///nextmove.db"


class Settings(BaseSettings):
    """Runtime configuration, read from ``NEXTMOVE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="NEXTMOVE_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    auto_migrate: bool = Field(
        default=True, description="Bring the schema to the newest revision when opening."
    )
    import_batch_rows: int = Field(default=200_000, ge=1_000, le=5_000_000)
    mapping_dirs: tuple[Path, ...] = Field(
        default=(), description="Extra folders searched for column mappings by name."
    )
    user: str | None = Field(
        default=None, description="The acting user's id (NEXTMOVE_USER); checked against its token."
    )
    token: SecretStr | None = Field(
        default=None, description="The acting user's secret token (NEXTMOVE_TOKEN)."
    )

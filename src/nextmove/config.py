"""Settings: the only module that reads the environment."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "environment"]

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
    connectors_file: Path | None = Field(
        default=None,
        description=(
            "YAML file of the connectors actions are sent through; without one every "
            "action goes to a dry-run connector that reaches nobody."
        ),
    )
    dispatch_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description=(
            "How long a claimed outbox item is held; after a crash mid-send it is sent "
            "again (same idempotency key) once this has passed."
        ),
    )
    dispatch_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Outbox items one dispatch pass claims."
    )
    approval_hours: float = Field(
        default=72.0, gt=0, le=24 * 90, description="How long a requested approval stays open."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="Serve Prometheus metrics of `nextmove run` here.",
    )


def environment() -> dict[str, str]:
    """Return the process environment, for ``env:NAME`` references in the connectors file."""
    return dict(os.environ)

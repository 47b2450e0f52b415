"""What every command that works on the store shares: the database option and the Engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from nextmove.bootstrap import system_clock
from nextmove.config import Settings
from nextmove.engine import Engine

__all__ = ["DatabaseOption", "open_engine"]

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "-d",
        help="SQLAlchemy URL (default: NEXTMOVE_DATABASE_URL or sqlite:///nextmove.db)",
        show_default=False,
    ),
]


@contextmanager
def open_engine(
    database_url: str | None,
    *,
    auto_migrate: bool | None = None,
    connectors_file: Path | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[Engine]:
    """The Engine, acting as the configured identity (NEXTMOVE_USER + NEXTMOVE_TOKEN)."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    if auto_migrate is not None:
        settings = settings.model_copy(update={"auto_migrate": auto_migrate})
    if connectors_file is not None:
        settings = settings.model_copy(update={"connectors_file": connectors_file})
    # The clock is looked up here, at call time, so tests can move it.
    with Engine.open(settings=settings, clock=clock or system_clock) as engine:
        yield engine

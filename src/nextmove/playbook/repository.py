"""Every query of the playbook part: stored versions, and the catalog rules refer to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from nextmove.playbook.model import PlaybookVersion
from nextmove.store import tables as t

__all__ = ["PlaybookRepository"]


class PlaybookRepository:
    """Reads and writes of ``playbook_versions`` (and catalog ids) on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def latest(self) -> PlaybookVersion | None:
        """Return the newest version (the active one), or None when none was applied."""
        table = t.playbook_versions
        query = select(table).order_by(table.c.version.desc()).limit(1)
        row = self._connection.execute(query).mappings().first()
        return _version(row) if row else None

    def latest_key(self) -> tuple[int, str] | None:
        """Return the newest version's number and content hash (not its text), or None."""
        row = self._connection.execute(_LATEST_KEY).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def get(self, version: int) -> PlaybookVersion | None:
        """Return one version, or None."""
        table = t.playbook_versions
        row = (
            self._connection.execute(select(table).where(table.c.version == version))
            .mappings()
            .first()
        )
        return _version(row) if row else None

    def history(self, limit: int | None = None) -> list[PlaybookVersion]:
        """Return stored versions, newest first."""
        table = t.playbook_versions
        query = select(table).order_by(table.c.version.desc()).limit(limit)
        return [_version(row) for row in self._connection.execute(query).mappings()]

    def add(
        self,
        *,
        content: str,
        content_hash: str,
        author: str,
        message: str,
        created_at: datetime,
        rollback_of: int | None = None,
    ) -> PlaybookVersion:
        """Store a new version and return it."""
        result = self._connection.execute(
            insert(t.playbook_versions).values(
                content=content,
                content_hash=content_hash,
                author=author,
                message=message,
                created_at=created_at,
                rollback_of=rollback_of,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        stored = self.get(int(key[0]))
        assert stored is not None
        return stored

    def product_ids(self) -> frozenset[str]:
        """Return the ids of every stored product (active or not)."""
        return frozenset(self._connection.execute(select(t.products.c.product_id)).scalars())

    def team_ids(self) -> frozenset[str]:
        """Return the ids of every stored team."""
        return frozenset(self._connection.execute(select(t.teams.c.team_id)).scalars())

    def count(self) -> int:
        """Return how many versions are stored."""
        query = select(func.count()).select_from(t.playbook_versions)
        return int(self._connection.execute(query).scalar_one())


_LATEST_KEY = (
    select(t.playbook_versions.c.version, t.playbook_versions.c.content_hash)
    .order_by(t.playbook_versions.c.version.desc())
    .limit(1)
)
"""Built once: every decision asks which playbook is in force."""


def _version(row: Any) -> PlaybookVersion:
    return PlaybookVersion(
        version=row["version"],
        content=row["content"],
        content_hash=row["content_hash"],
        author=row["author"],
        message=row["message"],
        created_at=row["created_at"],
        rollback_of=row["rollback_of"],
    )

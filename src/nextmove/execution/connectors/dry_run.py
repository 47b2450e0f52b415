"""Dry run: records what would have been sent, and never reaches anyone."""

from __future__ import annotations

from pathlib import Path

from nextmove.execution.connectors.base import action_document
from nextmove.execution.errors import RetryableSendError
from nextmove.execution.model import OutboxItem, Receipt, canonical_json

__all__ = ["DryRunConnector"]


class DryRunConnector:
    """Appends each item's document to a JSON Lines file (when ``path`` is given).

    Without a file the outbox row itself (payload, status ``sent``, receipt marked
    ``dry_run``) is the record. A re-sent item is appended again: the lines carry the
    idempotency key, exactly as a receiver would see the repeat.
    """

    def __init__(self, *, name: str, path: Path | None = None) -> None:
        self._name = name
        self._path = path

    @property
    def name(self) -> str:
        return self._name

    def send(self, item: OutboxItem) -> Receipt:
        """Record the item; only a file that cannot be written stops it."""
        if self._path is not None:
            line = canonical_json({"connector": self._name, "document": action_document(item)})
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as file:
                    file.write(line + "\n")
            except OSError as exc:
                raise RetryableSendError(f"could not write {self._path}: {exc}") from exc
        details = {"dry_run": True, "file": str(self._path) if self._path else None}
        return Receipt(details=details)

    def close(self) -> None:
        return None

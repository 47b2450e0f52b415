"""CRM task export: one CSV row per item, in Salesforce's or HubSpot's task import layout.

Salesforce columns are the Task object's API field names (Data Loader and the import
wizard map them by name); HubSpot columns are the task properties' internal names
(``hs_task_subject``, ``hs_timestamp``, …), which HubSpot's importer maps by name too.
A last column, ``Nextmove Key``, holds the idempotency key: leave it unmapped on import,
or map it to a custom field to de-duplicate on the CRM side as well.

Writing is idempotent and safe to interrupt: under an exclusive file lock the key column
is read (once, then again only when the file changed behind our back), a key already
there is not written again, and each row is written, flushed and fsynced as one line. A
row torn by a crash is cut off before the next append, and its item, never marked sent,
is written again whole. Line breaks inside values become `` / `` so a row is one line.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Literal

from nextmove.execution.connectors.tasks import Task, TaskTemplate
from nextmove.execution.errors import PermanentSendError, RetryableSendError
from nextmove.execution.model import OutboxItem, Receipt

__all__ = [
    "HUBSPOT_COLUMNS",
    "KEY_COLUMN",
    "SALESFORCE_COLUMNS",
    "CrmExportConnector",
    "CrmFormat",
    "TaskCsvFile",
    "hubspot_row",
    "salesforce_row",
]

CrmFormat = Literal["salesforce", "hubspot"]
KEY_COLUMN = "Nextmove Key"
SALESFORCE_COLUMNS = (
    "Subject",
    "WhoId",
    "WhatId",
    "OwnerId",
    "ActivityDate",
    "Status",
    "Priority",
    "Description",
    "TaskSubtype",
    KEY_COLUMN,
)
HUBSPOT_COLUMNS = (
    "hs_task_subject",
    "hs_task_body",
    "hs_timestamp",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hubspot_owner_id",
    "Nextmove Account",
    KEY_COLUMN,
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def salesforce_row(task: Task) -> dict[str, str]:
    """Return ``task`` as a row of Salesforce's Task import."""
    return {
        "Subject": task.subject,
        "WhoId": task.contact,
        "WhatId": task.account,
        "OwnerId": task.owner,
        "ActivityDate": task.due.isoformat(),
        "Status": "Not Started",
        "Priority": task.priority.capitalize(),
        "Description": task.description,
        "TaskSubtype": {"call": "Call", "email": "Email", "todo": "Task"}[task.task_type],
        KEY_COLUMN: task.key,
    }


def hubspot_row(task: Task) -> dict[str, str]:
    """Return ``task`` as a row of HubSpot's task import (due at midnight UTC)."""
    return {
        "hs_task_subject": task.subject,
        "hs_task_body": task.description,
        "hs_timestamp": f"{task.due.isoformat()}T00:00:00Z",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": {"high": "HIGH", "normal": "MEDIUM", "low": "LOW"}[task.priority],
        "hs_task_type": task.task_type.upper(),
        "hubspot_owner_id": task.owner,
        "Nextmove Account": task.account,
        KEY_COLUMN: task.key,
    }


class TaskCsvFile:
    """An append-only CSV file with at most one row per key."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._columns = list(columns)
        self._key_index = self._columns.index(KEY_COLUMN)
        self._lock = threading.Lock()
        self._rows: dict[str, int] = {}
        self._known_size = -1

    def append(self, row: Mapping[str, str]) -> tuple[int, bool]:
        """Write ``row`` unless its key is there; return (its row number, whether written)."""
        key = row[KEY_COLUMN]
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
                size = self._load(handle)
                if key in self._rows:
                    return self._rows[key], False
                data = b"" if size else _line(self._columns)
                data += _line([_one_line(row.get(column, "")) for column in self._columns])
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                number = len(self._rows) + 1
                self._rows[key] = number
                self._known_size = size + len(data)
                return number, True

    def _load(self, handle: IO[bytes]) -> int:
        size = os.fstat(handle.fileno()).st_size
        if size == self._known_size:
            return size
        handle.seek(0)
        content = handle.read()
        if content and not content.endswith(b"\n"):
            content = content[: content.rfind(b"\n") + 1]  # a row torn by a crash
            handle.truncate(len(content))
        try:
            rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise PermanentSendError(f"{self.path} is not a readable CSV file: {exc}") from exc
        if rows and rows[0] != self._columns:
            raise PermanentSendError(
                f"{self.path} has the columns {rows[0]}, not {self._columns}: "
                "point the connector at a new file"
            )
        self._rows = {
            row[self._key_index]: number
            for number, row in enumerate(rows[1:], start=1)
            if len(row) > self._key_index
        }
        self._known_size = len(content)
        return len(content)


class CrmExportConnector:
    """Appends one task row per item to a Salesforce or HubSpot import file."""

    def __init__(
        self,
        *,
        name: str,
        crm: CrmFormat,
        path: Path,
        template: TaskTemplate | None = None,
    ) -> None:
        self._name = name
        self._crm = crm
        self._template = template or TaskTemplate()
        columns = SALESFORCE_COLUMNS if crm == "salesforce" else HUBSPOT_COLUMNS
        self._file = TaskCsvFile(path, columns)

    @property
    def name(self) -> str:
        return self._name

    def send(self, item: OutboxItem) -> Receipt:
        """Append the item's task row; a key already in the file is not written twice."""
        task = self._template.task(item)
        row = salesforce_row(task) if self._crm == "salesforce" else hubspot_row(task)
        try:
            number, written = self._file.append(row)
        except OSError as exc:
            raise RetryableSendError(f"could not write {self._file.path}: {exc}") from exc
        return Receipt(
            reference=f"{self._file.path.name}#{number}",
            details={"file": str(self._file.path), "row": number, "already_there": not written},
        )

    def close(self) -> None:
        return None


def _one_line(value: str) -> str:
    return _LINE_BREAK.sub(" / ", value)


def _line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")

"""Types of the foundation part: mappings, import summaries, quarantine entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ColumnMapping",
    "FileFormat",
    "ImportSummary",
    "QuarantineEntry",
]


class FileFormat(StrEnum):
    """Input file formats the importers read."""

    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"

    @classmethod
    def from_path(cls, path: Path) -> FileFormat | None:
        """Return the format a file name suggests, or None."""
        suffixes = [suffix.lower() for suffix in path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        ending = suffixes[-1] if suffixes else ""
        return {
            ".csv": cls.CSV,
            ".txt": cls.CSV,
            ".tsv": cls.CSV,
            ".parquet": cls.PARQUET,
            ".pq": cls.PARQUET,
            ".jsonl": cls.JSONL,
            ".ndjson": cls.JSONL,
            ".json": cls.JSONL,
        }.get(ending)


class ColumnMapping(BaseModel):
    """How the columns of one export become the fields of one record type.

    Loaded from YAML (see ``foundation/builtin_mappings/``); users copy and edit those files.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="record type this file holds: accounts, contacts, …")
    name: str = Field(default="custom", description="name shown in summaries")
    description: str = ""
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="record field → source column; fields not listed are read from a "
        "column of the same name when the file has one",
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="record field → {source value: canonical value}, matched ignoring case",
    )
    scale: dict[str, float] = Field(
        default_factory=dict, description="numeric field → factor applied after reading"
    )
    defaults: dict[str, str] = Field(
        default_factory=dict, description="field → value used when the source cell is empty"
    )
    date_formats: tuple[str, ...] = Field(
        default=(), description="strftime formats tried before ISO 8601 for dates and times"
    )
    list_separator: str = "|"
    delimiter: str | None = Field(default=None, description="CSV delimiter; sniffed when None")
    encoding: str = "utf-8"
    duplicates: Literal["quarantine", "keep_first"] = Field(
        default="quarantine",
        description="a key seen again in the same file: quarantine the repeat, or keep the "
        "first silently (for files that repeat a record on purpose, e.g. a team per rep row)",
    )
    segment_by_employees: dict[str, int] = Field(
        default_factory=dict,
        description="derive an empty segment from employees: {smb: 0, mid: 200, ent: 2000}",
    )


class ImportSummary(BaseModel):
    """What one import did: counts, where the rejected rows went, and notes for the user."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    kind: str
    file: str
    file_format: FileFormat
    mapping: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    duplicates: int
    quarantined_rows: int
    quarantine_entries: int
    notes: tuple[str, ...] = ()
    status: str = "finished"
    started_at: datetime
    finished_at: datetime

    @property
    def imported(self) -> int:
        """Rows that landed (new, changed or confirmed unchanged)."""
        return self.inserted + self.updated + self.unchanged


class QuarantineEntry(BaseModel):
    """One rejected value: which file and row, which field, what it was, and why."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    kind: str
    file: str
    row_number: int | None
    field: str | None
    value: str | None
    reason: str
    record: str | None = None

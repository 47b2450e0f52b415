"""The same records from CSV, Parquet (typed columns) and JSON Lines are stored identically."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from nextmove import Engine
from nextmove.foundation.repository import FoundationRepository
from nextmove.store import UnitOfWork, tables

PLUS_TWO = timezone(timedelta(hours=2))

# Typed records, written by each format in its own way; every kind has every field listed
# so that all three files have the same columns.
RECORDS: dict[str, list[dict[str, Any]]] = {
    "accounts": [
        {
            "account_id": "a1",
            "name": "Acme, Inc.",
            "segment": "smb",
            "employees": 120,
            "annual_revenue": 1_500_000.5,
            "parent_account_id": None,
            "created_on": date(2020, 1, 31),
        },
        {
            "account_id": "a2",
            "name": 'Globex "GX"',
            "segment": "ent",
            "employees": 2_500,
            "annual_revenue": None,
            "parent_account_id": "a1",
            "created_on": None,
        },
    ],
    "products": [
        {
            "product_id": "p1",
            "name": "Core",
            "list_price": 100.0,
            "prerequisites": [],
            "active": True,
            "last_reviewed": date(2026, 1, 2),
        },
        {
            "product_id": "p2",
            "name": "Plus",
            "list_price": 249.99,
            "prerequisites": ["p1"],
            "active": False,
            "last_reviewed": None,
        },
        {
            "product_id": "p3",
            "name": "Max",
            "list_price": None,
            "prerequisites": ["p1", "p2"],
            "active": True,
            "last_reviewed": None,
        },
    ],
    "contacts": [
        {
            "contact_id": "c1",
            "account_id": "a1",
            "email": "ann@acme.com",
            "email_consent": "opted_in",
            "do_not_contact": False,
        },
        {
            "contact_id": "c2",
            "account_id": "a2",
            "email": None,
            "email_consent": "opted_out",
            "do_not_contact": True,
        },
    ],
    "holdings": [
        {
            "account_id": "a1",
            "product_id": "p1",
            "since": date(2021, 6, 1),
            "quantity": 3,
            "annual_value": 300.0,
        },
        {
            "account_id": "a2",
            "product_id": "p2",
            "since": None,
            "quantity": 0,
            "annual_value": None,
        },
    ],
    "opportunities": [
        {
            "opportunity_id": "o1",
            "account_id": "a1",
            "product_id": "p2",
            "stage": "won",
            "amount": 1_200.5,
            "created_on": date(2026, 1, 15),
            "close_date": date(2026, 3, 31),
        },
        {
            "opportunity_id": "o2",
            "account_id": "a2",
            "product_id": None,
            "stage": "negotiation",
            "amount": None,
            "created_on": None,
            "close_date": None,
        },
    ],
    "signals": [
        {
            "event_id": "e1",
            "account_id": "a1",
            "product_id": "p1",
            "signal_type": "usage_score",
            "value": 0.75,
            "occurred_at": datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        },
        {
            "event_id": "e2",
            "account_id": "a2",
            "product_id": None,
            "signal_type": "web_visit",
            "value": 1.0,
            "occurred_at": datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=PLUS_TWO),
        },
    ],
}
KEYS = {
    "accounts": ["account_id"],
    "products": ["product_id"],
    "contacts": ["contact_id"],
    "holdings": ["account_id", "product_id"],
    "opportunities": ["opportunity_id"],
    "signals": ["event_id"],
}
ID_FIELDS = {"account_id", "parent_account_id", "product_id", "contact_id", "opportunity_id"}
ID_FIELDS |= {"event_id"}
PARQUET_TYPES: dict[str, pl.DataType] = {
    "employees": pl.Int64(),
    "quantity": pl.Int64(),
    "annual_revenue": pl.Float64(),
    "list_price": pl.Float64(),
    "annual_value": pl.Float64(),
    "amount": pl.Float64(),
    "value": pl.Float64(),
    "active": pl.Boolean(),
    "do_not_contact": pl.Boolean(),
    "created_on": pl.Date(),
    "last_reviewed": pl.Date(),
    "since": pl.Date(),
    "close_date": pl.Date(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "prerequisites": pl.List(pl.String()),
}


def prefixed(kind: str, prefix: str) -> list[dict[str, Any]]:
    """The records of ``kind`` with every id prefixed, so formats can share one database."""

    def rename(name: str, value: Any) -> Any:
        if name in ID_FIELDS and value is not None:
            return prefix + value
        if name == "prerequisites":
            return [prefix + item for item in value]
        return value

    return [{name: rename(name, value) for name, value in r.items()} for r in RECORDS[kind]]


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return "|".join(value)
        return str(value)

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(records[0])
        writer.writerows([text(value) for value in record.values()] for record in records)
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    lines = [json.dumps({k: plain(v) for k, v in record.items()}) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    """Typed columns: Int64, Float64, Boolean, Date, Datetime in Europe/Paris, List(String)."""
    names = list(records[0])
    schema = {name: PARQUET_TYPES.get(name, pl.String()) for name in names}
    frame = pl.DataFrame(records, schema=schema, orient="row")
    if "occurred_at" in names:
        frame = frame.with_columns(pl.col("occurred_at").dt.convert_time_zone("Europe/Paris"))
    frame.write_parquet(path)
    return path


def stored(engine: Engine, kind: str, prefix: str) -> pl.DataFrame:
    """Stored records of ``kind`` whose ids start with ``prefix``, with the prefix removed."""
    with UnitOfWork(engine.database) as uow:
        frame = FoundationRepository(uow.connection).frame(kind)
    frame = frame.filter(pl.col(KEYS[kind][-1]).str.starts_with(prefix))
    return frame.with_columns(
        *[pl.col(c).str.strip_prefix(prefix) for c in frame.columns if c in ID_FIELDS],
        *[
            pl.col(c).list.eval(pl.element().str.strip_prefix(prefix))
            for c in ("prerequisites", "related")
            if c in frame.columns
        ],
    ).sort(KEYS[kind])


def stored_relations(engine: Engine) -> list[tuple[str, str, str]]:
    relations = tables.product_relations
    query = select(relations.c.product_id, relations.c.related_id, relations.c.relation)
    with UnitOfWork(engine.database) as uow:
        return sorted(tuple(row) for row in uow.connection.execute(query))


Writer = Callable[[Path, list[dict[str, Any]]], Path]


FORMATS: dict[str, tuple[str, Writer]] = {
    "csv": ("csv", write_csv),
    "parquet": ("parquet", write_parquet),
    "jsonl": ("jsonl", write_jsonl),
}


def import_everything(engine: Engine, tmp_path: Path, fmt: str, prefix: str) -> None:
    suffix, writer = FORMATS[fmt]
    for kind in RECORDS:
        path = writer(tmp_path / f"{prefix}{kind}.{suffix}", prefixed(kind, prefix))
        summary = engine.import_file(kind, path)
        assert (summary.inserted, summary.quarantined_rows) == (len(RECORDS[kind]), 0), (
            fmt,
            kind,
            engine.quarantined(run_id=summary.run_id),
        )


def test_csv_parquet_and_jsonl_store_identical_records(engine: Engine, tmp_path: Path) -> None:
    for fmt in FORMATS:
        import_everything(engine, tmp_path, fmt, prefix=f"{fmt}-")

    for kind, records in RECORDS.items():
        from_csv = stored(engine, kind, "csv-")
        expected = [tuple(record.values()) for record in records]
        assert from_csv.select(list(records[0])).rows() == expected, kind
        for fmt in ("parquet", "jsonl"):
            other = stored(engine, kind, f"{fmt}-")
            assert other.equals(from_csv), (kind, fmt, other, from_csv)

    assert stored(engine, "signals", "csv-")["occurred_at"].to_list() == [
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 30, 15, 250_000, tzinfo=UTC),
    ]
    assert stored_relations(engine) == sorted(
        (f"{fmt}-{product}", f"{fmt}-{prerequisite}", "prerequisite")
        for fmt in FORMATS
        for product, prerequisite in (("p2", "p1"), ("p3", "p1"), ("p3", "p2"))
    )


@pytest.mark.parametrize("second", ["parquet", "jsonl"])
def test_the_same_records_in_another_format_change_nothing(
    engine: Engine, tmp_path: Path, second: str
) -> None:
    import_everything(engine, tmp_path / "", "csv", prefix="")
    before = {kind: stored(engine, kind, "") for kind in RECORDS}
    suffix, writer = FORMATS[second]
    for kind, records in RECORDS.items():
        summary = engine.import_file(kind, writer(tmp_path / f"again-{kind}.{suffix}", records))
        if kind == "signals":
            assert (summary.inserted, summary.duplicates) == (0, len(records))
        else:
            assert (summary.inserted, summary.updated, summary.unchanged) == (
                0,
                0,
                len(records),
            ), kind
        assert stored(engine, kind, "").equals(before[kind]), kind


def test_a_parquet_list_column_of_prerequisites_lands(engine: Engine, tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "products.parquet", RECORDS["products"])
    assert pl.read_parquet_schema(path)["prerequisites"] == pl.List(pl.String)
    summary = engine.import_file("products", path)
    assert (summary.inserted, summary.quarantined_rows) == (3, 0)
    assert stored_relations(engine) == [
        ("p2", "p1", "prerequisite"),
        ("p3", "p1", "prerequisite"),
        ("p3", "p2", "prerequisite"),
    ]

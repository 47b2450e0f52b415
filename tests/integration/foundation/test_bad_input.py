"""Bad input, on SQLite and PostgreSQL: bad rows go to quarantine with a reason, good rows
land typed, unreadable files fail with a clear message — and nothing stored is damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from nextmove import Engine, ImportFailed, Settings
from nextmove.foundation.model import ImportSummary
from nextmove.foundation.repository import FoundationRepository
from nextmove.store import UnitOfWork, tables

UNKNOWN_ACCOUNT = (
    "unknown account: no account with this id is stored or in this file (import accounts first)"
)
UNKNOWN_PRODUCT = (
    "unknown product: no product with this id is stored or in this file (import products first)"
)
KEYS = {
    "accounts": ["account_id"],
    "contacts": ["contact_id"],
    "products": ["product_id"],
    "holdings": ["account_id", "product_id"],
    "opportunities": ["opportunity_id"],
    "signals": ["event_id"],
}


# --- factories and readers ----------------------------------------------------------


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def write_jsonl(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_truncated_parquet(path: Path, frame: pl.DataFrame, cut: int = 16) -> Path:
    """A Parquet file with its last ``cut`` bytes (the footer) missing."""
    frame.write_parquet(path)
    path.write_bytes(path.read_bytes()[:-cut])
    return path


def stored(engine: Engine, kind: str) -> pl.DataFrame:
    """Every stored record of ``kind``, in key order."""
    with UnitOfWork(engine.database) as uow:
        return FoundationRepository(uow.connection).frame(kind).sort(KEYS[kind])


def stored_relations(engine: Engine) -> list[tuple[str, str, str]]:
    """(product, related product, relation) rows, sorted."""
    relations = tables.product_relations
    query = select(relations.c.product_id, relations.c.related_id, relations.c.relation)
    with UnitOfWork(engine.database) as uow:
        return sorted(tuple(row) for row in uow.connection.execute(query))


def tally(summary: ImportSummary) -> dict[str, int]:
    return {
        "read": summary.rows_read,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined_rows,
    }


def counts(
    read: int,
    inserted: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    duplicates: int = 0,
    quarantined: int = 0,
) -> dict[str, int]:
    return {
        "read": read,
        "inserted": inserted,
        "updated": updated,
        "unchanged": unchanged,
        "duplicates": duplicates,
        "quarantined": quarantined,
    }


def quarantined(engine: Engine, summary: ImportSummary) -> list[tuple[object, ...]]:
    """(row, field, value, reason) of each quarantine entry of one run, in file order."""
    return [
        (entry.row_number, entry.field, entry.value, entry.reason)
        for entry in engine.quarantined(run_id=summary.run_id, limit=1_000)
    ]


def seed(engine: Engine, tmp_path: Path) -> None:
    """Two accounts and two products, for the records that reference them."""
    engine.import_file(
        "accounts",
        write_csv(
            tmp_path / "seed-accounts.csv",
            "account_id,name,domain,employees,annual_revenue,segment,created_on",
            "a1,Acme,acme.com,120,1500000.5,smb,2020-01-31",
            "a2,Globex,globex.com,2500,,ent,",
        ),
    )
    engine.import_file(
        "products",
        write_csv(
            tmp_path / "seed-products.csv",
            "product_id,name,list_price",
            "p1,Core,100",
            "p2,Plus,250",
        ),
    )


# --- files that cannot be read ------------------------------------------------------


def test_a_missing_required_column_fails_naming_it_and_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    before = stored(engine, "accounts")
    path = write_csv(tmp_path / "accounts.csv", "account_id,nam,employees", "a1,Renamed,5")

    with pytest.raises(ImportFailed) as failure:
        engine.import_file("accounts", path)

    message = str(failure.value)
    assert "missing required column(s) for accounts: name (column 'name')" in message
    assert "the file has 'account_id', 'nam', 'employees'" in message
    run = engine.imports()[0]
    assert (run.status, run.kind, run.file, run.rows_read, run.inserted) == (
        "failed",
        "accounts",
        str(path),
        0,
        0,
    )
    assert run.notes == (message,)
    assert engine.quarantined(run_id=run.run_id) == []
    assert stored(engine, "accounts").equals(before)


def test_a_semicolon_file_is_detected_and_noted(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        "account_id;name;employees;annual_revenue",
        "a1;Acme, Inc.;10;1200.5",
        "a2;Globex;2500;",
    )
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=2, inserted=2)
    assert summary.notes == ("read as semicolon-delimited (detected from the header)",)
    rows = stored(engine, "accounts").select("account_id", "name", "employees", "annual_revenue")
    assert rows.rows() == [("a1", "Acme, Inc.", 10, 1200.5), ("a2", "Globex", 2500, None)]


def test_a_forced_wrong_delimiter_fails_with_a_delimiter_hint(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "accounts.csv", "account_id;name", "a1;Acme")
    with pytest.raises(ImportFailed) as failure:
        engine.import_file("accounts", path, delimiter=",")
    message = str(failure.value)
    assert "the file has 'account_id;name'" in message
    assert "the header was read as one column: is the delimiter right? (--delimiter)" in message
    assert engine.imports()[0].status == "failed"
    assert engine.count("accounts") == 0


def _empty_csv(path: Path) -> Path:
    path = path.with_suffix(".csv")
    path.write_bytes(b"")
    return path


def _header_only_csv(path: Path) -> Path:
    return write_csv(path.with_suffix(".csv"), "account_id,name")


def _empty_jsonl(path: Path) -> Path:
    path = path.with_suffix(".jsonl")
    path.write_bytes(b"")
    return path


def _zero_row_parquet(path: Path) -> Path:
    path = path.with_suffix(".parquet")
    pl.DataFrame(schema={"account_id": pl.String, "name": pl.String}).write_parquet(path)
    return path


@pytest.mark.parametrize(
    ("make_file", "reason"),
    [
        (_empty_csv, r"is empty \(0 bytes\): there is nothing to import"),
        (_header_only_csv, "the file has a header but no rows"),
        (_empty_jsonl, r"is empty \(0 bytes\): there is nothing to import"),
        (_zero_row_parquet, "the file has a header but no rows"),
    ],
    ids=["empty-csv", "header-only-csv", "empty-jsonl", "zero-row-parquet"],
)
def test_a_file_without_rows_fails_and_changes_nothing(
    engine: Engine, tmp_path: Path, make_file: Callable[[Path], Path], reason: str
) -> None:
    seed(engine, tmp_path)
    before = stored(engine, "accounts")
    path = make_file(tmp_path / "accounts")
    with pytest.raises(ImportFailed, match=reason):
        engine.import_file("accounts", path)
    run = engine.imports()[0]
    assert (run.status, run.file) == ("failed", str(path))
    assert stored(engine, "accounts").equals(before)


def test_a_truncated_parquet_file_fails(engine: Engine, tmp_path: Path) -> None:
    path = write_truncated_parquet(
        tmp_path / "accounts.parquet",
        pl.DataFrame({"account_id": [f"a{i}" for i in range(50)], "name": ["N"] * 50}),
    )
    with pytest.raises(ImportFailed, match="is not a readable Parquet file"):
        engine.import_file("accounts", path)
    run = engine.imports()[0]
    assert run.status == "failed"
    assert "is not a readable Parquet file (truncated or not Parquet?)" in run.notes[0]
    assert engine.count("accounts") == 0


@pytest.mark.parametrize(
    ("column", "frame"),
    [
        ("name", pl.DataFrame({"account_id": ["a1"], "name": [["Acme", "Corp"]]})),
        (
            "employees",
            pl.DataFrame({"account_id": ["a1"], "name": ["Acme"], "employees": [timedelta(1)]}),
        ),
    ],
    ids=["list-for-text", "duration-for-number"],
)
def test_a_parquet_column_of_an_unusable_type_is_reported(
    engine: Engine, tmp_path: Path, column: str, frame: pl.DataFrame
) -> None:
    path = tmp_path / "accounts.parquet"
    frame.write_parquet(path)
    try:
        summary = engine.import_file("accounts", path)
    except ImportFailed as exc:
        assert column in str(exc)
        assert engine.imports()[0].status == "failed"
    else:
        assert tally(summary) == counts(read=1, quarantined=1)
        assert [entry[:2] for entry in quarantined(engine, summary)] == [(1, column)]
    assert engine.count("accounts") == 0


# --- bad values ---------------------------------------------------------------------


def test_impossible_dates_are_quarantined_and_the_other_rows_land(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        "account_id,name,created_on",
        "a1,Feb 31,31/02/2026",
        "a2,Month 13,2026-13-01",
        "a3,Leap,2024-02-29",
        "a4,No leap,2026-02-29",
        "a5,Plain,2026-02-28",
    )
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=5, inserted=2, quarantined=3)
    reason = "expected a date like 2026-03-31"
    assert quarantined(engine, summary) == [
        (2, "created_on", "31/02/2026", reason),
        (3, "created_on", "2026-13-01", reason),
        (5, "created_on", "2026-02-29", reason),
    ]
    rows = stored(engine, "accounts").select("account_id", "created_on").rows()
    assert rows == [("a3", date(2024, 2, 29)), ("a5", date(2026, 2, 28))]


def test_negative_amounts_and_quantities_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    opportunities = engine.import_file(
        "opportunities",
        write_csv(
            tmp_path / "opportunities.csv",
            "opportunity_id,account_id,product_id,stage,amount",
            "o1,a1,p1,won,-5",
            "o2,a1,p1,won,0",
            "o3,a2,p2,lost,1200.75",
        ),
    )
    holdings = engine.import_file(
        "holdings",
        write_csv(
            tmp_path / "holdings.csv",
            "account_id,product_id,quantity,annual_value",
            "a1,p1,-1,10",
            "a1,p2,3,-0.5",
            "a2,p1,0,",
        ),
    )
    assert tally(opportunities) == counts(read=3, inserted=2, quarantined=1)
    assert quarantined(engine, opportunities) == [(2, "amount", "-5", "must be at least 0")]
    assert stored(engine, "opportunities").select("opportunity_id", "stage", "amount").rows() == [
        ("o2", "won", 0.0),
        ("o3", "lost", 1200.75),
    ]
    assert tally(holdings) == counts(read=3, inserted=1, quarantined=2)
    assert quarantined(engine, holdings) == [
        (2, "quantity", "-1", "must be at least 0"),
        (3, "annual_value", "-0.5", "must be at least 0"),
    ]
    assert stored(engine, "holdings").rows() == [("a2", "p1", None, 0, None)]


@pytest.mark.parametrize(
    ("kind", "lines"),
    [
        ("contacts", ["contact_id,account_id,email", "c1,a1,x@acme.com", "c2,zz,y@zz.com"]),
        (
            "signals",
            [
                "event_id,account_id,signal_type,occurred_at",
                "e1,a1,web_visit,2026-03-01T10:00:00Z",
                "e2,zz,web_visit,2026-03-01T10:00:00Z",
            ],
        ),
        ("holdings", ["account_id,product_id,quantity", "a1,p1,2", "zz,p1,2"]),
        (
            "opportunities",
            ["opportunity_id,account_id,product_id,stage", "o1,a1,p1,won", "o2,zz,p1,won"],
        ),
    ],
)
def test_an_unknown_account_is_quarantined(
    engine: Engine, tmp_path: Path, kind: str, lines: list[str]
) -> None:
    seed(engine, tmp_path)
    summary = engine.import_file(kind, write_csv(tmp_path / f"{kind}.csv", *lines))
    assert tally(summary) == counts(read=2, inserted=1, quarantined=1)
    assert quarantined(engine, summary) == [(3, "account_id", "zz", UNKNOWN_ACCOUNT)]
    assert stored(engine, kind)["account_id"].to_list() == ["a1"]


@pytest.mark.parametrize(
    ("kind", "lines", "landed"),
    [
        ("holdings", ["account_id,product_id", "a1,p1", "a1,pz"], [("a1", "p1")]),
        (
            "opportunities",
            ["opportunity_id,account_id,product_id,stage", "o1,a1,p1,won", "o2,a1,pz,won"],
            [("o1",)],
        ),
        (
            "signals",
            [
                "event_id,account_id,product_id,signal_type,occurred_at",
                "e1,a1,p1,trial_started,2026-03-01",
                "e2,a1,pz,trial_started,2026-03-01",
            ],
            [("e1",)],
        ),
        (
            # A prerequisite may be stored already (p1) or further down the same file (p6).
            "products",
            ["product_id,name,prerequisites", "p3,Add-on,p1|p6", "p4,Broken,p1|pz", "p6,Base,"],
            [("p1",), ("p2",), ("p3",), ("p6",)],
        ),
    ],
)
def test_an_unknown_product_is_quarantined(
    engine: Engine, tmp_path: Path, kind: str, lines: list[str], landed: list[tuple[str, ...]]
) -> None:
    seed(engine, tmp_path)
    summary = engine.import_file(kind, write_csv(tmp_path / f"{kind}.csv", *lines))
    field = "prerequisites" if kind == "products" else "product_id"
    assert quarantined(engine, summary) == [(3, field, "pz", UNKNOWN_PRODUCT)]
    assert summary.quarantined_rows == 1
    assert summary.inserted == len(lines) - 2
    assert stored(engine, kind).select(KEYS[kind]).rows() == landed


def test_a_huge_field_is_quarantined_and_its_value_clipped(engine: Engine, tmp_path: Path) -> None:
    huge = "x" * 2_000_000
    path = write_csv(tmp_path / "accounts.csv", "account_id,name", f"a1,{huge}", "a2,Small")
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=2, inserted=1, quarantined=1)
    [entry] = engine.quarantined(run_id=summary.run_id)
    assert (entry.row_number, entry.field) == (2, "name")
    assert entry.reason == "is 2000000 characters long; at most 300 allowed"
    assert entry.value == "x" * 500 + "… (2,000,000 characters)"
    assert entry.record is not None and len(entry.record) == 2_001
    assert entry.record.startswith('{"account_id": "a1", "name": "xxx')
    assert stored(engine, "accounts").select("account_id", "name").rows() == [("a2", "Small")]


def test_ragged_rows_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        "account_id,name,employees",
        "a1,Acme,10,surplus",
        "a2,Globex",
        "a3,Initech,30",
    )
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=3, inserted=1, quarantined=2)
    assert quarantined(engine, summary) == [
        (2, None, "a1,Acme,10,surplus", "row has 4 fields; the header has 3"),
        (3, None, "a2,Globex", "row has 2 fields; the header has 3"),
    ]
    assert stored(engine, "accounts").select("account_id", "employees").rows() == [("a3", 30)]


def test_an_invalid_json_line_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text(
        '{"account_id": "a1", "name": "Acme", "employees": 10}\n'
        '{"account_id": "a2", "name": Globex}\n'
        '{"account_id": "a3", "name": "Initech", "employees": 30}\n',
        encoding="utf-8",
    )
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=3, inserted=2, quarantined=1)
    assert quarantined(engine, summary) == [
        (
            2,
            None,
            '{"account_id": "a2", "name": Globex}',
            "not valid JSON: Expecting value at column 30",
        )
    ]
    assert stored(engine, "accounts").select("account_id", "employees").rows() == [
        ("a1", 10),
        ("a3", 30),
    ]


def test_an_invalid_first_json_line_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text(
        '{"account_id": "a1", \n{"account_id": "a2", "name": "Globex"}\n', encoding="utf-8"
    )
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=2, inserted=1, quarantined=1)
    [(row, field, value, reason)] = quarantined(engine, summary)
    assert (row, field, value) == (1, None, '{"account_id": "a1",')
    assert reason.startswith("not valid JSON: ")
    assert stored(engine, "accounts").select("account_id", "name").rows() == [("a2", "Globex")]


def test_json_keys_missing_from_the_first_line_are_imported(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "accounts.jsonl",
        {"account_id": "a1", "name": "Acme"},
        {"account_id": "a2", "name": "Globex", "employees": 2500},
    )
    engine.import_file("accounts", path)
    assert stored(engine, "accounts").select("account_id", "employees").rows() == [
        ("a1", None),
        ("a2", 2500),
    ]


def test_a_json_batch_without_an_optional_key_lands(
    database_url: str, clock: Callable[[], datetime], tmp_path: Path
) -> None:
    records = [{"account_id": f"a{i}", "name": "N", "domain": "x.com"} for i in range(1_000)]
    records += [{"account_id": f"b{i}", "name": "N"} for i in range(5)]
    path = write_jsonl(tmp_path / "accounts.jsonl", *records)
    settings = Settings(database_url=database_url, import_batch_rows=1_000)
    with Engine.open(settings=settings, clock=clock) as engine:
        summary = engine.import_file("accounts", path)
        assert tally(summary) == counts(read=1_005, inserted=1_005)


# --- duplicates ---------------------------------------------------------------------


def test_a_repeated_id_in_a_file_is_quarantined_and_the_first_lands(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    accounts = engine.import_file(
        "accounts",
        write_csv(tmp_path / "accounts.csv", "account_id,name", "b1,First", "b2,Two", "b1,Second"),
    )
    assert tally(accounts) == counts(read=3, inserted=2, quarantined=1)
    assert quarantined(engine, accounts) == [
        (
            4,
            "account_id",
            "b1",
            "duplicate account_id in this file: first seen at row 2, which was imported",
        )
    ]
    names = dict(stored(engine, "accounts").select("account_id", "name").rows())
    assert (names["b1"], names["b2"]) == ("First", "Two")

    holdings = engine.import_file(
        "holdings",
        write_csv(
            tmp_path / "holdings.csv", "account_id,product_id,quantity", "a1,p1,2", "a1,p1,3"
        ),
    )
    assert tally(holdings) == counts(read=2, inserted=1, quarantined=1)
    assert quarantined(engine, holdings) == [
        (
            3,
            "account_id/product_id",
            "a1/p1",
            "duplicate account_id/product_id in this file: first seen at row 2, which was imported",
        )
    ]
    assert stored(engine, "holdings").select("quantity").item() == 2


def _accounts_with_repeats(path: Path, rows: int, repeats: list[int]) -> Path:
    lines = [f"x{i},N{i}" for i in range(rows)] + [f"x{i},Again" for i in repeats]
    return write_csv(path, "account_id,name", *lines)


def test_a_repeated_id_in_a_later_batch_is_quarantined(
    database_url: str, clock: Callable[[], datetime], tmp_path: Path
) -> None:
    # 1,500 rows in batches of 1,000: x5 is first seen in batch 1 (row 7) and again in 2.
    path = _accounts_with_repeats(tmp_path / "accounts.csv", 1_500, [5])
    settings = Settings(database_url=database_url, import_batch_rows=1_000)
    with Engine.open(settings=settings, clock=clock) as engine:
        summary = engine.import_file("accounts", path)
        assert tally(summary) == counts(read=1_501, inserted=1_500, quarantined=1)
        assert quarantined(engine, summary) == [
            (
                1_502,
                "account_id",
                "x5",
                "duplicate account_id in this file: first seen at row 7, which was imported",
            )
        ]
        names = dict(stored(engine, "accounts").select("account_id", "name").rows())
        assert (len(names), names["x5"]) == (1_500, "N5")


def test_several_repeated_ids_in_a_later_batch_are_quarantined(
    database_url: str, clock: Callable[[], datetime], tmp_path: Path
) -> None:
    path = _accounts_with_repeats(tmp_path / "accounts.csv", 1_500, [5, 6])
    settings = Settings(database_url=database_url, import_batch_rows=1_000)
    with Engine.open(settings=settings, clock=clock) as engine:
        summary = engine.import_file("accounts", path)
        assert tally(summary) == counts(read=1_502, inserted=1_500, quarantined=2)
        assert [entry[:3] for entry in quarantined(engine, summary)] == [
            (1_502, "account_id", "x5"),
            (1_503, "account_id", "x6"),
        ]


def test_signals_are_deduplicated_and_their_times_made_utc(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    path = write_csv(
        tmp_path / "signals.csv",
        "event_id,account_id,signal_type,occurred_at,value",
        "e1,a1,web_visit,2026-03-01T10:00:00Z,1",
        "e2,a1,Web_Visit,2026-03-01T12:00:00+02:00,2",
        "e3,a2,web_visit,2026-01-15 08:30:00,3",
        "e1,a1,web_visit,2026-03-01T10:00:00Z,1",
        "e4,a2,intent_surge,2025-12-31T23:59:59-05:00,0.5",
        "e1,a1,web_visit,2026-04-01T10:00:00Z,9",
    )
    first = engine.import_file("signals", path)
    # Events are append-only: a repeated event id is a duplicate (the first one wins),
    # never a quarantined row; times out of order are fine.
    assert tally(first) == counts(read=6, inserted=4, duplicates=2)
    assert engine.quarantined(run_id=first.run_id) == []
    rows = stored(engine, "signals").select("event_id", "signal_type", "occurred_at", "value")
    assert rows.rows() == [
        ("e1", "web_visit", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), 1.0),
        ("e2", "web_visit", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), 2.0),
        ("e3", "web_visit", datetime(2026, 1, 15, 8, 30, tzinfo=UTC), 3.0),
        ("e4", "intent_surge", datetime(2026, 1, 1, 4, 59, 59, tzinfo=UTC), 0.5),
    ]

    again = engine.import_file("signals", path)
    assert tally(again) == counts(read=6, duplicates=6)
    assert (
        stored(engine, "signals")
        .select("event_id", "signal_type", "occurred_at", "value")
        .equals(rows)
    )


# --- encodings and odd bytes ---------------------------------------------------------


def test_a_row_that_is_not_utf8_is_quarantined_then_lands_with_its_encoding(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"account_id,name\na1,Caf\xe9 Noir\na2,Plain\n")

    first = engine.import_file("accounts", path)
    assert tally(first) == counts(read=2, inserted=1, quarantined=1)
    [(row, field, value, reason)] = quarantined(engine, first)
    assert (row, field, value) == (2, "name", "Caf\ufffd Noir")
    assert reason == (
        "contains bytes that are not valid utf-8 text; if the whole file uses another "
        "encoding, re-import with --encoding (for example cp1252)"
    )
    assert stored(engine, "accounts").select("account_id", "name").rows() == [("a2", "Plain")]

    second = engine.import_file("accounts", path, encoding="cp1252")
    assert tally(second) == counts(read=2, inserted=1, unchanged=1)
    assert stored(engine, "accounts").select("account_id", "name").rows() == [
        ("a1", "Café Noir"),
        ("a2", "Plain"),
    ]


def test_a_nul_character_is_quarantined_on_every_database(engine: Engine, tmp_path: Path) -> None:
    # PostgreSQL text cannot hold NUL: the row is refused on both databases alike, and the
    # quarantine shows the character as \0 so that it can be stored there too.
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"account_id,name\na1,Ac\x00me\na2,Globex\n")
    summary = engine.import_file("accounts", path)
    assert tally(summary) == counts(read=2, inserted=1, quarantined=1)
    assert quarantined(engine, summary) == [(2, "name", "Ac\\0me", "contains a NUL character")]
    assert stored(engine, "accounts").select("account_id", "name").rows() == [("a2", "Globex")]
    assert engine.imports()[0].status == "finished"


# --- nothing stored is damaged -------------------------------------------------------


def _all_rows_bad(path: Path) -> Path:
    return write_csv(
        path.with_suffix(".csv"),
        "account_id,name,employees,created_on",
        "a1,,5,2020-01-01",
        "a2,Globex Renamed,-3,",
        f"a1,{'y' * 301},1,",
        "a2,Globex,1,2026-02-30",
        "a1,Acme,1,,surplus",
    )


def _truncated_parquet(path: Path) -> Path:
    frame = pl.DataFrame({"account_id": ["a1", "a2"], "name": ["Wiped", "Wiped"]})
    return write_truncated_parquet(path.with_suffix(".parquet"), frame)


def _missing_column(path: Path) -> Path:
    return write_csv(path.with_suffix(".csv"), "account_id,employees", "a1,0", "a2,0")


@pytest.mark.parametrize(
    "make_file",
    [_all_rows_bad, _truncated_parquet, _missing_column, _header_only_csv, _empty_csv],
    ids=["every-row-bad", "truncated-parquet", "missing-column", "header-only", "empty"],
)
def test_a_bad_file_does_not_damage_what_is_stored(
    engine: Engine, tmp_path: Path, make_file: Callable[[Path], Path]
) -> None:
    seed(engine, tmp_path)
    accounts, products = stored(engine, "accounts"), stored(engine, "products")
    path = make_file(tmp_path / "incoming")
    try:
        summary = engine.import_file("accounts", path)
    except ImportFailed:
        assert engine.imports()[0].status == "failed"
    else:
        assert tally(summary) == counts(read=5, quarantined=5)
        assert len(quarantined(engine, summary)) == 5
    assert stored(engine, "accounts").equals(accounts)
    assert stored(engine, "products").equals(products)


# --- upserts ------------------------------------------------------------------------

ACCOUNTS_HEADER = "account_id,name,domain,segment,employees,annual_revenue,created_on"


def test_reimporting_the_same_file_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        ACCOUNTS_HEADER,
        "a1,Acme,acme.com,SMB,120,1500000.5,2020-01-31",
        "a2,Globex,,ent,2500,,",
        "a3,Initech,initech.com,mid,,0.1,1999-02-19",
    )
    first = engine.import_file("accounts", path)
    before = stored(engine, "accounts")
    second = engine.import_file("accounts", path)
    assert tally(first) == counts(read=3, inserted=3)
    assert tally(second) == counts(read=3, unchanged=3)
    assert stored(engine, "accounts").equals(before)
    assert before.row(0) == (
        "a1",
        "Acme",
        "acme.com",
        None,
        "smb",
        None,
        None,
        120,
        1500000.5,
        None,
        None,
        date(2020, 1, 31),
    )


def test_a_changed_file_updates_exactly_the_changed_rows(engine: Engine, tmp_path: Path) -> None:
    engine.import_file(
        "accounts",
        write_csv(
            tmp_path / "v1.csv",
            ACCOUNTS_HEADER,
            "a1,Acme,acme.com,smb,120,1500000.5,2020-01-31",
            "a2,Globex,,ent,2500,,",
            "a3,Initech,initech.com,mid,,0.1,1999-02-19",
            "a4,Umbrella,umbrella.com,ent,9000,,",
        ),
    )
    summary = engine.import_file(
        "accounts",
        write_csv(
            tmp_path / "v2.csv",
            ACCOUNTS_HEADER,
            "a1,Acme,acme.com,smb,120,1500000.5,2020-01-31",
            "a2,Globex,globex.com,ent,2500,,",
            "a3,Initech,initech.com,mid,,0.1,1999-02-20",
            "a4,Umbrella,umbrella.com,ent,9000,,",
            "a5,Hooli,hooli.com,ent,5000,,",
        ),
    )
    assert tally(summary) == counts(read=5, inserted=1, updated=2, unchanged=2)
    rows = stored(engine, "accounts").select("account_id", "domain", "created_on").rows()
    assert rows == [
        ("a1", "acme.com", date(2020, 1, 31)),
        ("a2", "globex.com", None),
        ("a3", "initech.com", date(1999, 2, 20)),
        ("a4", "umbrella.com", None),
        ("a5", "hooli.com", None),
    ]


def test_products_with_lists_reimport_unchanged_and_update_on_a_changed_list(
    engine: Engine, tmp_path: Path
) -> None:
    header = "product_id,name,prerequisites,active"
    v1 = write_csv(tmp_path / "v1.csv", header, "p1,Core,,yes", "p2,Plus,p1,yes", "p3,Max,p1|p2,no")
    v2 = write_csv(tmp_path / "v2.csv", header, "p1,Core,,yes", "p2,Plus,p1,yes", "p3,Max,p2,no")
    engine.import_file("products", v1)
    assert tally(engine.import_file("products", v1)) == counts(read=3, unchanged=3)
    assert tally(engine.import_file("products", v2)) == counts(read=3, updated=1, unchanged=2)
    assert stored(engine, "products").select("product_id", "prerequisites", "active").rows() == [
        ("p1", [], True),
        ("p2", ["p1"], True),
        ("p3", ["p2"], False),
    ]
    assert stored_relations(engine) == [
        ("p2", "p1", "prerequisite"),
        ("p3", "p2", "prerequisite"),
    ]


def test_a_file_with_only_some_columns_keeps_the_other_stored_values(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    before = stored(engine, "accounts")
    summary = engine.import_file(
        "accounts",
        write_csv(tmp_path / "names.csv", "account_id,name", "a1,Acme Corp", "a2,Globex"),
    )
    assert tally(summary) == counts(read=2, updated=1, unchanged=1)
    expected = before.with_columns(
        pl.when(pl.col("account_id") == "a1")
        .then(pl.lit("Acme Corp"))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    assert stored(engine, "accounts").equals(expected)

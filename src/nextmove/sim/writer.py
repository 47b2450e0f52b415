"""Write a synthetic company to files in nextmove's canonical format, with a manifest.

One file per kind, ``<kind>.<ext>``, whose columns are the record's field names:

* dates are ``YYYY-MM-DD``; datetimes are UTC ISO 8601 with ``Z``
  (``2026-09-01T14:03:11Z``) in CSV and JSONL, timezone-aware timestamps in Parquet;
* booleans are ``true``/``false``; missing values are empty cells (CSV) or ``null``;
* tuple fields (``prerequisites``, ``related``) are ``|``-joined in CSV (an empty tuple
  is an empty cell) and lists in JSONL and Parquet.

``manifest.yaml`` lists the files in import order with ``mapping: canonical``.

Bad rows are injected into the files (never into the in-memory frames) so that an
importer's quarantine has something to show; ``injected_bad_rows.yaml`` lists each one.
They cycle through ``BAD_ROW_PROBLEMS``:

* ``bad_date`` - an opportunity whose ``close_date`` is ``31/02/2026`` (in Parquet, whose
  columns are typed, a ``close_date`` 30 days before ``created_on`` instead);
* ``negative_amount`` - an opportunity with a negative ``amount``;
* ``unknown_product`` - a holding of ``prod-legacy-suite``, which is not in the catalog;
* ``unknown_account`` - a signal for an account id that does not exist;
* ``duplicate_key`` - a second opportunity row with an existing ``opportunity_id``;
* ``unknown_vocabulary`` - an outcome whose ``outcome_type`` is ``refund``;
* ``missing_required`` - an account with an empty ``name``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import yaml

from nextmove.sim.frames import UTC_DATETIME
from nextmove.sim.model import IMPORT_ORDER, SyntheticCompany

__all__ = ["BAD_ROW_PROBLEMS", "FORMATS", "BadRow", "Format", "write_company"]

Format = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "jsonl")
BAD_ROW_PROBLEMS: tuple[str, ...] = (
    "bad_date",
    "negative_amount",
    "unknown_product",
    "unknown_account",
    "duplicate_key",
    "unknown_vocabulary",
    "missing_required",
)
_KIND_OF_PROBLEM = {
    "bad_date": "opportunities",
    "negative_amount": "opportunities",
    "unknown_product": "holdings",
    "unknown_account": "signals",
    "duplicate_key": "opportunities",
    "unknown_vocabulary": "outcomes",
    "missing_required": "accounts",
}
_KEY_COLUMN = {
    "opportunities": "opportunity_id",
    "holdings": "account_id",
    "signals": "event_id",
    "outcomes": "outcome_id",
    "accounts": "account_id",
}
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class BadRow:
    """One deliberately invalid row written to a file."""

    kind: str
    key: str
    """The row's identifying value (its id; for a holding, ``account_id|product_id``)."""
    problem: str


def _serialise(frame: pl.DataFrame, fmt: Format) -> pl.DataFrame:
    """Return ``frame`` with dates, datetimes and lists as the format writes them."""
    if fmt == "parquet":
        return frame
    changes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            changes.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype == UTC_DATETIME:
            changes.append(pl.col(name).dt.strftime(_DATETIME_FORMAT))
        elif isinstance(dtype, pl.List) and fmt == "csv":
            joined = pl.col(name).list.join("|")
            changes.append(pl.when(pl.col(name).list.len() > 0).then(joined).alias(name))
    return frame.with_columns(changes) if changes else frame


def _bad_row(
    problem: str, source: pl.DataFrame, number: int, fmt: Format, accounts: int
) -> tuple[pl.DataFrame, str]:
    """Return a one-row frame (serialised like ``source``) with ``problem``, and its key."""
    suffix = f"{number:04d}"

    def put(row: pl.DataFrame, column: str, value: object) -> pl.DataFrame:
        return row.with_columns(pl.lit(value).cast(row.schema[column]).alias(column))

    row = source
    if problem == "bad_date":
        row = put(row, "opportunity_id", f"opp-bad-{suffix}")
        if fmt == "parquet":
            row = row.with_columns(close_date=pl.col("created_on") - pl.duration(days=30))
        else:
            row = put(row, "close_date", "31/02/2026")
    elif problem == "negative_amount":
        amount = source["amount"].item()
        negative = -abs(amount) if amount else -4_500.0
        row = put(put(row, "opportunity_id", f"opp-bad-{suffix}"), "amount", negative)
    elif problem == "unknown_product":
        row = put(row, "product_id", "prod-legacy-suite")
    elif problem == "unknown_account":
        row = put(row, "event_id", f"evt-bad-{suffix}")
        row = put(row, "account_id", f"acct-{accounts + 100_000 + number:06d}")
    elif problem == "duplicate_key":
        row = put(put(row, "stage", "negotiation"), "amount", 1_234.0)
    elif problem == "unknown_vocabulary":
        row = put(put(row, "outcome_id", f"out-bad-{suffix}"), "outcome_type", "refund")
    elif problem == "missing_required":
        row = put(put(row, "account_id", f"acct-bad-{suffix}"), "name", "")
    kind = _KIND_OF_PROBLEM[problem]
    key = str(row[_KEY_COLUMN[kind]].item())
    if kind == "holdings":
        key = f"{key}|{row['product_id'].item()}"
    return row, key


def _inject(
    frames: dict[str, pl.DataFrame], count: int, fmt: Format, *, seed: int, accounts: int
) -> list[BadRow]:
    """Insert ``count`` bad rows into ``frames`` (in place) at random positions."""
    rng = np.random.default_rng([seed, 7_777])
    problems = [p for p in BAD_ROW_PROBLEMS if frames[_KIND_OF_PROBLEM[p]].height]
    if not problems:
        return []
    inserts: dict[str, list[tuple[int, pl.DataFrame]]] = {}
    bad: list[BadRow] = []
    for number in range(1, count + 1):
        problem = problems[(number - 1) % len(problems)]
        kind = _KIND_OF_PROBLEM[problem]
        height = frames[kind].height
        source = int(rng.integers(0, height))
        row, key = _bad_row(problem, frames[kind][source], number, fmt, accounts)
        # A duplicate comes after the row it repeats, as a re-export would write it.
        low = source + 1 if problem == "duplicate_key" else 0
        inserts.setdefault(kind, []).append((int(rng.integers(low, height + 1)), row))
        bad.append(BadRow(kind=kind, key=key, problem=problem))
    for kind, rows in inserts.items():
        frame, pieces, at = frames[kind], [], 0
        for position, row in sorted(rows, key=lambda item: item[0]):
            pieces += [frame.slice(at, position - at), row]
            at = position
        pieces.append(frame.slice(at))
        frames[kind] = pl.concat(pieces, rechunk=False)
    return bad


def write_company(
    company: SyntheticCompany,
    directory: str | Path,
    fmt: Format = "csv",
    *,
    bad_rows: int | None = None,
) -> Path:
    """Write every kind to ``directory`` as ``<kind>.<fmt>`` and return the manifest's path.

    ``bad_rows`` overrides the number of invalid rows to inject (default: the config's
    ``bad_rows_per_10k_accounts`` scaled to the company; 0 writes clean files).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    config = company.config
    if bad_rows is None:
        rate = config.imperfections.bad_rows_per_10k_accounts
        bad_rows = round(rate * config.accounts / 10_000)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {kind: _serialise(frame, fmt) for kind, frame in company.frames().items()}
    injected = _inject(frames, bad_rows, fmt, seed=config.seed, accounts=config.accounts)
    files = []
    for kind in IMPORT_ORDER:
        path = folder / f"{kind}.{fmt}"
        if fmt == "csv":
            frames[kind].write_csv(path)
        elif fmt == "jsonl":
            frames[kind].write_ndjson(path)
        else:
            frames[kind].write_parquet(path)
        files.append({"kind": kind, "path": path.name, "mapping": "canonical"})
    manifest = {
        "company": company.name,
        "seed": config.seed,
        "as_of": company.as_of.isoformat(),
        "format": fmt,
        "files": files,
    }
    manifest_path = folder / "manifest.yaml"
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    (folder / "injected_bad_rows.yaml").write_text(
        yaml.safe_dump({"bad_rows": [asdict(b) for b in injected]}, sort_keys=False),
        encoding="utf-8",
    )
    return manifest_path

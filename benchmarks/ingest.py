"""Ingest benchmark: 1M accounts and 10M signals from Parquet into SQLite and PostgreSQL.

    python benchmarks/ingest.py                       # full size, both databases
    python benchmarks/ingest.py --accounts 100000 --signals 1000000 --databases sqlite

Each database gets two runs on a fresh schema, each in its own process so peak memory is
its own: nextmove's importer (read, map, validate, quarantine, upsert / de-duplicate) and
a bare ``executemany`` of the same rows (already converted to database values) as the
baseline. The figure is the ratio of their rows per second.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--worker", choices=["nextmove", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_work(args.worker, args.database, args.data)))
        return
    data = _prepare(args.data, args.accounts, args.signals)
    results = []
    for database in args.databases.split(","):
        for phase in ("baseline", "nextmove"):
            results.append(
                {
                    "database": database,
                    "phase": phase,
                    **_run(phase, database, data, args.postgres_url),
                }
            )
            _print_row(results[-1], args.accounts, args.signals)
    _print_ratios(results, args.accounts, args.signals)


def _prepare(root: Path, accounts: int, signals: int) -> Path:
    """Generate (or reuse) the synthetic company's accounts and signals as Parquet."""
    from nextmove.sim import ImperfectionRates, SimConfig, generate, write_company

    folder = root / f"a{accounts}-s{signals}"
    if (folder / "accounts.parquet").exists() and (folder / "signals.parquet").exists():
        return folder
    started = time.perf_counter()
    company = generate(
        SimConfig(
            seed=7, accounts=accounts, total_signals=signals, imperfections=ImperfectionRates.none()
        )
    )
    generated = time.perf_counter() - started
    write_company(company, folder, fmt="parquet")
    print(f"generated {accounts:,} accounts and {signals:,} signals in {generated:.1f}s → {folder}")
    return folder


def _run(phase: str, database: str, data: Path, postgres_url: str) -> dict[str, Any]:
    if database == "sqlite":
        url = f"sqlite:///{data / f'bench-{phase}.db'}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data / f'bench-{phase}.db'}{suffix}").unlink(missing_ok=True)
    else:
        url = postgres_url
    command = [sys.executable, __file__, "--worker", phase, "--database", url, "--data", str(data)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{phase} on {database} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _work(phase: str, url: str, data: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from nextmove import Engine
    from nextmove.store import upgrade
    from nextmove.store.database import create_database_engine

    schema = None
    if url.startswith("postgresql"):
        schema = f"nm_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(False)
        )
    try:
        database = create_database_engine(url)
        upgrade(database)
        database.dispose()
        timings: dict[str, float] = {}
        if phase == "nextmove":
            with Engine.open(url) as engine:
                # Signals name products; the (tiny) catalog goes in first, untimed.
                engine.import_file("products", data / "products.parquet")
                for kind in ("accounts", "signals"):
                    started = time.perf_counter()
                    summary = engine.import_file(kind, data / f"{kind}.parquet")
                    timings[kind] = time.perf_counter() - started
                    assert summary.quarantined_rows == 0, summary
        else:
            for kind in ("accounts", "signals"):
                started = time.perf_counter()
                _bare_executemany(url, kind, data / f"{kind}.parquet")
                timings[kind] = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "accounts_s": timings["accounts"],
            "signals_s": timings["signals"],
            "peak_rss_mb": peak_mb,
        }
    finally:
        if schema:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _database_rows(path: Path) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """Batches of rows as plain database values (dates and times as the store writes them)."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=BATCH):
        columns = []
        for column in batch.columns:
            if pa.types.is_timestamp(column.type):
                # %S carries the microseconds for microsecond timestamps.
                utc = pc.cast(column, pa.timestamp("us", "UTC"))
                column = pc.strftime(utc, "%Y-%m-%d %H:%M:%S")
            elif pa.types.is_date(column.type):
                column = pc.strftime(column, "%Y-%m-%d")
            columns.append(column.to_pylist())
        yield list(batch.schema.names), list(zip(*columns, strict=True))


def _bare_executemany(url: str, table: str, path: Path) -> None:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA cache_size=-262144")
        for names, rows in _database_rows(path):
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            connection.executemany(sql, rows)
        connection.commit()
        connection.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        for names, rows in _database_rows(path):
            marks = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
            cursor.executemany(sql, rows)
        connection.commit()


def _print_row(result: dict[str, Any], accounts: int, signals: int) -> None:
    account_rate = accounts / result["accounts_s"]
    signal_rate = signals / result["signals_s"]
    print(
        f"{result['database']:>10} {result['phase']:>9}: accounts {account_rate:>10,.0f} rows/s"
        f"  signals {signal_rate:>10,.0f} rows/s  peak RSS {result['peak_rss_mb']:,.0f} MB",
        flush=True,
    )


def _print_ratios(results: list[dict[str, Any]], accounts: int, signals: int) -> None:
    print("\nratio nextmove / bare executemany (same rows, same run):")
    for database in dict.fromkeys(r["database"] for r in results):
        mine = next(r for r in results if r["database"] == database and r["phase"] == "nextmove")
        base = next(r for r in results if r["database"] == database and r["phase"] == "baseline")
        account_ratio = base["accounts_s"] / mine["accounts_s"]
        print(
            f"{database:>10}: accounts {account_ratio:.2f}x"
            f"  signals {base['signals_s'] / mine['signals_s']:.2f}x"
            f"  (signals {signals / mine['signals_s']:,.0f} rows/s;"
            " targets: ≥ 200,000 signals/s on SQLite, ≥ 0.7x)"
        )


if __name__ == "__main__":
    main()

"""The ``nextmove`` console script, run for real in a subprocess against a real database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from nextmove import Engine
from nextmove.foundation.repository import FoundationRepository
from nextmove.store import (
    UnitOfWork,
    create_database_engine,
    current_revision,
    head_revision,
)


def nextmove_script() -> str:
    beside = Path(sys.executable).parent / "nextmove"
    found = str(beside) if beside.is_file() else shutil.which("nextmove")
    if found is None:
        pytest.fail("the nextmove console script is not installed (pip install -e .)")
    return found


def run_cli(database_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``nextmove ARGS`` with ``NEXTMOVE_DATABASE_URL`` set; return what it did."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTMOVE_")}
    env.update(NEXTMOVE_DATABASE_URL=database_url, COLUMNS="250", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [nextmove_script(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def write_accounts(path: Path, *rows: str) -> Path:
    path.write_text("account_id,name,employees\n" + "".join(f"{r}\n" for r in rows))
    return path


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def line_with(text: str, output: str) -> str:
    lines = [line for line in output.splitlines() if text in line]
    assert len(lines) == 1, output
    return lines[0]


def test_import_prints_what_landed_and_where_the_rest_went(
    database_url: str, tmp_path: Path
) -> None:
    path = write_accounts(tmp_path / "accounts.csv", "a1,Acme,10", "a2,Globex,-3", "a3,Initech,")

    result = run_cli(database_url, "import", "accounts", str(path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert_clean_failure(result)
    out = result.stdout
    assert f"accounts from {path} (csv, mapping canonical): 3 rows read in" in out
    assert "imported 2: 2 new, 0 changed, 0 unchanged" in out
    assert "quarantined 1 rows (1 problems): see `nextmove quarantine --run 1`" in out
    database = create_database_engine(database_url)
    try:
        with UnitOfWork(database) as uow:
            repository = FoundationRepository(uow.connection)
            assert repository.count("accounts") == 2
            [entry] = repository.quarantined(run_id=1)
    finally:
        database.dispose()
    assert (entry.row_number, entry.field, entry.value) == (3, "employees", "-3")


def test_a_file_of_only_bad_rows_still_exits_zero(tmp_path: Path) -> None:
    path = write_accounts(tmp_path / "accounts.csv", "a1,,10", "a2,Globex,many")

    result = run_cli(sqlite_url(tmp_path), "import", "accounts", str(path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "imported 0: 0 new, 0 changed, 0 unchanged" in result.stdout
    assert "quarantined 2 rows (2 problems): see `nextmove quarantine --run 1`" in result.stdout


def _truncated_parquet(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "accounts.parquet"
    pl.DataFrame({"account_id": ["a1", "a2"], "name": ["A", "B"]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-12])
    return path, "is not a readable Parquet file (truncated or not Parquet?)"


def _missing_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "absent.csv"
    return path, f"{path}: no such file"


def _wrong_delimiter(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "accounts.csv"
    path.write_text("account_id|name\na1|Acme\n")
    return path, "missing required column(s) for accounts"


@pytest.mark.parametrize(
    "make_file",
    [_truncated_parquet, _missing_file, _wrong_delimiter],
    ids=["truncated-parquet", "missing-file", "wrong-delimiter"],
)
def test_an_unreadable_file_exits_2_with_an_error_line_and_no_traceback(
    tmp_path: Path, make_file: Callable[[Path], tuple[Path, str]]
) -> None:
    path, message = make_file(tmp_path)
    args = ["import", "accounts", str(path)]
    if path.suffix == ".csv" and path.exists():
        args += ["--delimiter", ";"]

    result = run_cli(sqlite_url(tmp_path), *args, cwd=tmp_path)

    assert result.returncode == 2
    assert_clean_failure(result)
    error = line_with("error:", result.stderr)
    assert error.startswith("error: ")
    assert message in " ".join(result.stderr.split())
    assert "imported" not in result.stdout


def test_quarantine_shows_the_row_field_value_and_reason(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    path = write_accounts(tmp_path / "accounts.csv", "a1,Acme,10", "a2,Globex,-3")
    with Engine.open(url) as engine:
        run_id = engine.import_file("accounts", path).run_id

    result = run_cli(url, "quarantine", "--run", str(run_id), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    row = line_with("must be at least 0", result.stdout)
    cells = [cell.strip() for cell in row.strip("│| ").split("│")]
    assert cells == [str(run_id), "accounts.csv", "3", "employees", "-3", "must be at least 0"]


def test_quarantine_of_a_clean_run_says_it_is_empty(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with Engine.open(url) as engine:
        run_id = engine.import_file(
            "accounts", write_accounts(tmp_path / "accounts.csv", "a1,Acme,10")
        ).run_id

    result = run_cli(url, "quarantine", "--run", str(run_id), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"quarantine is empty for run {run_id}"


def test_imports_lists_each_run_with_its_counts(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with Engine.open(url) as engine:
        path = write_accounts(tmp_path / "accounts.csv", "a1,Acme,10", "a2,Globex,-3")
        engine.import_file("accounts", path)
        engine.import_file("accounts", path)

    result = run_cli(url, "imports", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    runs = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in result.stdout.splitlines()
        if "accounts.csv" in line
    ]
    # run, kind, file, status, read, new, changed, unchanged, dup, quarantined; newest first
    assert runs == [
        ["2", "accounts", "accounts.csv", "finished", "2", "0", "0", "1", "0", "1"],
        ["1", "accounts", "accounts.csv", "finished", "2", "1", "0", "0", "0", "1"],
    ]


def test_mappings_lists_the_builtin_crm_mappings(tmp_path: Path) -> None:
    result = run_cli(sqlite_url(tmp_path), "mappings", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "salesforce: accounts, contacts, opportunities" in lines
    assert "hubspot: accounts, contacts, opportunities" in lines


def test_db_current_on_an_empty_database_changes_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)

    result = run_cli(url, "db", "current", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"current: empty database; newest: {head_revision()}"
    database = create_database_engine(url)
    try:
        assert current_revision(database) is None
    finally:
        database.dispose()


def test_db_upgrade_creates_the_schema_on_an_empty_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)

    result = run_cli(url, "db", "upgrade", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"schema at revision {head_revision()} ({url})"
    database = create_database_engine(url)
    try:
        assert current_revision(database) == head_revision()
    finally:
        database.dispose()

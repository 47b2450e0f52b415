"""Readers: delimiter sniffing, BOMs, quoted newlines, row numbers and read errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from nextmove.errors import ImportFailed
from nextmove.foundation.model import FileFormat
from nextmove.foundation.readers import Batch, SourceFile, open_source
from nextmove.foundation.validation import ROW

ACCOUNT_COLUMNS = frozenset({"account_id", "name", "employees"})


def write_bytes(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def write_text(tmp_path: Path, name: str, *lines: str) -> Path:
    return write_bytes(tmp_path, name, "".join(f"{line}\n" for line in lines).encode("utf-8"))


def read_all(source: SourceFile) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return all rows and all read errors of ``source``, each concatenated."""
    batches: list[Batch] = list(source.batches())
    rows = pl.concat([b.rows for b in batches if b.rows.height], how="diagonal")
    errors = pl.concat([b.read_errors for b in batches])
    return rows, errors


def open_csv(
    path: Path, *, batch_rows: int = 1_000, encoding: str = "utf-8", delimiter: str | None = None
) -> SourceFile:
    """Open a CSV of accounts as the account importer would."""
    return open_source(
        path,
        None,
        batch_rows=batch_rows,
        encoding=encoding,
        delimiter=delimiter,
        known_columns=ACCOUNT_COLUMNS,
    )


# --- CSV: delimiters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")],
)
def test_the_delimiter_is_sniffed_from_the_header(
    tmp_path: Path, delimiter: str, name: str
) -> None:
    path = write_text(
        tmp_path,
        "accounts.csv",
        delimiter.join(["account_id", "name", "employees"]),
        delimiter.join(["a1", "Acme, Inc.", "10"]),
    )
    source = open_csv(path)
    assert source.columns == ["account_id", "name", "employees"]
    assert source.notes == [f"read as {name}-delimited (detected from the header)"]
    rows, errors = read_all(source)
    assert rows.rows() == [("a1", "Acme, Inc.", "10", 2)]
    assert errors.height == 0


def test_a_comma_file_gets_no_delimiter_note(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", "account_id,name", "a1,Acme")
    assert open_csv(path).notes == []


def test_sniffing_prefers_the_delimiter_that_finds_known_columns(tmp_path: Path) -> None:
    # A comma splits this header into as many columns as the semicolon does, but only the
    # semicolon yields the column names the mapping looks for.
    path = write_text(tmp_path, "accounts.csv", "account_id;name;notes, more", "a1;Acme;x, y")
    source = open_csv(path)
    assert source.columns == ["account_id", "name", "notes, more"]


def test_a_given_delimiter_is_used_as_is(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", "account_id;name", "a1;Acme")
    source = open_csv(path, delimiter=",")
    assert source.columns == ["account_id;name"]
    assert source.notes == []


# --- CSV: text details and row numbers -----------------------------------------------


def test_a_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, "accounts.csv", b"\xef\xbb\xbfaccount_id,name\r\na1,Caf\xc3\xa9\r\n"
    )
    source = open_csv(path)
    assert source.columns == ["account_id", "name"]
    rows, _ = read_all(source)
    assert rows.rows() == [("a1", "Café", 2)]


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    # Header is row 1; a quoted newline does not start a new row; a blank line is a row
    # (skipped, but counted) so later numbers still match what the user sees.
    path = write_text(
        tmp_path,
        "accounts.csv",
        "account_id,name",
        'a1,"two',
        'lines"',
        "",
        "a2,B",
        "a3,C",
    )
    rows, errors = read_all(open_csv(path))
    assert rows.select("account_id", "name", ROW).rows() == [
        ("a1", "two\nlines", 2),
        ("a2", "B", 4),
        ("a3", "C", 5),
    ]
    assert errors.height == 0


def test_empty_cells_are_null_and_header_names_are_stripped(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", " account_id , name ,employees", "a1,,")
    source = open_csv(path)
    assert source.columns == ["account_id", "name", "employees"]
    rows, _ = read_all(source)
    assert rows.rows() == [("a1", None, None, 2)]


def test_ragged_rows_are_read_errors_and_reading_goes_on(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", "account_id,name", "a1,A,extra", "a2", "a3,C")
    rows, errors = read_all(open_csv(path))
    assert rows.rows() == [("a3", "C", 4)]
    assert errors.rows() == [
        (2, None, "a1,A,extra", "row has 3 fields; the header has 2"),
        (3, None, "a2", "row has 1 fields; the header has 2"),
    ]


def test_bytes_that_are_not_valid_text_make_a_read_error_naming_the_column(
    tmp_path: Path,
) -> None:
    path = write_bytes(tmp_path, "accounts.csv", b"account_id,name\na1,Caf\xe9\na2,Plain\n")
    rows, errors = read_all(open_csv(path))
    assert rows.rows() == [("a2", "Plain", 3)]
    assert errors.height == 1
    row, field, value, reason = errors.row(0)
    assert (row, field, value) == (2, "name", "Caf\ufffd")
    assert reason.startswith("contains bytes that are not valid utf-8 text")
    assert "--encoding" in reason


def test_the_given_encoding_decodes_those_bytes(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "accounts.csv", b"account_id,name\na1,Caf\xe9\n")
    rows, errors = read_all(open_csv(path, encoding="cp1252"))
    assert rows.rows() == [("a1", "Café", 2)]
    assert errors.height == 0


def test_rows_are_read_in_batches_with_continuous_numbers(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", "account_id,name", *[f"a{i},N" for i in range(5)])
    batches = list(open_csv(path, batch_rows=2).batches())
    assert [batch.rows[ROW].to_list() for batch in batches] == [[2, 3], [4, 5], [6]]


def test_a_file_is_read_once(tmp_path: Path) -> None:
    source = open_csv(write_text(tmp_path, "accounts.csv", "account_id,name", "a1,A"))
    list(source.batches())
    with pytest.raises(ImportFailed, match="already read"):
        source.batches()


# --- files that cannot be read at all -------------------------------------------------


def test_a_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="no such file"):
        open_csv(tmp_path / "absent.csv")


def test_a_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="is a folder, not a file"):
        open_source(tmp_path, FileFormat.CSV, batch_rows=10)


def test_an_unknown_suffix_asks_for_the_format(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.xlsx", "account_id,name")
    with pytest.raises(ImportFailed, match="pass --format csv|parquet|jsonl"):
        open_source(path, None, batch_rows=10)


def test_an_empty_file_fails(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"is empty \(0 bytes\)"):
        open_csv(write_bytes(tmp_path, "accounts.csv", b""))


def test_a_blank_first_line_fails(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="the first line is empty; expected a header row"):
        open_csv(write_text(tmp_path, "accounts.csv", "", "account_id,name"))


def test_an_unknown_encoding_fails(tmp_path: Path) -> None:
    path = write_text(tmp_path, "accounts.csv", "account_id,name")
    with pytest.raises(ImportFailed, match="unknown text encoding 'klingon'"):
        open_csv(path, encoding="klingon")


def test_a_header_that_is_not_valid_text_fails(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "accounts.csv", b"account_id,n\xe9m\na1,A\n")
    with pytest.raises(ImportFailed, match="header row is not valid utf-8 text; pass --encoding"):
        open_csv(path)


# --- JSON Lines and Parquet -----------------------------------------------------------


def test_json_lines_are_numbered_by_line_and_values_become_text(tmp_path: Path) -> None:
    path = write_text(
        tmp_path,
        "records.jsonl",
        json.dumps({"a": [1, None, "x"], "b": True, "c": {"k": 1}, "d": None, "e": 2.5}),
        "",
        "[1, 2]",
        '{"a": broken',
        json.dumps({"a": [], "b": False, "c": None, "d": "text", "e": 3}),
    )
    source = open_source(path, None, batch_rows=10)
    assert source.file_format is FileFormat.JSONL
    assert source.columns == ["a", "b", "c", "d", "e"]
    rows, errors = read_all(source)
    assert rows.rows() == [
        ("1|x", "true", '{"k": 1}', None, "2.5", 1),
        ("", "false", None, "text", "3", 5),
    ]
    assert errors.rows() == [
        (3, None, "[1, 2]", "expected a JSON object per line"),
        (4, None, '{"a": broken', "not valid JSON: Expecting value at column 7"),
    ]


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "accounts.parquet"
    pl.DataFrame({"account_id": ["a1", "a2", "a3"], "employees": [1, 2, 3]}).write_parquet(path)
    source = open_source(path, None, batch_rows=2)
    assert (source.columns, source.total_rows) == (["account_id", "employees"], 3)
    batches = list(source.batches())
    assert [batch.rows[ROW].to_list() for batch in batches] == [[1, 2], [3]]
    assert batches[0].rows.schema["employees"] == pl.Int64


def test_a_truncated_parquet_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "accounts.parquet"
    pl.DataFrame({"account_id": [f"a{i}" for i in range(100)]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ImportFailed, match="is not a readable Parquet file"):
        open_source(path, None, batch_rows=10)

from __future__ import annotations

from pathlib import Path

import polars as pl
import pydantic
import pytest
import yaml

from nextmove.domain import RECORD_TYPES
from nextmove.sim import (
    BAD_ROW_PROBLEMS,
    FORMATS,
    IMPORT_ORDER,
    SimConfig,
    SyntheticCompany,
    generate,
    write_company,
)
from nextmove.sim.writer import Format

UTC = pl.Datetime("us", "UTC")


def _decode_text(frame: pl.DataFrame, schema: pl.Schema, fmt: Format) -> pl.DataFrame:
    """Turn a file read back as text (dates, datetimes, CSV lists) into the typed frame."""
    columns = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            column = column.str.to_date("%Y-%m-%d")
        elif dtype == UTC:
            column = column.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
        elif isinstance(dtype, pl.List) and fmt == "csv":
            column = (
                column.fill_null("")
                .str.split("|")
                .list.eval(pl.element().filter(pl.element() != ""))
            )
        elif fmt == "csv" and dtype == pl.Boolean:
            column = column.replace_strict({"true": True, "false": False}, return_dtype=pl.Boolean)
        elif fmt == "csv":
            column = column.cast(dtype)
        columns.append(column.alias(name))
    return frame.select(columns)


def _read_back(path: Path, schema: pl.Schema, fmt: Format) -> pl.DataFrame:
    if fmt == "parquet":
        return pl.read_parquet(path)
    if fmt == "csv":
        return _decode_text(pl.read_csv(path, infer_schema=False), schema, fmt)
    text_schema = {
        name: pl.String if dtype in (pl.Date, UTC) else dtype for name, dtype in schema.items()
    }
    return _decode_text(pl.read_ndjson(path, schema=text_schema), schema, fmt)


@pytest.fixture(scope="module")
def small() -> SyntheticCompany:
    return generate(SimConfig(seed=2, accounts=600))


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_round_trip(small: SyntheticCompany, tmp_path: Path, fmt: Format) -> None:
    manifest = write_company(small, tmp_path, fmt, bad_rows=0)
    assert manifest == tmp_path / "manifest.yaml"
    for kind in IMPORT_ORDER:
        original = small.frames()[kind]
        path = tmp_path / f"{kind}.{fmt}"
        assert path.exists()
        back = _read_back(path, original.schema, fmt)
        assert back.columns == original.columns
        assert back.equals(original), kind


def test_manifest_lists_files_in_import_order(small: SyntheticCompany, tmp_path: Path) -> None:
    manifest = yaml.safe_load(write_company(small, tmp_path, "parquet").read_text())
    assert manifest["company"] == small.name
    assert manifest["seed"] == 2
    assert manifest["as_of"] == small.as_of.isoformat()
    assert [f["kind"] for f in manifest["files"]] == list(IMPORT_ORDER)
    for entry in manifest["files"]:
        assert entry["path"] == f"{entry['kind']}.parquet"
        assert entry["mapping"] == "canonical"


def test_csv_uses_the_canonical_text_forms(small: SyntheticCompany, tmp_path: Path) -> None:
    write_company(small, tmp_path, "csv", bad_rows=0)
    signals = (tmp_path / "signals.csv").read_text().splitlines()
    assert signals[0] == ",".join(RECORD_TYPES["signals"].model_fields)
    occurred_at = signals[1].split(",")[6]
    assert occurred_at.endswith("Z") and occurred_at[10] == "T" and len(occurred_at) == 20
    products = pl.read_csv(tmp_path / "products.csv", infer_schema=False)
    assert "prod-analytics-core" in products["prerequisites"].drop_nulls().to_list()
    related = products.filter(pl.col("product_id") == "prod-analytics-core")["related"].item()
    assert related == "prod-analytics-pro|prod-data-pipelines"
    assert set(products["active"]) == {"true"}
    core = (tmp_path / "products.csv").read_text().splitlines()[1]
    assert ",12000.0,,prod-analytics-pro|" in core  # an empty tuple is an empty cell
    accounts = (tmp_path / "accounts.csv").read_text()
    assert ",," in accounts  # missing values are empty cells


def test_jsonl_keeps_lists_and_writes_utc_strings(small: SyntheticCompany, tmp_path: Path) -> None:
    write_company(small, tmp_path, "jsonl", bad_rows=0)
    first = (tmp_path / "products.jsonl").read_text().splitlines()[1]
    assert '"prerequisites":["prod-analytics-core"]' in first
    signal = (tmp_path / "signals.jsonl").read_text().splitlines()[0]
    assert '"occurred_at":"2026-08-25T' in signal and 'Z"' in signal


def test_parquet_keeps_timezone_aware_timestamps(small: SyntheticCompany, tmp_path: Path) -> None:
    write_company(small, tmp_path, "parquet", bad_rows=0)
    schema = pl.read_parquet_schema(tmp_path / "signals.parquet")
    assert schema["occurred_at"] == UTC
    assert pl.read_parquet_schema(tmp_path / "products.parquet")["related"] == pl.List(pl.String)


def test_default_bad_rows_scale_with_accounts(small: SyntheticCompany, tmp_path: Path) -> None:
    write_company(small, tmp_path, "csv")
    injected = yaml.safe_load((tmp_path / "injected_bad_rows.yaml").read_text())["bad_rows"]
    assert len(injected) == round(15 * 600 / 10_000)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_are_injected_into_files_only(
    small: SyntheticCompany, tmp_path: Path, fmt: Format
) -> None:
    heights = {kind: frame.height for kind, frame in small.frames().items()}
    write_company(small, tmp_path, fmt, bad_rows=14)
    injected = yaml.safe_load((tmp_path / "injected_bad_rows.yaml").read_text())["bad_rows"]
    assert len(injected) == 14
    assert sorted({b["problem"] for b in injected}) == sorted(BAD_ROW_PROBLEMS)
    assert {kind: frame.height for kind, frame in small.frames().items()} == heights

    files = {}
    for kind in IMPORT_ORDER:
        path = tmp_path / f"{kind}.{fmt}"
        if fmt == "parquet":
            files[kind] = pl.read_parquet(path)
        elif fmt == "csv":
            files[kind] = pl.read_csv(path, infer_schema=False)
        else:
            files[kind] = pl.read_ndjson(path, infer_schema_length=None)
        added = sum(1 for b in injected if b["kind"] == kind)
        assert files[kind].height == heights[kind] + added, kind

    accounts = set(small.accounts["account_id"])
    products = set(small.products["product_id"])
    for bad in injected:
        frame = files[bad["kind"]]
        key = RECORD_TYPES[bad["kind"]].key
        match = pl.all_horizontal(
            pl.col(k).cast(pl.String) == v for k, v in zip(key, bad["key"].split("|"), strict=True)
        )
        rows = frame.filter(match)
        if bad["problem"] == "duplicate_key":
            assert rows.height == 2
            continue
        assert rows.height == 1
        row = rows.row(0, named=True)
        if bad["problem"] == "unknown_product":
            assert row["product_id"] not in products and row["account_id"] in accounts
        elif bad["problem"] == "unknown_account":
            assert row["account_id"] not in accounts
        else:
            with pytest.raises(pydantic.ValidationError):
                RECORD_TYPES[bad["kind"]].model_validate(_nulls_for_empty(row, fmt))
    if fmt != "parquet":
        assert "31/02/2026" in files["opportunities"]["close_date"].to_list()


def _nulls_for_empty(row: dict[str, object], fmt: Format) -> dict[str, object]:
    """Read CSV cells the way an importer would: empty lists and cells become absent."""
    if fmt != "csv":
        return row
    return {name: value for name, value in row.items() if value is not None}


def test_unknown_format_is_refused(small: SyntheticCompany, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write_company(small, tmp_path, "xlsx")  # type: ignore[arg-type]

"""Columnar validation: a batch of source rows in, typed good rows and reasons out.

Pure: works on polars frames and the field specs derived from the domain records. A row
with any bad field is rejected whole; every bad field of it is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from nextmove.foundation.fieldspec import FieldSpec
from nextmove.foundation.model import ColumnMapping

__all__ = [
    "ROW",
    "ValidatedBatch",
    "error_frame",
    "reference_errors",
    "validate_batch",
]

ROW = "__row"
"""Column carrying each row's number in its file."""

_ERRORS_SCHEMA = {ROW: pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}
_ISO_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
)
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
_DATETIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    """The rows of a batch that passed (typed) and one entry per rejected value."""

    good: pl.DataFrame
    errors: pl.DataFrame

    @property
    def rejected_rows(self) -> int:
        """Number of distinct rows rejected."""
        return int(self.errors[ROW].n_unique()) if self.errors.height else 0


def error_frame(
    rows: list[int], field: str | None, values: list[str | None], reason: str
) -> pl.DataFrame:
    """Return an errors frame for ``rows`` sharing one field and reason."""
    return pl.DataFrame(
        {ROW: rows, "field": [field] * len(rows), "value": values, "reason": [reason] * len(rows)},
        schema=_ERRORS_SCHEMA,
    )


def validate_batch(
    frame: pl.DataFrame,
    specs: tuple[FieldSpec, ...],
    mapping: ColumnMapping,
    *,
    row_rules: tuple[tuple[str, str, pl.Expr], ...] = (),
) -> ValidatedBatch:
    """Parse and check every field of ``frame`` (columns named by record field).

    Columns absent from the frame take the field's default; ``row_rules`` are
    (field, reason, condition-that-is-bad) checks across fields, applied to parsed values.
    """
    present = [spec for spec in specs if spec.name in frame.columns]
    absent = [spec for spec in specs if spec.name not in frame.columns]
    for spec in absent:
        if spec.required and spec.name not in mapping.defaults:
            raise ValueError(f"required field {spec.name} has no column")
    parsed = frame.select(
        pl.col(ROW),
        *[pl.col(spec.name).alias(_raw(spec.name)) for spec in present],
        *[
            expr
            for spec in present
            for expr in _parse(_prepared(spec, mapping), frame.schema[spec.name], spec, mapping)
        ],
        *[_constant(spec, mapping) for spec in absent],
    )
    if row_rules:
        parsed = parsed.with_columns(
            pl.when(pl.col(_error(field)).is_null() & bad)
            .then(pl.lit(reason))
            .otherwise(pl.col(_error(field)))
            .alias(_error(field))
            for field, reason, bad in row_rules
            if field in parsed.columns and _error(field) in parsed.columns
        )
    error_columns = [_error(spec.name) for spec in present]
    errors = pl.concat(
        [
            parsed.filter(pl.col(_error(spec.name)).is_not_null()).select(
                pl.col(ROW),
                pl.lit(spec.name).alias("field"),
                pl.col(_raw(spec.name)).cast(pl.String).alias("value"),
                pl.col(_error(spec.name)).alias("reason"),
            )
            for spec in present
        ]
        or [pl.DataFrame(schema=_ERRORS_SCHEMA)],
        how="vertical_relaxed",
    ).sort(ROW, "field")
    clean = (
        pl.all_horizontal(pl.col(c).is_null() for c in error_columns)
        if error_columns
        else pl.lit(True)
    )
    good = parsed.filter(clean).select(ROW, *[spec.name for spec in specs])
    return ValidatedBatch(good=good, errors=errors)


def reference_errors(good: pl.DataFrame, field: str, known: pl.Series, reason: str) -> pl.DataFrame:
    """Return an errors frame for rows whose ``field`` names something not in ``known``."""
    if field not in good.columns:
        return pl.DataFrame(schema=_ERRORS_SCHEMA)
    column = pl.col(field)
    if good.schema[field] == pl.List(pl.String):
        exploded = good.select(ROW, field).explode(field).drop_nulls(field)
        return exploded.filter(~column.is_in(known.implode())).select(
            pl.col(ROW),
            pl.lit(field).alias("field"),
            column.alias("value"),
            pl.lit(reason).alias("reason"),
        )
    return good.filter(column.is_not_null() & ~column.is_in(known.implode())).select(
        pl.col(ROW),
        pl.lit(field).alias("field"),
        column.alias("value"),
        pl.lit(reason).alias("reason"),
    )


def _raw(name: str) -> str:
    return f"__raw_{name}"


def _error(name: str) -> str:
    return f"__err_{name}"


def _prepared(spec: FieldSpec, mapping: ColumnMapping) -> pl.Expr:
    """The source column with value translations and defaults applied (still unparsed)."""
    column = pl.col(spec.name)
    translations = mapping.values.get(spec.name)
    if translations:
        text = column.cast(pl.String).str.strip_chars()
        lower = text.str.to_lowercase()
        table = {source.strip().lower(): target for source, target in translations.items()}
        column = pl.when(lower.is_in(list(table))).then(lower.replace(table)).otherwise(text)
    default = mapping.defaults.get(spec.name)
    if default is not None:
        column = pl.when(_is_empty(column)).then(pl.lit(default)).otherwise(column.cast(pl.String))
    return column


def _is_empty(column: pl.Expr) -> pl.Expr:
    return column.is_null() | (column.cast(pl.String).str.strip_chars() == "")


def _parse(
    column: pl.Expr, dtype: pl.DataType, spec: FieldSpec, mapping: ColumnMapping
) -> list[pl.Expr]:
    """Return the parsed value and its error reason, as two named expressions."""
    native = _native(column, dtype, spec, mapping)
    if native is not None:
        value, bad_type = native
        given = column.is_not_null()
    else:
        text = column.cast(pl.String).str.strip_chars()
        given = text.is_not_null() & (text != "")
        value, bad_type = _typed(column, text, spec, mapping)
    if spec.base in ("int", "float") and spec.name in mapping.scale:
        value = value * mapping.scale[spec.name]
        if spec.base == "int":
            value = value.round(0)
    value = _cast_final(value, spec)
    if spec.default is not None and not spec.required:
        value = pl.when(given).then(value).otherwise(_default_literal(spec))
    reason = (
        pl.when(given & bad_type)
        .then(pl.lit(f"expected {spec.describe()}"))
        .when(value.is_null() if spec.required else pl.lit(False))
        .then(pl.lit(f"required field {spec.name} is empty"))
    )
    for bad, why in _constraints(value, spec):
        reason = reason.when(bad).then(why)
    return [value.alias(spec.name), reason.otherwise(None).cast(pl.String).alias(_error(spec.name))]


def _native(
    column: pl.Expr, dtype: pl.DataType, spec: FieldSpec, mapping: ColumnMapping
) -> tuple[pl.Expr, pl.Expr] | None:
    """Read a column that already has the field's type (Parquet) without going through text."""
    if spec.name in mapping.values or spec.name in mapping.defaults:
        return None
    if spec.base == "datetime" and isinstance(dtype, pl.Datetime):
        utc = (
            column.dt.convert_time_zone("UTC")
            if dtype.time_zone
            else column.dt.replace_time_zone("UTC")
        )
        return utc.dt.cast_time_unit("us"), pl.lit(False)
    if spec.base == "date" and (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
        return column.cast(pl.Date), pl.lit(False)
    if spec.base == "float" and dtype.is_numeric():
        return column.cast(pl.Float64), pl.lit(False)
    if spec.base == "int" and dtype.is_integer():
        return column.cast(pl.Int64), pl.lit(False)
    if spec.base == "bool" and dtype == pl.Boolean:
        return column, pl.lit(False)
    if spec.base == "list" and isinstance(dtype, pl.List):
        return column.cast(pl.List(pl.String)), pl.lit(False)
    return None


def _typed(
    column: pl.Expr, text: pl.Expr, spec: FieldSpec, mapping: ColumnMapping
) -> tuple[pl.Expr, pl.Expr]:
    """Parse ``text`` as the spec's type; return (value, value-present-but-unparseable)."""
    match spec.base:
        case "int":
            # Whole numbers are read exactly; "2822.0" or "1e3" go through a float.
            number = _number(text)
            exact = _bare_number(text).cast(pl.Int64, strict=False)
            whole = (number == number.floor()) & (number.abs() <= 2**53)
            value = pl.coalesce(exact, pl.when(whole).then(number.cast(pl.Int64)))
            return value, value.is_null()
        case "float":
            number = _number(text)
            return number, number.is_null()
        case "bool":
            lower = text.str.to_lowercase()
            value = pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
            value = value.otherwise(None)
            return value, value.is_null()
        case "date":
            value = _date(text, mapping.date_formats)
            return value, value.is_null()
        case "datetime":
            value = _datetime(text, mapping.date_formats)
            return value, value.is_null()
        case "enum":
            token = text.str.to_lowercase().str.replace_all(r"[\s\-/]+", "_")
            ok = token.is_in(list(spec.choices))
            return pl.when(ok).then(token).otherwise(None), ~ok
        case "list":
            items = text.str.split(mapping.list_separator).list.eval(
                pl.element().str.strip_chars().filter(pl.element() != "")
            )
            return items, pl.lit(False)
        case _:
            value = text.str.to_lowercase() if spec.lowercase else text
            return pl.when(value == "").then(None).otherwise(value), pl.lit(False)


def _number(text: pl.Expr) -> pl.Expr:
    """Read numbers as exports write them: ``1234.5``, ``USD 1,234.50``, ``$1,234``."""
    return _bare_number(text).cast(pl.Float64, strict=False)


def _bare_number(text: pl.Expr) -> pl.Expr:
    """The digits of a number, without currency, spaces or thousands separators."""
    bare = text.str.replace(r"^(?:[A-Z]{3}\s?|[$€£¥]\s?)", "").str.replace_all(r"\s", "")
    grouped = bare.str.contains(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
    return pl.when(grouped).then(bare.str.replace_all(",", "")).otherwise(bare)


def _date(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    candidates = [text.str.to_date(fmt, strict=False) for fmt in (*formats, "%Y-%m-%d")]
    candidates.append(_datetime(text, formats).dt.date())
    return pl.coalesce(candidates)


def _datetime(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    iso = text.str.replace(r"[Zz]$", "+00:00").str.replace(r"^(\d{4}-\d{2}-\d{2})[ ]", "${1}T")
    candidates = [
        _to_utc(source, fmt)
        for source, fmt in [
            *((text, fmt) for fmt in formats),
            *((iso, fmt) for fmt in _ISO_DATETIME_FORMATS),
        ]
    ]
    for fmt in (*formats, "%Y-%m-%d"):
        candidates.append(
            text.str.to_date(fmt, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        )
    return pl.coalesce(candidates)


def _to_utc(text: pl.Expr, fmt: str) -> pl.Expr:
    if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
        return text.str.to_datetime(fmt, strict=False, time_unit="us").dt.convert_time_zone("UTC")
    return text.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone("UTC")


def _cast_final(value: pl.Expr, spec: FieldSpec) -> pl.Expr:
    return {
        "int": value.cast(pl.Int64, strict=False),
        "float": value.cast(pl.Float64),
        "bool": value.cast(pl.Boolean),
        "date": value.cast(pl.Date),
        "datetime": value.cast(_DATETIME),
        "list": value.cast(pl.List(pl.String)),
    }.get(spec.base, value.cast(pl.String))


def _default_literal(spec: FieldSpec) -> pl.Expr:
    if spec.base == "list":
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.lit(spec.default)


def _constant(spec: FieldSpec, mapping: ColumnMapping) -> pl.Expr:
    """The value of a field the file has no column for."""
    default = mapping.defaults.get(spec.name)
    if default is not None:
        value, _ = _typed(pl.lit(default), pl.lit(default), spec, mapping)
        return _cast_final(value, spec).alias(spec.name)
    if spec.default is not None:
        return _cast_final(_default_literal(spec), spec).alias(spec.name)
    return _cast_final(pl.lit(None), spec).alias(spec.name)


def _constraints(value: pl.Expr, spec: FieldSpec) -> list[tuple[pl.Expr, pl.Expr]]:
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if spec.base in ("int", "float"):
        if not spec.allow_inf_nan:
            checks.append((value.is_nan() | value.is_infinite(), pl.lit("must be a finite number")))
        if spec.ge is not None:
            checks.append((value < spec.ge, pl.lit(f"must be at least {spec.ge:g}")))
    if spec.base == "str":
        checks.append(
            (value.str.contains("\x00", literal=True), pl.lit("contains a NUL character"))
        )
        length = value.str.len_chars()
        if spec.max_length is not None:
            checks.append(
                (
                    length > spec.max_length,
                    pl.format(
                        "is {} characters long; at most {} allowed", length, pl.lit(spec.max_length)
                    ),
                )
            )
        if spec.pattern is not None:
            checks.append(
                (
                    ~value.str.contains(spec.pattern),
                    pl.lit(f"must match the pattern {spec.pattern}"),
                )
            )
    return checks

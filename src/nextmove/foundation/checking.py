"""Row checks across a whole file: validation, references, and repeated keys.

Pure apart from the ``known_keys`` callback that supplies the stored keys of a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

from nextmove.errors import ImportFailed
from nextmove.foundation.model import ColumnMapping
from nextmove.foundation.readers import Batch
from nextmove.foundation.schema import RecordSchema
from nextmove.foundation.validation import ROW, error_frame, reference_errors, validate_batch

__all__ = ["BatchChecker"]


class BatchChecker:
    """Validates batches in file order, remembering keys across batches.

    ``known_keys(kind)`` returns the stored keys of a kind, for reference checks; it is
    asked at most once per kind.
    """

    def __init__(
        self,
        schema: RecordSchema,
        mapping: ColumnMapping,
        known_keys: Callable[[str], pl.Series],
    ) -> None:
        self._schema = schema
        self._mapping = mapping
        self._lookup = known_keys
        self._known: dict[str, pl.Series] = {}
        self._seen = pl.DataFrame(
            schema={**{k: pl.String for k in schema.key}, "__first": pl.Int64}
        )
        self._errors: list[pl.DataFrame] = []
        self.silent_duplicates = 0

    @property
    def key(self) -> tuple[str, ...]:
        """The fields that identify a record of this kind."""
        return self._schema.key

    def preload(self) -> None:
        """Fetch the stored keys of every referenced kind now, on the caller's thread."""
        for reference in self._schema.references:
            self._known_keys(reference.kind)

    def take_errors(self) -> pl.DataFrame:
        """Return (and forget) the errors found since the last call, in row order."""
        errors = pl.concat(self._errors) if self._errors else error_frame([], None, [], "")
        self._errors = []
        return errors.sort(ROW)

    def checked_batches(
        self, batches: Iterator[Batch], columns: dict[str, str]
    ) -> Iterator[tuple[Batch, pl.DataFrame]]:
        """Yield each batch with its rows that passed every check, ready to write."""
        self_referencing = any(ref.kind == self._schema.kind for ref in self._schema.references)
        if self_referencing:
            yield from self._checked_together(batches, columns)
            return
        for batch in batches:
            yield batch, self._check(batch, columns)

    def _checked_together(
        self, batches: Iterator[Batch], columns: dict[str, str]
    ) -> Iterator[tuple[Batch, pl.DataFrame]]:
        # Records that reference their own kind (a parent account, a prerequisite product)
        # may name one further down the file, so the file's keys are gathered first.
        collected = list(batches)
        key = self._schema.key[0]
        source_key = columns.get(key, key)
        file_keys = pl.concat(
            [
                b.rows.select(pl.col(source_key).cast(pl.String).str.strip_chars())
                for b in collected
                if b.rows.height
            ]
            or [pl.DataFrame(schema={source_key: pl.String})]
        ).to_series()
        for reference in self._schema.references:
            if reference.kind == self._schema.kind:
                stored = self._known_keys(reference.kind)
                self._known[reference.kind] = pl.concat([stored, file_keys]).unique()
        for batch in collected:
            yield batch, self._check(batch, columns)

    def _check(self, batch: Batch, columns: dict[str, str]) -> pl.DataFrame:
        self._errors.append(batch.read_errors)
        if batch.rows.height == 0:
            return pl.DataFrame(schema={ROW: pl.Int64})
        renamed = batch.rows.select(
            pl.col(ROW), *[pl.col(source).alias(name) for name, source in columns.items()]
        )
        _check_column_types(renamed, self._schema, columns)
        if self._mapping.segment_by_employees and "employees" in renamed.columns:
            renamed = _derive_segment(renamed, self._mapping.segment_by_employees)
        validated = validate_batch(
            renamed, self._schema.fields, self._mapping, row_rules=self._schema.row_rules
        )
        self._errors.append(validated.errors)
        good = validated.good
        for reference in self._schema.references:
            known = self._known_keys(reference.kind)
            errors = reference_errors(
                good,
                reference.field,
                known,
                f"unknown {reference.kind[:-1]}: no {reference.kind[:-1]} with this id is stored "
                f"or in this file (import {reference.kind} first)",
            )
            if errors.height:
                self._errors.append(errors)
                good = good.filter(~pl.col(ROW).is_in(errors[ROW].implode()))
        return self._without_duplicates(good)

    def _known_keys(self, kind: str) -> pl.Series:
        if kind not in self._known:
            self._known[kind] = self._lookup(kind)
        return self._known[kind]

    def _without_duplicates(self, good: pl.DataFrame) -> pl.DataFrame:
        key = list(self._schema.key)
        if self._schema.append_only or self._mapping.duplicates == "keep_first":
            unique = good.unique(subset=key, keep="first", maintain_order=True)
            if not self._schema.append_only:
                unique = unique.join(self._seen.select(key), on=key, how="anti")
                self._seen = pl.concat(
                    [self._seen, unique.select(*key, pl.col(ROW).alias("__first"))]
                )
            self.silent_duplicates += good.height - unique.height
            return unique
        marked = good.with_columns(pl.col(ROW).min().over(key).alias("__first"))
        if self._seen.height:
            marked = (
                marked.join(self._seen.rename({"__first": "__seen"}), on=key, how="left")
                .with_columns(pl.coalesce("__seen", "__first").alias("__first"))
                .drop("__seen")
            )
        repeats = marked.filter(pl.col(ROW) != pl.col("__first"))
        if repeats.height:
            label = "/".join(key)
            self._errors.append(
                repeats.select(
                    pl.col(ROW),
                    pl.lit(label).alias("field"),
                    pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="/").alias(
                        "value"
                    ),
                    pl.concat_str(
                        pl.lit(f"duplicate {label} in this file: first seen at row "),
                        pl.col("__first").cast(pl.String),
                        pl.lit(", which was imported"),
                    ).alias("reason"),
                )
            )
        firsts = marked.filter(pl.col(ROW) == pl.col("__first"))
        self._seen = pl.concat([self._seen, firsts.select(*key, "__first")])
        return marked.filter(pl.col(ROW) == pl.col("__first")).drop("__first")


def _derive_segment(frame: pl.DataFrame, thresholds: dict[str, int]) -> pl.DataFrame:
    """Fill an empty segment from the employee count (``{smb: 0, mid: 200, ent: 2000}``)."""
    employees = (
        pl.col("employees")
        .cast(pl.String)
        .str.replace_all(r"[,\s]", "")
        .cast(pl.Float64, strict=False)
    )
    derived: pl.Expr = pl.lit(None, dtype=pl.String)
    for segment, floor in sorted(thresholds.items(), key=lambda item: item[1]):
        derived = pl.when(employees >= floor).then(pl.lit(segment)).otherwise(derived)
    current = pl.col("segment") if "segment" in frame.columns else pl.lit(None, dtype=pl.String)
    return frame.with_columns(pl.coalesce(current.cast(pl.String), derived).alias("segment"))


_TEXT_LIKE = (pl.String, pl.Categorical, pl.Enum, pl.Null)


def _check_column_types(frame: pl.DataFrame, schema: RecordSchema, columns: dict[str, str]) -> None:
    """Refuse a typed (Parquet) column that cannot hold its field's values at all."""
    for spec in schema.fields:
        if spec.name not in frame.columns:
            continue
        dtype = frame.schema[spec.name]
        usable = (
            isinstance(dtype, _TEXT_LIKE)
            or (spec.base == "list" and isinstance(dtype, pl.List))
            or (spec.base != "list" and (dtype.is_numeric() or dtype == pl.Boolean))
            or (
                spec.base in ("date", "datetime", "str")
                and dtype.is_temporal()
                and dtype != pl.Duration
                and not isinstance(dtype, pl.Duration)
            )
        )
        if not usable:
            raise ImportFailed(
                f"column {columns[spec.name]!r} holds {dtype} values; field {spec.name} "
                f"expects {spec.describe()}"
            )

"""What the importers know about each record type: fields, cross-field rules, references."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl

from nextmove.domain import RECORD_TYPES, Record
from nextmove.errors import NotFound
from nextmove.foundation.fieldspec import FieldSpec, field_specs

__all__ = ["RecordSchema", "Reference", "record_schema"]


@dataclass(frozen=True, slots=True)
class Reference:
    """A field that names a record of another (or the same) kind, which must exist."""

    field: str
    kind: str


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """The import rules of one record type."""

    kind: str
    record_type: type[Record]
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    row_rules: tuple[tuple[str, str, pl.Expr], ...]
    references: tuple[Reference, ...]
    append_only: bool
    """Events (signals) are never updated: a known key is a duplicate, not a change."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.required)


# Mirrors the model validators of the domain records; a property test keeps them in step.
_ROW_RULES: dict[str, tuple[tuple[str, str, pl.Expr], ...]] = {
    "opportunities": (
        (
            "close_date",
            "close_date is before created_on",
            pl.col("close_date") < pl.col("created_on"),
        ),
    ),
    "products": (
        (
            "prerequisites",
            "a product cannot be its own prerequisite",
            pl.col("prerequisites").list.contains(pl.col("product_id")),
        ),
    ),
}

_REFERENCES: dict[str, tuple[Reference, ...]] = {
    "owners": (Reference("team_id", "teams"),),
    "accounts": (Reference("parent_account_id", "accounts"),),
    "contacts": (Reference("account_id", "accounts"),),
    "products": (Reference("prerequisites", "products"), Reference("related", "products")),
    "holdings": (Reference("account_id", "accounts"), Reference("product_id", "products")),
    "opportunities": (Reference("account_id", "accounts"), Reference("product_id", "products")),
    "signals": (Reference("account_id", "accounts"), Reference("product_id", "products")),
    "outcomes": (Reference("account_id", "accounts"), Reference("product_id", "products")),
}


@cache
def record_schema(kind: str) -> RecordSchema:
    """Return the import rules for ``kind`` (accounts, contacts, …)."""
    record_type = RECORD_TYPES.get(kind)
    if record_type is None:
        raise NotFound(f"unknown record type {kind!r}; expected one of {', '.join(RECORD_TYPES)}")
    return RecordSchema(
        kind=kind,
        record_type=record_type,
        fields=field_specs(record_type),
        key=record_type.key,
        row_rules=_ROW_RULES.get(kind, ()),
        references=_REFERENCES.get(kind, ()),
        append_only=kind == "signals",
    )

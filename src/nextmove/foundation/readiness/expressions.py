"""Polars expressions the sections share: is a value filled in, is it a known spelling."""

from __future__ import annotations

import polars as pl

from nextmove.foundation.readiness.model import Vocabulary

__all__ = ["is_filled", "is_recognised"]


def is_filled(name: str, dtype: pl.DataType) -> pl.Expr:
    """A value is there: not null, and for text not blank, for lists not empty."""
    column = pl.col(name)
    if dtype == pl.String:
        return column.str.strip_chars().str.len_chars().fill_null(0) > 0
    if isinstance(dtype, pl.List):
        return column.list.len().fill_null(0) > 0
    return column.is_not_null()


def is_recognised(column: pl.Expr, vocabulary: Vocabulary) -> pl.Expr:
    """The value is an accepted spelling of the vocabulary (null stays null)."""
    text = column.cast(pl.String).str.strip_chars()
    if vocabulary.ignore_case:
        text = text.str.to_lowercase()
    return text.is_in(vocabulary.accepted())

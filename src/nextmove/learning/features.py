"""Model inputs read from the account context: one matrix per account, one per product.

Everything a model sees comes from the playbook's declared signals, so a company with other
signals gets other features without code: per declared signal, a count's decayed score, a
gauge's latest value and whether a state is open; plus firmographics and history. Product
interest is the decayed score of every count signal that named the product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.compiled import PerPlaybook
from nextmove.domain import Segment
from nextmove.playbook.model import Playbook, SignalKind

__all__ = ["AccountFeatures", "account_features", "feature_names", "product_interest"]

Floats = npt.NDArray[np.float64]

_SEGMENTS = tuple(segment.value for segment in Segment)


@dataclass(frozen=True)
class AccountFeatures:
    """``matrix[i]`` are the features of the context's i-th account, named by ``names``."""

    names: tuple[str, ...]
    matrix: Floats


def feature_names(playbook: Playbook) -> tuple[str, ...]:
    """Return the account feature names ``playbook`` gives, in matrix column order."""
    return tuple(name for name, _ in _feature_exprs(playbook))


def account_features(frame: pl.DataFrame, playbook: Playbook) -> AccountFeatures:
    """Return the account features of a context frame (missing columns read as zero)."""
    exprs = _EXPRESSIONS(playbook, frozenset(frame.columns))
    table = frame.select(expr.alias(name) for name, expr in exprs)
    matrix = (
        table.to_numpy(order="c").astype(np.float64, copy=False)
        if len(exprs)
        else np.zeros((frame.height, 0))
    )
    return AccountFeatures(tuple(name for name, _ in exprs), np.ascontiguousarray(matrix))


def _feature_exprs(
    playbook: Playbook, columns: set[str] | None = None
) -> list[tuple[str, pl.Expr]]:
    def col(name: str) -> pl.Expr:
        if columns is not None and name not in columns:
            return pl.lit(0.0)
        return pl.col(name).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)

    known = columns is None or "segment" in columns
    segment = pl.col("segment") if known else pl.lit(None, dtype=pl.String)
    exprs: list[tuple[str, pl.Expr]] = [
        (f"segment_{name}", (segment == name).fill_null(False).cast(pl.Float64))
        for name in _SEGMENTS
    ]
    exprs += [
        ("customer", (col("products_held") > 0).cast(pl.Float64)),
        ("products_held", col("products_held").clip(0, 20) / 5.0),
        ("log_employees", (col("employees").clip(0, None) + 1.0).log() / 10.0),
        ("open_opportunities", col("open_opportunities").clip(0, 5)),
        ("touched_recently", _recency("days_since_last_touch", columns, 30.0)),
    ]
    for name, declared in sorted(playbook.signals.items()):
        if declared.kind is SignalKind.COUNT:
            exprs.append((f"{name}_score", (col(f"signals__{name}__score") + 1.0).log()))
        elif declared.kind is SignalKind.GAUGE:
            exprs.append((f"{name}_value", col(f"signals__{name}__value") / 100.0))
            exprs.append((f"{name}_missing", _missing(f"signals__{name}__value", columns)))
        else:
            exprs.append((f"{name}_open", col(f"signals__{name}__open")))
    return exprs


def _expressions_of(playbook: Playbook, columns: frozenset[str]) -> list[tuple[str, pl.Expr]]:
    return _feature_exprs(playbook, set(columns))


_EXPRESSIONS = PerPlaybook(_expressions_of)
"""The features' expressions over a context's columns, built once (deciding one account at
a time would otherwise build them on every call)."""


def _recency(column: str, columns: set[str] | None, scale: float) -> pl.Expr:
    if columns is not None and column not in columns:
        return pl.lit(0.0)
    return (-pl.col(column).cast(pl.Float64) / scale).exp().fill_null(0.0)


def _missing(column: str, columns: set[str] | None) -> pl.Expr:
    if columns is not None and column not in columns:
        return pl.lit(1.0)
    return pl.col(column).is_null().cast(pl.Float64)


def product_interest(
    interest: pl.DataFrame, account_ids: pl.Series, product_ids: tuple[str, ...]
) -> Floats:
    """Return log(1 + interest score) per (account, product): accounts × products.

    ``interest`` is the context's ``product_interest`` (account_id, product_id, signal,
    score); scores of every signal naming a product add up.
    """
    matrix = np.zeros((len(account_ids), len(product_ids)))
    if interest.height == 0 or not product_ids:
        return matrix
    rows = pl.DataFrame({"account_id": account_ids}).with_row_index("row")
    product = pl.col("product_id").cast(pl.Enum(product_ids), strict=False).to_physical()
    located = (
        interest.select("account_id", product.alias("column"), "score")
        .filter(pl.col("column").is_not_null())
        .join(rows, on="account_id", maintain_order="left")
    )
    key = (
        located["row"].cast(pl.Int64).to_numpy() * len(product_ids)
        + located["column"].cast(pl.Int64).to_numpy()
    )
    score = located["score"].cast(pl.Float64).to_numpy()
    if len(key) > 1 and (np.diff(key) < 0).any():  # the context's rows come sorted
        order = np.argsort(key, kind="stable")
        key, score = key[order], score[order]
    if not len(key):
        return matrix
    # Scores are whole multiples of 2**-32 (or counts): sums are exact in any order.
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    matrix.flat[key[starts]] = np.log1p(np.add.reduceat(score, starts))
    return matrix

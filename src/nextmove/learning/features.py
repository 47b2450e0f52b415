"""Model inputs read from the account context: one matrix per account, one per product.

Everything a model sees comes from the playbook's declared signals, so a company with other
signals gets other features without code: per declared signal, a count's decayed score, a
gauge's latest value and whether a state is open; plus firmographics and history. Product
interest is the decayed score of every count signal that named the product.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.columns import nulls_filled
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


@dataclass(frozen=True)
class _Feature:
    """One feature: ``kind`` of the context column ``column`` (see :func:`_argument`)."""

    name: str
    kind: str
    column: str


def feature_names(playbook: Playbook) -> tuple[str, ...]:
    """Return the account feature names ``playbook`` gives, in matrix column order."""
    return tuple(feature.name for feature in _FEATURES(playbook, None)[0])


def account_features(frame: pl.DataFrame, playbook: Playbook) -> AccountFeatures:
    """Return the account features of a context frame (missing columns read as zero).

    A number reads 0 where it is null or NaN. The exact steps (comparing, clipping, adding
    one) are numpy's, column by column; whatever rounds (dividing, log, exp) is left to one
    polars query, since numpy's results can differ from polars' in the last bit.
    """
    features, finishing = _FEATURES(playbook, None)
    read = _Columns(frame)
    columns = [_argument(feature, read) for feature in features]
    if finishing and frame.height <= _FEW_ROWS:  # Python's math: polars' results, no query
        for j in finishing:
            step = _STEPS[features[j].kind][1]
            columns[j] = np.array([step(float(x)) for x in columns[j]], dtype=np.float64)
    elif finishing:
        arguments = pl.DataFrame([pl.Series(str(j), columns[j]) for j in finishing])
        finished = arguments.select(finishing.values())
        for j, series in zip(finishing, finished.get_columns(), strict=True):
            columns[j] = series.to_numpy()
    for j in finishing:
        if features[j].kind == "recency":  # never touched
            columns[j] = np.where(read.nulls(features[j].column) > 0, 0.0, columns[j])
    return AccountFeatures(tuple(feature.name for feature in features), _side_by_side(columns))


def _side_by_side(columns: list[Floats]) -> Floats:
    """The columns as one C-ordered matrix (polars copies long columns across faster)."""
    if not columns:
        return np.zeros((0, 0))
    if len(columns[0]) < _LONG:
        return np.column_stack(columns)
    frame = pl.DataFrame([pl.Series(str(j), column) for j, column in enumerate(columns)])
    matrix: Floats = frame.to_numpy(order="c")
    return matrix


def _argument(feature: _Feature, read: _Columns) -> Floats:
    """The feature, or what its finishing expression (see :func:`_features_of`) takes."""
    kind, column = feature.kind, feature.column
    if kind == "segment":
        return read.equal("segment", column)
    if kind == "customer":
        return (read.number(column) > 0).astype(np.float64)
    if kind == "products_held":
        return np.clip(read.number(column), 0.0, 20.0)
    if kind == "log_employees":
        return np.clip(read.number(column), 0.0, None) + 1.0
    if kind == "open_opportunities":
        return np.clip(read.number(column), 0.0, 5.0)
    if kind == "recency":
        return -read.raw(column)
    if kind == "count":
        return read.number(column) + 1.0
    if kind == "missing":
        return read.nulls(column)
    return read.number(column)  # a gauge's value, or a state: open or not


def _features_of(playbook: Playbook, _: None) -> tuple[tuple[_Feature, ...], dict[int, pl.Expr]]:
    """A playbook's features, and by position the polars steps that finish some of them."""
    features = [_Feature(f"segment_{name}", "segment", name) for name in _SEGMENTS]
    features += [
        _Feature("customer", "customer", "products_held"),
        _Feature("products_held", "products_held", "products_held"),
        _Feature("log_employees", "log_employees", "employees"),
        _Feature("open_opportunities", "open_opportunities", "open_opportunities"),
        _Feature("touched_recently", "recency", "days_since_last_touch"),
    ]
    for name, declared in sorted(playbook.signals.items()):
        if declared.kind is SignalKind.COUNT:
            features.append(_Feature(f"{name}_score", "count", f"signals__{name}__score"))
        elif declared.kind is SignalKind.GAUGE:
            features.append(_Feature(f"{name}_value", "gauge", f"signals__{name}__value"))
            features.append(_Feature(f"{name}_missing", "missing", f"signals__{name}__value"))
        else:
            features.append(_Feature(f"{name}_open", "state", f"signals__{name}__open"))
    finishing = {
        j: _STEPS[feature.kind][0](pl.col(str(j))).alias(str(j))
        for j, feature in enumerate(features)
        if feature.kind in _STEPS
    }
    return tuple(features), finishing


def _log(x: float) -> float:
    """ln(x) as polars has it: -inf at 0, NaN below."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _exp(x: float) -> float:
    """e**x as polars has it: inf on overflow."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


_RECENT_DAYS = 30.0
"""``touched_recently`` is exp(−days since the last touch / this)."""
_FIFTH: float = 1 / 5.0
_TENTH: float = 1 / 10.0
_HUNDREDTH: float = 1 / 100.0
_PER_RECENT_DAY: float = 1 / _RECENT_DAYS
_STEPS: dict[str, tuple[Callable[[pl.Expr], pl.Expr], Callable[[float], float]]] = {
    "products_held": (lambda x: x * _FIFTH, lambda x: x * _FIFTH),
    "log_employees": (lambda x: x.log() * _TENTH, lambda x: _log(x) * _TENTH),
    "recency": (lambda x: (x * _PER_RECENT_DAY).exp(), lambda x: _exp(x * _PER_RECENT_DAY)),
    "count": (lambda x: x.log(), _log),
    "gauge": (lambda x: x * _HUNDREDTH, lambda x: x * _HUNDREDTH),
}
"""The steps that round (log, exp, scaling), as a polars expression for many accounts and in
Python for a few, to the same bit (``test_feature_steps.py`` checks it, edge values too):
log and exp are the C library's either way, and scaling multiplies by the reciprocal, as
polars divides a column of two or more rows by a number (a single row it divides exactly,
so dividing would make one account's features differ from the batch's in the last bit)."""


_FEATURES = PerPlaybook(_features_of)
"""Built once per playbook (deciding one account at a time asks on every call)."""
_LONG = 50_000
"""Rows from which :func:`_side_by_side` leaves the copying to polars."""


class _Columns:
    """A context frame's columns as float arrays (nulls as NaN), each read once."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._present = set(frame.columns)
        self._raw: dict[str, Floats] = {}
        self._numbers: dict[str, Floats] = {}

    def raw(self, column: str) -> Floats:
        """The column as numbers, NaN where null (all null when the frame lacks it)."""
        if column not in self._raw:
            self._raw[column] = (
                self._frame[column].cast(pl.Float64).to_numpy()
                if column in self._present
                else np.full(self._frame.height, np.nan)
            )
        return self._raw[column]

    def number(self, column: str) -> Floats:
        """The column as numbers, 0 where null or NaN."""
        if column not in self._numbers:
            raw = self.raw(column)
            unknown = np.isnan(raw)
            self._numbers[column] = np.where(unknown, 0.0, raw) if unknown.any() else raw
        return self._numbers[column]

    def nulls(self, column: str) -> Floats:
        """1 where the column is null (everywhere when the frame lacks it), else 0."""
        if column not in self._present:
            return np.ones(self._frame.height)
        series = self._frame[column]
        nulls = series.null_count()
        if not nulls:
            return np.zeros(self._frame.height)
        missing = np.isnan(self.raw(column))
        if int(missing.sum()) > nulls:  # NaN besides the nulls: ask which are which
            missing = series.is_null().to_numpy()
        return missing.astype(np.float64)

    def equal(self, column: str, value: str) -> Floats:
        """1 where the column equals ``value``, else 0 (null included)."""
        if column not in self._present:
            return np.zeros(self._frame.height)
        series = self._frame[column]
        if len(series) <= _FEW_ROWS and series.dtype == pl.String:  # no query for a few
            return np.array([found == value for found in series.to_list()], dtype=np.float64)
        equal = nulls_filled(series == value, False)
        return equal.to_numpy().astype(np.float64)


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
    key, score = _located(interest, account_ids, product_ids)
    if len(key) > 1 and (np.diff(key) < 0).any():  # the context's rows come sorted
        order = np.argsort(key, kind="stable")
        key, score = key[order], score[order]
    if not len(key):
        return matrix
    # Scores are whole multiples of 2**-32 (or counts): sums are exact in any order.
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    matrix.flat[key[starts]] = np.log1p(np.add.reduceat(score, starts))
    return matrix


def _located(
    interest: pl.DataFrame, account_ids: pl.Series, product_ids: tuple[str, ...]
) -> tuple[npt.NDArray[np.int64], Floats]:
    """Each interest row's cell (row × products + column) and score, in the interest's
    order, without the rows of other accounts or products."""
    if interest.height <= _FEW_ROWS and len(account_ids) <= _FEW_ROWS:
        # Few rows (deciding one account): looked up in Python rather than joined.
        ids = account_ids.to_list()
        row_of = {account_id: i for i, account_id in enumerate(ids) if account_id is not None}
        if len(row_of) == len(ids):  # distinct ids, as in a context
            column_of = {product_id: j for j, product_id in enumerate(product_ids)}
            cells = [
                row_of[a] * len(product_ids) + column_of[p]
                if a in row_of and p in column_of
                else -1
                for a, p in zip(
                    interest["account_id"].to_list(), interest["product_id"].to_list(), strict=True
                )
            ]
            key = np.array(cells, dtype=np.int64)
            score = interest["score"].cast(pl.Float64).to_numpy()
            return key[key >= 0], score[key >= 0]
    rows = pl.DataFrame({"account_id": account_ids}).with_row_index("row")
    product = pl.col("product_id").cast(pl.Enum(product_ids), strict=False).to_physical()
    located = (
        interest.lazy()
        .select("account_id", product.alias("column"), "score")
        .filter(pl.col("column").is_not_null())
        .join(rows.lazy(), on="account_id", maintain_order="left")
        .collect()
    )
    key = (
        located["row"].cast(pl.Int64).to_numpy() * len(product_ids)
        + located["column"].cast(pl.Int64).to_numpy()
    )
    return key, located["score"].cast(pl.Float64).to_numpy()


_FEW_ROWS = 1_000
"""Up to this many accounts and interest rows, :func:`_located` looks rows up in Python."""

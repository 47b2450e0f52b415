"""Property: the guardrail constructors' lean forms compute what their plain forms did.

Contact caps, quiet periods and kill switches are written in fewer polars nodes than they
were (they run on every decision); the plain forms are kept below, verbatim. Over random
parameters and random frames, with nulls, NaN and columns of many dtypes (String, Enum,
Categorical and Null channels; float, integer, unsigned, boolean and null counts), every
row must get the same value, or polars must refuse both alike.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextmove.governance.guardrail_rules import (
    contact_cap_rule,
    kill_switch_rule,
    quiet_period_rule,
    touches_column,
)

PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_CONTACTS_SOMEONE = pl.col("channel").ne_missing("none")


def plain_cap(scope: str, channel: str, max_touches: int, days: int) -> pl.Expr:
    touches = pl.col(touches_column(scope, channel, days)).fill_null(0)  # type: ignore[arg-type]
    on_channel = pl.lit(True) if channel == "any" else pl.col("channel").eq_missing(channel)
    return _CONTACTS_SOMEONE & on_channel & (touches + 1 > max_touches)


def plain_quiet(after: str, days: int) -> pl.Expr:
    since = pl.col(f"days_since__{after}")
    return _CONTACTS_SOMEONE & (since < days).fill_null(False)


def plain_kill(engaged: list[tuple[str, str | None]]) -> pl.Expr:
    motions = sorted({target for scope, target in engaged if scope == "motion" and target})
    actions = sorted({target for scope, target in engaged if scope == "action" and target})
    parts = [pl.lit(True)] if any(scope == "global" for scope, _ in engaged) else []
    if motions:
        parts.append(pl.col("motion").is_in(motions))
    if actions:
        parts.append(pl.col("action").is_in(actions))
    return pl.any_horizontal(parts) if parts else pl.lit(False)


CHANNELS = ["email", "phone", "meeting", "none", "sms"]
TEXT_DTYPES = [pl.String(), pl.Categorical(), pl.Enum(CHANNELS), pl.Null()]
COUNT_DTYPES = [
    pl.Float64(),
    pl.Float32(),
    pl.Int64(),
    pl.Int8(),
    pl.UInt8(),
    pl.UInt64(),
    pl.Boolean(),
    pl.Null(),
]
COUNTS = [None, 0, 1, 2, 3, 127, 255, -1, 2**63 - 1, math.nan, 2.5, math.inf]


_RANGES = {
    pl.Int64: (-(2**63), 2**63 - 1),
    pl.Int8: (-128, 127),
    pl.UInt8: (0, 255),
    pl.UInt64: (0, 2**64 - 1),
}


def _counts(dtype: pl.DataType, values: list[Any]) -> pl.Series:
    if dtype == pl.Null:
        return pl.Series([None] * len(values), dtype=pl.Null)
    if dtype == pl.Boolean:
        return pl.Series([None if v is None or v != v else bool(v) for v in values], dtype=dtype)
    if dtype.is_float():
        return pl.Series(values, dtype=pl.Float64).cast(dtype)
    low, high = _RANGES[type(dtype)]
    fits = [
        int(v) if v is not None and float(v).is_integer() and low <= v <= high else None
        for v in values
    ]
    return pl.Series(fits, dtype=dtype)


@st.composite
def frames(draw: st.DrawFn, counted: list[str], texts: list[str]) -> pl.DataFrame:
    size = draw(st.integers(1, 6))
    columns = []
    for name in texts:
        dtype = draw(st.sampled_from(TEXT_DTYPES))
        values = draw(st.lists(st.sampled_from([None, *CHANNELS]), min_size=size, max_size=size))
        if dtype == pl.Null:
            values = [None] * size
        columns.append(pl.Series(name, values, dtype=dtype))
    for name in counted:
        dtype = draw(st.sampled_from(COUNT_DTYPES))
        values = draw(st.lists(st.sampled_from(COUNTS), min_size=size, max_size=size))
        columns.append(_counts(dtype, values).alias(name))
    return pl.DataFrame(columns)


def _outcome(frame: pl.DataFrame, expression: pl.Expr) -> list[Any] | str:
    try:
        return frame.with_columns(expression.alias("__value")).get_column("__value").to_list()
    except pl.exceptions.PolarsError:
        return "fails"


@PROPERTY_SETTINGS
@given(
    scope=st.sampled_from(["account", "contact"]),
    channel=st.sampled_from(["any", "email", "phone", "none"]),
    max_touches=st.integers(0, 4),
    days=st.integers(1, 30),
    data=st.data(),
)
def test_a_lean_contact_cap_blocks_as_the_plain_one_did(
    scope: str, channel: str, max_touches: int, days: int, data: st.DataObject
) -> None:
    rule = contact_cap_rule(
        scope=scope,  # type: ignore[arg-type]
        channel=channel,
        max_touches=max_touches,
        days=days,
    )
    column = touches_column(scope, channel, days)  # type: ignore[arg-type]
    frame = data.draw(frames([column], ["channel"]))
    expected = _outcome(frame, plain_cap(scope, channel, max_touches, days))
    assert _outcome(frame, rule.violated) == expected, frame
    assert rule.columns == tuple(sorted({"channel", column}))


@PROPERTY_SETTINGS
@given(
    after=st.sampled_from(["touch", "purchase", "complaint"]),
    days=st.integers(1, 90),
    data=st.data(),
)
def test_a_lean_quiet_period_blocks_as_the_plain_one_did(
    after: str, days: int, data: st.DataObject
) -> None:
    rule = quiet_period_rule(after=after, days=days)
    frame = data.draw(frames([f"days_since__{after}"], ["channel"]))
    assert _outcome(frame, rule.violated) == _outcome(frame, plain_quiet(after, days)), frame


@PROPERTY_SETTINGS
@given(
    engaged=st.lists(
        st.sampled_from(
            [("global", None), ("motion", "email"), ("motion", "sms"), ("action", "phone")]
        ),
        max_size=3,
    ),
    data=st.data(),
)
def test_a_lean_kill_switch_blocks_as_the_plain_one_did(
    engaged: list[tuple[str, str | None]], data: st.DataObject
) -> None:
    rule = kill_switch_rule(engaged)
    frame = data.draw(frames([], ["motion", "action"]))
    assert _outcome(frame, rule.violated) == _outcome(frame, plain_kill(engaged)), frame

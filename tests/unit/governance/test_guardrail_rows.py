"""Property: rules evaluated row by row in Python give exactly what polars gives.

Random polars expressions, built from the forms the guardrail constructors and the playbook
compiler write and from some they never write, meet random frames (nulls, NaN, -0.0,
infinities; String, Float64 and Boolean columns, and columns of other dtypes). Wherever
:mod:`nextmove.governance.guardrail_rows` agrees to evaluate the rules, every rule's
result for every row must be what the polars query gives; where it declines, the filter
evaluates with polars, which the same comparison covers through ``apply_guardrails``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nextmove.governance import guardrails
from nextmove.governance.guardrail_rows import row_rules, rules_columns
from nextmove.governance.guardrails import (
    VIOLATED,
    CapacityLimit,
    GuardrailResult,
    Rule,
    apply_guardrails,
    autonomy_never_rule,
    consent_rule,
    contact_cap_rule,
    eligibility_rule,
    kill_switch_rule,
    quiet_period_rule,
    region_consent_rule,
)

PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

STRINGS = ["s1", "s2"]
NUMBERS = ["f1", "f2"]
FLAGS = ["b1", "b2"]
TEXT = ["a", "b", "", "opted_out"]
FLOATS = [0.0, -0.0, 1.0, 2.5, -3.0, 40.0, math.nan, math.inf, -math.inf]

Built = tuple[pl.Expr, str]
"""An expression and the kind of value it computes: str, f64 or bool."""


# ── expressions ──────────────────────────────────────────────────────────────────────────


def _string_leaf() -> st.SearchStrategy[pl.Expr]:
    return st.one_of(
        st.sampled_from(STRINGS).map(pl.col),
        st.sampled_from(STRINGS).map(lambda name: pl.col(name).cast(pl.String)),
        st.sampled_from(TEXT).map(pl.lit),
        st.just(pl.lit(None, pl.String)),
    )


def _number_leaf() -> st.SearchStrategy[pl.Expr]:
    return st.one_of(
        st.sampled_from(NUMBERS).map(pl.col),
        st.sampled_from(NUMBERS).map(lambda name: pl.col(name).cast(pl.Float64)),
        st.sampled_from(NUMBERS).map(lambda name: pl.col(name).cast(pl.Float64).fill_nan(None)),
        st.sampled_from(FLOATS).map(lambda value: pl.lit(value, pl.Float64)),
        st.just(pl.lit(None, pl.Float64)),
    )


def _flag_leaf() -> st.SearchStrategy[pl.Expr]:
    return st.one_of(
        st.sampled_from(FLAGS).map(pl.col),
        st.sampled_from(FLAGS).map(lambda name: pl.col(name).cast(pl.Boolean)),
        st.booleans().map(pl.lit),
        st.just(pl.lit(None, pl.Boolean)),
        st.just(pl.lit(None)),
    )


def _scalar(value: Any) -> st.SearchStrategy[Any]:
    """A literal without a dtype (polars gives it the other side's), or a typed one."""
    return st.booleans().map(lambda typed: pl.lit(value) if typed else value)


COMPARE: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "eq_missing": lambda a, b: a.eq_missing(b),
    "ne_missing": lambda a, b: a.ne_missing(b),
}


@st.composite
def flags(draw: st.DrawFn, depth: int = 3) -> pl.Expr:
    """A true/false expression."""
    if depth <= 0:
        return draw(_flag_leaf())
    choice = draw(st.integers(0, 14))
    inner = flags(depth - 1)
    if choice == 0:
        return draw(_flag_leaf())
    if choice == 1:
        op = draw(st.sampled_from(sorted(COMPARE)))
        left = draw(numbers(depth - 1))
        right = draw(
            st.one_of(numbers(depth - 1), st.sampled_from([1, 0, -2, 3]), st.sampled_from(FLOATS))
        )
        return COMPARE[op](left, right)
    if choice == 2:
        op = draw(st.sampled_from(["==", "!=", "eq_missing", "ne_missing"]))
        left = draw(strings(depth - 1))
        right = draw(st.one_of(strings(depth - 1), st.sampled_from(TEXT)))
        return COMPARE[op](left, right)
    if choice == 3:
        op = draw(st.sampled_from(["==", "!=", "eq_missing", "ne_missing"]))
        return COMPARE[op](draw(inner), draw(st.one_of(inner, st.booleans())))
    if choice == 4:
        return draw(inner) & draw(inner)
    if choice == 5:
        return draw(inner) | draw(inner)
    if choice == 6:
        return ~draw(inner)
    if choice == 7:
        value = draw(st.one_of(inner, strings(depth - 1), numbers(depth - 1)))
        return value.is_null() if draw(st.booleans()) else value.is_not_null()
    if choice == 8:
        value = draw(numbers(depth - 1))
        return value.is_nan() if draw(st.booleans()) else value.is_not_nan()
    if choice == 9:
        nulls_equal = draw(st.booleans())
        if draw(st.booleans()):
            listed = draw(st.lists(st.sampled_from([*TEXT, None]), min_size=1, max_size=4))
            return draw(strings(depth - 1)).is_in(listed, nulls_equal=nulls_equal)
        listed = draw(st.lists(st.sampled_from([0.0, -0.0, 1.0, 2.5, math.inf, None]), min_size=1))
        return draw(numbers(depth - 1)).is_in(listed, nulls_equal=nulls_equal)
    if choice == 10:
        parts = draw(st.lists(inner, min_size=1, max_size=3))
        return pl.any_horizontal(parts) if draw(st.booleans()) else pl.all_horizontal(parts)
    if choice == 11:
        return draw(inner).fill_null(draw(st.one_of(st.booleans(), inner)))
    if choice == 12:
        otherwise = draw(st.one_of(inner, st.just(None), st.booleans()))
        return pl.when(draw(inner)).then(draw(inner)).otherwise(otherwise)
    if choice == 13:
        return draw(inner).eq_missing(True)
    return draw(_unusual_flag(depth - 1))


@st.composite
def _unusual_flag(draw: st.DrawFn, depth: int) -> pl.Expr:
    """Forms the guardrails never write; some polars computes across rows."""
    number = draw(numbers(depth))
    return draw(
        st.sampled_from(
            [
                number > number.mean(),
                number.shift(1) > 0,
                pl.col("s1").is_in(pl.col("s2").implode()),
                pl.col("f1").cast(pl.String) == "1.0",
                pl.col("b1").cast(pl.Float64) > 0,
                (pl.col("f1") * 2) > 1,
                pl.lit(pl.Series([True, False, True])).head(1),
                pl.col("s1").str.len_chars() > 0,
            ]
        )
    )


@st.composite
def numbers(draw: st.DrawFn, depth: int = 2) -> pl.Expr:
    if depth <= 0:
        return draw(_number_leaf())
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(numbers(depth - 1)) + draw(
            st.one_of(numbers(depth - 1), _scalar(1), _scalar(0.5))
        )
    if choice == 1:
        return draw(numbers(depth - 1)).fill_null(draw(st.sampled_from([0, 0.0, -1.5])))
    if choice == 2:
        otherwise = draw(st.one_of(numbers(depth - 1), st.just(None)))
        return pl.when(draw(flags(depth - 1))).then(draw(numbers(depth - 1))).otherwise(otherwise)
    return draw(_number_leaf())


@st.composite
def strings(draw: st.DrawFn, depth: int = 2) -> pl.Expr:
    if depth <= 0 or draw(st.booleans()):
        return draw(_string_leaf())
    if draw(st.booleans()):
        return draw(strings(depth - 1)).fill_null(draw(st.sampled_from(TEXT)))
    otherwise = draw(st.one_of(strings(depth - 1), st.just(None)))
    return pl.when(draw(flags(depth - 1))).then(draw(strings(depth - 1))).otherwise(otherwise)


# ── frames ───────────────────────────────────────────────────────────────────────────────

STRING_DTYPES = [pl.String(), pl.Categorical(), pl.Enum([*TEXT, "z"]), pl.Null()]
NUMBER_DTYPES = [pl.Float64(), pl.Float32(), pl.Int64(), pl.UInt8(), pl.Null()]
FLAG_DTYPES = [pl.Boolean(), pl.Null(), pl.Int8()]


def _values(dtype: pl.DataType, draw: st.DrawFn, size: int, pool: list[Any]) -> pl.Series:
    values = draw(st.lists(st.sampled_from([None, *pool]), min_size=size, max_size=size))
    if dtype == pl.Null:
        return pl.Series([None] * size, dtype=pl.Null)
    if dtype.is_integer():
        whole = [v if v is None or isinstance(v, bool) else v for v in values]
        whole = [
            None if v is None or (isinstance(v, float) and not math.isfinite(v)) else int(abs(v))
            for v in whole
        ]
        return pl.Series(whole, dtype=dtype)
    return pl.Series(values, dtype=dtype)


@st.composite
def frames(draw: st.DrawFn, usual: bool) -> pl.DataFrame:
    """Few rows; ``usual``: the dtypes a decision's candidates have (else any dtype)."""
    size = draw(st.integers(1, 6))
    columns = {}
    for names, dtypes, pool in (
        (STRINGS, STRING_DTYPES, TEXT),
        (NUMBERS, NUMBER_DTYPES, FLOATS),
        (FLAGS, FLAG_DTYPES, [True, False]),
    ):
        for name in names:
            dtype = (
                dtypes[0] if usual and draw(st.integers(0, 5)) else draw(st.sampled_from(dtypes))
            )
            columns[name] = _values(dtype, draw, size, pool).alias(name)
    actions = draw(st.lists(st.sampled_from(["go", "no_action"]), min_size=size, max_size=size))
    return pl.DataFrame([pl.Series("action", actions), *columns.values()])


def _by_polars(frame: pl.DataFrame, rules: tuple[Rule, ...]) -> np.ndarray[Any, Any] | Exception:
    """Per rule and row, broken or not, by the polars query (or the error it raised)."""
    try:
        return np.array(list(guardrails._violated(frame, rules)))
    except pl.exceptions.PolarsError as error:
        return error


def _check_agrees(frame: pl.DataFrame, expressions: list[pl.Expr]) -> bool:
    """Whether Python evaluated the rules (then it must agree with polars)."""
    rules = tuple(Rule(f"r{i}", "", expression) for i, expression in enumerate(expressions))
    in_python = guardrails._violated_in_python(frame, rules)
    if in_python is None:
        return False
    expected = _by_polars(frame, rules)
    shown = f"{frame}\n{[str(e) for e in expressions]}\npython {in_python}\npolars {expected}"
    assert not isinstance(expected, Exception), f"polars fails where Python evaluated: {shown}"
    assert in_python.tolist() == expected.tolist(), shown
    return True


@settings(PROPERTY_SETTINGS, max_examples=1500)
@given(frame=frames(usual=True), expressions=st.lists(flags(), min_size=1, max_size=3))
def test_rows_evaluated_in_python_match_polars(
    frame: pl.DataFrame, expressions: list[pl.Expr]
) -> None:
    event("evaluated in Python" if _check_agrees(frame, expressions) else "left to polars")
    for expression in expressions:  # one rule Python declines leaves all to polars
        event("one: in Python" if _check_agrees(frame, [expression]) else "one: left to polars")


@PROPERTY_SETTINGS
@given(frame=frames(usual=False), expressions=st.lists(flags(), min_size=1, max_size=2))
def test_any_dtype_either_matches_polars_or_is_left_to_polars(
    frame: pl.DataFrame, expressions: list[pl.Expr]
) -> None:
    rules = tuple(Rule(f"r{i}", "", expression) for i, expression in enumerate(expressions))
    evaluated = _check_agrees(frame, expressions)
    columns = rules_columns(rules)
    assert columns is not None
    dtypes = [frame.schema[column] for column in columns]
    if any(dtype not in (pl.String, pl.Float64, pl.Boolean, pl.Null) for dtype in dtypes):
        assert not evaluated  # only the dtypes whose values Python holds as polars does
    # Whichever way, the filter's answer is the polars query's.
    expected = _by_polars(frame, rules)
    try:
        found = apply_guardrails(frame, list(rules))
    except pl.exceptions.PolarsError:
        assert isinstance(expected, Exception)
        return
    assert not isinstance(expected, Exception)
    broken = (expected & (frame["action"] != "no_action").to_numpy()).any(axis=0)
    assert found.first_rules is not None
    assert found.first_rules.positions.tolist() == np.flatnonzero(broken).tolist()


def test_the_forms_the_guardrails_write_are_evaluated_in_python() -> None:
    """The decision path's rules must not silently fall back to polars (slow, not wrong)."""
    expressions = [
        pl.col("s1").cast(pl.String).is_in(["a", "b"])
        & pl.col("b1").cast(pl.Boolean).eq_missing(True),
        pl.when(pl.col("f1").cast(pl.Float64).is_not_nan())
        .then(pl.col("f1").cast(pl.Float64) >= 1.0)
        .otherwise(False),
        pl.col("s2").ne_missing("none") & (pl.col("f2").fill_null(0) + 1 > 3),
        ~(pl.col("f1").cast(pl.Float64).fill_nan(None) < 40.0).fill_null(False),
        pl.any_horizontal(pl.col("s1") == "a", pl.col("s2").is_null()),
        pl.lit(True),
    ]
    frame = pl.DataFrame(
        {
            "s1": ["a", None, "c"],
            "s2": ["none", "x", None],
            "f1": [math.nan, 2.0, None],
            "f2": [None, 3.0, -0.0],
            "b1": [True, None, False],
        }
    )
    assert _check_agrees(frame, expressions)


@pytest.mark.parametrize(
    "expression",
    [
        pl.col("f1") > pl.col("f1").mean(),
        pl.col("f1").shift(1) > 0,
        pl.col("s1").is_in(pl.col("s2").implode()),
        pl.col("f1") > math.inf,  # written as null when serialised
        pl.col("f1").cast(pl.Int64) > 0,
        pl.col("f1").str.len_chars() > 0,
    ],
)
def test_forms_computed_across_rows_or_not_known_are_left_to_polars(expression: pl.Expr) -> None:
    rules = (Rule("r", "", expression),)
    columns = rules_columns(rules)
    assert columns is not None
    assert row_rules(rules, tuple(pl.Float64() for _ in columns)) is None
    assert row_rules(rules, tuple(pl.String() for _ in columns)) is None


VALUES: dict[str, list[Any]] = {
    "f64": [None, math.nan, -0.0, 0.0, 1.0, -3.0, math.inf, -math.inf],
    "str": [None, "", "a", "b"],
    "bool": [None, True, False],
}
DTYPES = {"f64": pl.Float64, "str": pl.String, "bool": pl.Boolean}
OPERATIONS: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    **COMPARE,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "+": lambda a, b: (a + b) > 0,
    "fill_null": lambda a, b: a.fill_null(b).eq_missing(b),
    "any": lambda a, b: pl.any_horizontal(a, b),
    "all": lambda a, b: pl.all_horizontal(a, b),
    "when": lambda a, b: pl.when(a.is_null()).then(b).otherwise(a).eq_missing(b),
}


@pytest.mark.parametrize("kind", sorted(VALUES))
@pytest.mark.parametrize("operation", [*sorted(OPERATIONS), "is_in"])
def test_every_pair_of_values_compares_and_combines_as_in_polars(kind: str, operation: str) -> None:
    """Each operation over every pair of values (nulls, NaN, ±0, ±inf): column with column,
    and column with a literal of each value, typed or not."""
    pairs = [(a, b) for a in VALUES[kind] for b in VALUES[kind]]
    frame = pl.DataFrame(
        {
            "action": ["go"] * len(pairs),
            "a": pl.Series([a for a, _ in pairs], dtype=DTYPES[kind]),
            "b": pl.Series([b for _, b in pairs], dtype=DTYPES[kind]),
        }
    )
    if operation == "is_in":  # in a literal list of one value, of all, of all but null
        listed = [[v] for v in VALUES[kind]] + [VALUES[kind], VALUES[kind][1:]]
        forms = [
            pl.col("a").is_in(values, nulls_equal=same)
            for values in listed
            for same in (False, True)
        ]
    else:
        apply = OPERATIONS[operation]
        forms = [apply(pl.col("a"), pl.col("b"))]
        for value in VALUES[kind]:
            forms.append(apply(pl.col("a"), pl.lit(value, DTYPES[kind])))
            if value is not None and (kind != "f64" or math.isfinite(value)):
                forms.append(apply(pl.col("a"), value))
    evaluated = 0
    for form in forms:
        rules = (Rule("r", "", form),)
        in_python = guardrails._violated_in_python(frame, rules)
        if in_python is None:
            continue
        evaluated += 1
        expected = _by_polars(frame, rules)
        assert not isinstance(expected, Exception), f"{form}: {expected}"
        assert in_python.tolist() == expected.tolist(), f"{form}\n{frame}"
    unknown = {  # what Python declines: strings only compare equal, flags only combine
        "str": {"+", "&", "|", "any", "all", "<", "<=", ">", ">="},
        "bool": {"+", "<", "<=", ">", ">=", "is_in"},
        "f64": {"&", "|", "any", "all"},
    }
    if operation not in unknown[kind]:
        assert evaluated, "the operation was never evaluated in Python"


@pytest.mark.parametrize("check", ["is_null", "is_not_null", "is_nan", "is_not_nan", "not"])
def test_every_value_is_tested_as_in_polars(check: str) -> None:
    for kind, values in VALUES.items():
        frame = pl.DataFrame(
            {"action": ["go"] * len(values), "a": pl.Series(values, dtype=DTYPES[kind])}
        )
        form = getattr(pl.col("a"), check)() if check != "not" else ~pl.col("a")
        rules = (Rule("r", "", form.eq_missing(True) if check != "not" else form),)
        in_python = guardrails._violated_in_python(frame, rules)
        if in_python is None:
            assert (kind, check) in {
                ("str", "is_nan"),
                ("str", "is_not_nan"),
                ("bool", "is_nan"),
                ("bool", "is_not_nan"),
                ("str", "not"),
                ("f64", "not"),
            }
            continue
        expected = _by_polars(frame, rules)
        assert not isinstance(expected, Exception)
        assert in_python.tolist() == expected.tolist(), f"{kind} {check}"


def _realistic_rules() -> list[Rule]:
    sales_like = {"sales_outreach", "digital_program"}
    return [
        kill_switch_rule([("motion", "partner")], rule_id="kill"),
        autonomy_never_rule(),
        consent_rule(),
        region_consent_rule("eu", "email"),
        contact_cap_rule(scope="contact", channel="email", max_touches=1, days=7),
        contact_cap_rule(scope="account", channel="any", max_touches=3, days=30),
        quiet_period_rule(after="complaint", days=14),
        quiet_period_rule(after="purchase", days=30, actions=sales_like),
        eligibility_rule(
            "mid_or_ent", pl.col("segment").is_in(["mid", "ent"]), actions={"sales_outreach"}
        ),
        eligibility_rule("value", pl.col("priority") >= 50.0),
    ]


@st.composite
def candidate_frames(draw: st.DrawFn) -> pl.DataFrame:
    size = draw(st.integers(1, 32))

    def column(pool: list[Any]) -> list[Any]:
        return draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size))

    text = {
        "account_id": ["a1", "a2", "a3", None],
        "action": ["sales_outreach", "digital_program", "partner_referral", "no_action", None],
        "motion": ["sales", "partner", None],
        "channel": ["email", "phone", "meeting", "none", None],
        "team_id": ["t1", "t2", None],
        "owner_id": ["o1", "o2", None],
        "consent__email": ["opted_in", "opted_out", "unknown", None],
        "consent__phone": ["opted_in", "opted_out", None],
        "region": ["eu", "na", None],
        "segment": ["smb", "mid", "ent", None],
        "autonomy": ["never", "approve", None],
    }
    numbers = {
        "priority": [None, math.nan, 10.0, 50.0, 80.0, 80.0],
        "touches__contact__email__7d": [None, 0.0, 1.0, math.nan],
        "touches__account__any__30d": [None, 0.0, 3.0],
        "days_since__complaint": [None, 1.0, 20.0, math.nan],
        "days_since__purchase": [None, 5.0, 40.0],
    }
    return pl.DataFrame(
        [pl.Series(name, column(pool), dtype=pl.String) for name, pool in text.items()]
        + [pl.Series(name, column(pool), dtype=pl.Float64) for name, pool in numbers.items()]
        + [pl.Series("do_not_contact", column([None, True, False]), dtype=pl.Boolean)]
    )


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(frame=candidate_frames(), one_per_account=st.booleans(), limit=st.integers(0, 3))
def test_the_filter_decides_a_few_candidates_in_python_as_by_polars(
    frame: pl.DataFrame, one_per_account: bool, limit: int
) -> None:
    rules = _realistic_rules()
    assert guardrails._violated_in_python(frame, tuple(rules)) is not None
    capacities = [
        CapacityLimit("team", "team_id", {"t1": limit}, actions={"sales_outreach"}, default=2),
        CapacityLimit("owner", "owner_id", {}, default=limit),
    ]

    def run() -> GuardrailResult:
        return apply_guardrails(frame, rules, capacities, one_action_per_account=one_per_account)

    in_python = run()
    with patch.object(guardrails, "_ROWS_IN_PYTHON", -1):
        by_polars = run()
    assert in_python.allowed.equals(by_polars.allowed)
    assert in_python.blocked.equals(by_polars.blocked)
    found, expected = in_python.first_rules, by_polars.first_rules
    assert found is not None and expected is not None
    assert found.positions.tolist() == expected.positions.tolist()
    assert found.first.tolist() == expected.first.tolist()


def test_more_than_64_rules_are_packed_into_words_as_by_polars() -> None:
    rules = [Rule(f"r{i}", "", pl.col("x") > float(i)) for i in range(150)]
    frame = pl.DataFrame(
        {"action": ["a", "b", "no_action", None], "x": [0.5, 70.0, 200.0, math.nan]}
    )
    in_python = apply_guardrails(frame, rules)
    with patch.object(guardrails, "_ROWS_IN_PYTHON", -1):
        by_polars = apply_guardrails(frame, rules)
    assert in_python.blocked.equals(by_polars.blocked)
    assert in_python.blocked[VIOLATED].to_list()[1] == [f"r{i}" for i in range(70)]

"""Property: the lean compiled forms compute exactly what the plain forms computed.

The compiler, the consent rules and the policy write each rule in as few and as cheap
polars nodes as they can (the rules run on every decision). The plain forms they replace
are kept below, verbatim; random expressions and rules over random frames, with nulls,
NaN, -0.0, infinities and columns of other dtypes than the declared ones, must give the
same value in every row (or fail alike), and the same guardrail masks.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextmove.governance import guardrails
from nextmove.governance.guardrails import Rule, eligibility_rule
from nextmove.governance.model import KillScope, KillSwitch
from nextmove.playbook.context import (
    ContextField,
    ContextSchema,
    ValueType,
    default_context_schema,
    polars_type,
)
from nextmove.playbook.expressions import CheckedExpression, check_expression, compile_expression
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Channel, ConsentRule, Playbook, SignalKind
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.rules import CONSENT_COLUMNS, compile_rules
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.playbook.syntax import (
    Call,
    Compare,
    ListValue,
    Literal,
    Logical,
    Membership,
    Name,
    Node,
    Not,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ── the plain forms, as they were ────────────────────────────────────────────────────────


def plain_compile(checked: CheckedExpression) -> pl.Expr:
    """The compiler before the lean forms (``fill_nan(None)`` and ``fill_null(False)``)."""
    return _PlainCompiler(checked).expr(checked.tree)


def _plain_literal_type(value: str | float | bool | None) -> ValueType:
    if value is None:
        return ValueType.NULL
    if isinstance(value, bool):
        return ValueType.BOOL
    return ValueType.NUMBER if isinstance(value, float) else ValueType.STRING


@dataclass(frozen=True)
class _PlainCompiler:
    checked: CheckedExpression

    def expr(self, node: Node) -> pl.Expr:
        if isinstance(node, Literal):
            value = node.value
            return pl.lit(value, dtype=polars_type(_plain_literal_type(value)))
        if isinstance(node, Name):
            return _plain_column(node.name, self.checked.columns[node.name])
        if isinstance(node, Call):
            column = self.checked.calls[node]
            return _plain_column(column, self.checked.columns[column])
        if isinstance(node, Not):
            return ~self.expr(node.operand)
        if isinstance(node, Logical):
            left, right = self.expr(node.left), self.expr(node.right)
            return left & right if node.op == "&&" else left | right
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Membership):
            return self._membership(node)
        raise TypeError(f"a bare list has no value: {node}")

    def _compare(self, node: Compare) -> pl.Expr:
        left_null = isinstance(node.left, Literal) and node.left.value is None
        right_null = isinstance(node.right, Literal) and node.right.value is None
        if left_null and right_null:
            return pl.lit(node.op == "==")
        if left_null or right_null:
            other = self.expr(node.right if left_null else node.left)
            return other.is_null() if node.op == "==" else other.is_not_null()
        op: str = node.op
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.left, Literal) and not isinstance(node.right, Literal):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if op == "==":
            return left.eq_missing(right)
        if op == "!=":
            return left.ne_missing(right)
        ordered = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
        return ordered[op].fill_null(False)

    def _membership(self, node: Membership) -> pl.Expr:
        item = self.expr(node.item)
        if isinstance(node.container, ListValue):
            values = [i.value for i in node.container.items if isinstance(i, Literal)]
            return item.is_in(values).fill_null(False)
        container = self.expr(node.container)
        return (container.list.contains(item) & item.is_not_null()).fill_null(False)


def _plain_column(name: str, value_type: ValueType) -> pl.Expr:
    column = pl.col(name).cast(polars_type(value_type))
    if value_type is ValueType.NUMBER:
        return column.fill_nan(None)
    if value_type is ValueType.BOOL:
        return column.fill_null(False)
    return column


def plain_consent_blocks(playbook: Playbook, channel: Channel) -> dict[str, pl.Expr]:
    """rules._consent before the lean forms: each consent rule's ``blocks`` for a channel."""
    consent_columns = CONSENT_COLUMNS[channel]
    found = {
        "consent.do_not_contact": pl.col("do_not_contact").cast(pl.Boolean).fill_null(False),
        "consent.opt_out": reduce(
            operator.or_,
            (pl.col(c).cast(pl.String).eq("opted_out").fill_null(False) for c in consent_columns),
        ),
    }
    of = {"email_consent": "email", "phone_consent": "phone"}
    for rule in playbook.consent.rules:
        columns = tuple(c for c in consent_columns if rule.channel in ("any", of[c]))
        if columns:
            blocks = _plain_in_region(rule, playbook.consent.regions)
            if rule.requires == "opted_in":
                blocks = blocks & reduce(
                    operator.or_,
                    (pl.col(c).cast(pl.String).ne_missing("opted_in") for c in columns),
                )
            found[rule.id] = blocks
    return found


def _plain_in_region(rule: ConsentRule, regions: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    by_region = pl.col("region").cast(pl.String).eq_missing(pl.lit(rule.region, pl.String))
    countries = regions.get(rule.region, ())
    by_country = pl.col("country").cast(pl.String).is_in(list(countries)).fill_null(False)
    return by_region | by_country


def plain_policy_rules(playbook: Playbook, schema: ContextSchema) -> dict[str, pl.Expr]:
    """The consent and eligibility rules of policy.guardrail_policy before the lean forms."""
    found: dict[str, pl.Expr] = {}
    parts: dict[str, list[pl.Expr]] = {}
    for channel in CONSENT_COLUMNS:
        if any(a.channel is channel for a in playbook.actions.values()):
            for rule_id, blocks in plain_consent_blocks(playbook, channel).items():
                on = pl.col("channel").cast(pl.String).eq(channel.value)
                parts.setdefault(rule_id, []).append(on & blocks)
    found |= {rule_id: pl.any_horizontal(same) for rule_id, same in parts.items()}
    for written in playbook.eligibility:
        condition = plain_compile(check_expression(written.require, schema))
        found[written.id] = eligibility_rule(written.id, ~(~condition)).violated
    return found


# ── expressions ──────────────────────────────────────────────────────────────────────────

SCHEMA = ContextSchema(
    fields={
        **default_context_schema(["p1"], {"sig": SignalKind.COUNT}).fields,
        "tags": ContextField(ValueType.LIST_STRING),
        "scores": ContextField(ValueType.LIST_NUMBER),
    },
    functions=default_context_schema(["p1"], {"sig": SignalKind.COUNT}).functions,
)
NUMBER_TEXT = st.sampled_from(["0", "-0", "1", "2.5", "-3", "1e999", "-1e999", "40"])
number_terms = st.one_of(
    st.sampled_from(["employees", "annual_revenue", 'signal_count("sig", 7)']), NUMBER_TEXT
)
string_terms = st.one_of(
    st.sampled_from(["country", "industry"]), st.sampled_from(['"smb"', '"mid"', '"x"', '""'])
)
bool_terms = st.sampled_from(["do_not_contact", 'holds("p1")', "true", "false"])
COMPARE = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
leaves = st.one_of(
    bool_terms,
    st.tuples(number_terms, COMPARE, number_terms).map(" ".join),
    st.tuples(string_terms, st.sampled_from(["==", "!="]), string_terms).map(" ".join),
    st.tuples(bool_terms, st.sampled_from(["==", "!="]), bool_terms).map(" ".join),
    st.tuples(
        st.sampled_from(["segment", "employees", "do_not_contact", "null", '"a"', "2"]),
        st.sampled_from(["==", "!="]),
    ).map(lambda pair: f"{pair[0]} {pair[1]} null"),
    st.tuples(
        st.sampled_from(["segment", "employees", "do_not_contact", '"a"', "2"]),
        st.sampled_from(["==", "!="]),
    ).map(lambda pair: f"null {pair[1]} {pair[0]}"),
    st.tuples(string_terms, st.lists(st.sampled_from(['"smb"', '"mid"', '""']), min_size=1)).map(
        lambda pair: f"{pair[0]} in [{', '.join(pair[1])}]"
    ),
    st.tuples(number_terms, st.lists(NUMBER_TEXT, min_size=1, max_size=3)).map(
        lambda pair: f"{pair[0]} in [{', '.join(pair[1])}]"
    ),
    string_terms.map(lambda term: f"{term} in tags"),
    st.sampled_from(['segment in ["smb", "mid"]', 'segment == "ent"', '"mid" != segment']),
    number_terms.map(lambda term: f"{term} in scores"),
)
expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        inner.map(lambda e: f"!({e})"),
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
    ),
    max_leaves=6,
)

# ── frames ───────────────────────────────────────────────────────────────────────────────

FLOATS = [None, math.nan, -0.0, 0.0, 1.0, 2.5, -3.0, 40.0, math.inf, -math.inf]
TEXTS = [None, "smb", "mid", "x", "", "1"]
CONTEXT_TEXTS = [
    *(None, "opted_in", "opted_out", "unknown"),
    *("EU", "DACH", "NA", "DE", "FR", "US", "mid", "ent", "u1"),
]
"""What the example's consent and eligibility rules look for (regions, countries, consent)."""
COLUMN_DTYPES: Mapping[ValueType, list[pl.DataType]] = {
    ValueType.NUMBER: [pl.Float64(), pl.Float32(), pl.Int64(), pl.UInt8(), pl.Null(), pl.Boolean()],
    ValueType.STRING: [
        pl.String(),
        pl.Categorical(),
        pl.Enum(sorted({t for t in [*TEXTS, *CONTEXT_TEXTS] if t is not None})),
    ],
    ValueType.BOOL: [pl.Boolean(), pl.Null(), pl.Int8(), pl.Float64()],
    ValueType.LIST_STRING: [pl.List(pl.String())],
    ValueType.LIST_NUMBER: [pl.List(pl.Float64()), pl.List(pl.Int64())],
}


def _series(name: str, dtype: pl.DataType, values: list[Any]) -> pl.Series:
    if dtype == pl.Null:
        return pl.Series(name, [None] * len(values), dtype=pl.Null)
    if dtype.is_integer() or dtype == pl.Boolean:
        whole = [
            None if not isinstance(v, float) or not math.isfinite(v) else abs(int(v))
            for v in values
        ]
        if dtype == pl.Boolean:
            return pl.Series(name, [None if v is None else bool(v) for v in whole], dtype=dtype)
        return pl.Series(name, whole, dtype=dtype)
    return pl.Series(name, values, dtype=dtype)


@st.composite
def frames(
    draw: st.DrawFn,
    columns: Mapping[str, ValueType],
    usual: bool = False,
    texts: list[str | None] = TEXTS,
) -> pl.DataFrame:
    size = draw(st.integers(1, 5))
    series = []
    for name, value_type in columns.items():
        dtypes = COLUMN_DTYPES[value_type]
        dtype = dtypes[0] if usual else draw(st.sampled_from(dtypes))
        if value_type is ValueType.NUMBER:
            values = draw(st.lists(st.sampled_from(FLOATS), min_size=size, max_size=size))
        elif value_type is ValueType.STRING:
            values = draw(st.lists(st.sampled_from(texts), min_size=size, max_size=size))
            if isinstance(dtype, pl.Enum):
                values = [None if v not in dtype.categories.to_list() else v for v in values]
        elif value_type is ValueType.BOOL:
            pool = [None, True, False] if dtype == pl.Boolean else [None, 0.0, 1.0, 2.0, math.nan]
            values = draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size))
        else:
            pool = TEXTS if value_type is ValueType.LIST_STRING else [None, 0.0, 1.0, math.nan]
            item = st.sampled_from(pool)
            values = draw(
                st.lists(st.none() | st.lists(item, max_size=3), min_size=size, max_size=size)
            )
            if dtype == pl.List(pl.Int64()):
                values = [
                    None if v is None else [None if x is None or x != x else int(x) for x in v]
                    for v in values
                ]
        series.append(_series(name, dtype, values))
    return pl.DataFrame(series)


def _outcome(frame: pl.DataFrame, expression: pl.Expr) -> list[Any] | str:
    """The value of every row (a literal broadcast), or that polars refused."""
    try:
        return frame.with_columns(expression.alias("__value")).get_column("__value").to_list()
    except pl.exceptions.PolarsError:
        return "fails"


def _same(left: list[Any] | str, right: list[Any] | str) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        return left == right
    return len(left) == len(right) and all(
        a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
        for a, b in zip(left, right, strict=True)
    )


@PROPERTY_SETTINGS
@given(text=expressions, data=st.data())
def test_the_lean_compiled_forms_compute_what_the_plain_forms_did(
    text: str, data: st.DataObject
) -> None:
    checked = check_expression(text, SCHEMA)
    frame = data.draw(frames(checked.columns or {"employees": ValueType.NUMBER}))
    lean, plain = compile_expression(checked), plain_compile(checked)
    found, expected = _outcome(frame, lean), _outcome(frame, plain)
    assert _same(found, expected), f"{text}\n{frame}\nlean {found}\nplain {expected}"
    # ...and as a rule (null breaks it), evaluated either way.
    rules = (Rule("lean", "", lean), Rule("plain", "", plain))
    if found != "fails":
        masks = _masks(frame, rules)
        assert masks[0].tolist() == masks[1].tolist(), text


def _masks(frame: pl.DataFrame, rules: tuple[Rule, ...]) -> np.ndarray[Any, Any]:
    """The rules' flags by polars, checked against the flags in Python where it evaluates."""
    by_polars = np.array(list(guardrails._violated(frame, rules)))
    in_python = guardrails._violated_in_python(frame, rules)
    if in_python is not None:
        assert in_python.tolist() == by_polars.tolist()
    return by_polars


@pytest.fixture(scope="module")
def example() -> Playbook:
    return load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook


@pytest.fixture(scope="module", params=["example", "more consent rules"])
def playbook(request: pytest.FixtureRequest, example: Playbook) -> Playbook:
    """The example, and the example with consent rules of every kind (never, any channel,
    a region without countries) so that the channels' consent rules differ more."""
    if request.param == "example":
        return example
    rules = (
        *example.consent.rules,
        ConsentRule(id="na_never_phone", region="NA", channel="phone", requires="never"),
        ConsentRule(id="eu_any_opt_in", region="EU", channel="any", requires="opted_in"),
        ConsentRule(id="us_never", region="US", channel="any", requires="never"),
    )
    consent = example.consent.model_copy(
        update={"rules": rules, "regions": {**example.consent.regions, "NA": ("US", "CA")}}
    )
    return example.model_copy(update={"consent": consent})


CHANNELS = ["email", "phone", "meeting", "none", None, "sms"]


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(data=st.data(), usual=st.booleans())
def test_the_policys_consent_and_eligibility_rules_block_as_the_plain_ones_did(
    playbook: Playbook, data: st.DataObject, usual: bool
) -> None:
    example = playbook
    schema = context_schema_for(example, KnownCatalog())
    policy = guardrail_policy(example, schema)
    plain = plain_policy_rules(example, schema)
    lean = {rule.rule_id: rule for rule in policy.rules if rule.rule_id in plain}
    assert set(lean) == set(plain)
    columns = dict(compile_rules(example, schema).columns)
    frame = data.draw(frames(columns, usual=usual, texts=CONTEXT_TEXTS))
    channel = data.draw(
        st.lists(st.sampled_from(CHANNELS), min_size=frame.height, max_size=frame.height)
    )
    frame = frame.with_columns(pl.Series("channel", channel, dtype=pl.String))
    for rule_id, rule in lean.items():
        found, expected = _outcome(frame, rule.violated), _outcome(frame, plain[rule_id])
        if found == "fails" or expected == "fails":
            assert found == expected, rule_id
            continue
        masks = _masks(frame, (rule, Rule("plain", "", plain[rule_id])))
        assert masks[0].tolist() == masks[1].tolist(), f"{rule_id}\n{frame}"


def test_consent_rules_still_read_their_columns(playbook: Playbook) -> None:
    """The lean forms read the columns the plain ones read (the filter checks them)."""
    example = playbook
    schema = context_schema_for(example, KnownCatalog())
    policy = guardrail_policy(example, schema)
    plain = plain_policy_rules(example, schema)
    for rule in policy.rules:
        if rule.rule_id in plain:
            expected = tuple(sorted(set(plain[rule.rule_id].meta.root_names())))
            assert rule.columns == expected, rule.rule_id


@PROPERTY_SETTINGS
@given(data=st.data(), kills=st.sets(st.sampled_from(["global", "motion", "action"])))
def test_a_decisions_candidates_are_screened_in_python_exactly_as_by_polars(
    example: Playbook, data: st.DataObject, kills: set[str]
) -> None:
    """Every rule of the example, over candidates with the dtypes a decision gives them."""
    targets = {"global": "*", "motion": "sales", "action": "digital_program"}
    switches = [
        KillSwitch(
            scope=KillScope(scope),
            target=targets[scope],
            engaged=True,
            reason="test",
            changed_by="ops",
            changed_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        for scope in sorted(kills)
    ]
    schema = context_schema_for(example, KnownCatalog())
    policy = guardrail_policy(example, schema, kill_switches=switches)
    types = dict(compile_rules(example, schema).columns)
    read = {column for rule in policy.rules for column in rule.columns}
    columns = {c: types.get(c, ValueType.NUMBER) for c in sorted(read) if c not in CANDIDATE}
    frame = data.draw(frames(columns, usual=True, texts=CONTEXT_TEXTS))
    size = frame.height
    for name, pool in CANDIDATE.items():
        values = data.draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size))
        frame = frame.with_columns(pl.Series(name, values, dtype=pl.String))
    rules = tuple(policy.rules)
    in_python = guardrails._violated_in_python(frame, rules)
    assert in_python is not None, "a decision's candidates must not need a polars query"
    assert in_python.tolist() == np.array(list(guardrails._violated(frame, rules))).tolist()


CANDIDATE: dict[str, list[str | None]] = {
    "channel": ["email", "phone", "meeting", "none", None],
    "action": ["sales_outreach", "digital_program", "service_conversation", "no_action", None],
    "motion": ["sales", "marketing", "service", None],
    "autonomy": ["never", "approve", "auto", None],
}

"""Property: the compiled polars expression agrees with a plain Python reading of the tree."""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from nextmove.playbook.context import ValueType, default_context_schema
from nextmove.playbook.expressions import CheckedExpression, check_expression, evaluate
from nextmove.playbook.model import SignalKind
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
    parse_expression,
    to_source,
)

SCHEMA = default_context_schema(["p1"], {"sig": SignalKind.COUNT})
NUMBERS = st.sampled_from([-1.0, 0.0, 0.5, 2.0, 7.0])
SEGMENTS = st.sampled_from(["smb", "mid", "ent"])

Row = Mapping[str, object]


def quoted(value: str) -> str:
    return f'"{value}"'


def number_text(value: float) -> str:
    return repr(value)


number_terms = st.one_of(
    st.sampled_from(["employees", "annual_revenue", 'signal_count("sig", 7)']),
    NUMBERS.map(number_text),
)
string_terms = st.one_of(st.just("segment"), SEGMENTS.map(quoted))
bool_leaves = st.one_of(
    st.sampled_from(["do_not_contact", 'holds("p1")', "true", "false"]),
    st.tuples(number_terms, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), number_terms).map(
        " ".join
    ),
    st.tuples(string_terms, st.sampled_from(["==", "!="]), string_terms).map(" ".join),
    st.tuples(
        st.sampled_from(["segment", "employees", "do_not_contact"]), st.sampled_from(["==", "!="])
    ).map(lambda pair: f"{pair[0]} {pair[1]} null"),
    st.lists(SEGMENTS, min_size=1, max_size=3).map(
        lambda items: f"segment in [{', '.join(map(quoted, items))}]"
    ),
    st.tuples(number_terms, st.lists(NUMBERS, min_size=1, max_size=3)).map(
        lambda pair: f"{pair[0]} in [{', '.join(map(number_text, pair[1]))}]"
    ),
)
expressions = st.recursive(
    bool_leaves,
    lambda inner: st.one_of(
        inner.map(lambda e: f"!({e})"),
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
    ),
    max_leaves=8,
)
rows = st.fixed_dictionaries(
    {
        "segment": st.one_of(st.none(), SEGMENTS),
        "employees": st.one_of(st.none(), st.sampled_from([-1, 0, 2, 7])),
        "annual_revenue": st.one_of(st.none(), st.just(math.nan), NUMBERS),
        "do_not_contact": st.one_of(st.none(), st.booleans()),
        "holds__p1": st.one_of(st.none(), st.booleans()),
        "signals__sig__7d": st.one_of(st.none(), NUMBERS),
    }
)
TYPES = {
    "segment": pl.String,
    "employees": pl.Int64,
    "annual_revenue": pl.Float64,
    "do_not_contact": pl.Boolean,
    "holds__p1": pl.Boolean,
    "signals__sig__7d": pl.Float64,
}
ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def read(column: str, row: Row, types: Mapping[str, ValueType]) -> object:
    """A column's value the way the language defines it: NaN is missing, missing bool is false."""
    value = row[column]
    if isinstance(value, float) and math.isnan(value):
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if types[column] is ValueType.BOOL and value is None:
        value = False
    return value


def reference(node: Node, row: Row, checked: CheckedExpression) -> object:
    """Evaluate ``node`` for one row in plain Python, straight from the language's rules."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return read(node.name, row, checked.columns)
    if isinstance(node, Call):
        return read(checked.calls[node], row, checked.columns)
    if isinstance(node, Not):
        return not reference(node.operand, row, checked)
    if isinstance(node, Logical):
        left, right = reference(node.left, row, checked), reference(node.right, row, checked)
        return (left and right) if node.op == "&&" else (left or right)
    if isinstance(node, Compare):
        left, right = reference(node.left, row, checked), reference(node.right, row, checked)
        if node.op == "==":
            return left == right
        if node.op == "!=":
            return left != right
        if left is None or right is None:
            return False
        return ORDER[node.op](left, right)
    assert isinstance(node, Membership) and isinstance(node.container, ListValue)
    item = reference(node.item, row, checked)
    values = [value.value for value in node.container.items if isinstance(value, Literal)]
    return item is not None and item in values


@settings(max_examples=300, deadline=None)
@given(text=expressions, data=st.lists(rows, min_size=1, max_size=12))
def test_polars_evaluation_equals_python_evaluation(
    text: str, data: list[dict[str, object]]
) -> None:
    checked = check_expression(text, SCHEMA)
    frame = pl.DataFrame(data, schema=TYPES)
    compiled = evaluate(checked, frame).to_list()
    expected = [reference(checked.tree, row, checked) for row in data]
    assert compiled == expected, to_source(checked.tree)


@settings(max_examples=200, deadline=None)
@given(text=expressions)
def test_printing_a_tree_gives_text_that_parses_to_the_same_tree(text: str) -> None:
    printed = to_source(parse_expression(text))
    assert to_source(parse_expression(printed)) == printed

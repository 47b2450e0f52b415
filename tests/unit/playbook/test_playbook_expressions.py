"""The expression language: grammar, type checker and polars compiler."""

from __future__ import annotations

import polars as pl
import pytest

from nextmove.playbook.context import ContextSchema, ValueType
from nextmove.playbook.expressions import (
    ExpressionInvalid,
    check_expression,
    evaluate,
)
from nextmove.playbook.syntax import (
    Call,
    ExpressionError,
    ListValue,
    Literal,
    Logical,
    Membership,
    Name,
    Not,
    Position,
    parse_expression,
    to_source,
)


def errors_of(text: str, schema: ContextSchema) -> list[tuple[int, str]]:
    with pytest.raises(ExpressionInvalid) as caught:
        check_expression(text, schema)
    return [(error.column, error.message) for error in caught.value.errors]


def test_parses_the_issue_example_with_precedence_and_positions() -> None:
    tree = parse_expression('segment in ["mid", "ent"] && !has_open_ticket("P1")')
    assert tree == Logical(
        "&&",
        Membership(
            Name("segment", Position(1, 1)),
            ListValue(
                (Literal("mid", Position(1, 13)), Literal("ent", Position(1, 20))),
                Position(1, 12),
            ),
            Position(1, 1),
        ),
        Not(
            Call("has_open_ticket", (Literal("P1", Position(1, 47)),), Position(1, 31)),
            Position(1, 30),
        ),
        Position(1, 1),
    )


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("a || b && c", "(a || (b && c))"),
        ("(a || b) && c", "((a || b) && c)"),
        ("!a == b", "(!a == b)"),
        ("x >= -2.5", "(x >= -2.5)"),
        ("x == 1e3", "(x == 1000)"),
        ("'it\\'s' == \"a\\\"b\"", '("it\'s" == "a\\"b")'),
        ("index in [1, 2]", "(index in [1, 2])"),
        ("f()", "f()"),
        ("x != null", "(x != null)"),
        ("a\n  && b", "(a && b)"),
    ],
)
def test_grammar(text: str, source: str) -> None:
    assert to_source(parse_expression(text)) == source


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a < b < c", 1, 7, "unexpected '<'"),
        ("a &&", 1, 5, "the expression ends early"),
        ("a @ b", 1, 3, "unexpected character '@'"),
        ('segment in ["mid",', 1, 19, "the expression ends early"),
        ("a &&\n (b", 2, 4, "the expression ends early; expected"),
        ("__import__('os').system('x')", 1, 17, "unexpected character '.'"),
    ],
)
def test_syntax_errors_name_their_position(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in caught.value.message


def test_checked_expression_lists_the_columns_it_reads(schema: ContextSchema) -> None:
    checked = check_expression(
        'segment in ["mid", "ent"] && !has_open_ticket("P1") && signal_count("intent", 30) >= 2'
        ' && holds("prod-a") && signal_value("usage") < 40 && signal_open("ticket")',
        schema,
    )
    assert checked.type is ValueType.BOOL
    assert dict(checked.columns) == {
        "segment": ValueType.STRING,
        "open_ticket_p1": ValueType.BOOL,
        "signals__intent__30d": ValueType.NUMBER,
        "holds__prod-a": ValueType.BOOL,
        "signals__usage__value": ValueType.NUMBER,
        "signals__ticket__open": ValueType.BOOL,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("segmnt == 'mid'", [(1, "unknown name 'segmnt' (did you mean 'segment'?)")]),
        ("segment == 'enterprise'", [(12, "segment is never 'enterprise' (known: ent, mid, smb)")]),
        ("segment in ['mid', 'big']", [(20, "segment is never 'big' (known: ent, mid, smb)")]),
        (
            "holds('prod-z')",
            [(7, "holds: 'prod-z' is not a known product (known: prod-a, prod-b)")],
        ),
        ("holds(segment)", [(7, "holds: product must be a literal string")]),
        ("holds('prod-a', 'prod-b')", [(1, "holds(product) takes 1 argument(s)")]),
        (
            "has_open_ticket('P9')",
            [(17, "has_open_ticket: 'P9' is not a known priority (known: P1, P2, P3, P4)")],
        ),
        (
            "signal_count('usage', 30) > 1",
            [(14, "signal_count: 'usage' is not a known signal (known: intent)")],
        ),
        ("signal_count('intent', 2.5) > 1", [(24, "signal_count: days must be a whole number")]),
        ("signal_count('intent', 0) > 1", [(24, "signal_count: days must be at least 1")]),
        ("employees > '5'", [(1, "'>' compares numbers, not a number with a string")]),
        ("segment == 5", [(1, "cannot compare a string with a number")]),
        ("employees", [(1, "the expression must be true or false, but it is a number")]),
        ("!employees", [(2, "'!' needs true/false operands, not a number")]),
        ("employees && true", [(1, "'&&' needs true/false operands, not a number")]),
        ("segment in []", [(12, "an empty list matches nothing")]),
        ("segment in [segment]", [(13, "list items must be literal strings or numbers")]),
        ("employees in ['a']", [(1, "'in' looks for a number in a list of strings")]),
        ("segment in segment", [(12, "'in' needs a list on its right, not a string")]),
        ("[1, 'a'] == null", [(1, "a list mixes strings and numbers")]),
        ("holds == true", [(1, "unknown name 'holds' (it is a function: call it)")]),
        ("segment() == 'x'", [(1, "unknown function 'segment' (it is a field, not a function)")]),
        (
            "emplyees > 1 || nope",
            [
                (1, "unknown name 'emplyees' (did you mean 'employees'?)"),
                (17, "unknown name 'nope'"),
            ],
        ),
    ],
)
def test_type_errors_name_their_position(
    text: str, expected: list[tuple[int, str]], schema: ContextSchema
) -> None:
    assert errors_of(text, schema) == expected


def test_an_error_message_carries_line_and_column(schema: ContextSchema) -> None:
    with pytest.raises(ExpressionInvalid, match=r"line 2, column 4: unknown name 'nope'"):
        check_expression("true &&\n   nope", schema)


def frame(**columns: list[object]) -> pl.DataFrame:
    return pl.DataFrame(columns, strict=False)


def test_compiled_rules_treat_missing_values_as_documented(schema: ContextSchema) -> None:
    data = pl.DataFrame(
        {
            "segment": ["mid", None, "smb"],
            "employees": [500, None, 10],
            "annual_revenue": [float("nan"), 1.0, None],
            "do_not_contact": [True, None, False],
            "holds__prod-a": [None, True, False],
        }
    )

    def run(text: str) -> list[bool]:
        values = evaluate(check_expression(text, schema), data).to_list()
        assert None not in values
        return values

    assert run('segment != "smb"') == [True, True, False]
    assert run('segment == "mid"') == [True, False, False]
    assert run("segment == null") == [False, True, False]
    assert run("employees > 100") == [True, False, False]
    assert run("!(employees > 100)") == [False, True, True]
    assert run("annual_revenue == null") == [True, False, True]  # NaN counts as missing
    assert run('segment in ["smb", "mid"]') == [True, False, True]
    assert run("!do_not_contact") == [False, True, True]
    assert run('holds("prod-a") || do_not_contact') == [True, True, False]
    assert run("1 < 2") == [True, True, True]
    assert run("null == null && !(null != null)") == [True, True, True]


def test_compilation_is_vectorised_over_many_rows(schema: ContextSchema) -> None:
    size = 200_000
    data = pl.DataFrame(
        {
            "segment": ["smb", "mid", "ent", None] * (size // 4),
            "open_ticket_p1": [False, True] * (size // 2),
        }
    )
    checked = check_expression('segment in ["mid", "ent"] && !has_open_ticket("P1")', schema)
    result = evaluate(checked, data)
    assert result.len() == size
    assert result.sum() == size // 4  # "ent" rows: the "mid" rows all have a P1 ticket


def test_the_schema_documents_the_columns_the_engine_must_provide(schema: ContextSchema) -> None:
    rows = {name: (value_type, column) for name, value_type, column in schema.describe()}
    assert rows["segment"] == ("string", "segment")
    assert rows["holds(product: string)"] == ("bool", "holds__{product}")
    assert rows["has_open_ticket(priority: string)"] == ("bool", "open_ticket_{priority}")
    assert rows["signal_count(signal: string, days: number)"] == (
        "number",
        "signals__{signal}__{days}d",
    )
    assert schema.functions["has_open_ticket"].column(("P2",)) == "open_ticket_p2"
    assert schema.functions["signal_count"].column(("intent", 30.0)) == "signals__intent__30d"

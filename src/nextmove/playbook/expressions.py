"""Type-check expressions against a context schema and compile them to polars expressions.

Compiled expressions run vectorised over a frame with a row per account (see
:mod:`nextmove.playbook.context` for the columns). A missing value never makes a rule
true by accident, and results are never null:

* ``x == null`` / ``x != null`` test for a missing value; ``==`` treats two missing
  values as equal, so ``segment != "smb"`` is true when the segment is missing;
* ``<``, ``<=``, ``>``, ``>=`` and ``in`` are false when a side is missing;
* a missing boolean (field or function) counts as false; NaN counts as missing.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from nextmove.playbook.context import ContextSchema, Param, ValueType, polars_type
from nextmove.playbook.syntax import (
    Call,
    Compare,
    ExpressionError,
    ListValue,
    Literal,
    Logical,
    Membership,
    Name,
    Node,
    Not,
    Position,
    parse_expression,
)

__all__ = [
    "CheckedExpression",
    "ExpressionInvalid",
    "check_expression",
    "compile_expression",
    "evaluate",
]

_SCALARS = (ValueType.STRING, ValueType.NUMBER, ValueType.BOOL)


class ExpressionInvalid(ValueError):
    """An expression failed to parse or type-check; ``errors`` holds every error found."""

    def __init__(self, errors: tuple[ExpressionError, ...]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class CheckedExpression:
    """A parsed expression known to be well-typed against ``schema``."""

    text: str
    tree: Node
    type: ValueType
    columns: Mapping[str, ValueType]
    """Every context column the expression reads, with its type."""
    calls: Mapping[Call, str] = field(repr=False)
    """The column each function call reads."""


def check_expression(
    text: str, schema: ContextSchema, *, expected: ValueType | None = ValueType.BOOL
) -> CheckedExpression:
    """Return ``text`` parsed and type-checked; raise ExpressionInvalid with every error."""
    try:
        tree = parse_expression(text)
    except ExpressionError as exc:
        raise ExpressionInvalid((exc,)) from None
    checker = _Checker(schema)
    found = checker.type_of(tree)
    if found is not None and expected is not None and found != expected:
        wanted = "true or false" if expected is ValueType.BOOL else f"a {expected}"
        checker.fail(f"the expression must be {wanted}, but it is a {found}", tree)
    if checker.errors:
        raise ExpressionInvalid(tuple(checker.errors))
    assert found is not None
    return CheckedExpression(text, tree, found, dict(checker.columns), dict(checker.calls))


class _Checker:
    """Infers types bottom-up, collecting errors; None means "unknown after an error"."""

    def __init__(self, schema: ContextSchema) -> None:
        self.schema = schema
        self.errors: list[ExpressionError] = []
        self.columns: dict[str, ValueType] = {}
        self.calls: dict[Call, str] = {}

    def fail(self, message: str, node: Node | Position) -> None:
        at = node if isinstance(node, Position) else node.position
        self.errors.append(ExpressionError(message, at.line, at.column))

    def type_of(self, node: Node) -> ValueType | None:
        if isinstance(node, Literal):
            return _literal_type(node.value)
        if isinstance(node, Name):
            return self._name(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, ListValue):
            return self._list(node)
        if isinstance(node, Not):
            self._expect_bool(node.operand, "'!'")
            return ValueType.BOOL
        if isinstance(node, Logical):
            self._expect_bool(node.left, f"'{node.op}'")
            self._expect_bool(node.right, f"'{node.op}'")
            return ValueType.BOOL
        if isinstance(node, Compare):
            self._compare(node)
            return ValueType.BOOL
        self._membership(node)
        return ValueType.BOOL

    def _expect_bool(self, node: Node, operator: str) -> None:
        found = self.type_of(node)
        if found is not None and found is not ValueType.BOOL:
            self.fail(f"{operator} needs true/false operands, not a {found}", node)

    def _name(self, node: Name) -> ValueType | None:
        spec = self.schema.fields.get(node.name)
        if spec is None:
            hint = " (it is a function: call it)" if node.name in self.schema.functions else ""
            self.fail(f"unknown name {node.name!r}{hint or self._suggest(node.name)}", node)
            return None
        self.columns[node.name] = spec.type
        return spec.type

    def _suggest(self, name: str) -> str:
        options = [*self.schema.fields, *self.schema.functions]
        close = difflib.get_close_matches(name, options, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def _call(self, node: Call) -> ValueType | None:
        spec = self.schema.functions.get(node.name)
        if spec is None:
            hint = " (it is a field, not a function)" if node.name in self.schema.fields else ""
            self.fail(f"unknown function {node.name!r}{hint or self._suggest(node.name)}", node)
            return None
        if len(node.args) != len(spec.params):
            names = ", ".join(p.name for p in spec.params)
            self.fail(f"{node.name}({names}) takes {len(spec.params)} argument(s)", node)
            return None
        values = [
            self._argument(node.name, param, arg)
            for param, arg in zip(spec.params, node.args, strict=True)
        ]
        if any(value is None for value in values):
            return None
        column = spec.column(tuple(v for v in values if v is not None))
        self.calls[node] = column
        self.columns[column] = spec.returns
        return spec.returns

    def _argument(self, function: str, param: Param, arg: Node) -> str | float | None:
        if not isinstance(arg, Literal) or arg.value is None or isinstance(arg.value, bool):
            self.fail(f"{function}: {param.name} must be a literal {param.type}", arg)
            return None
        value = arg.value
        if _literal_type(value) is not param.type:
            self.fail(f"{function}: {param.name} must be a {param.type}", arg)
            return None
        if isinstance(value, float):
            if param.whole_number and not value.is_integer():
                self.fail(f"{function}: {param.name} must be a whole number", arg)
                return None
            if param.minimum is not None and value < param.minimum:
                self.fail(f"{function}: {param.name} must be at least {param.minimum:g}", arg)
                return None
        if param.choices is not None and value not in param.choices:
            self.fail(
                f"{function}: {value!r} is not a known {param.name}{_known(param.choices)}", arg
            )
            return None
        return value

    def _list(self, node: ListValue) -> ValueType | None:
        if not node.items:
            self.fail("an empty list matches nothing", node)
            return None
        kinds = set()
        for item in node.items:
            if not isinstance(item, Literal) or item.value is None or isinstance(item.value, bool):
                self.fail("list items must be literal strings or numbers", item)
                return None
            kinds.add(_literal_type(item.value))
        if len(kinds) > 1:
            self.fail("a list mixes strings and numbers", node)
            return None
        return ValueType.LIST_STRING if kinds == {ValueType.STRING} else ValueType.LIST_NUMBER

    def _compare(self, node: Compare) -> None:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if left is None or right is None:
            return
        if node.op in ("==", "!="):
            if left not in (*_SCALARS, ValueType.NULL) or right not in (*_SCALARS, ValueType.NULL):
                self.fail(f"'{node.op}' compares single values, not lists", node)
            elif ValueType.NULL not in (left, right) and left != right:
                self.fail(f"cannot compare a {left} with a {right}", node)
            else:
                self._check_choice(node.left, node.right)
                self._check_choice(node.right, node.left)
        elif left is not ValueType.NUMBER or right is not ValueType.NUMBER:
            self.fail(f"'{node.op}' compares numbers, not a {left} with a {right}", node)

    def _membership(self, node: Membership) -> None:
        item, container = self.type_of(node.item), self.type_of(node.container)
        if item is None or container is None:
            return
        if container.element is None:
            self.fail(f"'in' needs a list on its right, not a {container}", node.container)
        elif item is not container.element:
            self.fail(f"'in' looks for a {item} in a list of {container.element}s", node)
        elif isinstance(node.container, ListValue):
            for value in node.container.items:
                self._check_choice(node.item, value)

    def _check_choice(self, subject: Node, value: Node) -> None:
        """Reject a string literal the subject field can never hold (a misspelt segment)."""
        if not isinstance(subject, Name) or not isinstance(value, Literal):
            return
        spec = self.schema.fields.get(subject.name)
        if spec and spec.choices and isinstance(value.value, str):
            if value.value not in spec.choices:
                self.fail(f"{subject.name} is never {value.value!r}{_known(spec.choices)}", value)


def _literal_type(value: str | float | bool | None) -> ValueType:
    if value is None:
        return ValueType.NULL
    if isinstance(value, bool):
        return ValueType.BOOL
    return ValueType.NUMBER if isinstance(value, float) else ValueType.STRING


def _known(choices: frozenset[str]) -> str:
    if not choices:
        return " (none are declared)"
    shown = sorted(choices)
    more = f", … {len(shown) - 8} more" if len(shown) > 8 else ""
    return f" (known: {', '.join(shown[:8])}{more})"


def compile_expression(checked: CheckedExpression) -> pl.Expr:
    """Return a polars expression computing ``checked`` for every row of a context frame."""
    return _Compiler(checked).expr(checked.tree)


def evaluate(checked: CheckedExpression, frame: pl.DataFrame) -> pl.Series:
    """Return the expression's value for every row of ``frame`` (a convenience for tests)."""
    name = "__expression__"
    return frame.with_columns(compile_expression(checked).alias(name)).get_column(name)


@dataclass(frozen=True)
class _Compiler:
    """Builds the polars expression of a checked tree.

    The expressions are evaluated for one account's few candidates on every decision, where
    polars spends most of the time planning, node by node: so each form below is the one
    with the fewest and cheapest nodes that gives, for every value (null, NaN, a column of
    another type, which the casts turn into the declared one), exactly what the plain forms
    give (``fill_nan(None)`` on every number, ``fill_null(False)`` on every truth value).
    A boolean the compiler builds is never null, and NaN only needs replacing where a
    comparison could tell it from null: against a number literal (never NaN) it cannot,
    except that polars orders NaN above every number, which ``>``/``>=`` guard against.
    """

    checked: CheckedExpression

    def expr(self, node: Node) -> pl.Expr:
        if isinstance(node, Literal):
            value = node.value
            return pl.lit(value, dtype=polars_type(_literal_type(value)))
        if isinstance(node, Name | Call):
            column, value_type = self._column_of(node)
            return _column(column, value_type)
        if isinstance(node, Not):
            return ~self.expr(node.operand)
        if isinstance(node, Logical):
            left, right = self.expr(node.left), self.expr(node.right)
            return left & right if node.op == "&&" else left | right
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Membership):
            return self._membership(node)
        raise TypeError(f"a bare list has no value: {node}")  # the checker forbids it

    def _column_of(self, node: Name | Call) -> tuple[str, ValueType]:
        column = node.name if isinstance(node, Name) else self.checked.calls[node]
        return column, self.checked.columns[column]

    def _number_column(self, node: Node) -> pl.Expr | None:
        """A number field or call as read, NaN left in (None for anything else)."""
        if isinstance(node, Name | Call):
            column, value_type = self._column_of(node)
            if value_type is ValueType.NUMBER:
                return pl.col(column).cast(pl.Float64)
        return None

    def _compare(self, node: Compare) -> pl.Expr:
        left_null = isinstance(node.left, Literal) and node.left.value is None
        right_null = isinstance(node.right, Literal) and node.right.value is None
        if left_null and right_null:
            return pl.lit(node.op == "==")
        if left_null or right_null:
            side = node.right if left_null else node.left
            number = self._number_column(side)
            if number is not None:  # missing: null or NaN
                present = number.is_not_nan()  # null stays null
                return present.ne_missing(True) if node.op == "==" else present.eq_missing(True)
            other = self.expr(side)
            return other.is_null() if node.op == "==" else other.is_not_null()
        op: str = node.op
        left_node, right_node = node.left, node.right
        if isinstance(left_node, Literal) and not isinstance(right_node, Literal):
            # polars sizes a comparison by its left side: a literal there would not broadcast
            left_node, right_node = right_node, left_node
            op = _MIRRORED.get(op, op)
        number = self._number_column(left_node)
        if number is not None and isinstance(right_node, Literal):
            return _against_literal(number, op, self.expr(right_node))
        left, right = self.expr(left_node), self.expr(right_node)
        if op == "==":
            return left.eq_missing(right)
        if op == "!=":
            return left.ne_missing(right)
        ordered = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
        return ordered[op].fill_null(False)

    def _membership(self, node: Membership) -> pl.Expr:
        if isinstance(node.container, ListValue):
            values = [i.value for i in node.container.items if isinstance(i, Literal)]
            # NaN is in no list of literals (null is in none either): no need to replace it.
            item = self._number_column(node.item)
            item = self.expr(node.item) if item is None else item
            return item.is_in(values).eq_missing(True)
        item, container = self.expr(node.item), self.expr(node.container)
        return (container.list.contains(item) & item.is_not_null()).eq_missing(True)


_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _against_literal(number: pl.Expr, op: str, literal: pl.Expr) -> pl.Expr:
    """``number op literal`` as the plain form ``number.fill_nan(None) op literal`` (nulls
    false) gives it, for a number column that may hold NaN and a number literal (not NaN).

    NaN equals no literal and polars orders it above every number, so only ``>`` and ``>=``
    need to tell it apart.
    """
    if op == "==":
        return number.eq_missing(literal)
    if op == "!=":
        return number.ne_missing(literal)
    if op in ("<", "<="):
        return (number < literal if op == "<" else number <= literal).eq_missing(True)
    above = number > literal if op == ">" else number >= literal
    return pl.when(number.is_not_nan()).then(above).otherwise(False)


def _column(name: str, value_type: ValueType) -> pl.Expr:
    column = pl.col(name).cast(polars_type(value_type))
    if value_type is ValueType.NUMBER:
        return column.fill_nan(None)
    if value_type is ValueType.BOOL:
        return column.eq_missing(True)  # as fill_null(False), in one cheaper node
    return column

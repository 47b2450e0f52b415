"""Guardrail rules evaluated row by row in Python, for one account's few candidates.

polars plans a query node by node before it computes anything: for the few candidate rows
of one account, planning the rules of a playbook (some 200 nodes) is nearly all of the
time the guardrails take. :func:`row_rules` instead reads each rule's expression (its
serialised form, the very expression polars would run) and builds Python functions that
compute, for one row, what polars computes, with polars' own rules: three-valued logic,
null in / null out, NaN equal to NaN and above every number, -0.0 equal to 0.0.

It knows the forms the guardrail constructors and the playbook compiler write (columns,
casts to the column's own dtype, scalar literals, comparisons, ``+``, and/or/not,
when/then/otherwise, fill_null, is_null, is_nan, ``is_in`` a literal list, any/all
horizontal) over String, Float64, Boolean and Null columns. For anything else, a node, a
dtype, a literal or a mix of types it does not know, it declines (returns None) and the
caller evaluates the rules with polars: it never guesses.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from nextmove.governance.guardrail_rules import Rule

__all__ = ["RowRules", "row_rules", "rules_columns"]

Row = tuple[object, ...]
Value = object
"""A value of one row: None (null), a bool, a float or a str."""
Compute = Callable[[Row], Value]


@dataclass(frozen=True, slots=True)
class RowRules:
    """The rules compiled for rows holding ``columns`` (in that order) with known dtypes."""

    columns: tuple[str, ...]
    rules: tuple[Compute, ...]
    """Per rule, its value for one row: True, False or None (unknown, which blocks)."""

    def broken(self, rows: Sequence[Row]) -> list[list[bool]]:
        """Per rule, per row, whether the row breaks it (true or unknown)."""
        return [[compute(row) is not False for row in rows] for compute in self.rules]


# The types of values a node computes: a column's or a literal's.
_STR, _F64, _BOOL, _NULL = "str", "f64", "bool", "null"
_DYN_INT, _DYN_FLOAT = "dyn_int", "dyn_float"
"""Literals written without a dtype (``x + 1``): polars gives them the other side's."""
_LIST = "list"
"""A literal list, only ever the right side of ``is_in``."""

_COLUMN_TYPES: dict[type[pl.DataType], str] = {
    pl.String: _STR,
    pl.Float64: _F64,
    pl.Boolean: _BOOL,
    pl.Null: _NULL,
}
_CASTS = {"String": _STR, "Float64": _F64, "Boolean": _BOOL}
_TYPED_NULLS = {"Null": _NULL, "String": _STR, "Float64": _F64, "Boolean": _BOOL}
_EXACT_INT = 2**53
"""Integer literals within this of zero become the same float in polars and in Python."""


class _Unknown(Exception):
    """A form, dtype or literal this module does not evaluate: polars will."""


@dataclass(frozen=True, slots=True)
class _Node:
    type: str
    compute: Compute | None
    """None for a constant, whose value is ``value``."""
    value: Value = None
    reads: bool = True
    """Whether the node reads a column (else polars computes it as one value)."""

    @property
    def constant(self) -> bool:
        return self.compute is None

    def as_function(self) -> Compute:
        if self.compute is not None:
            return self.compute
        value = self.value
        return lambda row: value


def rules_columns(rules: tuple[Rule, ...]) -> tuple[str, ...] | None:
    """The columns the rules read, sorted, if their expressions can be read at all."""
    return _trees(rules)[1]


def row_rules(rules: tuple[Rule, ...], dtypes: tuple[pl.DataType, ...]) -> RowRules | None:
    """The rules compiled for rows of :func:`rules_columns` with these dtypes, or None.

    Remembered for the same rules (the very same objects) and dtype classes; an Enum, a
    Categorical, an integer or any other dtype than those in the module docstring declines.
    """
    classes = tuple(type(dtype) for dtype in dtypes)
    return _compiled(rules, classes)


@lru_cache(maxsize=64)
def _compiled(rules: tuple[Rule, ...], classes: tuple[type[pl.DataType], ...]) -> RowRules | None:
    trees, columns = _trees(rules)
    if trees is None or columns is None or len(classes) != len(columns):
        return None
    types = [_COLUMN_TYPES.get(dtype) for dtype in classes]
    if any(kind is None for kind in types):
        return None
    known = {
        column: (at, kind) for at, (column, kind) in enumerate(zip(columns, types, strict=True))
    }
    try:
        computed = [_result(_node(tree, known)) for tree in trees]  # type: ignore[arg-type]
    except _Unknown:
        return None
    return RowRules(columns, tuple(computed))


@lru_cache(maxsize=64)
def _trees(
    rules: tuple[Rule, ...],
) -> tuple[tuple[object, ...] | None, tuple[str, ...] | None]:
    """Each rule's serialised expression, and the columns they read (None, None if one
    cannot be serialised)."""
    trees = []
    for rule in rules:
        try:
            trees.append(json.loads(rule.violated.meta.serialize(format="json")))
        except Exception:  # noqa: BLE001 - not serialisable: polars evaluates it
            return None, None
    columns: set[str] = set()
    for tree in trees:
        _collect_columns(tree, columns)
    return tuple(trees), tuple(sorted(columns))


def _collect_columns(tree: object, into: set[str]) -> None:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "Column" and isinstance(value, str):
                into.add(value)
            else:
                _collect_columns(value, into)
    elif isinstance(tree, list):
        for value in tree:
            _collect_columns(value, into)


def _result(node: _Node) -> Compute:
    """A rule's value per row: its expression must be true/false (or null)."""
    if node.type not in (_BOOL, _NULL):
        raise _Unknown("a rule whose value is not true or false")
    return node.as_function()


def _node(tree: object, known: dict[str, tuple[int, str]]) -> _Node:
    if not isinstance(tree, dict) or len(tree) != 1:
        raise _Unknown(tree)
    ((kind, body),) = tree.items()
    if kind == "Column":
        if body not in known:
            raise _Unknown(body)
        at, column_type = known[body]
        return _Node(column_type, lambda row: row[at])
    if kind == "Literal":
        return _literal(body)
    if kind == "Alias" and isinstance(body, list) and len(body) == 2:
        return _node(body[0], known)
    if kind == "Cast" and isinstance(body, dict):
        return _cast(_node(body.get("expr"), known), body.get("dtype"))
    if kind == "BinaryExpr" and isinstance(body, dict):
        left, right = _node(body.get("left"), known), _node(body.get("right"), known)
        if right.reads and not left.reads:
            # polars sizes such a comparison by its left side: when the right one turns out
            # to be one value too (a when/then picking a literal for every row), the result
            # is one value, which a query of several rules refuses.
            raise _Unknown("a literal on the left of a column")
        return _reading(_binary(left, str(body.get("op")), right), left, right)
    if kind == "Ternary" and isinstance(body, dict):
        parts = [_node(body.get(part), known) for part in ("predicate", "truthy", "falsy")]
        return _reading(_ternary(*parts), *parts)
    if kind == "Function" and isinstance(body, dict):
        inputs = body.get("input")
        if not isinstance(inputs, list) or not inputs:
            raise _Unknown(body)
        parts = [_node(part, known) for part in inputs]
        return _reading(_function(body.get("function"), parts), *parts)
    raise _Unknown(kind)


def _reading(node: _Node, *inputs: _Node) -> _Node:
    """``node``, reading a column if one of its inputs does."""
    reads = any(part.reads for part in inputs)
    return node if node.reads == reads else replace(node, reads=reads)


def _literal(body: object) -> _Node:
    if not isinstance(body, dict) or len(body) != 1:
        raise _Unknown(body)
    ((kind, value),) = body.items()
    if kind == "Dyn" and isinstance(value, dict) and len(value) == 1:
        ((number_kind, number),) = value.items()
        if number_kind == "Int" and type(number) is int and abs(number) <= _EXACT_INT:
            return _Node(_DYN_INT, None, float(number), reads=False)
        if number_kind == "Float" and type(number) is float:  # NaN and inf are written null
            return _Node(_DYN_FLOAT, None, number, reads=False)
        raise _Unknown(body)
    if kind != "Scalar" or not isinstance(value, dict) or len(value) != 1:
        raise _Unknown(body)
    ((scalar_kind, scalar),) = value.items()
    if scalar_kind == "String" and isinstance(scalar, str):
        return _Node(_STR, None, scalar, reads=False)
    if scalar_kind == "Boolean" and isinstance(scalar, bool):
        return _Node(_BOOL, None, scalar, reads=False)
    if scalar_kind == "Float64" and type(scalar) is float:  # NaN and inf are written null
        return _Node(_F64, None, scalar, reads=False)
    if scalar_kind == "Null" and scalar in _TYPED_NULLS:
        return _Node(_TYPED_NULLS[scalar], None, None, reads=False)
    if scalar_kind == "List":
        return _Node(_LIST, None, _listed({"Literal": body}), reads=False)
    raise _Unknown(body)


def _listed(tree: dict[str, object]) -> tuple[str, tuple[Value, ...]]:
    """A literal list's element type and values, read by polars itself (they are stored in
    Arrow's binary format)."""
    expression = pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")
    listed = pl.select(expression).to_series()
    if len(listed) != 1 or not isinstance(listed.dtype, pl.List):
        raise _Unknown("a literal that is not one list")
    values = listed[0]
    element = _COLUMN_TYPES.get(type(values.dtype))
    if element not in (_STR, _F64, _NULL):
        raise _Unknown(values.dtype)
    items = tuple(values.to_list())
    if element == _F64 and any(item is not None and math.isnan(item) for item in items):
        raise _Unknown("NaN in a literal list")
    return element, items


def _cast(operand: _Node, dtype: object) -> _Node:
    if not isinstance(dtype, dict) or set(dtype) != {"Literal"}:
        raise _Unknown(dtype)
    target = _CASTS.get(dtype["Literal"]) if isinstance(dtype["Literal"], str) else None
    if target is None:
        raise _Unknown(dtype)
    if operand.type == target:
        return operand
    if operand.type == _NULL:  # a null of any dtype casts to a null of any other
        return _Node(target, operand.compute, None, operand.reads)
    raise _Unknown(f"a cast from {operand.type} to {target}")


# ── comparisons as polars makes them: NaN equals NaN and is above every number ───────────


def _float_eq(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _float_lt(a: float, b: float) -> bool:
    if a != a:
        return False
    if b != b:
        return True
    return a < b


def _float_le(a: float, b: float) -> bool:
    if b != b:
        return True
    if a != a:
        return False
    return a <= b


def _equal(a: object, b: object) -> bool:
    return a == b


def _plus(a: Any, b: Any) -> Any:
    return a + b  # two floats


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "Lt": _float_lt,
    "LtEq": _float_le,
    "Gt": lambda a, b: _float_lt(b, a),
    "GtEq": lambda a, b: _float_le(b, a),
}
_EQUALITY = {"Eq", "NotEq", "EqValidity", "NotEqValidity"}


def _operand_types(left: _Node, right: _Node) -> str:
    """The type both sides compare or add as (a literal without dtype takes the other's)."""
    kinds = {left.type, right.type}
    if kinds <= {_F64, _DYN_INT, _DYN_FLOAT} and kinds & {_F64}:
        return _F64
    if len(kinds) == 1 and kinds <= {_STR, _BOOL, _F64}:
        return left.type
    # A null without a dtype (a Null column, lit(None)) makes polars infer other types.
    raise _Unknown(f"{left.type} with {right.type}")


def _binary(left: _Node, op: str, right: _Node) -> _Node:
    if op in ("And", "Or"):
        if left.type != _BOOL or right.type != _BOOL:
            raise _Unknown(f"{op} of {left.type} and {right.type}")
        return _combine(_and if op == "And" else _or, [left, right])
    kind = _operand_types(left, right)
    if op == "Plus":
        if kind != _F64:
            raise _Unknown(f"+ of {left.type} and {right.type}")
        return _strict(_F64, _plus, left, right)
    if op in _ORDERED:
        if kind != _F64:
            raise _Unknown(f"{op} of {left.type} and {right.type}")
        return _strict(_BOOL, _ORDERED[op], left, right)
    if op not in _EQUALITY:
        raise _Unknown(op)
    equal: Callable[[Any, Any], bool] = _float_eq if kind == _F64 else _equal
    if op == "Eq":
        return _strict(_BOOL, equal, left, right)
    if op == "NotEq":
        return _strict(_BOOL, lambda a, b: not equal(a, b), left, right)
    same = op == "EqValidity"
    return _validity(equal, same, left, right)


def _strict(
    kind: str, operation: Callable[[object, object], object], left: _Node, right: _Node
) -> _Node:
    """``left op right``, null if either is."""
    if left.constant and right.constant:
        a, b = left.value, right.value
        return _Node(kind, None, None if a is None or b is None else operation(a, b))
    if right.constant:
        f, b = left.as_function(), right.value
        if b is None:
            return _Node(kind, None, None)

        def with_constant(row: Row) -> object:
            a = f(row)
            return None if a is None else operation(a, b)

        return _Node(kind, with_constant)
    if left.constant:
        a, g = left.value, right.as_function()
        if a is None:
            return _Node(kind, None, None)

        def constant_with(row: Row) -> object:
            b = g(row)
            return None if b is None else operation(a, b)

        return _Node(kind, constant_with)
    f, g = left.as_function(), right.as_function()

    def both(row: Row) -> object:
        a, b = f(row), g(row)
        return None if a is None or b is None else operation(a, b)

    return _Node(kind, both)


def _validity(
    equal: Callable[[object, object], bool], same: bool, left: _Node, right: _Node
) -> _Node:
    """``eq_missing`` (``same``) or ``ne_missing``: null equals null, and nothing else."""
    f, g = left.as_function(), right.as_function()

    def compare(row: Row) -> bool:
        a, b = f(row), g(row)
        if a is None or b is None:
            return (a is None and b is None) == same
        return equal(a, b) == same

    if right.constant:
        b = right.value
        if b is None:
            return _Node(_BOOL, lambda row: (f(row) is None) == same)

        def with_constant(row: Row) -> bool:
            a = f(row)
            return same if a is not None and equal(a, b) else not same

        return _Node(_BOOL, with_constant)
    return _Node(_BOOL, compare)


def _and(values: Sequence[Value]) -> Value:
    """Kleene and: false wins, then null."""
    if any(value is False for value in values):
        return False
    return None if any(value is None for value in values) else True


def _or(values: Sequence[Value]) -> Value:
    """Kleene or: true wins, then null."""
    if any(value is True for value in values):
        return True
    return None if any(value is None for value in values) else False


def _combine(logic: Callable[[Sequence[Value]], Value], parts: list[_Node]) -> _Node:
    functions = [part.as_function() for part in parts]
    if len(functions) == 2:
        f, g = functions
        if logic is _and:

            def both_and(row: Row) -> Value:
                a = f(row)
                if a is False:
                    return False
                b = g(row)
                if b is False:
                    return False
                return None if a is None or b is None else True

            return _Node(_BOOL, both_and)

        def both_or(row: Row) -> Value:
            a = f(row)
            if a is True:
                return True
            b = g(row)
            if b is True:
                return True
            return None if a is None or b is None else False

        return _Node(_BOOL, both_or)
    return _Node(_BOOL, lambda row: logic([function(row) for function in functions]))


def _ternary(predicate: _Node, truthy: _Node, falsy: _Node) -> _Node:
    if predicate.type != _BOOL:  # polars refuses a null literal there
        raise _Unknown("when on a value that is not true or false")
    kinds = {truthy.type, falsy.type} - {_NULL}
    if len(kinds) > 1 or kinds & {_DYN_INT, _DYN_FLOAT, _LIST}:
        raise _Unknown(f"then {truthy.type} otherwise {falsy.type}")
    kind = kinds.pop() if kinds else _NULL
    when, then, otherwise = predicate.as_function(), truthy.as_function(), falsy.as_function()
    return _Node(kind, lambda row: then(row) if when(row) is True else otherwise(row))


def _function(function: object, inputs: list[_Node]) -> _Node:
    if function == "FillNull":
        if len(inputs) != 2:
            raise _Unknown("fill_null")
        value, fill = inputs
        if value.type not in (_STR, _F64, _BOOL):
            raise _Unknown(f"fill_null of {value.type}")
        if _operand_types(value, fill) != value.type or fill.type == _NULL:
            raise _Unknown(f"fill_null of {value.type} with {fill.type}")
        f, g = value.as_function(), fill.as_function()

        def filled(row: Row) -> Value:
            found = f(row)
            return g(row) if found is None else found

        return _Node(value.type, filled)
    if not isinstance(function, dict) or set(function) != {"Boolean"}:
        raise _Unknown(function)
    boolean = function["Boolean"]
    if isinstance(boolean, dict) and set(boolean) == {"IsIn"}:
        return _is_in(inputs, boolean["IsIn"])
    if boolean in ("AnyHorizontal", "AllHorizontal"):
        if any(part.type != _BOOL for part in inputs):
            raise _Unknown(f"{boolean} of values that are not true or false")
        if len(inputs) == 1:
            return _Node(_BOOL, inputs[0].compute, inputs[0].value)
        return _combine(_or if boolean == "AnyHorizontal" else _and, inputs)
    if len(inputs) != 1:
        raise _Unknown(boolean)
    (operand,) = inputs
    f = operand.as_function()
    if boolean == "Not":
        if operand.type != _BOOL:
            raise _Unknown(f"not of {operand.type}")
        return _Node(_BOOL, lambda row: None if (value := f(row)) is None else not value)
    if boolean in ("IsNull", "IsNotNull"):
        if operand.type not in (_STR, _F64, _BOOL, _NULL):
            raise _Unknown(f"{boolean} of {operand.type}")
        null = boolean == "IsNull"
        return _Node(_BOOL, lambda row: (f(row) is None) == null)
    if boolean in ("IsNan", "IsNotNan"):
        if operand.type != _F64:
            raise _Unknown(f"{boolean} of {operand.type}")
        nan = boolean == "IsNan"

        def is_nan(row: Row) -> Value:
            value = f(row)
            return None if value is None else (value != value) == nan

        return _Node(_BOOL, is_nan)
    raise _Unknown(boolean)


def _is_in(inputs: list[_Node], options: object) -> _Node:
    if len(inputs) != 2 or inputs[1].type != _LIST or not isinstance(options, dict):
        raise _Unknown("is_in of something else than a literal list")
    nulls_equal = options.get("nulls_equal")
    if not isinstance(nulls_equal, bool):
        raise _Unknown(options)
    item, listed = inputs[0], inputs[1].value
    assert isinstance(listed, tuple)
    element: str = listed[0]
    values: tuple[Value, ...] = listed[1]
    if item.type not in (_STR, _F64) or element not in (item.type, _NULL):
        raise _Unknown(f"is_in of {item.type} in a list of {element}")
    present = frozenset(value for value in values if value is not None)
    null_found = nulls_equal and None in values
    f = item.as_function()

    def member(row: Row) -> Value:
        value = f(row)
        if value is None:
            return True if null_found else (False if nulls_equal else None)
        return value in present

    return _Node(_BOOL, member)

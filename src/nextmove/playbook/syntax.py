"""The expression language's grammar and syntax tree, parsed with lark (never ``eval``).

A CEL-like subset::

    segment in ["mid", "ent"] && !has_open_ticket("P1") && employees >= 200

Precedence, loosest first: ``||``, ``&&``, comparisons (``== != < <= > >=``) and ``in``
(neither chains), unary ``!``, then literals (``"text"``, ``'text'``, ``12``, ``-1.5``,
``true``, ``false``, ``null``), names, calls ``f(arg, …)``, lists ``[a, b]`` and
parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal as TypingLiteral

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

__all__ = [
    "Call",
    "Compare",
    "ExpressionError",
    "Logical",
    "ListValue",
    "Literal",
    "Membership",
    "Name",
    "Node",
    "Not",
    "Position",
    "parse_expression",
    "to_source",
]

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr OR and_expr      -> logical
?and_expr: relation
         | and_expr AND relation   -> logical
?relation: unary
         | unary COMPARE unary     -> compare
         | unary IN unary          -> membership
?unary: primary
      | NOT unary                  -> negate
?primary: STRING                   -> string
        | NUMBER                   -> number
        | TRUE                     -> true
        | FALSE                    -> false
        | NULL                     -> null
        | NAME                     -> name
        | NAME "(" [arguments] ")" -> call
        | "[" [arguments] "]"      -> list_value
        | "(" or_expr ")"
arguments: or_expr ("," or_expr)*

OR: "||"
AND: "&&"
NOT: "!"
IN: "in"
TRUE: "true"
FALSE: "false"
NULL: "null"
COMPARE: "==" | "!=" | "<=" | ">=" | "<" | ">"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
NUMBER: /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

%import common.WS
%ignore WS
"""

_SYMBOLS = {
    "OR": "'||'",
    "AND": "'&&'",
    "NOT": "'!'",
    "IN": "'in'",
    "COMPARE": "a comparison",
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "$END": "the end",
}
_COMPARISONS: dict[str, ComparisonOp] = {op: op for op in ("==", "!=", "<", "<=", ">", ">=")}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


ComparisonOp = TypingLiteral["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Position:
    """Where a node starts in the expression text (1-based line and column)."""

    line: int
    column: int


@dataclass(frozen=True)
class Literal:
    """A string, number, boolean or ``null``."""

    value: str | float | bool | None
    position: Position


@dataclass(frozen=True)
class Name:
    """A field of the account context, such as ``segment``."""

    name: str
    position: Position


@dataclass(frozen=True)
class Call:
    """A function of the account context, such as ``holds("prod-x")``."""

    name: str
    args: tuple[Node, ...]
    position: Position


@dataclass(frozen=True)
class ListValue:
    """A list ``[a, b, …]``."""

    items: tuple[Node, ...]
    position: Position


@dataclass(frozen=True)
class Not:
    """``!operand``."""

    operand: Node
    position: Position


@dataclass(frozen=True)
class Logical:
    """``left && right`` or ``left || right``."""

    op: TypingLiteral["&&", "||"]
    left: Node
    right: Node
    position: Position


@dataclass(frozen=True)
class Compare:
    """``left OP right`` with OP one of ``== != < <= > >=``."""

    op: ComparisonOp
    left: Node
    right: Node
    position: Position


@dataclass(frozen=True)
class Membership:
    """``item in container``."""

    item: Node
    container: Node
    position: Position


Node = Literal | Name | Call | ListValue | Not | Logical | Compare | Membership


class ExpressionError(ValueError):
    """An expression is malformed or ill-typed, at a 1-based line and column of its text."""

    def __init__(self, message: str, line: int, column: int) -> None:
        where = f"column {column}" if line == 1 else f"line {line}, column {column}"
        super().__init__(f"{where}: {message}")
        self.message = message
        self.line = line
        self.column = column


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse_expression(text: str) -> Node:
    """Return the syntax tree of ``text``; raise ExpressionError at the first syntax error."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    return _build(tree)


def _syntax_error(exc: UnexpectedInput, text: str) -> ExpressionError:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        expected = getattr(exc, "expected", None) or ()
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        return ExpressionError(
            f"the expression ends early; expected {_expected(expected)}", line, column
        )
    if isinstance(exc, UnexpectedToken):
        found = exc.token.value
        return ExpressionError(
            f"unexpected {found!r}; expected {_expected(exc.expected)}", line, column
        )
    if isinstance(exc, UnexpectedCharacters):
        return ExpressionError(f"unexpected character {exc.char!r}", line, column)
    return ExpressionError(str(exc), line, column)  # pragma: no cover - lark raises the above


def _expected(names: Iterable[object]) -> str:
    shown = sorted({_SYMBOLS.get(str(name), str(name)) for name in names})
    return " or ".join(shown) if len(shown) <= 4 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _position(item: Tree[Token] | Token) -> Position:
    if isinstance(item, Token):
        return Position(item.line or 1, item.column or 1)
    return Position(getattr(item.meta, "line", 1), getattr(item.meta, "column", 1))


def _build(item: Tree[Token] | Token) -> Node:
    """Turn a lark parse tree into the frozen syntax tree."""
    if isinstance(item, Token):  # pragma: no cover - every token sits under a named rule
        raise ValueError(f"unexpected token {item!r}")
    at = _position(item)
    kind, children = item.data, item.children
    if kind in ("string", "number", "true", "false", "null"):
        return Literal(_literal(kind, str(children[0])), at)
    if kind == "name":
        return Name(str(children[0]), at)
    if kind == "call":
        return Call(str(children[0]), _arguments(children[1]), at)
    if kind == "list_value":
        return ListValue(_arguments(children[0]), at)
    if kind == "negate":
        return Not(_build(children[1]), at)
    left, op, right = _build(children[0]), str(children[1]), _build(children[2])
    if kind == "logical":
        return Logical("&&" if op == "&&" else "||", left, right, at)
    if kind == "membership":
        return Membership(left, right, at)
    return Compare(_COMPARISONS[op], left, right, at)


def _arguments(item: Tree[Token] | Token | None) -> tuple[Node, ...]:
    if item is None:
        return ()
    assert isinstance(item, Tree)
    return tuple(_build(child) for child in item.children)


def _literal(kind: str, text: str) -> str | float | bool | None:
    if kind == "string":
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
    if kind == "number":
        return float(text)
    return {"true": True, "false": False, "null": None}[kind]


def to_source(node: Node) -> str:
    """Return expression text for ``node`` (fully parenthesised where it matters)."""
    if isinstance(node, Literal):
        if isinstance(node.value, bool) or node.value is None:
            return {True: "true", False: "false", None: "null"}[node.value]
        if isinstance(node.value, float):
            return repr(int(node.value)) if node.value.is_integer() else repr(node.value)
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_source(a) for a in node.args)})"
    if isinstance(node, ListValue):
        return f"[{', '.join(to_source(i) for i in node.items)}]"
    if isinstance(node, Not):
        return f"!{to_source(node.operand)}"
    if isinstance(node, Membership):
        return f"({to_source(node.item)} in {to_source(node.container)})"
    return f"({to_source(node.left)} {node.op} {to_source(node.right)})"

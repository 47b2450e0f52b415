"""Can a set of conditions ever hold together? Clear-cut reasoning, never guesses.

``never_true`` proves a conjunction unsatisfiable only from simple facts about single
values: constants (``1 > 2``), equality and membership (``segment == "smb" &&
segment in ["mid", "ent"]``), numeric bounds (``employees > 1000 && employees < 50``),
booleans (``holds("x") && !holds("x")``) and the choices a field can hold. ``||`` is
explored branch by branch. When it cannot prove anything it answers False.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from nextmove.playbook.context import ContextSchema, ValueType
from nextmove.playbook.expressions import CheckedExpression
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
    Position,
)

__all__ = ["never_true"]

Value = str | float | bool | None
_BRANCH_LIMIT = 256
_SWAP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
"""The same comparison with its sides swapped (``5 < x`` is ``x > 5``)."""
_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class _Domain:
    """What one column may still hold."""

    allowed: set[Value] | None = None
    excluded: set[Value] = field(default_factory=set)
    bounds: list[tuple[str, float]] = field(default_factory=list)

    def admits(self, value: Value) -> bool:
        if value in self.excluded:
            return False
        if not self.bounds:
            return True
        number = value if isinstance(value, float) else None
        return number is not None and all(_ORDER[op](number, bound) for op, bound in self.bounds)

    def is_empty(self, universe: set[Value] | None) -> bool:
        candidates = self.allowed if self.allowed is not None else universe
        if self.allowed is not None and universe is not None:
            candidates = self.allowed & universe
        if candidates is not None:
            return not any(self.admits(value) for value in candidates)
        low = [(b, op == ">=") for op, b in self.bounds if op in (">", ">=")]
        high = [(b, op == "<=") for op, b in self.bounds if op in ("<", "<=")]
        if not low or not high:
            return False
        lo, lo_inclusive = max(low, key=lambda item: (item[0], not item[1]))
        hi, hi_inclusive = min(high, key=lambda item: (item[0], item[1]))
        return lo > hi or (lo == hi and not (lo_inclusive and hi_inclusive))


@dataclass
class _Search:
    subjects: Mapping[Call, str]
    types: Mapping[str, ValueType]
    schema: ContextSchema
    branches: int = 0

    def universe(self, column: str) -> set[Value] | None:
        if self.types.get(column) is ValueType.BOOL:
            return {True, False}
        spec = self.schema.fields.get(column)
        return {*spec.choices, None} if spec and spec.choices else None

    def unsat(self, pending: list[_Term], domains: dict[str, _Domain]) -> bool:
        while pending:
            term = pending.pop()
            if isinstance(term, Logical) and term.op == "||":
                self.branches += 1
                if self.branches > _BRANCH_LIMIT:
                    return False
                return all(
                    self.unsat([*pending, side], copy.deepcopy(domains))
                    for side in (term.left, term.right)
                )
            if isinstance(term, Logical):
                pending += [term.left, term.right]
            elif isinstance(term, Not):
                pending += _negated(term.operand)
            elif not self.constrain(term, domains):
                return True
        return any(d.is_empty(self.universe(c)) for c, d in domains.items())

    def constrain(self, term: _Term, domains: dict[str, _Domain]) -> bool:
        """Narrow the domains by ``term``; return False when the term is constantly false."""
        constant = _constant(term)
        if constant is not None:
            return constant
        subject = self.subject(term)
        if subject is not None:  # a boolean field or function on its own
            self.domain(domains, subject).allowed = self.narrow(domains, subject, {True})
        elif isinstance(term, _Negative) and isinstance(term.operand, Membership):
            column = self.subject(term.operand.item)
            values = _list_values(term.operand.container)
            if column is not None and values is not None:
                self.domain(domains, column).excluded |= set(values)
        elif isinstance(term, _Negative):
            column = self.subject(term.operand)
            if column is not None:
                self.domain(domains, column).allowed = self.narrow(domains, column, {False})
        elif isinstance(term, Membership):
            column, values = self.subject(term.item), _list_values(term.container)
            if column is not None and values is not None:
                self.domain(domains, column).allowed = self.narrow(domains, column, set(values))
        elif isinstance(term, Compare):
            self.compare(term, domains)
        return True

    def compare(self, term: Compare, domains: dict[str, _Domain]) -> None:
        op: str = term.op
        column, other = self.subject(term.left), term.right
        if column is None:
            op, column, other = _SWAP[op], self.subject(term.right), term.left
        if column is None or not isinstance(other, Literal):
            return
        domain = self.domain(domains, column)
        if op == "==":
            domain.allowed = self.narrow(domains, column, {other.value})
        elif op == "!=":
            domain.excluded.add(other.value)
        elif isinstance(other.value, float):
            domain.bounds.append((op, other.value))

    def subject(self, node: _Term) -> str | None:
        if isinstance(node, Name):
            return node.name
        if isinstance(node, Call):
            return self.subjects.get(node)
        return None

    def domain(self, domains: dict[str, _Domain], column: str) -> _Domain:
        return domains.setdefault(column, _Domain())

    def narrow(self, domains: dict[str, _Domain], column: str, values: set[Value]) -> set[Value]:
        current = self.domain(domains, column).allowed
        return set(values) if current is None else current & values


@dataclass(frozen=True)
class _Negative:
    """``!operand`` for a boolean subject or a membership (kept as a fact, not pushed in)."""

    operand: Node
    position: Position


_Term = Node | _Negative


def _negated(node: Node) -> list[_Term]:
    """Return terms equivalent to ``!node`` whose conjunction the search can use."""
    at = node.position
    if isinstance(node, Not):
        return [node.operand]
    if isinstance(node, Logical) and node.op == "||":
        return [Not(node.left, at), Not(node.right, at)]
    if isinstance(node, Logical):
        return [Logical("||", Not(node.left, at), Not(node.right, at), at)]
    if isinstance(node, Compare) and node.op in ("==", "!="):
        return [Compare("!=" if node.op == "==" else "==", node.left, node.right, at)]
    if isinstance(node, Literal) and isinstance(node.value, bool):
        return [Literal(not node.value, at)]
    if isinstance(node, Name | Call | Membership):
        return [_Negative(node, at)]
    return []  # !(x < 5) also holds when x is missing: not a bound, so no fact


def _list_values(node: Node) -> list[Value] | None:
    if isinstance(node, ListValue):
        return [item.value for item in node.items if isinstance(item, Literal)]
    return None


def _constant(node: _Term) -> bool | None:
    """The value of a term without fields or calls, else None."""
    if isinstance(node, Literal) and isinstance(node.value, bool):
        return node.value
    if isinstance(node, Compare) and isinstance(node.left, Literal):
        left, right = node.left.value, node.right
        if not isinstance(right, Literal):
            return None
        if node.op in ("==", "!="):
            return (left == right.value) == (node.op == "==")
        if isinstance(left, float) and isinstance(right.value, float):
            return _ORDER[node.op](left, right.value)
        return False
    if isinstance(node, Membership) and isinstance(node.item, Literal):
        values = _list_values(node.container)
        return None if values is None else node.item.value in values
    return None


def never_true(expressions: Sequence[CheckedExpression], schema: ContextSchema) -> bool:
    """Return True when no account can make every expression true at once."""
    subjects: dict[Call, str] = {}
    types: dict[str, ValueType] = {}
    for checked in expressions:
        subjects.update(checked.calls)
        types.update(checked.columns)
    search = _Search(subjects, types, schema)
    return search.unsat([checked.tree for checked in expressions], {})

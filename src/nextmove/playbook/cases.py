"""A playbook's own example cases: "an account like this → allowed / blocked by rule X".

A cases file sits beside its playbook (``b2b_saas.yaml`` → ``b2b_saas.cases.yaml``)::

    cases:
      - name: small businesses are not called by reps
        action: sales_outreach
        context: {segment: smb, owner_id: own-0001, 'has_open_ticket("P1")': false}
        expect: blocked
        by: sales_mid_ent_only

Context keys are fields of the account context or function calls (as written in rules);
anything not given is missing (null). Eligibility and consent rules are evaluated through
the same compiled polars expressions the guardrail filter uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nextmove.playbook.context import ContextSchema, ValueType, polars_type
from nextmove.playbook.expressions import ExpressionInvalid, check_expression
from nextmove.playbook.loader import load_document
from nextmove.playbook.model import Playbook
from nextmove.playbook.rules import RuleSet, compile_rules
from nextmove.playbook.source import SourceMap
from nextmove.playbook.syntax import Call, Name

__all__ = [
    "Case",
    "CaseFile",
    "CaseReport",
    "CaseResult",
    "cases_path",
    "load_cases",
    "run_cases",
]

ContextValue = bool | float | str | None | list[str] | list[float]


class Case(BaseModel):
    """One example: an account context, an action, and what the playbook must say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    action: str
    context: dict[str, ContextValue] = Field(default_factory=dict)
    expect: Literal["allowed", "blocked"]
    by: str | None = Field(default=None, description="the rule id expected to block")

    @model_validator(mode="after")
    def _by_only_when_blocked(self) -> Case:
        if self.by is not None and self.expect != "blocked":
            raise ValueError("'by' names the blocking rule, so it needs expect: blocked")
        return self


class CaseFile(BaseModel):
    """A list of cases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cases: Annotated[tuple[Case, ...], Field(min_length=1)]


@dataclass(frozen=True)
class CaseResult:
    """How one case went."""

    name: str
    action: str
    passed: bool
    outcome: str
    """``allowed`` or ``blocked by a, b``."""
    reason: str
    line: int | None


@dataclass(frozen=True)
class CaseReport:
    """Every case's result."""

    results: tuple[CaseResult, ...]

    @property
    def passed(self) -> int:
        """How many cases passed."""
        return sum(result.passed for result in self.results)

    @property
    def failed(self) -> int:
        """How many cases failed."""
        return len(self.results) - self.passed


def cases_path(playbook_file: FilePath) -> FilePath:
    """Return where the cases of ``playbook_file`` live (``x.yaml`` → ``x.cases.yaml``)."""
    return playbook_file.with_name(f"{playbook_file.stem}.cases{playbook_file.suffix or '.yaml'}")


def load_cases(text: str) -> tuple[CaseFile, SourceMap]:
    """Return the cases written in ``text``; raise PlaybookInvalid with located problems."""
    return load_document(text, CaseFile, what="the cases file")


def run_cases(
    playbook: Playbook, cases: CaseFile, source: SourceMap, schema: ContextSchema
) -> CaseReport:
    """Evaluate every case against the playbook's eligibility and consent rules."""
    rules = compile_rules(playbook, schema)
    results = [
        _run_case(playbook, rules, schema, case, source.locate(("cases", index))[0])
        for index, case in enumerate(cases.cases)
    ]
    return CaseReport(tuple(results))


def _run_case(
    playbook: Playbook, rules: RuleSet, schema: ContextSchema, case: Case, line: int | None
) -> CaseResult:
    def failed(outcome: str, reason: str) -> CaseResult:
        return CaseResult(case.name, case.action, False, outcome, reason, line)

    if case.action not in playbook.actions:
        return failed("error", f"unknown action {case.action!r}")
    if case.by is not None and case.by not in rules.rule_ids:
        return failed("error", f"no eligibility or consent rule has id {case.by!r}")
    try:
        frame = _context_frame(case, rules, schema)
    except ValueError as exc:
        return failed("error", str(exc))
    verdicts = rules.blocked(frame, case.action)
    blocked = verdicts.row(0, named=True) if verdicts.width else {}
    blockers = [rule_id for rule_id, blocks in blocked.items() if blocks]
    outcome = f"blocked by {', '.join(blockers)}" if blockers else "allowed"
    expected = f"blocked by {case.by}" if case.by else case.expect
    if case.expect == "allowed":
        passed = not blockers
    else:
        passed = bool(blockers) and (case.by is None or case.by in blockers)
    reason = outcome if passed else f"expected {expected}, but {outcome}"
    return CaseResult(case.name, case.action, passed, outcome, reason, line)


def _context_frame(case: Case, rules: RuleSet, schema: ContextSchema) -> pl.DataFrame:
    """Return a one-row frame of every column the rules read, filled from the case."""
    columns = rules.columns
    values: dict[str, ContextValue] = {}
    for key, value in case.context.items():
        column, value_type = _resolve(key, schema)
        _check_value(key, value, value_type, schema)
        columns.setdefault(column, value_type)
        values[column] = value
    return pl.DataFrame(
        {name: [values.get(name)] for name in columns},
        schema={name: polars_type(value_type) for name, value_type in columns.items()},
    )


def _resolve(key: str, schema: ContextSchema) -> tuple[str, ValueType]:
    """Return the column and type a context key sets (a field, or a call like ``holds("x")``)."""
    try:
        checked = check_expression(key, schema, expected=None)
    except ExpressionInvalid as exc:
        raise ValueError(f"context key {key!r}: {exc}") from None
    if isinstance(checked.tree, Name):
        return key, checked.type
    if isinstance(checked.tree, Call):
        return checked.calls[checked.tree], checked.type
    raise ValueError(f"context key {key!r} must be a field or a function call")


def _check_value(
    key: str, value: ContextValue, value_type: ValueType, schema: ContextSchema
) -> None:
    if value is None:
        return
    ok = {
        ValueType.STRING: isinstance(value, str),
        ValueType.NUMBER: isinstance(value, float | int) and not isinstance(value, bool),
        ValueType.BOOL: isinstance(value, bool),
        ValueType.LIST_STRING: isinstance(value, list) and all(isinstance(v, str) for v in value),
        ValueType.LIST_NUMBER: isinstance(value, list)
        and all(isinstance(v, float | int) for v in value),
    }.get(value_type, False)
    if not ok:
        raise ValueError(f"context {key}: expected a {value_type}, got {value!r}")
    spec = schema.fields.get(key)
    if spec is not None and spec.choices and value not in spec.choices:
        raise ValueError(
            f"context {key}: {value!r} is not one of {', '.join(sorted(spec.choices))}"
        )

"""A playbook's own example cases: "an account like this → allowed / blocked by rule X".

A cases file sits beside its playbook (``b2b_saas.yaml`` → ``b2b_saas.cases.yaml``)::

    cases:
      - name: small businesses are not called by reps
        action: sales_outreach
        context: {segment: smb, owner_id: own-0001, 'has_open_ticket("P1")': false}
        expect: blocked
        by: sales_mid_ent_only

Context keys are fields of the account context or function calls (as written in rules);
anything not given is missing (null). A case runs through the very guardrail filter
decisions pass through (kill switches aside: they are switched, not written), so it can
also say what already happened and what must follow::

      - name: a second nurture email within a week is capped
        action: digital_program
        context: {segment: smb, country: US, 'signal_count("intent_surge", 30)': 2}
        history:
          touches: {email_weekly: 1}        # cap id → touches already in its window
          days_since: {touch: 5}            # touch / purchase / complaint → days ago
        expect: blocked
        by: email_weekly

      - name: small mid-market deals are only recommended to the rep
        action: sales_outreach
        context: {segment: mid, owner_id: own-0007, country: US, region: NA}
        expected_value: 12000               # autonomy overrides read the move's value
        capacity_left: {capacity.team-sales: 3}   # capacity rule id → places left
        demoted: {}                         # action → level a demotion holds it at
        expect: allowed
        autonomy: recommend
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path as FilePath
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nextmove.governance.autonomy import autonomy_levels
from nextmove.governance.guardrail_rules import CapacityLimit, touches_column
from nextmove.governance.guardrails import VIOLATED, apply_guardrails
from nextmove.playbook.context import ContextSchema, ValueType, polars_type
from nextmove.playbook.expressions import ExpressionInvalid, check_expression
from nextmove.playbook.loader import load_document
from nextmove.playbook.model import AutonomyLevel, Playbook
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
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


class CaseHistory(BaseModel):
    """What already happened to the account, for caps and quiet periods."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    touches: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="cap id → touches already in its window"
    )
    days_since: dict[Literal["touch", "purchase", "complaint"], Annotated[float, Field(ge=0)]] = (
        Field(default_factory=dict, description="event → days since it last happened")
    )


class Case(BaseModel):
    """One example: an account context, an action, and what the playbook must say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    action: str
    context: dict[str, ContextValue] = Field(default_factory=dict)
    history: CaseHistory = Field(default_factory=CaseHistory)
    expected_value: float | None = Field(
        default=None, description="the move's expected value (autonomy overrides read it)"
    )
    capacity_left: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="capacity rule id → accounts it can still take"
    )
    demoted: dict[str, AutonomyLevel] = Field(
        default_factory=dict, description="action → level an open demotion holds it at"
    )
    expect: Literal["allowed", "blocked"]
    by: str | None = Field(default=None, description="the rule id expected to block")
    autonomy: AutonomyLevel | None = Field(
        default=None, description="the autonomy level an allowed move must get"
    )

    @model_validator(mode="after")
    def _fits_the_expectation(self) -> Case:
        if self.by is not None and self.expect != "blocked":
            raise ValueError("'by' names the blocking rule, so it needs expect: blocked")
        if self.autonomy is not None and self.expect != "allowed":
            raise ValueError(
                "'autonomy' is the level of an allowed move, so it needs expect: allowed"
            )
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
    """Run every case through the playbook's whole guardrail filter and autonomy ladder."""
    rules = compile_rules(playbook, schema)
    policy = guardrail_policy(playbook, schema)
    results = [
        _run_case(playbook, rules, policy, schema, case, source.locate(("cases", index))[0])
        for index, case in enumerate(cases.cases)
    ]
    return CaseReport(tuple(results))


def _run_case(
    playbook: Playbook,
    rules: RuleSet,
    policy: GuardrailPolicy,
    schema: ContextSchema,
    case: Case,
    line: int | None,
) -> CaseResult:
    def failed(outcome: str, reason: str) -> CaseResult:
        return CaseResult(case.name, case.action, False, outcome, reason, line)

    problem = _unknown_names(case, playbook, policy)
    if problem:
        return failed("error", problem)
    try:
        frame = _candidate_frame(case, playbook, rules, schema)
    except ValueError as exc:
        return failed("error", str(exc))
    capacities = [
        _with_room(limit, case.capacity_left.get(limit.rule_id)) for limit in policy.capacities
    ]
    verdict = apply_guardrails(frame, policy.rules, capacities)
    blockers: list[str] = verdict.blocked[VIOLATED].to_list()[0] if verdict.blocked.height else []
    level = AutonomyLevel(frame["autonomy"][0])
    outcome = f"blocked by {', '.join(blockers)}" if blockers else f"allowed ({level})"
    if case.expect == "allowed":
        passed = not blockers and case.autonomy in (None, level)
        expected = "allowed" if case.autonomy is None else f"allowed ({case.autonomy})"
    else:
        passed = bool(blockers) and (case.by is None or case.by in blockers)
        expected = f"blocked by {case.by}" if case.by else "blocked"
    reason = outcome if passed else f"expected {expected}, but {outcome}"
    return CaseResult(case.name, case.action, passed, outcome, reason, line)


def _unknown_names(case: Case, playbook: Playbook, policy: GuardrailPolicy) -> str | None:
    """Say what the case names that the playbook does not have, if anything."""
    caps = {cap.rule_id for cap in playbook.contact_policies.caps}
    capacities = {limit.rule_id for limit in policy.capacities}
    checks = [
        ([case.action, *case.demoted], set(playbook.actions), "action"),
        ([case.by] if case.by else [], set(policy.rule_ids), "rule"),
        (list(case.history.touches), caps, "contact cap"),
        (list(case.capacity_left), capacities, "capacity"),
    ]
    for names, known, what in checks:
        for name in names:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                return f"unknown {what} {name!r} (the playbook has: {listed})"
    return None


def _with_room(limit: CapacityLimit, left: int | None) -> CapacityLimit:
    """The limit with only ``left`` places remaining in every group (None: unchanged)."""
    return limit if left is None else replace(limit, limits={}, default=left)


def _candidate_frame(
    case: Case, playbook: Playbook, rules: RuleSet, schema: ContextSchema
) -> pl.DataFrame:
    """Return the one-row candidate the guardrail filter sees for ``case``."""
    context = _context_frame(case, rules, schema)
    action = playbook.actions[case.action]
    touches = {
        touches_column(cap.scope, cap.channel, cap.days): case.history.touches.get(cap.rule_id, 0)
        for cap in playbook.contact_policies.caps
    }
    days_since = {
        f"days_since__{quiet.after}": case.history.days_since.get(quiet.after)
        for quiet in playbook.contact_policies.quiet_periods
    }
    extra: dict[str, pl.Series] = {
        "account_id": pl.Series(["case"]),
        "action": pl.Series([case.action]),
        "motion": pl.Series([case.action]),
        "channel": pl.Series([action.channel.value]),
        "team_id": pl.Series([action.team], dtype=pl.String),
        "priority": pl.Series([1.0]),
        "expected_value": pl.Series([case.expected_value], dtype=pl.Float64),
        **{name: pl.Series([count], dtype=pl.Int64) for name, count in touches.items()},
        **{name: pl.Series([days], dtype=pl.Float64) for name, days in days_since.items()},
    }
    for name in ("owner_id", "segment", "country", "region"):
        if name not in context.columns:
            extra[name] = pl.Series([case.context.get(name)], dtype=pl.String)
    frame = context.with_columns(**extra)
    return frame.with_columns(autonomy_levels(playbook, frame, case.demoted))


def _context_frame(case: Case, rules: RuleSet, schema: ContextSchema) -> pl.DataFrame:
    """Return a one-row frame of every column the rules read, filled from the case."""
    columns = dict(rules.columns)
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

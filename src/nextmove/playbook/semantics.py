"""Checks a structurally valid playbook against the catalog and against itself (pure).

Finds references to unknown products, teams, actions and signal types; expressions that
do not type-check; duplicate rule ids; and rules that make an action impossible: an
eligibility that can never be true, caps of zero on the action's channel, a team with no
capacity, or an ``approve`` level nobody may approve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from nextmove.playbook.context import ContextSchema, default_context_schema
from nextmove.playbook.expressions import CheckedExpression, ExpressionInvalid, check_expression
from nextmove.playbook.loader import LoadedPlaybook
from nextmove.playbook.model import (
    ALL,
    REQUIRED_ACTIONS,
    ActionScope,
    AutonomyLevel,
    Channel,
    Playbook,
    Problem,
    Role,
)
from nextmove.playbook.rules import DO_NOT_CONTACT_RULE, OPT_OUT_RULE
from nextmove.playbook.satisfiability import never_true
from nextmove.playbook.source import Path, SourceMap, format_path

__all__ = ["KnownCatalog", "check_semantics", "context_schema_for"]


@dataclass(frozen=True)
class KnownCatalog:
    """What exists outside the playbook; None means "not known, do not check"."""

    products: frozenset[str] | None = None
    teams: frozenset[str] | None = None
    signal_types: frozenset[str] | None = None


def context_schema_for(playbook: Playbook, known: KnownCatalog) -> ContextSchema:
    """Return the context schema the playbook's expressions are checked against."""
    signals = {name: declared.kind for name, declared in playbook.signals.items()}
    return default_context_schema(known.products, signals)


@dataclass
class _Report:
    source: SourceMap
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        line, column = self.source.locate(path, key=key)
        self.problems.append(
            Problem(path=format_path(path), line=line, column=column, message=message)
        )


def check_semantics(loaded: LoadedPlaybook, known: KnownCatalog) -> list[Problem]:
    """Return every semantic problem of ``loaded`` (empty when it is sound)."""
    report = _Report(loaded.source)
    playbook = loaded.playbook
    schema = context_schema_for(playbook, known)
    _check_actions(playbook, report)
    _check_products(playbook, known, report)
    _check_teams(playbook, known, report)
    _check_action_references(playbook, report)
    _check_signals(playbook, known, report)
    _check_duplicate_ids(playbook, report)
    checked = _check_expressions(playbook, schema, report)
    _check_reachable(playbook, checked, schema, report)
    _check_caps(playbook, report)
    _check_capacity(playbook, report)
    _check_autonomy(playbook, report)
    return sorted(report.problems, key=lambda p: (p.line or 0, p.column or 0, p.path))


def _check_actions(playbook: Playbook, report: _Report) -> None:
    missing = [name for name in REQUIRED_ACTIONS if name not in playbook.actions]
    if missing:
        report.add(("actions",), f"missing required action(s): {', '.join(missing)}", key=True)
    for name, action in playbook.actions.items():
        if name == "no_action":
            if action.channel is not Channel.NONE:
                report.add(
                    ("actions", name, "channel"), "no_action touches nobody: use channel none"
                )
        elif action.team is None:
            report.add(("actions", name), f"{name} has no owning team", key=True)


def _unknown(
    report: _Report, found: Iterable[tuple[Path, str]], known: frozenset[str] | None, kind: str
) -> None:
    if known is None:
        return
    for path, value in found:
        if value not in known:
            report.add(path, f"unknown {kind} {value!r}", key=path[-1] == value)


def _check_products(playbook: Playbook, known: KnownCatalog, report: _Report) -> None:
    found: list[tuple[Path, str]] = [(("value", "products", p), p) for p in playbook.value.products]
    found += [(("value", "levers", "products", p), p) for p in playbook.value.levers.products]
    for name, action in playbook.actions.items():
        if action.products != ALL:
            found += [(("actions", name, "products", i), p) for i, p in enumerate(action.products)]
    found += [
        (("signals", name, "product"), declared.product)
        for name, declared in playbook.signals.items()
        if declared.product is not None
    ]
    _unknown(report, found, known.products, "product")


def _check_teams(playbook: Playbook, known: KnownCatalog, report: _Report) -> None:
    found: list[tuple[Path, str]] = [
        (("actions", name, "team"), action.team)
        for name, action in playbook.actions.items()
        if action.team is not None
    ]
    found += [(("capacity", "teams", team), team) for team in playbook.capacity.teams]
    _unknown(report, found, known.teams, "team")


def _check_action_references(playbook: Playbook, report: _Report) -> None:
    found: list[tuple[Path, str]] = [
        (("value", "levers", "actions", a), a) for a in playbook.value.levers.actions
    ]
    found += [(("thresholds", "by_action", a), a) for a in playbook.thresholds.by_action]
    found += [(("autonomy", "actions", a), a) for a in playbook.autonomy.actions]
    scoped: list[tuple[Path, ActionScope]] = [
        (("eligibility", i, "actions"), rule.actions) for i, rule in enumerate(playbook.eligibility)
    ]
    scoped += [
        (("contact_policies", "quiet_periods", i, "actions"), quiet.actions)
        for i, quiet in enumerate(playbook.contact_policies.quiet_periods)
    ]
    for path, scope in scoped:
        if scope != ALL:
            found += [((*path, i), action) for i, action in enumerate(scope)]
    _unknown(report, found, frozenset(playbook.actions), "action")
    for index, rule in enumerate(playbook.eligibility):
        if rule.actions != ALL and "no_action" in rule.actions:
            at: Path = ("eligibility", index, "actions", rule.actions.index("no_action"))
            report.add(at, "no_action is always allowed; eligibility rules cannot apply to it")


def _check_signals(playbook: Playbook, known: KnownCatalog, report: _Report) -> None:
    found: list[tuple[Path, str]] = []
    for name, declared in playbook.signals.items():
        if declared.type is not None:
            found.append((("signals", name, "type"), declared.type))
        elif known.signal_types is not None and name not in known.signal_types:
            found.append((("signals", name), name))
        if declared.closes_with is not None:
            found.append((("signals", name, "closes_with"), declared.closes_with))
    _unknown(report, found, known.signal_types, "signal type")


def _rule_ids(playbook: Playbook) -> list[tuple[Path, str]]:
    ids: list[tuple[Path, str]] = [
        (("eligibility", i, "id"), r.id) for i, r in enumerate(playbook.eligibility)
    ]
    policies = playbook.contact_policies
    ids += [(("contact_policies", "caps", i), c.rule_id) for i, c in enumerate(policies.caps)]
    ids += [
        (("contact_policies", "quiet_periods", i), q.rule_id)
        for i, q in enumerate(policies.quiet_periods)
    ]
    ids += [(("consent", "rules", i, "id"), r.id) for i, r in enumerate(playbook.consent.rules)]
    return ids


def _check_duplicate_ids(playbook: Playbook, report: _Report) -> None:
    ids = _rule_ids(playbook)
    counts = Counter(rule_id for _, rule_id in ids)
    for path, rule_id in ids:
        if rule_id in (OPT_OUT_RULE, DO_NOT_CONTACT_RULE):
            report.add(path, f"rule id {rule_id!r} is reserved for the built-in opt-out rules")
        elif counts[rule_id] > 1:
            report.add(path, f"duplicate rule id {rule_id!r} (rule ids must be unique)")


def _check_expressions(
    playbook: Playbook, schema: ContextSchema, report: _Report
) -> dict[int, CheckedExpression]:
    checked: dict[int, CheckedExpression] = {}
    for index, rule in enumerate(playbook.eligibility):
        path: Path = ("eligibility", index, "require")
        try:
            checked[index] = check_expression(rule.require, schema)
        except ExpressionInvalid as exc:
            for error in exc.errors:
                line, column = report.source.locate_in_scalar(path, error.line, error.column)
                where = f"line {error.line}, " if error.line > 1 else ""
                message = f"{error.message} (expression {where}column {error.column})"
                report.problems.append(
                    Problem(path=format_path(path), line=line, column=column, message=message)
                )
    return checked


def _check_reachable(
    playbook: Playbook,
    checked: dict[int, CheckedExpression],
    schema: ContextSchema,
    report: _Report,
) -> None:
    """Report rules that can never be true, and actions their rules jointly exclude."""
    impossible = set()
    for index, expression in checked.items():
        if never_true([expression], schema):
            impossible.add(index)
            rule = playbook.eligibility[index]
            actions = ", ".join(playbook.actions_in(rule.actions)) or "no action"
            report.add(
                ("eligibility", index, "require"),
                f"rule {rule.id!r} can never be true, so no account can receive {actions}",
            )
    for action in playbook.actions:
        indexes = [
            i
            for i, rule in enumerate(playbook.eligibility)
            if action in playbook.actions_in(rule.actions) and i in checked and i not in impossible
        ]
        for pair in combinations(indexes, 2):
            if never_true([checked[i] for i in pair], schema):
                ids = " and ".join(repr(playbook.eligibility[i].id) for i in pair)
                report.add(
                    ("actions", action),
                    f"rules {ids} contradict each other: no account can receive {action}",
                    key=True,
                )
                break


def _check_caps(playbook: Playbook, report: _Report) -> None:
    for index, cap in enumerate(playbook.contact_policies.caps):
        if cap.max != 0:
            continue
        blocked = [
            name
            for name, action in playbook.actions.items()
            if action.channel is not Channel.NONE and cap.channel in ("any", action.channel)
        ]
        if blocked:
            report.add(
                ("contact_policies", "caps", index, "max"),
                f"caps make the action impossible: max 0 on {cap.channel} blocks "
                f"{', '.join(blocked)} for every account",
            )


def _check_capacity(playbook: Playbook, report: _Report) -> None:
    for team, capacity in playbook.capacity.teams.items():
        users = [n for n, a in playbook.actions.items() if a.team == team and n != "no_action"]
        for name, value in capacity.model_dump().items():
            if value == 0 and users:
                report.add(
                    ("capacity", "teams", team, name),
                    f"{team} has zero capacity ({name}), so {', '.join(users)} can never be chosen",
                )


def _check_autonomy(playbook: Playbook, report: _Report) -> None:
    autonomy = playbook.autonomy
    for name, action in playbook.actions.items():
        if name == "no_action" or AutonomyLevel.APPROVE not in autonomy.levels_for(action, name):
            continue
        approvers = [role for role in autonomy.approvers_for(name) if role is not Role.VIEWER]
        if not approvers:
            own = autonomy.actions.get(name)
            path: Path = (
                ("autonomy", "actions", name, "approvers")
                if own is not None and own.approvers is not None
                else ("autonomy", "approvers")
            )
            report.add(path, f"{name} can need approval, but no role is allowed to approve it")

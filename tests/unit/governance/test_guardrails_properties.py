"""Property-based proof of the guardrail filter against a plain-Python reference.

Random candidate frames (with nulls and priority ties) meet random rule sets (consent,
region consent, caps, quiet periods, kill switches, eligibility thresholds, autonomy) and
random capacities. The reference below evaluates every rule row by row, written from the
rules' documented meaning, not from their polars expressions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import polars as pl
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from nextmove.governance import guardrails
from nextmove.governance.guardrails import (
    BLOCKED_BY,
    ONE_ACTION_PER_ACCOUNT,
    VIOLATED,
    CapacityLimit,
    Rule,
    apply_guardrails,
    autonomy_never_rule,
    consent_rule,
    contact_cap_rule,
    eligibility_rule,
    kill_switch_rule,
    quiet_period_rule,
    region_consent_rule,
)

Row = dict[str, Any]
ACTIONS = ["sales_outreach", "digital_program", "service_conversation", "no_action"]
MOTION = {
    "sales_outreach": "sales",
    "digital_program": "marketing",
    "service_conversation": "service",
    "no_action": "none",
}
CHANNELS = ["email", "phone", "meeting", "none"]
CONSENTS = ["opted_in", "opted_out", "unknown", None]
CAPS = [("contact", "email", 7), ("account", "any", 30)]
EVENTS = ["touch", "purchase", "complaint"]
SCHEMA = {
    "row": pl.Int64,
    "account_id": pl.String,
    "action": pl.String,
    "motion": pl.String,
    "channel": pl.String,
    "team_id": pl.String,
    "owner_id": pl.String,
    "priority": pl.Float64,
    "consent__email": pl.String,
    "consent__phone": pl.String,
    "do_not_contact": pl.Boolean,
    "region": pl.String,
    **{f"touches__{scope}__{channel}__{days}d": pl.Int64 for scope, channel, days in CAPS},
    **{f"days_since__{event}": pl.Int64 for event in EVENTS},
    "score": pl.Float64,
    "autonomy": pl.String,
    "owner_capacity": pl.Int64,
}
PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


def _as_drawn(row: Row) -> Row:
    """Each action has its motion; no_action contacts nobody."""
    action = row["action"]
    channel = "none" if action == "no_action" else row["channel"]
    return {**row, "motion": MOTION[action], "channel": channel}


CANDIDATE_ROW = st.fixed_dictionaries(
    {
        "account_id": st.sampled_from(["a1", "a2", "a3", "a4"]),
        "action": st.sampled_from(ACTIONS),
        "channel": st.sampled_from(CHANNELS),
        "team_id": maybe(st.sampled_from(["t1", "t2"])),
        "owner_id": maybe(st.sampled_from(["o1", "o2", "o3"])),
        # A handful of values so that ties are common; NaN and null sort last.
        "priority": maybe(st.sampled_from([0.0, 0.5, 1.0, 2.0, math.nan])),
        "consent__email": st.sampled_from(CONSENTS),
        "consent__phone": st.sampled_from(CONSENTS),
        "do_not_contact": st.sampled_from([False, False, False, True, None]),
        "region": maybe(st.sampled_from(["eu", "na"])),
        **{
            f"touches__{scope}__{channel}__{days}d": maybe(st.integers(0, 4))
            for scope, channel, days in CAPS
        },
        **{f"days_since__{event}": maybe(st.integers(0, 40)) for event in EVENTS},
        "score": maybe(st.sampled_from([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        "autonomy": st.sampled_from(["never", "approve", "auto", "auto", "auto", None]),
        "owner_capacity": maybe(st.integers(0, 3)),
    }
).map(_as_drawn)


@dataclass(frozen=True)
class Case:
    """One random rule (or capacity) with its reference meaning."""

    rule: Rule
    violates: Callable[[Row], bool]


def contacts(row: Row) -> bool:
    return bool(row["channel"] != "none")


def scoped(actions: frozenset[str] | None, check: Callable[[Row], bool]) -> Callable[[Row], bool]:
    return lambda row: (actions is None or row["action"] in actions) and check(row)


action_subsets = maybe(st.frozensets(st.sampled_from(ACTIONS), min_size=1))


@st.composite
def rule_cases(draw: st.DrawFn, rule_id: str) -> Case:
    family = draw(
        st.sampled_from(
            ["consent", "region", "cap", "quiet", "kill", "eligible", "raw", "autonomy"]
        )
    )
    if family == "consent":

        def opted_out(row: Row) -> bool:
            channel = row["channel"]
            return channel in ("email", "phone") and row[f"consent__{channel}"] == "opted_out"

        return Case(
            consent_rule(rule_id=rule_id),
            lambda row: contacts(row) and (row["do_not_contact"] is True or opted_out(row)),
        )
    if family == "region":
        region = draw(st.sampled_from(["eu", "na"]))
        channel = draw(st.sampled_from(["email", "phone"]))
        return Case(
            region_consent_rule(region, channel, rule_id=rule_id),
            lambda row: (
                contacts(row)
                and row["region"] == region
                and row["channel"] == channel
                and row[f"consent__{channel}"] != "opted_in"
            ),
        )
    if family == "cap":
        scope, channel, days = draw(st.sampled_from(CAPS))
        most = draw(st.integers(0, 3))
        actions = draw(action_subsets)
        column = f"touches__{scope}__{channel}__{days}d"
        return Case(
            contact_cap_rule(
                scope=scope,  # type: ignore[arg-type]
                channel=channel,
                max_touches=most,
                days=days,
                actions=actions,
                rule_id=rule_id,
            ),
            scoped(
                actions,
                lambda row: (
                    contacts(row)
                    and (channel == "any" or row["channel"] == channel)
                    and (row[column] or 0) + 1 > most
                ),
            ),
        )
    if family == "quiet":
        event = draw(st.sampled_from(EVENTS))
        days = draw(st.integers(1, 30))
        actions = draw(action_subsets)
        column = f"days_since__{event}"
        return Case(
            quiet_period_rule(after=event, days=days, actions=actions, rule_id=rule_id),
            scoped(
                actions,
                lambda row: contacts(row) and row[column] is not None and row[column] < days,
            ),
        )
    if family == "kill":
        switches = draw(
            st.lists(
                st.one_of(
                    st.just(("global", None)),
                    st.tuples(st.just("motion"), st.sampled_from(sorted(set(MOTION.values())))),
                    st.tuples(st.just("action"), st.sampled_from(ACTIONS)),
                ),
                max_size=2,
            )
        )
        return Case(
            kill_switch_rule(switches, rule_id=rule_id),
            lambda row: any(
                scope == "global"
                or (scope == "motion" and row["motion"] == target)
                or (scope == "action" and row["action"] == target)
                for scope, target in switches
            ),
        )
    if family == "eligible":
        threshold = draw(st.sampled_from([0.0, 0.3, 0.5, 0.9]))
        actions = draw(action_subsets)
        return Case(
            eligibility_rule(rule_id, pl.col("score") >= threshold, actions=actions),
            scoped(
                actions, lambda row: not (row["score"] is not None and row["score"] >= threshold)
            ),
        )
    if family == "raw":
        # A hand-written rule whose expression is null where score is: fails closed.
        ceiling = draw(st.sampled_from([0.3, 0.7]))
        return Case(
            Rule(rule_id, f"score above {ceiling}", pl.col("score") > ceiling),
            lambda row: row["score"] is None or row["score"] > ceiling,
        )
    return Case(
        autonomy_never_rule(rule_id=rule_id), lambda row: row["autonomy"] in ("never", None)
    )


@st.composite
def capacities(draw: st.DrawFn, rule_id: str) -> CapacityLimit:
    group = draw(st.sampled_from(["team_id", "owner_id", "account_id"]))
    values = {"team_id": ["t1", "t2"], "owner_id": ["o1", "o2", "o3"]}
    limits: dict[str, int] | str
    if group == "owner_id" and draw(st.booleans()):
        limits = "owner_capacity"
    else:
        keys = values.get(group, ["a1", "a2", "a3", "a4"])
        limits = draw(st.dictionaries(st.sampled_from(keys), st.integers(0, 3), max_size=3))
    return CapacityLimit(
        rule_id,
        group,
        limits,
        actions=draw(action_subsets),
        default=draw(maybe(st.integers(0, 2))),
    )


@dataclass(frozen=True)
class Scenario:
    frame: pl.DataFrame
    cases: list[Case]
    limits: list[CapacityLimit]
    one_action_per_account: bool
    first_prefix: int
    """How many top candidates the capacity fill decides before the rest."""

    @property
    def rules(self) -> list[Rule]:
        return [case.rule for case in self.cases]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    rows = draw(st.lists(CANDIDATE_ROW, min_size=6, max_size=40))
    frame = pl.DataFrame(
        [{"row": i, **row} for i, row in enumerate(rows)], schema=SCHEMA, orient="row"
    )
    return Scenario(
        frame,
        cases=[draw(rule_cases(f"rule{i}")) for i in range(draw(st.integers(0, 4)))],
        limits=[draw(capacities(f"capacity{i}")) for i in range(draw(st.integers(0, 3)))],
        one_action_per_account=draw(st.booleans()),
        first_prefix=draw(st.sampled_from([1, 3, 8, 1 << 16])),
    )


def sort_key(row: Row) -> tuple[bool, float, str, int]:
    """Priority order: highest first, null and NaN last, then account_id, then input row."""
    priority = row["priority"]
    unknown = priority is None or math.isnan(priority)
    return (unknown, 0.0 if unknown else -priority, row["account_id"], row["row"])


def applies(limit: CapacityLimit, row: Row) -> bool:
    acting = row["action"] != "no_action"
    return acting and (limit.actions is None or row["action"] in limit.actions)


def reference(
    rows: list[Row], cases: list[Case], limits: list[CapacityLimit]
) -> dict[int, list[str]]:
    """Row → every rule it breaks (rules in order), or the one capacity that cut it."""
    broken = {
        row["row"]: [
            case.rule.rule_id
            for case in cases
            if row["action"] != "no_action"
            and (case.rule.actions is None or row["action"] in case.rule.actions)
            and case.violates(row)
        ]
        for row in rows
    }
    competing = [row for row in rows if not broken[row["row"]]]
    group_limits = {}
    for k, limit in enumerate(limits):
        for row in competing:
            if not applies(limit, row):
                continue
            if isinstance(limit.limits, str):
                own = row[limit.limits]
            else:
                own = limit.limits.get(row[limit.group])
            own = limit.default if own is None else own
            key = (k, row[limit.group])
            known = group_limits.get(key)
            group_limits[key] = own if known is None else known if own is None else min(own, known)
    taken: dict[tuple[int, str | None], int] = {}
    for row in sorted(competing, key=sort_key):
        keys = [(k, row[limit.group]) for k, limit in enumerate(limits) if applies(limit, row)]
        keys = [key for key in keys if group_limits[key] is not None]
        full = [key for key in keys if taken.get(key, 0) >= group_limits[key]]
        if full:
            broken[row["row"]] = [limits[full[0][0]].rule_id]
        else:
            for key in keys:
                taken[key] = taken.get(key, 0) + 1
    return broken


@PROPERTY_SETTINGS
@given(scenarios())
def test_the_filter_agrees_with_the_reference_row_by_row(scenario: Scenario) -> None:
    frame, limits = scenario.frame, scenario.limits
    with patch.object(guardrails, "_FIRST_PREFIX", scenario.first_prefix):
        result = apply_guardrails(
            frame,
            scenario.rules,
            limits,
            one_action_per_account=scenario.one_action_per_account,
        )
    if scenario.one_action_per_account:
        limits = [*limits, CapacityLimit(ONE_ACTION_PER_ACCOUNT, "account_id", {}, default=1)]
    expected = reference(frame.to_dicts(), scenario.cases, limits)
    note(f"rows: {frame.to_dicts()}")
    note(f"rules: {[(r.rule_id, r.description, r.actions) for r in scenario.rules]}")
    note(f"capacities: {limits}")

    # Nothing lost, nothing duplicated, nothing changed.
    assert sorted(result.allowed["row"].to_list() + result.blocked["row"].to_list()) == list(
        range(frame.height)
    )
    rebuilt = pl.concat([result.allowed, result.blocked.drop(BLOCKED_BY, VIOLATED)]).sort("row")
    assert rebuilt.equals(frame)

    # Never lets a violating action through: allowed rows break no rule and no capacity.
    for row in result.allowed.to_dicts():
        assert expected[row["row"]] == [], row
    # Never blocks an action that breaks nothing: each blocked row breaks what it names.
    for row in result.blocked.to_dicts():
        assert expected[row["row"]], row
        assert row[VIOLATED] == expected[row["row"]], row
        assert row[BLOCKED_BY] == expected[row["row"]][0], row


@PROPERTY_SETTINGS
@given(scenarios())
def test_capacity_cuts_only_where_the_group_is_full_of_higher_allowed_candidates(
    scenario: Scenario,
) -> None:
    limits = scenario.limits
    result = apply_guardrails(scenario.frame, scenario.rules, limits)
    allowed = result.allowed.to_dicts()
    cut = result.blocked.filter(pl.col(BLOCKED_BY).cast(pl.String).str.starts_with("capacity"))
    passed = [*allowed, *cut.to_dicts()]  # every candidate that broke no rule
    for limit in limits:

        def group_limit(group: Any, limit: CapacityLimit = limit) -> int | None:
            """The smallest limit among the candidates competing in the group."""
            own = [
                _limit(limit, row)
                for row in passed
                if applies(limit, row) and row[limit.group] == group
            ]
            known = [value for value in own if value is not None]
            return min(known) if known else None

        def allowed_in(group: Any, limit: CapacityLimit = limit) -> list[Row]:
            return [r for r in allowed if applies(limit, r) and r[limit.group] == group]

        for row in cut.filter(pl.col(BLOCKED_BY) == limit.rule_id).to_dicts():
            cap = group_limit(row[limit.group])
            assert cap is not None, row
            higher = [r for r in allowed_in(row[limit.group]) if sort_key(r) < sort_key(row)]
            assert len(higher) >= cap, row
        for group in {row[limit.group] for row in allowed if applies(limit, row)}:
            cap = group_limit(group)
            assert cap is None or len(allowed_in(group)) <= cap, group


def _limit(limit: CapacityLimit, row: Row) -> int | None:
    own = row[limit.limits] if isinstance(limit.limits, str) else limit.limits.get(row[limit.group])
    return limit.default if own is None else int(own)

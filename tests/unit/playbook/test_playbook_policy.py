"""The example playbook compiled into guardrail rules: who is allowed, and which rule blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nextmove.governance.guardrails import BLOCKED_BY, VIOLATED, apply_guardrails
from nextmove.governance.model import GLOBAL_TARGET, KillScope, KillSwitch
from nextmove.playbook.context import ContextSchema
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import (
    ALL,
    AutonomyLevel,
    AutonomyOverride,
    Capacity,
    Playbook,
    QuietPeriod,
    TeamCapacity,
)
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"

TYPES: Mapping[str, pl.DataType] = {
    "account_id": pl.String(),
    "action": pl.String(),
    "motion": pl.String(),
    "channel": pl.String(),
    "team_id": pl.String(),
    "owner_id": pl.String(),
    "priority": pl.Float64(),
    "segment": pl.String(),
    "country": pl.String(),
    "region": pl.String(),
    "email_consent": pl.String(),
    "phone_consent": pl.String(),
    "do_not_contact": pl.Boolean(),
    "open_ticket_p1": pl.Boolean(),
    "products_held": pl.Float64(),
    "signals__intent_surge__30d": pl.Float64(),
    "signals__pricing_visits__30d": pl.Float64(),
    "signals__email_engagement__score": pl.Float64(),
    "signals__usage__value": pl.Float64(),
    "signals__support_ticket__open": pl.Boolean(),
    "touches__contact__email__7d": pl.Int64(),
    "touches__account__any__30d": pl.Int64(),
    "touches__account__meeting__30d": pl.Int64(),
    "days_since__touch": pl.Int64(),
    "days_since__purchase": pl.Int64(),
    "days_since__complaint": pl.Int64(),
}
"""The candidates frame the example's policy reads, with the types the engine gives them."""

CONTEXT: Mapping[str, Any] = {
    "segment": "mid",
    "country": "US",
    "region": "NA",
    "email_consent": "opted_in",
    "phone_consent": "opted_in",
    "do_not_contact": False,
    "open_ticket_p1": False,
    "products_held": 1.0,
    "signals__intent_surge__30d": 1.0,
    "signals__pricing_visits__30d": 0.0,
    "signals__email_engagement__score": 0.0,
    "signals__usage__value": 20.0,
    "signals__support_ticket__open": False,
    "touches__contact__email__7d": 0,
    "touches__account__any__30d": 0,
    "touches__account__meeting__30d": 0,
    "days_since__touch": None,
    "days_since__purchase": None,
    "days_since__complaint": None,
}
"""An account every action of the example may reach."""

ACTIONS = ("sales_outreach", "digital_program", "service_conversation", "no_action")


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook


@pytest.fixture(scope="module")
def schema(playbook: Playbook) -> ContextSchema:
    return context_schema_for(playbook, KnownCatalog())


def candidates(
    playbook: Playbook, accounts: Iterable[tuple[str, Mapping[str, Any]]], actions: Iterable[str]
) -> pl.DataFrame:
    """One row per (account, action): the base context, an owner per account, the changes."""
    rows = []
    for account_id, changes in accounts:
        for action in actions:
            rows.append(
                {
                    **CONTEXT,
                    "owner_id": f"rep-{account_id}",
                    "priority": 1.0,
                    **changes,
                    "account_id": account_id,
                    "action": action,
                    "motion": action,
                    "channel": str(playbook.actions[action].channel),
                    "team_id": playbook.actions[action].team,
                }
            )
    return pl.DataFrame(rows, schema=dict(TYPES))


def outcome(policy: GuardrailPolicy, frame: pl.DataFrame) -> dict[tuple[str, str], Any]:
    """(account, action) → None when allowed, else (first rule, every rule broken)."""
    result = apply_guardrails(frame, policy.rules, policy.capacities)
    found: dict[tuple[str, str], Any] = {
        (row["account_id"], row["action"]): None for row in result.allowed.iter_rows(named=True)
    }
    for row in result.blocked.iter_rows(named=True):
        found[(row["account_id"], row["action"])] = (row[BLOCKED_BY], row[VIOLATED])
    return found


def kill(scope: KillScope, target: str, *, engaged: bool = True) -> KillSwitch:
    return KillSwitch(
        scope=scope,
        target=target,
        engaged=engaged,
        reason="test",
        changed_by="ops",
        changed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


ACCOUNTS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("a-ok", {}),
    ("a-eu", {"country": "FR", "region": "EMEA", "email_consent": "unknown"}),
    ("a-eu-region", {"country": None, "region": "EU", "email_consent": None}),
    ("a-de", {"country": "DE", "region": "EMEA", "phone_consent": "unknown"}),
    ("a-opted-out", {"email_consent": "opted_out"}),
    ("a-eu-opted-out", {"country": "FR", "email_consent": "opted_out"}),
    ("a-dnc", {"do_not_contact": True}),
    ("a-emailed", {"touches__contact__email__7d": 1}),
    ("a-busy", {"touches__account__any__30d": 3}),
    ("a-complaint", {"days_since__complaint": 10}),
    ("a-bought", {"days_since__purchase": 5}),
    ("a-smb", {"segment": "smb"}),
    ("a-p1", {"open_ticket_p1": True}),
)

S, D, C = "sales_outreach", "digital_program", "service_conversation"
EXPECTED_BLOCKS: Mapping[tuple[str, str], tuple[str, list[str]]] = {
    ("a-eu", S): ("eu_email_needs_opt_in", ["eu_email_needs_opt_in"]),  # meetings need email too
    ("a-eu", D): ("eu_email_needs_opt_in", ["eu_email_needs_opt_in"]),
    ("a-eu-region", S): ("eu_email_needs_opt_in", ["eu_email_needs_opt_in"]),
    ("a-eu-region", D): ("eu_email_needs_opt_in", ["eu_email_needs_opt_in"]),
    ("a-de", S): ("dach_phone_needs_opt_in", ["dach_phone_needs_opt_in"]),  # ...and phone
    ("a-de", C): ("dach_phone_needs_opt_in", ["dach_phone_needs_opt_in"]),
    ("a-opted-out", S): ("consent.opt_out", ["consent.opt_out"]),
    ("a-opted-out", D): ("consent.opt_out", ["consent.opt_out"]),
    ("a-eu-opted-out", S): ("consent.opt_out", ["consent.opt_out", "eu_email_needs_opt_in"]),
    ("a-eu-opted-out", D): ("consent.opt_out", ["consent.opt_out", "eu_email_needs_opt_in"]),
    ("a-dnc", S): ("consent.do_not_contact", ["consent.do_not_contact"]),
    ("a-dnc", D): ("consent.do_not_contact", ["consent.do_not_contact"]),
    ("a-dnc", C): ("consent.do_not_contact", ["consent.do_not_contact"]),
    ("a-emailed", D): ("email_weekly", ["email_weekly"]),
    ("a-busy", S): ("touches_monthly", ["touches_monthly"]),
    ("a-busy", D): ("touches_monthly", ["touches_monthly"]),
    ("a-busy", C): ("touches_monthly", ["touches_monthly"]),
    ("a-complaint", S): ("after_complaint", ["after_complaint"]),
    ("a-complaint", D): ("after_complaint", ["after_complaint"]),
    ("a-complaint", C): ("after_complaint", ["after_complaint"]),
    ("a-bought", S): ("after_purchase", ["after_purchase"]),  # service calls are still fine
    ("a-bought", D): ("after_purchase", ["after_purchase"]),
    ("a-smb", S): ("sales_mid_ent_only", ["sales_mid_ent_only"]),
    ("a-p1", S): ("no_selling_into_p1", ["no_selling_into_p1"]),
    ("a-p1", D): ("no_selling_into_p1", ["no_selling_into_p1"]),
}


def test_the_example_blocks_each_candidate_under_the_rule_a_person_wrote(
    playbook: Playbook, schema: ContextSchema
) -> None:
    policy = guardrail_policy(playbook, schema)
    frame = candidates(playbook, ACCOUNTS, ACTIONS)
    found = outcome(policy, frame)
    expected = {key: EXPECTED_BLOCKS.get(key) for key in found}
    assert found == expected
    assert sum(v is None for v in found.values()) == len(found) - len(EXPECTED_BLOCKS)
    assert all(found[(account, "no_action")] is None for account, _ in ACCOUNTS)


def test_an_engaged_kill_switch_blocks_its_motion_first_and_a_released_one_nothing(
    playbook: Playbook, schema: ContextSchema
) -> None:
    switches = [kill(KillScope.MOTION, S), kill(KillScope.GLOBAL, GLOBAL_TARGET, engaged=False)]
    policy = guardrail_policy(playbook, schema, kill_switches=switches)
    assert policy.rules[0].rule_id == "kill.motion.sales_outreach"
    assert "kill.global" not in policy.rule_ids
    found = outcome(policy, candidates(playbook, ACCOUNTS, ACTIONS))
    for (account, action), result in found.items():
        before = EXPECTED_BLOCKS.get((account, action))
        if action == S:
            assert result == (
                "kill.motion.sales_outreach",
                ["kill.motion.sales_outreach"] + (before[1] if before else []),
            )
        else:
            assert result == before


def test_a_global_kill_switch_stops_everything_but_no_action(
    playbook: Playbook, schema: ContextSchema
) -> None:
    policy = guardrail_policy(playbook, schema, kill_switches=[kill(KillScope.GLOBAL, "*")])
    found = outcome(policy, candidates(playbook, [("a-ok", {})], ACTIONS))
    assert found == {
        ("a-ok", S): ("kill.global", ["kill.global"]),
        ("a-ok", D): ("kill.global", ["kill.global"]),
        ("a-ok", C): ("kill.global", ["kill.global"]),
        ("a-ok", "no_action"): None,
    }


def test_a_team_over_capacity_keeps_its_highest_priority_candidates(
    playbook: Playbook, schema: ContextSchema
) -> None:
    policy = guardrail_policy(playbook, schema)
    # Customer success takes 40 a day and 5 per owner; sales 6 per owner a day.
    service = [(f"cs-{i:02}", {"owner_id": f"o{i}", "priority": float(i)}) for i in range(42)]
    sales = [(f"s-{i}", {"owner_id": "rep", "priority": float(i)}) for i in range(7)]
    found = outcome(
        policy,
        pl.concat(
            [candidates(playbook, service, [C, "no_action"]), candidates(playbook, sales, [S])]
        ),
    )
    blocked = {key: value for key, value in found.items() if value is not None}
    assert blocked == {
        ("cs-00", C): ("capacity.team-customer-success", ["capacity.team-customer-success"]),
        ("cs-01", C): ("capacity.team-customer-success", ["capacity.team-customer-success"]),
        ("s-0", S): ("capacity.team-sales.per_owner", ["capacity.team-sales.per_owner"]),
    }


def test_the_policy_reads_the_playbooks_column_names(
    playbook: Playbook, schema: ContextSchema
) -> None:
    policy = guardrail_policy(playbook, schema)
    assert set(policy.columns) == set(TYPES) - {"account_id", "motion", "priority"}
    assert not any(column.startswith("consent__") for column in policy.columns)
    assert [c.rule_id for c in policy.capacities] == [
        "capacity.team-sales",
        "capacity.team-sales.per_owner",
        "capacity.team-marketing",
        "capacity.team-customer-success",
        "capacity.team-customer-success.per_owner",
    ]


def test_autonomy_never_blocks_the_action_outright_or_where_an_override_makes_it_never(
    playbook: Playbook, schema: ContextSchema
) -> None:
    actions = dict(playbook.actions)
    actions[C] = actions[C].model_copy(update={"autonomy": AutonomyLevel.NEVER})
    never = playbook.model_copy(update={"actions": actions})
    found = outcome(guardrail_policy(never, schema), candidates(never, [("a-ok", {})], ACTIONS))
    rule_id = "autonomy.never.service_conversation"
    assert found[("a-ok", C)] == (rule_id, [rule_id])
    assert [v for k, v in found.items() if k[1] != C] == [None, None, None]

    override = AutonomyOverride(segments=("ent",), level=AutonomyLevel.NEVER)
    own = playbook.autonomy.actions[S].model_copy(update={"overrides": (override,)})
    autonomy = playbook.autonomy.model_copy(
        update={"actions": {**playbook.autonomy.actions, S: own}}
    )
    sometimes = playbook.model_copy(update={"autonomy": autonomy})
    policy = guardrail_policy(sometimes, schema)
    frame = candidates(sometimes, [("a-mid", {}), ("a-ent", {}), ("a-null", {})], [S])
    frame = frame.with_columns(autonomy=pl.Series(["approve", "never", None]))
    found = outcome(policy, frame)
    rule_id = "autonomy.never.sales_outreach"
    assert found == {
        ("a-mid", S): None,
        ("a-ent", S): (rule_id, [rule_id]),
        ("a-null", S): (rule_id, [rule_id]),  # an unknown level fails closed
    }


def test_a_quiet_period_on_one_channel_only_quiets_that_channel(
    playbook: Playbook, schema: ContextSchema
) -> None:
    quiet = QuietPeriod(after="touch", days=14, channel="email")
    policies = playbook.contact_policies.model_copy(update={"quiet_periods": (quiet,)})
    edited = playbook.model_copy(update={"contact_policies": policies})
    found = outcome(
        guardrail_policy(edited, schema),
        candidates(edited, [("a-touched", {"days_since__touch": 5})], ACTIONS),
    )
    assert found == {
        ("a-touched", S): None,
        ("a-touched", D): ("quiet.after_touch.14d", ["quiet.after_touch.14d"]),
        ("a-touched", C): None,
        ("a-touched", "no_action"): None,
    }


# ── property: the vectorised policy agrees with a plain-Python reading of the playbook ──

Row = Mapping[str, Any]


def _at_least(value: float | None, bound: float) -> bool:
    return value is not None and value >= bound


ELIGIBLE: Mapping[str, Callable[[Row], bool]] = {
    "sales_mid_ent_only": lambda r: r["segment"] in ("mid", "ent"),
    "no_selling_into_p1": lambda r: not r["open_ticket_p1"],
    "owned_accounts_only": lambda r: r["owner_id"] is not None,
    "nurture_needs_interest": lambda r: (
        _at_least(r["signals__intent_surge__30d"], 1)
        or _at_least(r["signals__pricing_visits__30d"], 2)
        or _at_least(r["signals__email_engagement__score"], 3)
    ),
    "service_for_customers_at_risk": lambda r: (
        _at_least(r["products_held"], 1)
        and (
            (r["signals__usage__value"] is not None and r["signals__usage__value"] < 40)
            or bool(r["signals__support_ticket__open"])
        )
    ),
}
"""The example's eligibility expressions, read by hand (a missing value never passes)."""

CONSENT_OF = {"email": ("email",), "phone": ("phone",), "meeting": ("email", "phone")}


def reference_violations(
    playbook: Playbook, row: Row, kills: frozenset[tuple[str, str]]
) -> set[str]:
    """Every rule of the playbook the candidate breaks, computed one row at a time."""
    action, channel = row["action"], row["channel"]
    if action == "no_action":
        return set()
    stopping = {("global", "*"), ("motion", row["motion"]), ("action", action)}
    broken = {"kill.global" if s == "global" else f"kill.{s}.{t}" for s, t in kills & stopping}
    for rule in playbook.eligibility:
        if action in playbook.actions_in(rule.actions) and not ELIGIBLE[rule.id](row):
            broken.add(rule.id)
    if channel == "none":
        return broken
    consents = [row[f"{c}_consent"] for c in CONSENT_OF[channel]]
    if row["do_not_contact"]:
        broken.add("consent.do_not_contact")
    if "opted_out" in consents:
        broken.add("consent.opt_out")
    for consent in playbook.consent.rules:
        covered = [
            row[f"{c}_consent"] for c in CONSENT_OF[channel] if consent.channel in ("any", c)
        ]
        in_region = row["region"] == consent.region or row[
            "country"
        ] in playbook.consent.regions.get(consent.region, ())
        if covered and in_region and any(value != "opted_in" for value in covered):
            broken.add(consent.id)
    for cap in playbook.contact_policies.caps:
        touches = row[f"touches__{cap.scope}__{cap.channel}__{cap.days}d"] or 0
        if cap.channel in ("any", channel) and touches + 1 > cap.max:
            broken.add(cap.rule_id)
    for quiet in playbook.contact_policies.quiet_periods:
        since = row[f"days_since__{quiet.after}"]
        scoped = quiet.actions == ALL or action in quiet.actions
        if (
            scoped
            and quiet.channel in ("any", channel)
            and since is not None
            and since < quiet.days
        ):
            broken.add(quiet.rule_id)
    return broken


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


ACCOUNT = st.fixed_dictionaries(
    {
        "owner_id": _maybe(st.sampled_from(["u1", "u2"])),
        "segment": _maybe(st.sampled_from(["smb", "mid", "ent"])),
        "country": _maybe(st.sampled_from(["US", "DE", "FR", "CH"])),
        "region": _maybe(st.sampled_from(["NA", "EMEA", "EU", "DACH"])),
        "email_consent": _maybe(st.sampled_from(["opted_in", "opted_out", "unknown"])),
        "phone_consent": _maybe(st.sampled_from(["opted_in", "opted_out", "unknown"])),
        "do_not_contact": _maybe(st.booleans()),
        "open_ticket_p1": _maybe(st.booleans()),
        "products_held": _maybe(st.integers(0, 2).map(float)),
        "signals__intent_surge__30d": _maybe(st.integers(0, 2).map(float)),
        "signals__pricing_visits__30d": _maybe(st.integers(0, 3).map(float)),
        "signals__email_engagement__score": _maybe(st.floats(0, 5, allow_nan=False)),
        "signals__usage__value": _maybe(st.floats(0, 100, allow_nan=False)),
        "signals__support_ticket__open": _maybe(st.booleans()),
        "touches__contact__email__7d": _maybe(st.integers(0, 2)),
        "touches__account__any__30d": _maybe(st.integers(0, 4)),
        "touches__account__meeting__30d": _maybe(st.integers(0, 2)),
        "days_since__touch": _maybe(st.integers(0, 10)),
        "days_since__purchase": _maybe(st.integers(0, 60)),
        "days_since__complaint": _maybe(st.integers(0, 90)),
    }
)
TEAM_CAPACITY = st.builds(
    TeamCapacity,
    per_day=_maybe(st.integers(0, 8)),
    per_week=_maybe(st.integers(0, 12)),
    per_owner_per_day=_maybe(st.integers(0, 3)),
)
"""Small capacities, so that groups fill up (the example's are sized for a real company)."""
KILLS = st.sets(
    st.sampled_from([("global", "*"), ("motion", S), ("motion", C), ("action", D)]), max_size=2
)


@settings(
    derandomize=True, max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(accounts=st.lists(ACCOUNT, min_size=1, max_size=30), kills=KILLS, data=st.data())
def test_every_allowed_candidate_keeps_every_rule_and_every_blocked_one_breaks_its_rule(
    playbook: Playbook,
    schema: ContextSchema,
    accounts: list[dict[str, Any]],
    kills: set[tuple[str, str]],
    data: st.DataObject,
) -> None:
    order = data.draw(st.permutations(range(len(accounts))))
    named = [
        (f"a{i:02}", {**account, "priority": float(order[i])}) for i, account in enumerate(accounts)
    ]
    teams = {team: data.draw(TEAM_CAPACITY) for team in playbook.capacity.teams}
    playbook = playbook.model_copy(update={"capacity": Capacity(teams=teams)})
    frame = candidates(playbook, named, ACTIONS)
    switches = [kill(KillScope(scope), target) for scope, target in kills]
    policy = guardrail_policy(playbook, schema, kill_switches=switches)
    result = apply_guardrails(frame, policy.rules, policy.capacities)
    engaged = frozenset(kills)
    for row in result.allowed.iter_rows(named=True):
        assert reference_violations(playbook, row, engaged) == set(), row
    position = {rule_id: i for i, rule_id in enumerate(policy.rule_ids)}
    limits = {c.rule_id: c for c in policy.capacities}
    allowed = result.allowed
    event(f"allowed {bool(allowed.height)}, blocked {bool(result.blocked.height)}")
    for row in result.blocked.iter_rows(named=True):
        expected = reference_violations(playbook, row, engaged)
        if row[BLOCKED_BY] in limits:
            # Cut by a capacity: it broke no rule, and its group is full of higher ones.
            assert expected == set() and row[VIOLATED] == [row[BLOCKED_BY]]
            limit = limits[row[BLOCKED_BY]]
            assert limit.actions is not None and limit.default is not None
            higher = allowed.filter(
                pl.col("action").is_in(sorted(limit.actions))
                & pl.col(limit.group).eq_missing(row[limit.group])
                & (pl.col("priority") > row["priority"])
            )
            assert higher.height >= limit.default
            event("cut by a capacity")
        else:
            assert set(row[VIOLATED]) == expected, row
            assert row[BLOCKED_BY] == min(expected, key=position.__getitem__)
    for limit in policy.capacities:
        assert limit.actions is not None and limit.default is not None
        taken = allowed.filter(pl.col("action").is_in(sorted(limit.actions)))
        sizes = taken.group_by(limit.group).len()["len"].to_list()
        assert all(size <= limit.default for size in sizes)

"""The guardrail filter, one rule family at a time, on small hand-made candidate frames."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from nextmove.governance.guardrails import (
    BLOCKED_BY,
    ONE_ACTION_PER_ACCOUNT,
    VIOLATED,
    CapacityLimit,
    GuardrailResult,
    Rule,
    apply_guardrails,
    autonomy_never_rule,
    consent_rule,
    contact_cap_rule,
    count_first_rules,
    eligibility_rule,
    kill_switch_rule,
    quiet_period_rule,
    region_consent_rule,
    touches_column,
)

DEFAULTS: dict[str, Any] = {
    "account_id": "a1",
    "action": "digital_program",
    "motion": "marketing",
    "channel": "email",
    "priority": 1.0,
}
SCHEMA: dict[str, pl.DataType] = {
    "consent__email": pl.String(),
    "consent__phone": pl.String(),
    "do_not_contact": pl.Boolean(),
    "region": pl.String(),
    "days_since__complaint": pl.Int64(),
    "days_since__purchase": pl.Int64(),
    "touches__contact__email__7d": pl.Int64(),
    "touches__account__any__30d": pl.Int64(),
    "autonomy": pl.String(),
    "segment": pl.String(),
    "team_id": pl.String(),
    "owner_id": pl.String(),
    "score": pl.Float64(),
    "priority": pl.Float64(),
}


def candidates(*rows: dict[str, Any]) -> pl.DataFrame:
    """A candidates frame: each row is DEFAULTS overridden by the given values, ids c0, c1, …"""
    full = [{"id": f"c{i}", **DEFAULTS, **row} for i, row in enumerate(rows)]
    columns = dict.fromkeys(key for row in full for key in row)
    return pl.DataFrame(
        {column: [row.get(column) for row in full] for column in columns},
        schema_overrides={c: t for c, t in SCHEMA.items() if c in columns},
    )


def verdicts(result: GuardrailResult) -> dict[str, str | None]:
    """Candidate id → the rule that blocked it (None when allowed)."""
    allowed: dict[str, str | None] = dict.fromkeys(result.allowed["id"].to_list())
    blocked = dict(zip(result.blocked["id"], result.blocked[BLOCKED_BY], strict=True))
    return dict(sorted({**allowed, **blocked}.items()))


def blocked_by(frame: pl.DataFrame, *rules: Rule, **options: Any) -> dict[str, str | None]:
    return verdicts(apply_guardrails(frame, rules, **options))


# --- consent ---------------------------------------------------------------------------


def test_an_opt_out_blocks_its_channel_only() -> None:
    frame = candidates(
        {
            "channel": "email",
            "consent__email": "opted_out",
            "consent__phone": "opted_in",
            "do_not_contact": False,
        },
        {"channel": "phone", "consent__email": "opted_out", "consent__phone": "opted_in"},
        {"channel": "phone", "consent__email": "opted_in", "consent__phone": "opted_out"},
        {"channel": "email", "consent__email": None, "consent__phone": None},
        {"channel": "email", "consent__email": "unknown", "consent__phone": None},
    )
    assert blocked_by(frame, consent_rule()) == {
        "c0": "consent",
        "c1": None,
        "c2": "consent",
        "c3": None,
        "c4": None,
    }


def test_do_not_contact_blocks_every_channel_but_not_no_action() -> None:
    frame = candidates(
        *(
            {"channel": channel, "do_not_contact": True, "consent__email": "opted_in"}
            for channel in ("email", "phone", "meeting")
        ),
        {"action": "no_action", "channel": "none", "do_not_contact": True},
        {"channel": "meeting", "do_not_contact": None},
        {"channel": "meeting", "do_not_contact": False},
    )
    assert blocked_by(frame, consent_rule(channels=["email"])) == {
        "c0": "consent",
        "c1": "consent",
        "c2": "consent",
        "c3": None,
        "c4": None,
        "c5": None,
    }


def test_eu_email_needs_recorded_opt_in_and_unknown_consent_outside_eu_is_allowed() -> None:
    frame = candidates(
        {"region": "eu", "channel": "email", "consent__email": "opted_in"},
        {"region": "eu", "channel": "email", "consent__email": "unknown"},
        {"region": "eu", "channel": "email", "consent__email": None},
        {"region": "us", "channel": "email", "consent__email": "unknown"},
        {"region": "us", "channel": "email", "consent__email": None},
        {"region": "eu", "channel": "phone", "consent__email": None},
        {"region": None, "channel": "email", "consent__email": None},
    )
    rule = region_consent_rule("eu", "email")
    assert rule.rule_id == "region_consent:eu:email"
    assert blocked_by(frame, rule) == {
        "c0": None,
        "c1": rule.rule_id,
        "c2": rule.rule_id,
        "c3": None,
        "c4": None,
        "c5": None,
        "c6": None,
    }


def test_an_opt_out_wins_over_everything() -> None:
    favourable = {
        "region": "eu",
        "consent__email": "opted_out",
        "consent__phone": None,
        "do_not_contact": False,
        "autonomy": "auto",
        "score": 1.0,
        "touches__contact__email__7d": 0,
        "priority": 1e9,
    }
    frame = candidates(favourable, {**favourable, "consent__email": "opted_in"})
    rules = [
        eligibility_rule("good_enough", pl.col("score") > 0.5),
        autonomy_never_rule(),
        contact_cap_rule(scope="contact", channel="email", max_touches=1, days=7),
        region_consent_rule("eu", "email"),
        consent_rule(),
    ]
    result = apply_guardrails(frame, rules)
    assert verdicts(result) == {"c0": "region_consent:eu:email", "c1": None}
    assert result.blocked[VIOLATED].to_list() == [["region_consent:eu:email", "consent"]]


# --- contact caps and quiet periods ----------------------------------------------------


def test_one_email_per_contact_per_seven_days() -> None:
    frame = candidates(
        {"touches__contact__email__7d": 0},
        {"touches__contact__email__7d": 1},
        {"touches__contact__email__7d": None},
        {"touches__contact__email__7d": 5, "channel": "phone"},
        {"touches__contact__email__7d": 5, "channel": "none"},
    )
    rule = contact_cap_rule(scope="contact", channel="email", max_touches=1, days=7)
    assert rule.columns == ("channel", "touches__contact__email__7d")
    assert blocked_by(frame, rule) == {
        "c0": None,
        "c1": rule.rule_id,
        "c2": None,
        "c3": None,
        "c4": None,
    }


def test_a_cap_on_any_channel_counts_every_touch() -> None:
    frame = candidates(
        {"touches__account__any__30d": 2, "channel": "phone"},
        {"touches__account__any__30d": 3, "channel": "meeting"},
        {"touches__account__any__30d": 3, "channel": "none"},
        {"touches__account__any__30d": 3, "action": "no_action", "channel": "none"},
    )
    rule = contact_cap_rule(scope="account", channel="any", max_touches=3, days=30)
    assert touches_column("account", "any", 30) == "touches__account__any__30d"
    assert blocked_by(frame, rule) == {"c0": None, "c1": rule.rule_id, "c2": None, "c3": None}


def test_a_cap_of_zero_blocks_every_contact() -> None:
    frame = candidates({"touches__account__any__30d": None}, {"channel": "none"})
    rule = contact_cap_rule(scope="account", channel="any", max_touches=0, days=30)
    assert blocked_by(frame, rule) == {"c0": rule.rule_id, "c1": None}


def test_quiet_for_fourteen_days_after_a_complaint() -> None:
    frame = candidates(
        {"days_since__complaint": 0},
        {"days_since__complaint": 13},
        {"days_since__complaint": 14},
        {"days_since__complaint": None},
        {"days_since__complaint": 3, "action": "no_action", "channel": "none"},
    )
    rule = quiet_period_rule(after="complaint", days=14)
    assert rule.rule_id == "quiet_period:complaint:14d"
    assert blocked_by(frame, rule) == {
        "c0": rule.rule_id,
        "c1": rule.rule_id,
        "c2": None,
        "c3": None,
        "c4": None,
    }


def test_a_rule_scoped_to_actions_leaves_the_others_alone() -> None:
    frame = candidates(
        {"days_since__purchase": 3, "action": "sales_outreach"},
        {"days_since__purchase": 3, "action": "service_conversation"},
    )
    rule = quiet_period_rule(after="purchase", days=30, actions={"sales_outreach"})
    assert blocked_by(frame, rule) == {"c0": rule.rule_id, "c1": None}


# --- kill switches, eligibility, autonomy ----------------------------------------------


KILL_FRAME = candidates(
    {"action": "q4_nurture", "motion": "digital_program"},
    {"action": "webinar", "motion": "digital_program"},
    {"action": "call", "motion": "sales_outreach"},
    {"action": "no_action", "motion": "none", "channel": "none"},
)


@pytest.mark.parametrize(
    ("engaged", "expected"),
    [
        ([], [None, None, None, None]),
        ([("global", "*")], ["kill_switch", "kill_switch", "kill_switch", None]),
        ([("motion", "digital_program")], ["kill_switch", "kill_switch", None, None]),
        ([("action", "q4_nurture")], ["kill_switch", None, None, None]),
        ([("action", "q4_nurture"), ("motion", "sales_outreach")], ["kill_switch", None] * 2),
    ],
)
def test_kill_switches_global_motion_and_action(
    engaged: list[tuple[str, str | None]], expected: list[str | None]
) -> None:
    verdict = blocked_by(KILL_FRAME, kill_switch_rule(engaged))
    assert list(verdict.values()) == expected


def test_a_kill_switch_needs_a_known_scope_and_a_target() -> None:
    with pytest.raises(ValueError, match="scope"):
        kill_switch_rule([("team", "t1")])
    with pytest.raises(ValueError, match="target"):
        kill_switch_rule([("motion", None)])


def test_eligibility_blocks_where_the_condition_is_false_or_unknown() -> None:
    frame = candidates(
        {"segment": "ent", "action": "sales_outreach"},
        {"segment": "smb", "action": "sales_outreach"},
        {"segment": None, "action": "sales_outreach"},
        {"segment": "smb", "action": "digital_program"},
        {"segment": "smb", "action": "no_action", "channel": "none"},
    )
    rule = eligibility_rule(
        "sales_for_mid_and_ent",
        pl.col("segment").is_in(["mid", "ent"]),
        actions={"sales_outreach", "no_action"},
    )
    assert blocked_by(frame, rule) == {
        "c0": None,
        "c1": "sales_for_mid_and_ent",
        "c2": "sales_for_mid_and_ent",
        "c3": None,
        "c4": None,
    }


def test_an_action_whose_autonomy_is_never_is_blocked() -> None:
    frame = candidates(
        {"autonomy": "never"},
        {"autonomy": None},
        {"autonomy": "shadow"},
        {"autonomy": "approve"},
        {"autonomy": "auto"},
        {"autonomy": "never", "action": "no_action", "channel": "none"},
    )
    assert blocked_by(frame, autonomy_never_rule()) == {
        "c0": "autonomy_never",
        "c1": "autonomy_never",
        "c2": None,
        "c3": None,
        "c4": None,
        "c5": None,
    }


def test_autonomy_never_can_name_the_actions_instead() -> None:
    frame = candidates({"action": "partner_referral"}, {"action": "digital_program"})
    rule = autonomy_never_rule(never={"partner_referral"})
    assert rule.columns == ("action",)
    assert blocked_by(frame, rule) == {"c0": "autonomy_never", "c1": None}


def test_a_rule_that_evaluates_to_null_fails_closed() -> None:
    frame = candidates({"score": None}, {"score": 0.1}, {"score": 0.9})
    rule = Rule("too_risky", "score above 0.5", pl.col("score") > 0.5)
    assert blocked_by(frame, rule) == {"c0": "too_risky", "c1": None, "c2": "too_risky"}


def test_rules_work_on_enum_and_categorical_columns() -> None:
    frame = candidates(
        {
            "channel": "email",
            "consent__email": "opted_out",
            "region": "eu",
            "do_not_contact": False,
        },
        {
            "channel": "phone",
            "consent__email": "opted_out",
            "region": "eu",
            "do_not_contact": False,
        },
    ).with_columns(
        pl.col("channel").cast(pl.Enum(["email", "phone", "meeting", "none"])),
        pl.col("consent__email").cast(pl.Categorical),
        pl.col("region").cast(pl.Enum(["eu", "us"])),
        pl.col("action").cast(pl.Enum(["digital_program", "no_action"])),
    )
    rules = [consent_rule(channels=["email"]), region_consent_rule("apac", "email")]
    assert blocked_by(frame, *rules) == {"c0": "consent", "c1": None}


# --- capacity --------------------------------------------------------------------------


def test_capacity_keeps_the_top_n_by_priority_per_team() -> None:
    frame = candidates(
        {"account_id": "a1", "team_id": "t1", "priority": 1.0},
        {"account_id": "a2", "team_id": "t1", "priority": 3.0},
        {"account_id": "a3", "team_id": "t1", "priority": 2.0},
        {"account_id": "a4", "team_id": "t2", "priority": 0.1},
        {"account_id": "a5", "team_id": "t3", "priority": 0.1},
        {"account_id": "a6", "team_id": None, "priority": 0.1},
    )
    limit = CapacityLimit("team_capacity", "team_id", {"t1": 2, "t2": 1})
    assert blocked_by(frame, capacities=[limit]) == {
        "c0": "team_capacity",
        "c1": None,
        "c2": None,
        "c3": None,
        "c4": None,  # no limit for t3, and no default: unlimited
        "c5": None,
    }
    limit = CapacityLimit("team_capacity", "team_id", {"t1": 2}, default=0)
    assert list(blocked_by(frame, capacities=[limit]).values()) == [
        "team_capacity",
        None,
        None,
        *["team_capacity"] * 3,
    ]


def test_capacity_ties_go_to_the_lower_account_id_and_null_priority_comes_last() -> None:
    frame = candidates(
        {"account_id": "a3", "team_id": "t1", "priority": 1.0},
        {"account_id": "a1", "team_id": "t1", "priority": None},
        {"account_id": "a2", "team_id": "t1", "priority": 1.0},
        {"account_id": "a0", "team_id": "t1", "priority": float("nan")},
        {"account_id": "a2", "team_id": "t1", "priority": 1.0},
    )
    limit = CapacityLimit("team_capacity", "team_id", {"t1": 2})
    assert blocked_by(frame, capacities=[limit]) == {
        "c0": "team_capacity",
        "c1": "team_capacity",
        "c2": None,
        "c3": "team_capacity",
        "c4": None,
    }


def test_capacity_only_counts_candidates_that_passed_the_rules_and_its_actions() -> None:
    frame = candidates(
        {
            "account_id": "a1",
            "team_id": "t1",
            "priority": 9.0,
            "consent__email": "opted_out",
            "do_not_contact": False,
        },
        {"account_id": "a2", "team_id": "t1", "priority": 5.0, "action": "digital_program"},
        {"account_id": "a3", "team_id": "t1", "priority": 4.0, "action": "sales_outreach"},
        {"account_id": "a4", "team_id": "t1", "priority": 3.0, "action": "sales_outreach"},
        {"account_id": "a5", "team_id": "t1", "priority": 8.0, "action": "no_action"},
    )
    limit = CapacityLimit(
        "team_capacity",
        "team_id",
        {"t1": 1},
        actions=frozenset({"sales_outreach", "digital_program", "no_action"}),
    )
    only_sales = CapacityLimit("sales", "team_id", {"t1": 1}, actions=frozenset({"sales_outreach"}))
    assert blocked_by(frame, consent_rule(channels=["email"]), capacities=[limit]) == {
        "c0": "consent",
        "c1": None,
        "c2": "team_capacity",
        "c3": "team_capacity",
        "c4": None,
    }
    assert blocked_by(frame, consent_rule(channels=["email"]), capacities=[only_sales]) == {
        "c0": "consent",
        "c1": None,
        "c2": None,
        "c3": "sales",
        "c4": None,
    }


def test_capacities_are_filled_greedily_across_team_and_owner() -> None:
    # o1 can take one; the team three. b is cut by its owner, which leaves room in the
    # team for c and d: applying the team limit first and the owner's after would have
    # wasted b's team slot and cut d.
    frame = candidates(
        {"account_id": "a", "team_id": "t", "owner_id": "o1", "priority": 4.0},
        {"account_id": "b", "team_id": "t", "owner_id": "o1", "priority": 3.0},
        {"account_id": "c", "team_id": "t", "owner_id": "o2", "priority": 2.0},
        {"account_id": "d", "team_id": "t", "owner_id": "o3", "priority": 1.0},
        {"account_id": "e", "team_id": "t", "owner_id": "o3", "priority": 0.5},
    )
    team = CapacityLimit("team", "team_id", {"t": 3})
    owner = CapacityLimit("owner", "owner_id", {}, default=1)
    assert blocked_by(frame, capacities=[team, owner]) == {
        "c0": None,
        "c1": "owner",
        "c2": None,
        "c3": None,
        "c4": "team",  # both are full; the first given is named
    }


def test_capacity_limits_can_come_from_a_column() -> None:
    frame = candidates(
        {"account_id": "a1", "owner_id": "o1", "cap": 1, "priority": 2.0},
        {"account_id": "a2", "owner_id": "o1", "cap": 1, "priority": 1.0},
        {"account_id": "a3", "owner_id": "o2", "cap": None, "priority": 1.0},
        {"account_id": "a4", "owner_id": "o2", "cap": None, "priority": 0.0},
        {"account_id": "a5", "owner_id": "o3", "cap": 0, "priority": 0.0},
    )
    limit = CapacityLimit("owner", "owner_id", "cap")
    assert blocked_by(frame, capacities=[limit]) == {
        "c0": None,
        "c1": "owner",
        "c2": None,
        "c3": None,
        "c4": "owner",
    }


def test_one_action_per_account_only_when_asked() -> None:
    frame = candidates(
        {"account_id": "a1", "action": "sales_outreach", "priority": 1.0, "autonomy": "auto"},
        {"account_id": "a1", "action": "digital_program", "priority": 2.0, "autonomy": "auto"},
        {"account_id": "a1", "action": "no_action", "channel": "none", "priority": 0.0},
        {"account_id": "a2", "action": "sales_outreach", "priority": 1.0, "autonomy": "never"},
        {"account_id": "a2", "action": "digital_program", "priority": 0.5, "autonomy": "auto"},
    )
    assert set(blocked_by(frame, autonomy_never_rule()).values()) == {None, "autonomy_never"}
    assert blocked_by(frame, autonomy_never_rule(), one_action_per_account=True) == {
        "c0": ONE_ACTION_PER_ACCOUNT,
        "c1": None,
        "c2": None,
        "c3": "autonomy_never",
        "c4": None,
    }


# --- the result ------------------------------------------------------------------------


def test_allowed_and_blocked_partition_the_input_in_order() -> None:
    frame = candidates(
        *(
            {"account_id": f"a{i}", "team_id": "t1", "priority": float(i), "score": i / 10}
            for i in range(10)
        )
    )
    rules = [eligibility_rule("score", pl.col("score") >= 0.3)]
    result = apply_guardrails(frame, rules, [CapacityLimit("team", "team_id", {"t1": 4})])
    assert result.allowed.columns == frame.columns
    assert result.blocked.columns == [*frame.columns, BLOCKED_BY, VIOLATED]
    assert result.blocked.schema[BLOCKED_BY] == pl.Enum(["score", "team"])
    assert result.allowed["id"].to_list() == ["c6", "c7", "c8", "c9"]
    assert result.blocked["id"].to_list() == [f"c{i}" for i in range(6)]
    assert (
        result.blocked.drop(BLOCKED_BY, VIOLATED)
        .vstack(result.allowed)
        .sort("id")
        .equals(frame.sort("id"))
    )
    assert result.blocked_counts().rows() == [("score", 3), ("team", 3)]
    assert result.blocked is result.blocked  # built once, on first use
    rebuilt = GuardrailResult(result.allowed, result.blocked)
    assert rebuilt.blocked is result.blocked
    assert rebuilt.blocked_counts().equals(result.blocked_counts())


def test_first_rules_say_what_blocked_without_building_the_blocked_rows() -> None:
    frame = candidates(
        *({"account_id": f"a{i}", "team_id": "t1", "priority": -float(i)} for i in range(8))
    )
    rules = [eligibility_rule(f"below_{k}", pl.col("priority") > -k) for k in (6, 3)]
    result = apply_guardrails(frame, rules, [CapacityLimit("team", "team_id", {"t1": 1})])
    first = result.first_rules
    assert first is not None
    assert first.rule_ids == ("below_6", "below_3", "team")
    names = [first.rule_ids[k] for k in first.first.tolist()]
    assert first.positions.tolist() == list(range(1, 8))
    assert names == result.blocked[BLOCKED_BY].cast(pl.String).to_list()
    assert result.blocked_count == result.blocked.height == 7
    counts = count_first_rules(first.first, first.rule_ids)
    assert counts.equals(
        result.blocked.group_by(BLOCKED_BY)
        .len("blocked")
        .sort(["blocked", BLOCKED_BY], descending=[True, False])
    )


def test_a_capacity_with_room_for_everyone_cuts_no_one() -> None:
    frame = candidates(
        *({"account_id": f"a{i}", "team_id": "t1", "priority": float(i)} for i in range(5))
    )
    roomy = [CapacityLimit("team", "team_id", {"t1": 5}, default=9)]
    assert all(v is None for v in blocked_by(frame, capacities=roomy).values())
    tight = [CapacityLimit("team", "team_id", {"t1": 4})]
    assert list(blocked_by(frame, capacities=tight).values()).count("team") == 1


def test_an_empty_frame_and_no_rules() -> None:
    frame = candidates({"team_id": "t1"}).clear()
    rules = [kill_switch_rule([("global", None)])]
    result = apply_guardrails(frame, rules, [CapacityLimit("t", "team_id", {})])
    assert (result.allowed.height, result.blocked.height) == (0, 0)
    frame = candidates({}, {"action": "no_action", "channel": "none"})
    assert blocked_by(frame) == {"c0": None, "c1": None}


def test_more_than_64_rules_are_tracked() -> None:
    frame = candidates({"score": 0.5}, {"score": 0.05})
    rules = [eligibility_rule(f"at_least_{i}", pl.col("score") >= i / 100) for i in range(1, 100)]
    result = apply_guardrails(frame, rules, [CapacityLimit("cap", "account_id", {"a1": 0})])
    assert verdicts(result) == {"c0": "at_least_51", "c1": "at_least_6"}
    assert result.blocked[VIOLATED].to_list() == [
        [f"at_least_{i}" for i in range(51, 100)],
        [f"at_least_{i}" for i in range(6, 100)],
    ]


def test_the_filter_refuses_bad_rule_sets_and_frames() -> None:
    frame = candidates({})
    with pytest.raises(ValueError, match="duplicate rule ids: consent"):
        apply_guardrails(frame, [consent_rule(), consent_rule()])
    with pytest.raises(ValueError, match=r"consent__email \(read by consent\)"):
        apply_guardrails(frame, [consent_rule()])
    with pytest.raises(ValueError, match=r"team_id \(read by team\)"):
        apply_guardrails(frame, [], [CapacityLimit("team", "team_id", {})])
    with pytest.raises(ValueError, match="may not have the columns rule_id"):
        apply_guardrails(frame.with_columns(rule_id=pl.lit("x")), [])
    with pytest.raises(ValueError, match="limits must be >= 0"):
        CapacityLimit("team", "team_id", {"t1": -1})
    with pytest.raises(ValueError, match="max_touches"):
        contact_cap_rule(scope="account", channel="any", max_touches=-1, days=7)
    with pytest.raises(ValueError, match="lower-case token"):
        quiet_period_rule(after="Big Purchase", days=3)

"""Semantic checks: references, expressions, contradictions and impossible actions."""

from __future__ import annotations

import pytest

from nextmove.playbook.context import ContextSchema
from nextmove.playbook.expressions import check_expression
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.satisfiability import never_true
from nextmove.playbook.semantics import KnownCatalog, check_semantics

Found = list[tuple[str, int | None, int | None, str]]


def semantic_problems(text: str, known: KnownCatalog) -> Found:
    return [
        (p.path, p.line, p.column, p.message) for p in check_semantics(load_playbook(text), known)
    ]


def test_the_minimal_playbook_is_sound(minimal_text: str, minimal_known: KnownCatalog) -> None:
    assert semantic_problems(minimal_text, minimal_known) == []


def test_unknown_products_teams_and_actions(minimal_text: str, minimal_known: KnownCatalog) -> None:
    text = (
        minimal_text.replace("[prod-b]", "[prod-b, prod-zz]").replace("team-cs", "team-cx")
        + "value:\n  levers:\n    products: {prod-q: 1.2}\n    actions: {cold_call: 2}\n"
        + "capacity:\n  teams:\n    team-nope: {per_day: 3}\n"
    )
    assert semantic_problems(text, minimal_known) == [
        ("actions.service_conversation.products[1]", 14, 24, "unknown product 'prod-zz'"),
        ("actions.service_conversation.team", 15, 11, "unknown team 'team-cx'"),
        ("value.levers.products.prod-q", 23, 16, "unknown product 'prod-q'"),
        ("value.levers.actions.cold_call", 24, 15, "unknown action 'cold_call'"),
        ("capacity.teams.team-nope", 27, 5, "unknown team 'team-nope'"),
    ]


def test_nothing_is_checked_against_an_unknown_catalog(minimal_text: str) -> None:
    text = minimal_text.replace("[prod-b]", "[prod-zz]").replace("team-cs", "team-cx")
    assert semantic_problems(text, KnownCatalog()) == []


def test_required_actions_and_owning_teams(minimal_text: str, minimal_known: KnownCatalog) -> None:
    text = minimal_text.replace(
        "  no_action:\n    channel: none\n", "  no_action:\n    channel: email\n"
    )
    text = text.replace("  service_conversation:", "  service_talk:").replace(
        "    team: team-marketing\n", ""
    )
    assert semantic_problems(text, minimal_known) == [
        ("actions", 2, 1, "missing required action(s): service_conversation"),
        ("actions.digital_program", 8, 3, "digital_program has no owning team"),
        ("actions.no_action.channel", 18, 14, "no_action touches nobody: use channel none"),
    ]


def test_expression_errors_point_into_the_yaml(
    minimal_text: str, minimal_known: KnownCatalog
) -> None:
    text = minimal_text + (
        "eligibility:\n"
        "  - id: mid_only\n"
        "    actions: [sales_outreach]\n"
        '    require: segment in ["mid", "medium"]\n'
        "  - id: tickets\n"
        "    actions: all\n"
        "    require: |\n"
        "      employees > 10\n"
        '        && signal_count("intent", 30) > 1\n'
    )
    assert semantic_problems(text, minimal_known) == [
        (
            "eligibility[0].require",
            24,
            33,
            "segment is never 'medium' (known: ent, mid, smb) (expression column 20)",
        ),
        (
            "eligibility[1].require",
            29,
            25,
            "signal_count: 'intent' is not a known signal (none are declared)"
            " (expression line 2, column 19)",
        ),
    ]


def test_signal_declarations_are_checked(minimal_text: str, minimal_known: KnownCatalog) -> None:
    text = minimal_text + (
        "signals:\n"
        "  visits: {kind: count, type: web_visti, product: prod-x}\n"
        "  ticket: {kind: state, type: ticket_opened, closes_with: ticket_closed}\n"
    )
    known = KnownCatalog(
        products=minimal_known.products,
        teams=minimal_known.teams,
        signal_types=frozenset({"web_visit", "ticket_opened"}),
    )
    assert semantic_problems(text, known) == [
        ("signals.visits.type", 22, 31, "unknown signal type 'web_visti'"),
        ("signals.visits.product", 22, 51, "unknown product 'prod-x'"),
        ("signals.ticket.closes_with", 23, 59, "unknown signal type 'ticket_closed'"),
    ]


def test_duplicate_and_reserved_rule_ids(minimal_text: str, minimal_known: KnownCatalog) -> None:
    text = minimal_text + (
        "eligibility:\n"
        "  - {id: big, actions: all, require: employees > 100}\n"
        "contact_policies:\n"
        "  caps:\n"
        "    - {id: big, scope: account, channel: any, max: 3, days: 30}\n"
        "    - {scope: contact, channel: email, max: 1, days: 7}\n"
        "    - {scope: contact, channel: email, max: 2, days: 7}\n"
        "consent:\n"
        "  rules:\n"
        "    - {id: consent.opt_out, region: EU, channel: email, requires: opted_in}\n"
    )
    assert semantic_problems(text, minimal_known) == [
        ("eligibility[0].id", 22, 10, "duplicate rule id 'big' (rule ids must be unique)"),
        ("contact_policies.caps[0]", 25, 7, "duplicate rule id 'big' (rule ids must be unique)"),
        (
            "contact_policies.caps[1]",
            26,
            7,
            "duplicate rule id 'cap.contact.email.7d' (rule ids must be unique)",
        ),
        (
            "contact_policies.caps[2]",
            27,
            7,
            "duplicate rule id 'cap.contact.email.7d' (rule ids must be unique)",
        ),
        (
            "consent.rules[0].id",
            30,
            12,
            "rule id 'consent.opt_out' is reserved for the built-in opt-out rules",
        ),
    ]


def test_rules_that_can_never_be_true(minimal_text: str, minimal_known: KnownCatalog) -> None:
    text = minimal_text + (
        "eligibility:\n"
        "  - {id: never, actions: [digital_program], require: employees > 500 && employees < 50}\n"
        "  - {id: smb, actions: [sales_outreach], require: \"segment == 'smb'\"}\n"
        "  - {id: big, actions: [sales_outreach], require: \"segment in ['mid', 'ent']\"}\n"
        "  - {id: fine, actions: all, require: segment != 'smb' || employees > 5}\n"
        "  - {id: no_nothing, actions: [no_action], require: 'true'}\n"
    )
    assert semantic_problems(text, minimal_known) == [
        (
            "actions.sales_outreach",
            3,
            3,
            "rules 'smb' and 'big' contradict each other: no account can receive sales_outreach",
        ),
        (
            "eligibility[0].require",
            22,
            54,
            "rule 'never' can never be true, so no account can receive digital_program",
        ),
        (
            "eligibility[4].actions[0]",
            26,
            32,
            "no_action is always allowed; eligibility rules cannot apply to it",
        ),
    ]


def test_caps_capacity_and_approvers_that_make_actions_impossible(
    minimal_text: str, minimal_known: KnownCatalog
) -> None:
    text = minimal_text + (
        "contact_policies:\n"
        "  caps:\n"
        "    - {scope: contact, channel: email, max: 0, days: 7}\n"
        "    - {scope: account, channel: phone, max: 2, days: 7}\n"
        "capacity:\n"
        "  teams:\n"
        "    team-sales: {per_day: 10, per_owner_per_week: 0}\n"
        "    team-cs: {per_day: 5}\n"
        "autonomy:\n"
        "  approvers: [viewer]\n"
        "  actions:\n"
        "    digital_program:\n"
        "      approvers: [ops]\n"
    )
    assert semantic_problems(text, minimal_known) == [
        (
            "contact_policies.caps[0].max",
            23,
            45,
            "caps make the action impossible: max 0 on email blocks digital_program"
            " for every account",
        ),
        (
            "capacity.teams.team-sales.per_owner_per_week",
            27,
            51,
            "team-sales has zero capacity (per_owner_per_week),"
            " so sales_outreach can never be chosen",
        ),
        (
            "autonomy.approvers",
            30,
            14,
            "sales_outreach can need approval, but no role is allowed to approve it",
        ),
    ]


def test_a_demotion_to_approve_needs_approvers(
    minimal_text: str, minimal_known: KnownCatalog
) -> None:
    text = minimal_text.replace("autonomy: approve", "autonomy: recommend") + (
        "autonomy:\n  actions:\n    digital_program:\n      approvers: []\n"
    )
    assert semantic_problems(text, minimal_known) == [
        (
            "autonomy.actions.digital_program.approvers",
            24,
            18,
            "digital_program can need approval, but no role is allowed to approve it",
        )
    ]


@pytest.mark.parametrize(
    ("conditions", "impossible"),
    [
        (["false"], True),
        (["1 > 2 || 3 < 2"], True),
        (["segment == 'smb'", "segment in ['mid', 'ent']"], True),
        (["segment != 'smb' && segment != 'mid' && segment != 'ent'"], False),  # missing segment
        (["!(segment in ['smb', 'mid', 'ent'])", "segment != null"], True),
        (["employees >= 5 && employees <= 5"], False),
        (["employees > 5", "employees <= 5"], True),
        (["5 < employees", "employees < 3"], True),
        (["!(employees > 5)", "employees > 5"], False),  # !(x > 5) holds for a missing x too
        (["holds('prod-a')", "!holds('prod-a')"], True),
        (["do_not_contact == null"], True),  # a missing boolean counts as false
        (["(segment == 'smb' || segment == 'mid') && segment == 'ent'"], True),
        (["!(segment == 'smb' || employees > 3)", "segment == 'smb'"], True),
        (["signal_count('intent', 30) > 2 || holds('prod-b')", "!holds('prod-b')"], False),
    ],
)
def test_never_true(conditions: list[str], impossible: bool, schema: ContextSchema) -> None:
    checked = [check_expression(condition, schema) for condition in conditions]
    assert never_true(checked, schema) is impossible

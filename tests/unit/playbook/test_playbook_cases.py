"""Example cases: allowed / blocked by rule X, evaluated through the compiled rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextmove.errors import PlaybookInvalid
from nextmove.playbook.cases import CaseReport, cases_path, load_cases, run_cases
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Problem
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.playbook.service import run_playbook_cases

RULES = """\
eligibility:
  - id: mid_ent
    actions: [sales_outreach]
    require: segment in ["mid", "ent"]
  - id: no_p1
    actions: all
    require: '!has_open_ticket("P1")'
consent:
  regions:
    EU: [DE, FR]
  rules:
    - {id: eu_email, region: EU, channel: email, requires: opted_in}
    - {id: no_calls_in_latam, region: LATAM, channel: any, requires: never}
"""


def run(playbook_text: str, cases_text: str) -> CaseReport:
    loaded = load_playbook(playbook_text)
    cases, source = load_cases(cases_text)
    schema = context_schema_for(loaded.playbook, KnownCatalog())
    return run_cases(loaded.playbook, cases, source, schema)


def outcomes(report: CaseReport) -> list[tuple[bool, str]]:
    return [(result.passed, result.reason) for result in report.results]


def test_cases_check_eligibility_and_consent(minimal_text: str) -> None:
    cases = """\
cases:
  - name: mid allowed
    action: sales_outreach
    context: {segment: mid}
    expect: allowed
  - name: smb blocked
    action: sales_outreach
    context: {segment: smb, 'has_open_ticket("P1")': true}
    expect: blocked
    by: no_p1
  - name: EU email needs opt-in (a meeting honours email consent too)
    action: sales_outreach
    context: {segment: ent, country: DE, email_consent: unknown}
    expect: blocked
    by: eu_email
  - name: opted in in the EU
    action: digital_program
    context: {country: FR, email_consent: opted_in}
    expect: allowed
  - name: never by any channel in LATAM
    action: service_conversation
    context: {region: LATAM, phone_consent: opted_in}
    expect: blocked
  - name: phone opt-out wins
    action: service_conversation
    context: {phone_consent: opted_out}
    expect: blocked
    by: consent.opt_out
  - name: nothing blocks no_action
    action: no_action
    context: {do_not_contact: true, region: LATAM}
    expect: allowed
"""
    report = run(minimal_text + RULES, cases)
    assert outcomes(report) == [
        (True, "allowed (approve)"),
        (True, "blocked by mid_ent, no_p1"),
        (True, "blocked by eu_email"),
        (True, "allowed (auto)"),
        (True, "blocked by no_calls_in_latam"),
        (True, "blocked by consent.opt_out"),
        (True, "allowed (auto)"),
    ]
    assert (report.passed, report.failed) == (7, 0)
    assert [result.line for result in report.results] == [2, 6, 11, 16, 20, 24, 29]


def test_failing_cases_say_why(minimal_text: str) -> None:
    cases = """\
cases:
  - {name: a, action: sales_outreach, context: {segment: smb}, expect: allowed}
  - {name: b, action: sales_outreach, context: {segment: mid}, expect: blocked}
  - {name: c, action: sales_outreach, context: {segment: smb}, expect: blocked, by: no_p1}
"""
    assert outcomes(run(minimal_text + RULES, cases)) == [
        (False, "expected allowed, but blocked by mid_ent"),
        (False, "expected blocked, but allowed (approve)"),
        (False, "expected blocked by no_p1, but blocked by mid_ent"),
    ]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("{action: cold_call}", "unknown action 'cold_call'"),
        ("{action: sales_outreach, by: no_such_rule}", "unknown rule 'no_such_rule'"),
        ("{action: sales_outreach, context: {segmnt: mid}}", "did you mean 'segment'?"),
        ("{action: sales_outreach, context: {segment: big}}", "'big' is not one of ent, mid, smb"),
        ("{action: sales_outreach, context: {employees: many}}", "expected a number, got 'many'"),
        ("{action: sales_outreach, context: {'holds(\"prod-a\")': 1}}", "expected a bool, got 1.0"),
        (
            "{action: sales_outreach, context: {'1 < 2': true}}",
            "must be a field or a function call",
        ),
    ],
)
def test_a_broken_case_fails_with_its_error(minimal_text: str, case: str, reason: str) -> None:
    defaults = "name: x, expect: blocked, "
    text = f"cases:\n  - {{{defaults}{case[1:]}\n"
    [(passed, found)] = outcomes(run(minimal_text + RULES, text))
    assert not passed
    assert reason in found


def test_a_malformed_cases_file_is_reported_with_positions() -> None:
    text = "cases:\n  - name: x\n    action: no_action\n    expected: allowed\n"
    with pytest.raises(PlaybookInvalid) as caught:
        load_cases(text)
    found = [p for p in caught.value.problems if isinstance(p, Problem)]
    assert [(p.path, p.line, p.column) for p in found] == [
        ("cases[0].expect", 2, 5),
        ("cases[0].expected", 4, 5),
    ]
    with pytest.raises(PlaybookInvalid, match="'by' names the blocking rule"):
        load_cases("cases:\n  - {name: x, action: no_action, expect: allowed, by: r}\n")


def test_cases_live_beside_the_playbook() -> None:
    assert cases_path(Path("rules/b2b.yaml")) == Path("rules/b2b.cases.yaml")
    assert cases_path(Path("b2b.yml")) == Path("b2b.cases.yml")


def test_the_example_cases_pass(
    example_text: str, example_cases_text: str, sim_known: KnownCatalog
) -> None:
    report = run_playbook_cases(text=example_text, cases_text=example_cases_text, known=sim_known)
    assert len(report.results) >= 8
    assert report.failed == 0, [r for r in report.results if not r.passed]
    expectations = {result.outcome for result in report.results}
    assert {
        "allowed (auto)",
        "allowed (recommend)",
        "blocked by consent.opt_out",
        "blocked by eu_email_needs_opt_in",
        "blocked by email_weekly",
        "blocked by after_purchase",
        "blocked by capacity.team-sales.per_owner",
    } <= expectations


def test_cases_refuse_an_invalid_playbook(minimal_text: str) -> None:
    with pytest.raises(PlaybookInvalid, match="unknown name 'segmnt'"):
        run_playbook_cases(
            text=minimal_text + "eligibility:\n  - {id: r, require: segmnt == 'x'}\n",
            cases_text="cases:\n  - {name: x, action: no_action, expect: allowed}\n",
            known=KnownCatalog(),
        )


HISTORY_RULES = """\
contact_policies:
  caps:
    - {id: weekly_email, scope: contact, channel: email, max: 1, days: 7}
  quiet_periods:
    - {id: after_purchase, after: purchase, days: 30, actions: [sales_outreach]}
capacity:
  teams:
    team-sales: {per_day: 10, per_owner_per_day: 2}
autonomy:
  demotions:
    - {when: drift_alert, to: recommend}
  actions:
    sales_outreach:
      overrides:
        - {segments: [mid], max_value: 20000, level: recommend}
        - {min_value: 100000, level: never}
"""


def test_cases_cover_caps_quiet_periods_capacity_and_autonomy(minimal_text: str) -> None:
    cases = """\
cases:
  - name: a first email passes the cap
    action: digital_program
    history: {touches: {weekly_email: 0}}
    expect: allowed
    autonomy: auto
  - name: a second one does not
    action: digital_program
    history: {touches: {weekly_email: 1}}
    expect: blocked
    by: weekly_email
  - name: quiet after a purchase, only for the actions it names
    action: sales_outreach
    context: {segment: ent}
    history: {days_since: {purchase: 29}}
    expect: blocked
    by: after_purchase
  - name: a day later it may go
    action: sales_outreach
    context: {segment: ent}
    history: {days_since: {purchase: 30}}
    expect: allowed
  - name: no room left for this owner
    action: sales_outreach
    context: {segment: ent, owner_id: own-1}
    capacity_left: {capacity.team-sales.per_owner: 0}
    expect: blocked
    by: capacity.team-sales.per_owner
  - name: small mid deals are recommended
    action: sales_outreach
    context: {segment: mid}
    expected_value: 19999
    expect: allowed
    autonomy: recommend
  - name: at the band's upper bound the action's own level holds
    action: sales_outreach
    context: {segment: mid}
    expected_value: 20000
    expect: allowed
    autonomy: approve
  - name: huge moves are never taken alone
    action: sales_outreach
    context: {segment: ent}
    expected_value: 250000
    expect: blocked
    by: autonomy.never.sales_outreach
  - name: a demotion caps an auto action
    action: digital_program
    demoted: {digital_program: recommend}
    expect: allowed
    autonomy: recommend
  - name: a wrong level fails the case
    action: digital_program
    expect: allowed
    autonomy: approve
"""
    assert outcomes(run(minimal_text + HISTORY_RULES, cases)) == [
        (True, "allowed (auto)"),
        (True, "blocked by weekly_email"),
        (True, "blocked by after_purchase"),
        (True, "allowed (approve)"),
        (True, "blocked by capacity.team-sales.per_owner"),
        (True, "allowed (recommend)"),
        (True, "allowed (approve)"),
        (True, "blocked by autonomy.never.sales_outreach"),
        (True, "allowed (recommend)"),
        (False, "expected allowed (approve), but allowed (auto)"),
    ]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("{history: {touches: {weekly: 1}}}", "unknown contact cap 'weekly'"),
        ("{capacity_left: {capacity.sales: 1}}", "unknown capacity 'capacity.sales'"),
        ("{demoted: {cold_call: approve}}", "unknown action 'cold_call'"),
    ],
)
def test_history_and_capacity_must_name_what_the_playbook_has(
    minimal_text: str, case: str, reason: str
) -> None:
    text = f"cases:\n  - {{name: x, action: digital_program, expect: allowed, {case[1:]}\n"
    [(passed, found)] = outcomes(run(minimal_text + HISTORY_RULES, text))
    assert not passed
    assert reason in found


def test_autonomy_is_only_expected_of_allowed_moves() -> None:
    with pytest.raises(PlaybookInvalid, match="needs expect: allowed"):
        load_cases("cases:\n  - {name: x, action: a, expect: blocked, autonomy: auto}\n")

"""Loading YAML: every structural error with its exact line, column and path."""

from __future__ import annotations

import pytest

from nextmove.errors import PlaybookInvalid
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import ALL, AutonomyLevel, Channel, Problem


def problems(text: str) -> list[tuple[str, int | None, int | None, str]]:
    with pytest.raises(PlaybookInvalid) as caught:
        load_playbook(text)
    found = caught.value.problems
    assert all(isinstance(problem, Problem) for problem in found)
    return [(p.path, p.line, p.column, p.message) for p in found if isinstance(p, Problem)]


def test_the_minimal_playbook_loads_with_defaults(minimal_text: str) -> None:
    loaded = load_playbook(minimal_text)
    playbook = loaded.playbook
    assert playbook.actions["digital_program"].products == ALL
    assert playbook.actions["sales_outreach"].channel is Channel.MEETING
    assert playbook.actions["no_action"].autonomy is AutonomyLevel.AUTO
    assert playbook.measurement.holdout_share == 0.1
    assert loaded.source.locate(("actions", "digital_program", "team")) == (10, 11)


def test_an_unknown_key_is_an_error_at_the_key(minimal_text: str) -> None:
    text = minimal_text.replace("    channel: email", "    chanel: email")
    assert problems(text) == [
        (
            "actions.digital_program.channel",
            9,
            5,
            "missing required key 'channel'",
        ),
        (
            "actions.digital_program.chanel",
            11,
            5,
            "unknown key 'chanel' (did you mean 'channel'?)",
        ),
    ]


def test_an_unknown_section_lists_the_expected_keys(minimal_text: str) -> None:
    [(path, line, column, message)] = problems(minimal_text + "rules: []\n")
    assert (path, line, column) == ("rules", 21, 1)
    assert message.startswith("unknown key 'rules'; expected one of: name, description, value,")


def test_wrong_values_are_located_at_the_value(minimal_text: str) -> None:
    text = minimal_text.replace("channel: phone", "channel: fax") + (
        "contact_policies:\n"
        "  caps:\n"
        "    - {scope: contact, channel: email, max: lots, days: 7}\n"
        "measurement:\n"
        "  holdout_share: 0.7\n"
    )
    assert problems(text) == [
        (
            "actions.service_conversation.channel",
            16,
            14,
            "input should be 'email', 'phone', 'meeting' or 'none'",
        ),
        (
            "contact_policies.caps[0].max",
            23,
            45,
            "input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "measurement.holdout_share",
            25,
            18,
            "input should be less than or equal to 0.5",
        ),
    ]


def test_all_or_a_list_gives_one_clear_error(minimal_text: str) -> None:
    text = minimal_text.replace("products: all", "products: everything")
    assert problems(text) == [
        ("actions.digital_program.products", 9, 15, "expected 'all' or a list of ids")
    ]
    text = minimal_text + "eligibility:\n  - {id: r1, actions: [Sales], require: 'true'}\n"
    assert problems(text) == [
        (
            "eligibility[0].actions[0]",
            22,
            24,
            "string should match pattern '^[a-z][a-z0-9_]*$'",
        )
    ]


def test_yaml_syntax_errors_are_located(minimal_text: str) -> None:
    text = minimal_text.replace("    autonomy: auto\n  service", "    autonomy: [auto\n  service")
    [(path, line, column, message)] = problems(text)
    assert (path, line) == ("", 13)
    assert message.startswith("YAML syntax:")
    assert column is not None


def test_duplicate_keys_are_errors(minimal_text: str) -> None:
    text = minimal_text.replace("    team: team-cs\n", "    team: team-cs\n    team: team-sales\n")
    assert problems(text) == [
        ("actions.service_conversation.team", 16, 5, "duplicate key 'team' (only one may be given)")
    ]


def test_unquoted_yaml_booleans_get_a_hint(minimal_text: str) -> None:
    text = minimal_text + "consent:\n  regions:\n    NORDICS: [SE, NO, DK]\n"
    [(path, line, column, message)] = problems(text)
    assert (path, line, column) == ("consent.regions.NORDICS[1]", 23, 19)
    assert "put the value in quotes" in message


def test_model_rules_are_reported_where_they_are_broken(minimal_text: str) -> None:
    text = minimal_text + (
        "signals:\n"
        "  ticket: {kind: state, type: support_ticket_opened}\n"
        "autonomy:\n"
        "  actions:\n"
        "    sales_outreach:\n"
        "      overrides:\n"
        "        - {level: auto}\n"
        "      demotions:\n"
        "        - {when: drift_alert, to: auto}\n"
    )
    assert problems(text) == [
        (
            "autonomy.actions.sales_outreach.overrides[0]",
            27,
            11,
            "an override needs segments, min_value or max_value",
        ),
        (
            "autonomy.actions.sales_outreach.demotions[0].to",
            29,
            35,
            "input should be 'never', 'shadow', 'recommend' or 'approve'",
        ),
        (
            "signals.ticket",
            22,
            11,
            "a state signal needs closes_with, and only a state signal has it",
        ),
    ]


def test_every_error_is_reported_at_once(minimal_text: str) -> None:
    text = minimal_text.replace("name: minimal\n", "").replace(
        "autonomy: recommend", "autonomy: maybe"
    )
    assert [(p[0], p[1], p[2]) for p in problems(text)] == [
        ("name", 1, 1),
        ("actions.service_conversation.autonomy", 16, 15),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("- a\n- b\n", "input should be a valid dictionary")],
)
def test_a_document_that_is_not_a_playbook(text: str, message: str) -> None:
    [(path, line, _, found)] = problems(text)
    assert (path, line) == ("", 1)
    assert found.startswith(message)


def test_the_error_message_shows_the_first_problem(minimal_text: str) -> None:
    expected = r"the playbook is invalid: the playbook:1:1: name: missing .* \(and 2 more\)"
    with pytest.raises(PlaybookInvalid, match=expected):
        load_playbook(minimal_text.replace("products: all", "products: 5").replace("name:", "nam:"))

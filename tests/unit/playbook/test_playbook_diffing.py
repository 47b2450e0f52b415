"""Readable differences between two playbook texts."""

from __future__ import annotations

from nextmove.playbook.diffing import Change, diff_playbooks

OLD = """\
name: rules
thresholds:
  min_confidence: 0.6
eligibility:
  - {id: a, require: "segment == 'mid'"}
  - {id: b, require: employees > 10}
capacity:
  teams:
    team-sales: {per_day: 10}
"""


def test_changes_are_grouped_by_section_and_rules_keyed_by_id() -> None:
    new = (
        OLD.replace("0.6", "0.7")
        .replace("  - {id: a, require: \"segment == 'mid'\"}\n", "")
        .replace("employees > 10", "employees > 20")
        .replace(
            "    team-sales: {per_day: 10}\n",
            "    team-sales: {per_day: 10}\n    team-cs: {per_day: 4}\n",
        )
        + "measurement: {holdout_share: 0.2}\n"
    )
    difference = diff_playbooks(OLD, new, old_label="v1", new_label="v2")
    assert [(s.section, s.changes) for s in difference.sections] == [
        (
            "eligibility",
            (
                Change("eligibility[a].id", "removed", old="a"),
                Change("eligibility[a].require", "removed", old="segment == 'mid'"),
                Change(
                    "eligibility[b].require", "changed", old="employees > 10", new="employees > 20"
                ),
            ),
        ),
        ("capacity", (Change("capacity.teams.team-cs.per_day", "added", new=4),)),
        ("thresholds", (Change("thresholds.min_confidence", "changed", old=0.6, new=0.7),)),
        ("measurement", (Change("measurement.holdout_share", "added", new=0.2),)),
    ]
    assert difference.summary().splitlines() == [
        "eligibility:",
        '  - eligibility[a].id: "a"',
        "  - eligibility[a].require: \"segment == 'mid'\"",
        '  ~ eligibility[b].require: "employees > 10" → "employees > 20"',
        "capacity:",
        "  + capacity.teams.team-cs.per_day: 4",
        "thresholds:",
        "  ~ thresholds.min_confidence: 0.6 → 0.7",
        "measurement:",
        "  + measurement.holdout_share: 0.2",
    ]
    assert difference.text.startswith("--- v1\n+++ v2\n")
    assert "-  min_confidence: 0.6\n+  min_confidence: 0.7\n" in difference.text


def test_comment_only_changes_show_in_the_text_diff_only() -> None:
    difference = diff_playbooks(OLD, "# tuned\n" + OLD, old_label="v1", new_label="v2")
    assert difference.sections == ()
    assert difference.summary() == "no changes in rules (only comments or layout differ)"
    assert "+# tuned" in difference.text
    assert not difference.unchanged


def test_identical_texts_are_unchanged() -> None:
    difference = diff_playbooks(OLD, OLD, old_label="v1", new_label="v1")
    assert difference.unchanged
    assert difference.summary() == "no changes in rules"

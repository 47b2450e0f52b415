"""The example playbook is valid against the synthetic company, and its rules run vectorised."""

from __future__ import annotations

import numpy as np
import polars as pl

from nextmove.playbook.context import ValueType
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import AutonomyLevel, Channel
from nextmove.playbook.rules import compile_rules
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.playbook.service import check_playbook


def test_the_example_is_clean_against_the_synthetic_catalog(
    example_text: str, sim_known: KnownCatalog
) -> None:
    result = check_playbook(text=example_text, known=sim_known)
    assert result.problems == ()
    assert result.loaded is not None
    playbook = result.loaded.playbook
    assert set(playbook.actions) >= {
        "sales_outreach",
        "digital_program",
        "service_conversation",
        "no_action",
    }
    assert playbook.actions["no_action"].channel is Channel.NONE
    assert playbook.actions["sales_outreach"].autonomy is AutonomyLevel.APPROVE
    core = playbook.value.products["prod-analytics-core"].price
    predictive = playbook.value.products["prod-predictive-insights"].price
    assert core is not None and predictive is not None
    assert (core.for_segment("ent"), core.for_segment(None)) == (15000, None)
    assert (predictive.for_segment("mid"), predictive.for_segment("ent")) == (38000, 45000)
    autonomy = playbook.autonomy
    assert autonomy.levels_for(playbook.actions["digital_program"], "digital_program") == (
        AutonomyLevel.AUTO,
        AutonomyLevel.APPROVE,
        AutonomyLevel.SHADOW,
    )
    assert [role.value for role in autonomy.approvers_for("sales_outreach")] == ["approver"]


def test_an_empty_catalog_gives_warnings_not_errors(example_text: str) -> None:
    result = check_playbook(text=example_text, known=KnownCatalog())
    assert result.ok
    assert [p.message for p in result.problems] == [
        "product ids were not checked: no products are known (import the catalog)",
        "team ids were not checked: no teams are known (import the catalog)",
    ]


def random_context(columns: dict[str, ValueType], rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    choices = {
        "segment": ["smb", "mid", "ent", None],
        "country": ["US", "DE", "FR", "CH", "GB", None],
        "region": ["NA", "EMEA", None],
        "owner_id": ["own-1", None],
        "email_consent": ["opted_in", "opted_out", "unknown", None],
        "phone_consent": ["opted_in", "opted_out", "unknown", None],
    }
    data: dict[str, pl.Series] = {}
    for name, value_type in columns.items():
        if value_type is ValueType.BOOL:
            data[name] = pl.Series(name, rng.random(rows) < 0.2)
        elif value_type is ValueType.NUMBER:
            data[name] = pl.Series(name, rng.integers(0, 60, rows).astype(float))
        else:
            options = choices[name]
            data[name] = pl.Series(name, [options[i] for i in rng.integers(0, len(options), rows)])
    return pl.DataFrame(data)


def test_the_example_rules_run_on_many_accounts_at_once(example_text: str) -> None:
    playbook = load_playbook(example_text).playbook
    rules = compile_rules(playbook, context_schema_for(playbook, KnownCatalog()))
    frame = random_context(rules.columns, 50_000, seed=3)
    for action in ("sales_outreach", "digital_program", "service_conversation"):
        blocked = rules.blocked(frame, action)
        assert blocked.height == frame.height
        assert blocked.null_count().sum_horizontal().item() == 0
        allowed = ~pl.any_horizontal(blocked)
        assert 0 < frame.filter(allowed).height < frame.height, action
    # opted-out contacts never get the nurture
    nurture = rules.blocked(frame, "digital_program")
    opted_out = frame["email_consent"] == "opted_out"
    assert nurture.filter(opted_out)["consent.opt_out"].all()
    assert rules.blocked(frame, "no_action").width == 0

"""The context inputs of stored records: logged moves become touches on their channels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from nextmove.decisions import service
from nextmove.decisions.service import context_inputs
from nextmove.playbook.loader import load_playbook

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")
DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_moves_become_touches_on_their_actions_channel() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    frames = {kind: pl.DataFrame({"account_id": [kind]}) for kind in KINDS}
    touches = pl.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "action": ["sales_outreach", "digital_program", "retired_action"],
            "occurred_at": [DAY, DAY, DAY],
        }
    )
    inputs = context_inputs(frames, touches, playbook)
    assert inputs.touches.to_dicts() == [
        {"account_id": "a", "contact_id": None, "channel": "meeting", "occurred_at": DAY},
        {"account_id": "b", "contact_id": None, "channel": "email", "occurred_at": DAY},
        {"account_id": "c", "contact_id": None, "channel": "none", "occurred_at": DAY},
    ]
    assert inputs.touches.schema["contact_id"] == pl.String
    for kind in KINDS:
        assert getattr(inputs, kind) is frames[kind]


def test_context_inputs_is_public() -> None:
    assert "context_inputs" in service.__all__

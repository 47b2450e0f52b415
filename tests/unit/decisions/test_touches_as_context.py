"""One account's touches and a batch's become the same context rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from nextmove.decisions.service import context_inputs
from nextmove.playbook.loader import load_playbook

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")
DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_few_and_many_touches_map_to_channels_alike() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    frames = {kind: pl.DataFrame({"account_id": [kind]}) for kind in KINDS}
    actions = ["sales_outreach", "digital_program", "retired_action", "service_conversation"]
    many = pl.DataFrame(
        {
            "account_id": [f"acct-{i}" for i in range(4_000)],
            "action": [actions[i % 4] for i in range(4_000)],
            "occurred_at": [DAY + timedelta(minutes=i) for i in range(4_000)],
        },
        schema={
            "account_id": pl.String,
            "action": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
        },
    )
    batch = context_inputs(frames, many, playbook).touches
    one_by_one = pl.concat(
        [context_inputs(frames, many.slice(i, 1), playbook).touches for i in range(0, 4_000, 997)]
    )
    assert batch.columns == ["account_id", "contact_id", "channel", "occurred_at"]
    assert one_by_one.equals(batch.gather(list(range(0, 4_000, 997))))
    assert batch["channel"].head(4).to_list() == ["meeting", "email", "none", "phone"]
    empty = context_inputs(frames, many.clear(), playbook).touches
    assert empty.height == 0 and empty.schema == batch.schema

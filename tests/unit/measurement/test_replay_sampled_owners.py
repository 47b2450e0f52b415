"""A replay of a sample of the accounts holds each owner and team to the sample's share."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.service import model_for
from nextmove.measurement.replay import replay_models
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.sim import SimConfig, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
SHARE = 0.1
TOUCHES = pl.DataFrame(
    schema={"account_id": pl.String, "action": pl.String, "occurred_at": pl.Datetime("us", "UTC")}
)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    text = EXAMPLE.read_text(encoding="utf-8")
    # Generous thresholds so that the priors make enough sales moves to fill each owner.
    return load_playbook(
        text.replace("min_expected_value: 2500", "min_expected_value: 100")
    ).playbook


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return generate(SimConfig(seed=11, accounts=800)).frames()


def sales_moves(
    playbook: Playbook, frames: dict[str, pl.DataFrame], capacity_share: float
) -> pl.DataFrame:
    """owner_id and moves: the replayed sales moves per owner, of one run of every account."""
    logged = pl.DataFrame({"run_id": 1, "account_id": frames["accounts"]["account_id"]})
    logged = logged.with_columns(as_of=pl.lit(AS_OF, dtype=pl.Datetime("us", "UTC")))
    model = model_for(None, playbook, catalog_of(frames["products"]))
    replayed = replay_models(
        logged, frames, TOUCHES, playbook, {"m": model}, capacity_share=capacity_share
    )
    owners = frames["accounts"].select("account_id", "owner_id")
    return (
        replayed.filter(pl.col("m_action") == "sales_outreach")
        .join(owners, on="account_id")
        .group_by("owner_id")
        .agg(pl.len().alias("moves"))
    )


def test_every_capacity_a_playbook_makes_is_a_number_the_replay_can_scale(
    playbook: Playbook, frames: dict[str, pl.DataFrame]
) -> None:
    products = frozenset(frames["products"]["product_id"].to_list())
    schema = context_schema_for(playbook, KnownCatalog(products=products))
    capacities = guardrail_policy(playbook, schema).capacities
    assert {limit.group for limit in capacities} == {"team_id", "owner_id"}
    assert not any(isinstance(limit.limits, str) for limit in capacities)


def test_a_sampled_replay_gives_each_owner_the_samples_share_rounded_up(
    playbook: Playbook, frames: dict[str, pl.DataFrame]
) -> None:
    sales = playbook.capacity.teams["team-sales"]
    assert sales.per_owner_per_day is not None and sales.per_day is not None
    whole = sales_moves(playbook, frames, 1.0)
    # On the whole company the owners' own capacity binds, above the sample's share.
    assert whole["moves"].max() == sales.per_owner_per_day
    sampled = sales_moves(playbook, frames, SHARE)
    per_owner = math.ceil(sales.per_owner_per_day * SHARE)
    assert sampled.height > 0
    assert sampled["moves"].max() == per_owner
    assert sampled["moves"].sum() <= math.ceil(sales.per_day * SHARE)

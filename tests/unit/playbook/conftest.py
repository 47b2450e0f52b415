"""Shared playbook fixtures: a minimal valid playbook, the example, and the sim's catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextmove.playbook.context import ContextSchema, default_context_schema
from nextmove.playbook.model import SignalKind
from nextmove.playbook.semantics import KnownCatalog
from nextmove.sim.catalog import CATALOG
from nextmove.sim.signals import SIGNAL_TYPES

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "playbooks"

MINIMAL = """\
name: minimal
actions:
  sales_outreach:
    products: [prod-a]
    team: team-sales
    channel: meeting
    autonomy: approve
  digital_program:
    products: all
    team: team-marketing
    channel: email
    autonomy: auto
  service_conversation:
    products: [prod-b]
    team: team-cs
    channel: phone
    autonomy: recommend
  no_action:
    channel: none
    autonomy: auto
"""
"""A valid playbook with only the required parts (products prod-a/prod-b, three teams)."""

MINIMAL_KNOWN = KnownCatalog(
    products=frozenset({"prod-a", "prod-b"}),
    teams=frozenset({"team-sales", "team-marketing", "team-cs"}),
)

SIM_KNOWN = KnownCatalog(
    products=frozenset(entry.product_id for entry in CATALOG),
    teams=frozenset({"team-sales", "team-marketing", "team-customer-success", "team-service"}),
    signal_types=frozenset(SIGNAL_TYPES),
)
"""The synthetic company's catalog, as the store holds it after `nextmove demo`."""


@pytest.fixture
def schema() -> ContextSchema:
    """The default context with products prod-a/prod-b and one signal of each kind."""
    return default_context_schema(
        ["prod-a", "prod-b"],
        {"intent": SignalKind.COUNT, "usage": SignalKind.GAUGE, "ticket": SignalKind.STATE},
    )


@pytest.fixture
def example_text() -> str:
    return (EXAMPLES / "b2b_saas.yaml").read_text(encoding="utf-8")


@pytest.fixture
def example_cases_text() -> str:
    return (EXAMPLES / "b2b_saas.cases.yaml").read_text(encoding="utf-8")


@pytest.fixture
def minimal_text() -> str:
    return MINIMAL


@pytest.fixture
def minimal_known() -> KnownCatalog:
    return MINIMAL_KNOWN


@pytest.fixture
def sim_known() -> KnownCatalog:
    return SIM_KNOWN

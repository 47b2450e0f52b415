"""The context's two ways of reading records give the same frames, value for value.

A batch joins each input to its accounts in a polars query; a few accounts (a real-time
call) read the inputs' columns directly, and a few values go through plain Python instead
of a query. Random records of every kind — nulls, ties, unknown accounts and products,
records after as_of — are built each way and must give equal frames and product interest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextmove.decisions import context as context_module
from nextmove.decisions.context import INPUT_SCHEMAS, AccountContext, ContextInputs, build_context
from nextmove.domain import Consent, OpportunityStage, OutcomeType
from nextmove.playbook.loader import load_playbook

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

PLAYBOOK = load_playbook(
    """\
name: context paths
actions:
  sales_outreach: {products: all, team: team-sales, channel: meeting, autonomy: approve}
  digital_program: {products: all, team: team-marketing, channel: email, autonomy: auto}
  no_action: {channel: none, autonomy: auto}
eligibility:
  - id: recent_intent
    actions: [digital_program]
    require: signal_count("intent", 14) >= 1
contact_policies:
  caps:
    - {scope: contact, channel: email, max: 1, days: 7}
    - {scope: contact, channel: any, max: 2, days: 30}
    - {scope: account, channel: meeting, max: 1, days: 30}
  quiet_periods:
    - {after: touch, days: 3}
    - {after: purchase, days: 30}
    - {after: complaint, days: 60}
signals:
  intent: {kind: count, type: intent_surge, half_life_days: 10}
  visits: {kind: count, type: web_visit}
  pro_interest: {kind: count, type: web_visit, product: prod-b, half_life_days: 7}
  usage: {kind: gauge, type: usage_score}
  ticket: {kind: state, type: ticket_opened, closes_with: ticket_closed}
"""
).playbook

ACCOUNTS = ["a", "b", "c"]
ANY_ACCOUNT = st.sampled_from([*ACCOUNTS, "ghost", None])
DAYS = st.sampled_from([-1, 0, 1, 7, 30, 90, 100])  # days before as_of (-1: after it)
"""Few instants: ties, window edges and today's date happen often."""
PRODUCT = st.sampled_from(["prod-a", "prod-b", "prod-c", "prod-x", "prod-y", None])  # x, y: unknown


def _time(days: int | None, hours: int = 0) -> datetime | None:
    return None if days is None else AS_OF - timedelta(days=days, hours=hours)


def _date(days: int | None) -> date | None:
    return None if days is None else (AS_OF - timedelta(days=days)).date()


def _frame(kind: str, rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    schema = dict(INPUT_SCHEMAS[kind])
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


consents = st.sampled_from([*(c.value for c in Consent), None])
contacts = st.fixed_dictionaries(
    {
        "contact_id": st.sampled_from(["c1", "c2", "c3", "c4", None]),
        "account_id": ANY_ACCOUNT,
        "email_consent": consents,
        "phone_consent": consents,
        "do_not_contact": st.sampled_from([True, False, None]),
    }
)
holdings = st.builds(
    lambda account, product, since: {
        "account_id": account,
        "product_id": product,
        "since": _date(since),
    },
    ANY_ACCOUNT,
    PRODUCT,
    st.none() | DAYS,
)
opportunities = st.builds(
    lambda account, product, stage, created, closed: {
        "account_id": account,
        "product_id": product,
        "stage": stage,
        "created_on": _date(created),
        "close_date": _date(closed),
    },
    ANY_ACCOUNT,
    PRODUCT,
    st.sampled_from([*(s.value for s in OpportunityStage), None]),
    st.none() | DAYS,
    st.none() | DAYS,
)
signals = st.builds(
    lambda account, kind, product, days, hours, value, ref, event: {
        "event_id": event,
        "account_id": account,
        "signal_type": kind,
        "product_id": product,
        "value": value,
        "occurred_at": _time(days, hours),
        "ref": ref,
    },
    ANY_ACCOUNT,
    st.sampled_from(
        ["intent_surge", "web_visit", "usage_score", "ticket_opened", "ticket_closed", "other"]
    ),
    PRODUCT,
    st.none() | DAYS,
    st.sampled_from([0, 0, 12]),  # 12 hours before as_of: midnight
    st.sampled_from([1.0, 2.0, 3.0, 4.0, float("nan"), None]),
    st.sampled_from([None, None, "r1", "r2"]),
    st.sampled_from(["e1", "e2", "e3", "e9", None]),
)
outcomes = st.builds(
    lambda account, kind, days: {
        "account_id": account,
        "outcome_type": kind,
        "occurred_at": _time(days),
    },
    ANY_ACCOUNT,
    st.sampled_from([*(o.value for o in OutcomeType), None]),
    st.none() | DAYS,
)
touches = st.builds(
    lambda account, contact, channel, days: {
        "account_id": account,
        "contact_id": contact,
        "channel": channel,
        "occurred_at": _time(days),
    },
    ANY_ACCOUNT,
    st.sampled_from(["c1", "c2", "c3", None]),
    st.sampled_from(["email", "phone", "meeting", "none", None]),
    st.none() | DAYS,
)


def _account(account: str | None) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda employees, created: {
            "account_id": account,
            "segment": "mid",
            "employees": employees,
            "annual_revenue": None if employees is None else employees * 1000.5,
            "created_on": _date(created),
        },
        st.none() | st.integers(0, 10**6),
        st.none() | DAYS,
    )


accounts = st.builds(
    lambda most, extra: [*most, *extra],  # usually a, b and c; an id twice; a null id
    st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=3, unique=True).flatmap(
        lambda ids: st.tuples(*(_account(i) for i in ids))
    ),
    st.lists(st.sampled_from([*ACCOUNTS, None]).flatmap(_account), max_size=2),
).flatmap(st.permutations)

inputs_strategy = st.builds(
    lambda accounts, contacts, holdings, opportunities, signals, outcomes, touches: ContextInputs(
        accounts=_frame("accounts", accounts),
        contacts=_frame("contacts", contacts),
        products=_frame(
            "products", [{"product_id": p} for p in ("prod-c", "prod-a", "prod-b", None)]
        ),
        holdings=_frame("holdings", holdings),
        opportunities=_frame("opportunities", opportunities),
        signals=_frame("signals", signals),
        outcomes=_frame("outcomes", outcomes),
        touches=_frame("touches", touches),
    ),
    accounts,
    *(st.lists(kind, max_size=12) for kind in (contacts, holdings, opportunities)),
    st.lists(signals, max_size=40),
    st.lists(outcomes, max_size=12),
    st.lists(touches, max_size=12),
)


@contextmanager
def _batch_path() -> Iterator[None]:
    """Every build runs as a batch's does: a query per input, polars for every step."""
    with (
        patch.object(context_module, "_FEW_ACCOUNTS", -1),
        patch.object(context_module, "_FEW_ROWS", -1),
    ):
        yield


@contextmanager
def _queries_for_values() -> Iterator[None]:
    """A few accounts' columns, but polars (not Python) for every group of values."""
    with patch.object(context_module, "_FEW_ROWS", -1):
        yield


def _assert_same(built: AccountContext, expected: AccountContext) -> None:
    assert built.frame.schema == expected.frame.schema
    assert built.frame.equals(expected.frame)
    assert built.product_interest.schema == expected.product_interest.schema
    assert built.product_interest.equals(expected.product_interest)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=inputs_strategy)
def test_a_few_accounts_read_directly_equal_the_batchs_queries(inputs: ContextInputs) -> None:
    direct = build_context(inputs, PLAYBOOK, AS_OF)
    with _batch_path():
        batch = build_context(inputs, PLAYBOOK, AS_OF)
    with _queries_for_values():
        queried = build_context(inputs, PLAYBOOK, AS_OF)
    _assert_same(direct, batch)
    _assert_same(queried, batch)
    # One account, with every account's records or only its own, is its row of the batch.
    for account in batch.frame["account_id"].to_list():
        alone = ContextInputs(
            **{
                **inputs.__dict__,
                "accounts": inputs.accounts.filter(pl.col("account_id") == account),
            }
        )
        expected = AccountContext(
            frame=batch.frame.filter(pl.col("account_id") == account),
            product_interest=batch.product_interest.filter(pl.col("account_id") == account),
            as_of=AS_OF,
        )
        _assert_same(build_context(alone, PLAYBOOK, AS_OF), expected)
        _assert_same(build_context(inputs.for_accounts([account]), PLAYBOOK, AS_OF), expected)


ticket_events = st.lists(
    st.builds(
        lambda account, opens, days, value, ref, event: {
            "event_id": event,
            "account_id": account,
            "signal_type": "ticket_opened" if opens else "ticket_closed",
            "value": value,
            "occurred_at": _time(days),
            "ref": ref,
        },
        st.sampled_from(["a", "b"]),
        st.booleans(),
        st.sampled_from([1, 2, 3]),  # ties at one instant are the rule here
        st.sampled_from([1.0, 2.0, 3.0, 4.0]),
        st.sampled_from([None, "r1"]),
        st.sampled_from(["e1", "e2", None]),
    ),
    max_size=14,
)


@settings(max_examples=300, deadline=None)
@given(events=ticket_events)
def test_states_open_alike_each_way_whatever_the_ties(events: list[dict[str, Any]]) -> None:
    """The ticket columns show the value of the opening each rule keeps: order matters."""
    inputs = ContextInputs(
        accounts=_frame("accounts", [{"account_id": a} for a in ACCOUNTS]),
        signals=_frame("signals", events),
    )
    direct = build_context(inputs, PLAYBOOK, AS_OF)
    with _batch_path():
        batch = build_context(inputs, PLAYBOOK, AS_OF)
    _assert_same(direct, batch)


def _typed_otherwise(inputs: ContextInputs) -> ContextInputs:
    """The same records stored with other types: naive or zoned times in ms, Int32 counts."""
    zone = "America/New_York"
    return ContextInputs(
        accounts=inputs.accounts.with_columns(pl.col("employees").cast(pl.Int32)),
        contacts=inputs.contacts,
        products=inputs.products.drop("related", "prerequisites"),
        holdings=inputs.holdings.drop("quantity", "annual_value"),
        opportunities=inputs.opportunities,
        signals=inputs.signals.with_columns(
            pl.col("occurred_at").dt.replace_time_zone(None).cast(pl.Datetime("ms"))
        ).drop("ref", "source"),
        outcomes=inputs.outcomes.with_columns(pl.col("occurred_at").dt.convert_time_zone(zone)),
        touches=inputs.touches.drop("contact_id"),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=inputs_strategy)
def test_inputs_stored_with_other_types_or_missing_columns_read_alike(
    inputs: ContextInputs,
) -> None:
    other = _typed_otherwise(inputs)
    direct = build_context(other, PLAYBOOK, AS_OF)
    with _batch_path():
        batch = build_context(other, PLAYBOOK, AS_OF)
    _assert_same(direct, batch)


def test_many_events_of_one_account_take_the_queries_and_agree() -> None:
    """Past the few values plain Python handles, one account's steps run as queries."""
    rows = [
        {
            "event_id": f"e{i % 7}",
            "account_id": "a",
            "signal_type": ["ticket_opened", "ticket_closed", "usage_score", "web_visit"][i % 4],
            "product_id": ["prod-a", "prod-b", None][i % 3],
            "value": float(1 + i % 4),
            "occurred_at": _time(i % 50, i % 2),
            "ref": [None, "r1", "r2", None, "r3"][i % 5],
        }
        for i in range(1_500)
    ]
    inputs = ContextInputs(
        accounts=_frame("accounts", [{"account_id": "a"}]),
        products=_frame("products", [{"product_id": "prod-a"}, {"product_id": "prod-b"}]),
        signals=_frame("signals", rows),
    )
    direct = build_context(inputs, PLAYBOOK, AS_OF)
    with _batch_path():
        batch = build_context(inputs, PLAYBOOK, AS_OF)
    _assert_same(direct, batch)
    assert direct.frame["signals__ticket__open"].to_list() == [True]


@pytest.mark.parametrize("accounts_given", [[], ["a"], ["b", "a", "b", None]])
def test_empty_records_give_the_same_frame_each_way(accounts_given: list[str | None]) -> None:
    inputs = ContextInputs(accounts=_frame("accounts", [{"account_id": a} for a in accounts_given]))
    direct = build_context(inputs, PLAYBOOK, AS_OF)
    with _batch_path():
        batch = build_context(inputs, PLAYBOOK, AS_OF)
    _assert_same(direct, batch)

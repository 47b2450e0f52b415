"""The account context: every column family's meaning, time cut-offs, and one account = full."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextmove.decisions.context import (
    FIXED_WINDOWS,
    INPUT_SCHEMAS,
    AccountContext,
    ContextInputs,
    build_context,
)
from nextmove.governance.guardrail_rules import quiet_period_rule, touches_column
from nextmove.governance.guardrails import apply_guardrails
from nextmove.playbook.context import default_context_schema, polars_type
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.rules import compile_rules
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.sim import SimConfig, SyntheticCompany, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TOLERANCE = 2.0**-30  # scores are sums of weights rounded to multiples of 2**-32

PLAYBOOK = """\
name: context test
actions:
  sales_outreach: {products: all, team: team-sales, channel: meeting, autonomy: approve}
  digital_program: {products: all, team: team-marketing, channel: email, autonomy: auto}
  service_conversation: {products: all, team: team-cs, channel: phone, autonomy: recommend}
  no_action: {channel: none, autonomy: auto}
eligibility:
  - id: recent_intent
    actions: [digital_program]
    require: signal_count("intent", 14) >= 1 || signal_score("visits") > 2
contact_policies:
  caps:
    - {scope: contact, channel: email, max: 1, days: 7}
    - {scope: account, channel: any, max: 3, days: 30}
    - {scope: account, channel: meeting, max: 1, days: 30}
  quiet_periods:
    - {after: touch, days: 3}
    - {after: purchase, days: 30}
    - {after: complaint, days: 60}
signals:
  intent: {kind: count, type: intent_surge, half_life_days: 10}
  visits: {kind: count, type: web_visit}
  pro_interest: {kind: count, type: pricing_page_visit, product: prod-b, half_life_days: 7}
  usage: {kind: gauge, type: usage_score}
  ticket: {kind: state, type: ticket_opened, closes_with: ticket_closed}
  case: {kind: state, type: case_opened, closes_with: case_closed}
"""


TEST_PLAYBOOK = load_playbook(PLAYBOOK).playbook


@pytest.fixture
def playbook() -> Playbook:
    return TEST_PLAYBOOK


# --- small factories -----------------------------------------------------------------


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def frame(kind: str, rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame of ``kind`` with the columns the context reads; unset values are null."""
    schema = dict(INPUT_SCHEMAS[kind])
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def accounts(*ids: str, **fields: Any) -> pl.DataFrame:
    return frame("accounts", [{"account_id": i, "segment": "mid", **fields} for i in ids])


_events = iter(range(1, 10**9))


def signal(
    account: str, signal_type: str, days: float, *, value: float = 1.0, **fields: Any
) -> dict[str, Any]:
    event = {"event_id": f"evt-{next(_events):06d}", "value": value}
    return {
        **event,
        "account_id": account,
        "signal_type": signal_type,
        "occurred_at": ago(days),
        **fields,
    }


def products(*ids: str) -> pl.DataFrame:
    return frame("products", [{"product_id": p, "active": True} for p in ids])


def build(playbook: Playbook, as_of: datetime = AS_OF, **frames: pl.DataFrame) -> AccountContext:
    return build_context(ContextInputs(**frames), playbook, as_of)


def row(context: AccountContext, account: str) -> dict[str, Any]:
    found = context.frame.filter(pl.col("account_id") == account)
    assert found.height == 1
    return found.row(0, named=True)


# --- shape --------------------------------------------------------------------------


def test_one_sorted_row_per_account_and_records_of_other_accounts_are_ignored(
    playbook: Playbook,
) -> None:
    context = build(
        playbook,
        accounts=accounts("acct-c", "acct-a", "acct-b", "acct-a"),
        signals=frame(
            "signals",
            [signal("acct-a", "web_visit", 1), signal("ghost", "web_visit", 1)] * 2,
        ),
    )
    assert context.frame["account_id"].to_list() == ["acct-a", "acct-b", "acct-c"]
    assert context.frame["signals__visits__30d"].to_list() == [2.0, 0.0, 0.0]
    assert context.as_of == AS_OF


def test_every_column_family_is_present_with_its_type(playbook: Playbook) -> None:
    context = build(playbook, accounts=accounts("a"), products=products("prod-a", "prod-b"))
    schema = context.frame.schema
    fields = default_context_schema(None, {}).fields
    assert list(schema)[: len(fields)] == list(fields)
    for name, spec in fields.items():
        assert schema[name] == polars_type(spec.type), name
    number, flag = pl.Float64(), pl.Boolean()
    expected: dict[str, pl.DataType] = {"best_contact_id": pl.String()}
    for product in ("prod-a", "prod-b"):
        expected |= {f"holds__{product}": flag, f"open_opportunity__{product}": flag}
    expected |= {f"open_ticket_p{p}": flag for p in (1, 2, 3, 4)}
    for count in ("intent", "visits", "pro_interest"):
        expected[f"signals__{count}__score"] = number
        expected[f"signals__{count}__days_since"] = number
        expected |= {f"signals__{count}__{days}d": number for days in FIXED_WINDOWS}
    expected["signals__intent__14d"] = number  # read by the eligibility rule
    expected |= {"signals__usage__value": number, "signals__usage__days_since": number}
    for state in ("ticket", "case"):
        expected |= {f"signals__{state}__open": flag, f"signals__{state}__open_days": number}
    expected |= {
        touches_column("contact", "email", 7): number,
        touches_column("account", "any", 30): number,
        touches_column("account", "meeting", 30): number,
        "days_since__touch": number,
        "days_since__purchase": number,
        "days_since__complaint": number,
        "unsubscribed": flag,
        "complaints_90d": number,
    }
    assert dict(schema) == {**{n: polars_type(s.type) for n, s in fields.items()}, **expected}
    assert "signals__visits__14d" not in schema  # only the windows rules read are added


def test_empty_inputs_give_no_rows_but_every_column(playbook: Playbook) -> None:
    context = build_context(ContextInputs.empty(), playbook, AS_OF)
    full = build(playbook, accounts=accounts("a"))
    assert context.frame.height == 0
    assert context.frame.schema == full.frame.schema
    assert context.product_interest.columns == [
        "account_id",
        "product_id",
        "signal",
        "score",
        "count_30d",
    ]


def test_accounts_without_any_record_get_zero_counts_and_null_ages(playbook: Playbook) -> None:
    values = row(build(playbook, accounts=accounts("a")), "a")
    assert values["products_held"] == 0.0
    assert values["open_opportunities"] == 0.0
    assert values["signals__intent__score"] == 0.0
    assert values["signals__visits__90d"] == 0.0
    assert values["complaints_90d"] == 0.0
    assert values[touches_column("account", "any", 30)] == 0.0
    for column in (
        "days_since_last_touch",
        "days_since_last_purchase",
        "signals__intent__days_since",
        "signals__usage__value",
        "signals__ticket__open_days",
        "days_since__touch",
        "days_since__purchase",
        "days_since__complaint",
        "account_age_days",
    ):
        assert values[column] is None, column
    assert values["signals__ticket__open"] is False
    assert values["unsubscribed"] is False


def test_account_fields_are_copied_and_age_counts_from_created_on(playbook: Playbook) -> None:
    book = accounts(
        "a", employees=120, annual_revenue=2.5e6, owner_id="own-1", created_on=date(2026, 10, 1)
    )
    values = row(build(playbook, accounts=book), "a")
    assert values["segment"] == "mid"
    assert values["employees"] == 120.0
    assert values["owner_id"] == "own-1"
    assert values["account_age_days"] == pytest.approx(31.5)  # from midnight UTC


# --- count signals -------------------------------------------------------------------


def test_score_decays_by_half_every_half_life(playbook: Playbook) -> None:
    events = [signal("a", "intent_surge", days) for days in (0, 10, 20, 35)]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    expected = 1 + 0.5 + 0.25 + 2**-3.5
    assert values["signals__intent__score"] == pytest.approx(expected, abs=4 * TOLERANCE)
    assert values["signals__intent__days_since"] == 0.0


def test_score_without_half_life_is_the_plain_count(playbook: Playbook) -> None:
    events = [signal("a", "web_visit", days) for days in (1, 50, 400)]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    assert values["signals__visits__score"] == 3.0


def test_windows_count_events_in_the_last_n_days(playbook: Playbook) -> None:
    days = (0, 6.9, 7, 13.99, 29, 45, 89.5, 90, 100)
    events = [signal("a", "intent_surge", d) for d in days]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    # An event exactly N days old has left the N-day window.
    assert values["signals__intent__7d"] == 2.0
    assert values["signals__intent__14d"] == 4.0
    assert values["signals__intent__30d"] == 5.0
    assert values["signals__intent__90d"] == 7.0


def test_a_count_of_one_product_keeps_only_that_products_events(playbook: Playbook) -> None:
    events = [
        signal("a", "pricing_page_visit", 1, product_id="prod-b"),
        signal("a", "pricing_page_visit", 2, product_id="prod-a"),
        signal("a", "pricing_page_visit", 3),
    ]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    assert values["signals__pro_interest__7d"] == 1.0
    assert values["signals__pro_interest__days_since"] == pytest.approx(1.0)


def test_days_since_is_fractional_days_to_the_latest_event(playbook: Playbook) -> None:
    events = [signal("a", "web_visit", 2.25), signal("a", "web_visit", 9)]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    assert values["signals__visits__days_since"] == pytest.approx(2.25)


def test_product_interest_per_account_product_and_signal(playbook: Playbook) -> None:
    events = [
        signal("a", "intent_surge", 0, product_id="prod-a"),
        signal("a", "intent_surge", 10, product_id="prod-a"),
        signal("a", "intent_surge", 40, product_id="prod-b"),
        signal("a", "intent_surge", 1, product_id="prod-unknown"),
        signal("a", "pricing_page_visit", 7, product_id="prod-b"),
        signal("b", "intent_surge", 1),  # no product: no interest row
        signal("a", "email_open", 1, product_id="prod-a"),  # not a declared count
    ]
    context = build(
        playbook,
        accounts=accounts("a", "b"),
        products=products("prod-a", "prod-b"),
        signals=frame("signals", events),
    )
    interest = context.product_interest
    assert interest.columns == ["account_id", "product_id", "signal", "score", "count_30d"]
    assert interest.select("account_id", "product_id", "signal").rows() == [
        ("a", "prod-a", "intent"),
        ("a", "prod-b", "intent"),
        ("a", "prod-b", "pro_interest"),
    ]
    assert interest["score"].to_list() == pytest.approx([1.5, 2**-4, 0.5], abs=4 * TOLERANCE)
    assert interest["count_30d"].to_list() == [2.0, 0.0, 1.0]


# --- time ----------------------------------------------------------------------------


def test_only_records_at_or_before_as_of_count(playbook: Playbook) -> None:
    later = AS_OF + timedelta(microseconds=1)
    events = [
        signal("a", "web_visit", 0),
        {**signal("a", "web_visit", 0), "occurred_at": later},
        {**signal("a", "usage_score", 0, value=80.0), "occurred_at": later},
        signal("a", "usage_score", 1, value=30.0),
        {**signal("a", "ticket_opened", 0, value=1.0), "occurred_at": later},
    ]
    outcomes = frame(
        "outcomes",
        [
            {"account_id": "a", "outcome_type": "unsubscribe", "occurred_at": later},
            {"account_id": "a", "outcome_type": "complaint", "occurred_at": later},
        ],
    )
    touches = frame("touches", [{"account_id": "a", "channel": "email", "occurred_at": later}])
    values = row(
        build(
            playbook,
            accounts=accounts("a"),
            signals=frame("signals", events),
            outcomes=outcomes,
            touches=touches,
        ),
        "a",
    )
    assert values["signals__visits__7d"] == 1.0
    assert values["signals__usage__value"] == 30.0
    assert values["open_ticket_p1"] is False
    assert values["unsubscribed"] is False
    assert values["complaints_90d"] == 0.0
    assert values["days_since_last_touch"] is None


def test_replaying_stored_data_at_an_earlier_as_of_gives_the_earlier_answer(
    playbook: Playbook,
) -> None:
    earlier = AS_OF - timedelta(days=10)
    events = [
        signal("a", kind, days, value=float(days % 4 + 1), ref=ref)
        for days, kind, ref in [
            (2, "ticket_closed", "t1"),
            (12, "ticket_opened", "t1"),
            (5, "usage_score", None),
            (15, "usage_score", None),
            (3, "intent_surge", None),
            (20, "intent_surge", None),
        ]
    ]
    opportunity = {"account_id": "a", "product_id": "prod-a", "stage": "won"}
    opportunities = [
        {**opportunity, "created_on": date(2026, 10, 1), "close_date": date(2026, 10, 28)},
        {**opportunity, "stage": "proposal", "created_on": date(2026, 10, 30)},
    ]
    holdings = [{"account_id": "a", "product_id": "prod-a", "since": date(2026, 10, 28)}]
    touches = [{"account_id": "a", "channel": "email", "occurred_at": ago(d)} for d in (1, 11)]
    stored = {
        "accounts": accounts("a"),
        "products": products("prod-a"),
        "signals": frame("signals", events),
        "opportunities": frame("opportunities", opportunities),
        "holdings": frame("holdings", holdings),
        "touches": frame("touches", touches),
    }
    replayed = build(playbook, earlier, **stored)
    known_then = {
        **stored,
        "signals": stored["signals"].filter(pl.col("occurred_at") <= earlier),
        "opportunities": frame(
            "opportunities", [{**opportunities[0], "stage": "proposal", "close_date": None}]
        ),
        "holdings": frame("holdings", []),
        "touches": stored["touches"].filter(pl.col("occurred_at") <= earlier),
    }
    assert replayed.frame.equals(build(playbook, earlier, **known_then).frame)
    values = row(replayed, "a")
    assert values["signals__ticket__open"] is True
    assert values["open_opportunity__prod-a"] is True
    assert values["holds__prod-a"] is False
    assert values["signals__usage__value"] == float(15 % 4 + 1)


def test_as_of_must_be_timezone_aware(playbook: Playbook) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_context(ContextInputs.empty(), playbook, datetime(2026, 11, 1))


def test_a_frame_without_a_required_column_is_refused(playbook: Playbook) -> None:
    with pytest.raises(ValueError, match="signals frame lacks the column"):
        build(playbook, signals=pl.DataFrame({"account_id": ["a"]}))


def test_as_of_in_another_zone_and_naive_record_times_are_utc(playbook: Playbook) -> None:
    events = pl.DataFrame(
        {
            "account_id": ["a", "a"],
            "signal_type": ["web_visit", "web_visit"],
            "occurred_at": [datetime(2026, 11, 1, 11, 0), datetime(2026, 11, 1, 13, 0)],
        }
    )
    paris = AS_OF.astimezone(ZoneInfo("Europe/Paris"))
    context = build(playbook, paris, accounts=accounts("a"), signals=events)
    assert context.as_of == AS_OF
    assert row(context, "a")["signals__visits__days_since"] == pytest.approx(1 / 24)


# --- gauges and states ---------------------------------------------------------------


@pytest.mark.parametrize("order", ["as given", "by event_id"])
def test_a_gauge_reads_the_latest_value_and_ties_go_to_the_largest_event_id(
    playbook: Playbook, order: str
) -> None:
    events = [
        signal("a", "usage_score", 3, value=55.0),
        signal("a", "usage_score", 10, value=90.0),
        {**signal("b", "usage_score", 2, value=10.0), "event_id": "evt-b2"},
        {**signal("b", "usage_score", 2, value=20.0), "event_id": "evt-b9"},
        {**signal("b", "usage_score", 2, value=30.0), "event_id": "evt-b5"},
    ]
    signals = frame("signals", events)
    if order == "by event_id":  # stored records come sorted: a faster path
        signals = signals.sort("event_id")
    context = build(playbook, accounts=accounts("a", "b", "c"), signals=signals)
    assert context.frame["signals__usage__value"].to_list() == [55.0, 20.0, None]
    assert context.frame["signals__usage__days_since"].to_list() == pytest.approx([3, 2, None])


def test_states_pair_by_ref(playbook: Playbook) -> None:
    events = [
        signal("a", "ticket_opened", 10, value=1.0, ref="t1"),
        signal("a", "ticket_opened", 5, value=2.0, ref="t2"),
        signal("a", "ticket_closed", 3, value=1.0, ref="t1"),
        signal("a", "ticket_closed", 1, value=4.0, ref="never-opened"),
        # Reopened after its close: open since the reopening.
        signal("b", "ticket_opened", 20, value=1.0, ref="t3"),
        signal("b", "ticket_closed", 15, value=1.0, ref="t3"),
        signal("b", "ticket_opened", 2, value=3.0, ref="t3"),
        signal("b", "ticket_opened", 1, value=4.0, ref="t3"),
        # A close at the very instant of the opening closes it.
        signal("c", "ticket_opened", 4, value=1.0, ref="t4"),
        signal("c", "ticket_closed", 4, value=1.0, ref="t4"),
    ]
    context = build(playbook, accounts=accounts("a", "b", "c"), signals=frame("signals", events))
    a, b, c = (row(context, account) for account in ("a", "b", "c"))
    assert (a["signals__ticket__open"], a["signals__ticket__open_days"]) == (True, 5.0)
    assert [a[f"open_ticket_p{p}"] for p in (1, 2, 3, 4)] == [False, True, False, False]
    assert (b["signals__ticket__open"], b["signals__ticket__open_days"]) == (True, 2.0)
    assert [b[f"open_ticket_p{p}"] for p in (1, 2, 3, 4)] == [False, False, True, False]
    assert (c["signals__ticket__open"], c["signals__ticket__open_days"]) == (False, None)
    assert not any(c[f"open_ticket_p{p}"] for p in (1, 2, 3, 4))


def test_refs_pair_within_one_account(playbook: Playbook) -> None:
    events = [
        signal("a", "ticket_opened", 5, value=1.0, ref="t1"),
        signal("b", "ticket_closed", 1, value=1.0, ref="t1"),
    ]
    context = build(playbook, accounts=accounts("a", "b"), signals=frame("signals", events))
    assert context.frame["signals__ticket__open"].to_list() == [True, False]


def test_without_ref_a_close_closes_the_oldest_open_state(playbook: Playbook) -> None:
    events = [
        signal("a", "ticket_opened", 10, value=1.0),
        signal("a", "ticket_opened", 8, value=3.0),
        signal("a", "ticket_closed", 5, value=3.0),  # closes the oldest: the P1
        # A close with nothing open does nothing.
        signal("b", "ticket_closed", 30),
        signal("b", "ticket_opened", 20, value=2.0),
        # Two closes for one open: the second one does nothing.
        signal("c", "ticket_opened", 20, value=2.0),
        signal("c", "ticket_closed", 10),
        signal("c", "ticket_closed", 9),
        signal("c", "ticket_opened", 3, value=4.0),
        # An open and a close at the same instant cancel out.
        signal("d", "ticket_opened", 6, value=1.0),
        signal("d", "ticket_closed", 6),
    ]
    context = build(
        playbook, accounts=accounts("a", "b", "c", "d"), signals=frame("signals", events)
    )
    a, b, c, d = (row(context, account) for account in "abcd")
    assert (a["open_ticket_p1"], a["open_ticket_p3"], a["signals__ticket__open_days"]) == (
        False,
        True,
        8.0,
    )
    assert (b["open_ticket_p2"], b["signals__ticket__open_days"]) == (True, 20.0)
    assert (c["open_ticket_p2"], c["open_ticket_p4"], c["signals__ticket__open_days"]) == (
        False,
        True,
        3.0,
    )
    assert d["signals__ticket__open"] is False


def test_tickets_gather_every_state_declaration(playbook: Playbook) -> None:
    events = [
        signal("a", "ticket_opened", 3, value=2.0, ref="t1"),
        signal("a", "case_opened", 9, value=1.0, ref="c1"),
        signal("a", "case_opened", 4, value=7.0, ref="c2"),  # no such priority
    ]
    values = row(build(playbook, accounts=accounts("a"), signals=frame("signals", events)), "a")
    assert [values[f"open_ticket_p{p}"] for p in (1, 2, 3, 4)] == [True, True, False, False]
    assert values["signals__case__open_days"] == 9.0
    assert values["signals__ticket__open_days"] == 3.0


# --- contacts and contact policies ---------------------------------------------------


def contact(contact_id: str | None, account: str, email: str, **fields: Any) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "account_id": account,
        "email_consent": email,
        "phone_consent": fields.pop("phone", "unknown"),
        "do_not_contact": fields.pop("dnc", False),
    }


@pytest.mark.parametrize("order", ["as given", "by contact_id"])
def test_the_best_contact_prefers_reachable_then_email_opt_in_then_smallest_id(
    playbook: Playbook, order: str
) -> None:
    people = [
        contact("c0", "a", "opted_in", dnc=True),
        contact("c1", "a", "opted_out"),
        contact("c2", "a", "unknown", phone="opted_in"),
        contact("c5", "b", "opted_in", phone="opted_out"),
        contact("c4", "b", "opted_in", phone="opted_in"),
        contact("c6", "b", "unknown"),
        contact("c7", "c", "opted_in", dnc=True),
        contact("c8", "c", "unknown", dnc=True),
        contact("c9", "e", "opted_out"),
        contact("c10", "e", "opted_out", dnc=True),
        contact(None, "e", "opted_in"),  # no id: ignored
    ]
    contacts = frame("contacts", people)
    if order == "by contact_id":  # stored records come sorted: a faster path
        contacts = contacts.sort("contact_id", nulls_last=True)
    context = build(playbook, accounts=accounts("a", "b", "c", "d", "e"), contacts=contacts)
    chosen = context.frame.select(
        "best_contact_id", "email_consent", "phone_consent", "do_not_contact"
    ).rows()
    assert chosen == [
        ("c2", "unknown", "opted_in", False),
        ("c4", "opted_in", "opted_in", False),
        ("c7", "opted_in", "unknown", True),  # everyone is do-not-contact
        (None, "unknown", "unknown", False),  # no contacts
        ("c9", "opted_out", "unknown", False),
    ]


def test_null_consents_read_as_unknown_and_a_null_flag_as_do_not_contact(
    playbook: Playbook,
) -> None:
    people = [
        {"contact_id": "c1", "account_id": "a", "email_consent": None, "do_not_contact": None}
    ]
    values = row(build(playbook, accounts=accounts("a"), contacts=frame("contacts", people)), "a")
    assert (values["email_consent"], values["phone_consent"]) == ("unknown", "unknown")
    assert values["do_not_contact"] is True


def test_touch_caps_count_per_account_channel_and_best_contact(playbook: Playbook) -> None:
    people = [contact("c1", "a", "opted_in"), contact("c2", "a", "unknown")]
    touches = [
        ("c1", "email", 2),
        ("c1", "email", 6.99),
        ("c2", "email", 1),  # another contact
        (None, "email", 3),  # the account: counts for every contact
        ("c1", "email", 10),  # outside 7 days
        ("c1", "phone", 1),  # another channel
        ("c1", "meeting", 20),
        (None, "meeting", 29),
        ("c1", "meeting", 31),  # outside 30 days
    ]
    context = build(
        playbook,
        accounts=accounts("a", "b"),
        contacts=frame("contacts", people),
        touches=frame(
            "touches",
            [
                {"account_id": "a", "contact_id": c, "channel": ch, "occurred_at": ago(d)}
                for c, ch, d in touches
            ]
            + [{"account_id": "b", "contact_id": "cx", "channel": "email", "occurred_at": ago(1)}],
        ),
    )
    a, b = row(context, "a"), row(context, "b")
    assert a[touches_column("contact", "email", 7)] == 3.0
    assert a[touches_column("account", "any", 30)] == 8.0
    assert a[touches_column("account", "meeting", 30)] == 2.0
    assert a["days_since_last_touch"] == pytest.approx(1.0)
    # b has no contacts on record: only touches without a contact count for the contact.
    assert b[touches_column("contact", "email", 7)] == 0.0
    assert b[touches_column("account", "any", 30)] == 1.0


def test_quiet_period_columns_are_whole_days_since_the_event(playbook: Playbook) -> None:
    outcomes = [
        {"account_id": "a", "outcome_type": "purchase", "occurred_at": ago(40.2)},
        {"account_id": "a", "outcome_type": "complaint", "occurred_at": ago(59.9)},
        {"account_id": "a", "outcome_type": "complaint", "occurred_at": ago(100)},
        {"account_id": "b", "outcome_type": "purchase", "occurred_at": ago(45)},
        {"account_id": "b", "outcome_type": "unsubscribe", "occurred_at": ago(400)},
    ]
    # b's holding since 12 days ago is a more recent purchase than its outcome.
    holdings = [{"account_id": "b", "product_id": "prod-a", "since": date(2026, 10, 20)}]
    touches = [{"account_id": "a", "channel": "phone", "occurred_at": ago(2.5)}]
    context = build(
        playbook,
        accounts=accounts("a", "b", "c"),
        outcomes=frame("outcomes", outcomes),
        holdings=frame("holdings", holdings),
        touches=frame("touches", touches),
    )
    a, b, c = (row(context, account) for account in "abc")
    assert (a["days_since__touch"], a["days_since_last_touch"]) == (2.0, pytest.approx(2.5))
    assert (a["days_since__purchase"], a["days_since_last_purchase"]) == (
        40.0,
        pytest.approx(40.2),
    )
    assert a["days_since__complaint"] == 59.0
    assert a["complaints_90d"] == 1.0
    assert (b["days_since__purchase"], b["days_since_last_purchase"]) == (12.0, 12.5)
    assert b["unsubscribed"] is True and a["unsubscribed"] is False
    assert c["days_since__touch"] is None and c["days_since__purchase"] is None
    # The guardrail reading them: quiet for 3 days after a touch, 60 after a complaint.
    candidates = context.frame.with_columns(channel=pl.lit("email"))
    after_touch = quiet_period_rule(after="touch", days=3).violated
    after_complaint = quiet_period_rule(after="complaint", days=60).violated
    assert candidates.select(after_touch).to_series().to_list() == [True, False, False]
    assert candidates.select(after_complaint).to_series().to_list() == [True, False, False]


# --- holdings and opportunities ------------------------------------------------------


def test_holdings_and_open_opportunities_per_product(playbook: Playbook) -> None:
    holdings = [
        {"account_id": "a", "product_id": "prod-a", "since": date(2025, 1, 1)},
        {"account_id": "a", "product_id": "prod-a", "since": date(2025, 2, 1)},  # duplicate
        {"account_id": "a", "product_id": "prod-legacy"},  # not in the catalog, no date
        {"account_id": "a", "product_id": "prod-b", "since": date(2026, 11, 2)},  # not yet
    ]
    opportunities = [
        {"account_id": "a", "product_id": "prod-b", "stage": "proposal"},
        {
            "account_id": "a",
            "product_id": "prod-b",
            "stage": "lost",
            "close_date": date(2026, 9, 1),
        },
        {"account_id": "a", "product_id": "prod-a", "stage": "won", "close_date": AS_OF.date()},
        {"account_id": "b", "product_id": "prod-a", "stage": "qualification"},
        {"account_id": "b", "product_id": "prod-b", "stage": "prospecting"},
    ]
    opportunities[-1]["created_on"] = date(2026, 11, 5)  # after as_of
    context = build(
        playbook,
        accounts=accounts("a", "b"),
        products=products("prod-a", "prod-b"),
        holdings=frame("holdings", holdings),
        opportunities=frame("opportunities", opportunities),
    )
    a, b = row(context, "a"), row(context, "b")
    assert a["products_held"] == 2.0
    assert (a["holds__prod-a"], a["holds__prod-b"]) == (True, False)
    assert "holds__prod-legacy" not in context.frame.columns
    assert a["open_opportunities"] == 1.0
    assert (a["open_opportunity__prod-a"], a["open_opportunity__prod-b"]) == (False, True)
    assert b["open_opportunities"] == 1.0
    assert (b["open_opportunity__prod-a"], b["open_opportunity__prod-b"]) == (True, False)
    since = (AS_OF.date() - date(2025, 2, 1)).days + 0.5  # the latest holding, from midnight
    assert a["days_since_last_purchase"] == pytest.approx(since)


# --- one account = the same row as the full build ------------------------------------


@pytest.fixture(scope="module")
def company() -> SyntheticCompany:
    return generate(SimConfig(seed=5, accounts=400))


@pytest.fixture(scope="module")
def example() -> Playbook:
    return load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook


def sim_inputs(company: SyntheticCompany) -> ContextInputs:
    """The company's records plus touches drawn at random (some without a contact)."""
    rng = np.random.default_rng(9)
    contacts = company.contacts
    pick = rng.integers(0, contacts.height, 1_500)
    end = datetime.combine(company.as_of, datetime.min.time(), UTC)
    touches = pl.DataFrame(
        {
            "account_id": contacts["account_id"].gather(pick),
            "contact_id": [
                None if drop else c
                for c, drop in zip(
                    contacts["contact_id"].gather(pick), rng.random(1_500) < 0.3, strict=True
                )
            ],
            "channel": rng.choice(["email", "phone", "meeting"], 1_500),
            "occurred_at": [end - timedelta(hours=float(h)) for h in rng.uniform(0, 1_200, 1_500)],
        }
    )
    return ContextInputs(
        accounts=company.accounts,
        contacts=contacts,
        products=company.products,
        holdings=company.holdings,
        opportunities=company.opportunities,
        signals=company.signals,
        outcomes=company.outcomes,
        touches=touches,
    )


def test_one_accounts_rows_give_its_row_of_the_full_build(
    company: SyntheticCompany, example: Playbook
) -> None:
    inputs = sim_inputs(company)
    as_of = datetime.combine(company.as_of, datetime.min.time(), UTC) - timedelta(days=15)
    full = build_context(inputs, example, as_of)
    ticketed = (
        company.signals.filter(pl.col("signal_type") == "support_ticket_opened")["account_id"]
        .unique()
        .sort()
        .head(6)
        .to_list()
    )
    sample = full.frame["account_id"].sample(14, seed=3).to_list()
    checked = 0
    for account in [*ticketed, *sample]:
        alone = build_context(inputs.for_accounts([account]), example, as_of)
        assert alone.frame.equals(full.frame.filter(pl.col("account_id") == account)), account
        own_interest = full.product_interest.filter(pl.col("account_id") == account)
        assert alone.product_interest.equals(own_interest), account
        checked += 1
    assert checked == 20
    # The sample is not trivial: it has tickets, scores, touches and consents.
    rows = full.frame.filter(pl.col("account_id").is_in([*ticketed, *sample]))
    assert rows["signals__intent_surge__score"].sum() > 0
    assert rows[touches_column("account", "any", 30)].sum() > 0


events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["ticket_opened", "ticket_closed", "usage_score", "intent_surge"]),
        st.integers(0, 40),  # days ago (ties happen)
        st.sampled_from([None, "r1", "r2"]),
        st.integers(1, 4),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(events=events_strategy)
def test_subset_equals_full_for_any_events(events: list[tuple[str, str, int, Any, int]]) -> None:
    playbook = TEST_PLAYBOOK
    rows = [
        signal(account, kind, days, value=float(value), ref=ref)
        for account, kind, days, ref, value in events
    ]
    inputs = ContextInputs(accounts=accounts("a", "b", "c"), signals=frame("signals", rows))
    full = build_context(inputs, playbook, AS_OF).frame
    for account in ("a", "b", "c"):
        alone = build_context(inputs.for_accounts([account]), playbook, AS_OF).frame
        assert alone.equals(full.filter(pl.col("account_id") == account))
    # The same events in reverse order give the same context.
    reversed_inputs = ContextInputs(
        accounts=accounts("c", "b", "a"), signals=frame("signals", rows[::-1])
    )
    assert build_context(reversed_inputs, playbook, AS_OF).frame.equals(full)


# --- the example playbook's rules find every column they read ------------------------

CANDIDATE_COLUMNS = {"action", "motion", "channel", "team_id", "autonomy", "priority"}
"""Columns of a candidate (not of the account) that the guardrail policy reads."""


def test_every_column_the_example_playbook_reads_is_in_the_context(
    company: SyntheticCompany, example: Playbook
) -> None:
    schema = context_schema_for(example, KnownCatalog())
    as_of = datetime.combine(company.as_of, datetime.min.time(), UTC)
    context = build_context(sim_inputs(company), example, as_of).frame
    rules = compile_rules(example, schema)
    policy = guardrail_policy(example, schema)
    for name, value_type in rules.columns.items():
        assert context.schema[name] == polars_type(value_type), name
    missing = set(policy.columns) - CANDIDATE_COLUMNS - set(context.columns)
    assert not missing
    # And the rules run on it: one candidate per account and action.
    candidates = pl.concat(
        context.with_columns(
            action=pl.lit(name),
            motion=pl.lit(name),
            channel=pl.lit(str(action.channel)),
            team_id=pl.lit(action.team, dtype=pl.String),
            autonomy=pl.lit(str(action.autonomy)),
            priority=pl.lit(1.0),
        )
        for name, action in example.actions.items()
    )
    result = apply_guardrails(candidates, policy.rules, policy.capacities)
    assert result.allowed.height + result.blocked.height == candidates.height
    for action in example.actions:
        blocked = rules.blocked(context, action)  # every compiled rule evaluates on it
        assert blocked.width == len(rules.for_action(action))

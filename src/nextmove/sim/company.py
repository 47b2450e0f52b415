"""Generate a whole synthetic company from a ``SimConfig``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.sim.accounts import draw_accounts, draw_contacts
from nextmove.sim.catalog import catalog_entries, products_frame
from nextmove.sim.commerce import draw_ledger, draw_purchases
from nextmove.sim.model import (
    MOTIONS,
    HiddenTruth,
    Motion,
    ResponseType,
    SimConfig,
    SyntheticCompany,
)
from nextmove.sim.people import hire_staff
from nextmove.sim.signals import SignalContext, draw_signals, signal_frame
from nextmove.sim.truth import (
    ProductIndex,
    draw_need,
    draw_responses,
    hold_at_start,
    product_index,
)

__all__ = ["generate", "stream"]

_STREAMS = (
    "staff",
    "accounts",
    "contacts",
    "need",
    "holdings",
    "responses",
    "value",
    "purchases",
    "ledger",
    "activity",
    "signals",
    "world",
)
_SILENT_DAYS = 60
_FIRST_TICKET = 1

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def stream(config: SimConfig, name: str, *keys: int) -> np.random.Generator:
    """Return the random generator of one named part of the simulation (and ``keys``).

    Each part draws from its own stream, so changing how many signals are drawn never
    changes the accounts, and the world's draws for a day depend only on that day.
    """
    return np.random.default_rng([config.seed, _STREAMS.index(name), *keys])


def _customers(
    rng: np.random.Generator, appetite: npt.NDArray[np.float64], eligible: npt.NDArray[np.bool_],
    rate: float,
) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Return exactly ``rate`` of the eligible accounts, favouring those with more appetite."""
    score = np.where(eligible, appetite + rng.logistic(0.0, 0.7, len(appetite)), -np.inf)
    k = round(rate * int(eligible.sum()))
    customer = np.zeros(len(appetite), dtype=bool)
    if k:
        customer[np.argpartition(-score, k - 1)[:k]] = True
    return customer


def _annual_values(
    rng: np.random.Generator, products: ProductIndex, segment: Ints
) -> tuple[Ints, Floats]:
    """Return licences per account and the annual value of each product to each account."""
    n = len(segment)
    quantity = np.select(
        [segment == 0, segment == 1], [np.ones(n, np.int64), rng.integers(1, 3, n)],
        rng.integers(2, 7, n),
    ).astype(np.int64)  # fmt: skip
    discount = rng.uniform(0.75, 1.0, n)
    return quantity, np.round(products.price[None, :] * (quantity * discount)[:, None], -1)


def _unsubscribed(
    rng: np.random.Generator, contacts: pl.DataFrame, contact_account: Ints, response: Ints
) -> Bools:
    """Return the opted-out contacts whose unsubscribe happened inside the history."""
    digital = MOTIONS.index(Motion.DIGITAL_PROGRAM)
    dog = response[contact_account, digital] == ResponseType.SLEEPING_DOG
    opted_out = (contacts["email_consent"] == "opted_out").to_numpy()
    return opted_out & (rng.random(len(opted_out)) < np.where(dog, 0.6, 0.3))


def _activity(
    rng: np.random.Generator, need: Floats, duplicate: Bools, stale_rate: float
) -> tuple[Floats, Bools]:
    """Return each account's signal intensity and which accounts have gone quiet."""
    n = len(need)
    activity = rng.lognormal(0.0, 0.6, n) * (0.4 + need.max(axis=1)) * np.where(duplicate, 0.3, 1)
    stale = np.zeros(n, dtype=bool)
    n_stale = round(stale_rate * n)
    if n_stale:
        stale[rng.choice(n, size=n_stale, replace=False)] = True
    return activity, stale


def generate(config: SimConfig | None = None) -> SyntheticCompany:
    """Return the synthetic company described by ``config`` (the default company if None)."""
    config = config or SimConfig()
    rates = config.imperfections
    days = config.history_days
    entries = catalog_entries(with_duplicate=rates.duplicate_products)
    products = product_index(entries)
    staff = hire_staff(
        stream(config, "staff"),
        accounts=config.accounts,
        inactive_rate=rates.inactive_owners,
        company_name=config.company_name,
    )
    book = draw_accounts(
        stream(config, "accounts"),
        count=config.accounts,
        start=config.start,
        rep_ids=staff.rep_ids,
        rates=rates,
    )
    contacts, contact_account = draw_contacts(stream(config, "contacts"), book)
    duplicate = book.duplicate_of >= 0

    need, appetite = draw_need(stream(config, "need"), products, book.segment, book.industry)
    rng = stream(config, "holdings")
    customer = _customers(rng, appetite, ~duplicate, config.customer_rate)
    held_at_start = hold_at_start(rng, products, need, customer)
    responses = draw_responses(
        stream(config, "responses"),
        need=need,
        segment=book.segment,
        customer=customer,
        duplicate=duplicate,
    )
    quantity, value = _annual_values(stream(config, "value"), products, book.segment)
    purchases = draw_purchases(
        stream(config, "purchases"), products, responses.baseline, held_at_start, days
    )
    rng = stream(config, "ledger")
    unsubscribed = _unsubscribed(rng, contacts, contact_account, responses.response)
    age = (np.datetime64(config.start, "D") - book.created_on).astype(np.int64)
    ledger = draw_ledger(
        rng,
        start=config.start,
        days=days,
        account_ids=book.ids,
        account_age=np.maximum(age, 1),
        account_owner=book.frame["owner_id"],
        fallback_owner=staff.rep_ids,
        products=products,
        need=need,
        value=value,
        quantity=quantity,
        held_at_start=held_at_start,
        purchases=purchases,
        contact_ids=contacts["contact_id"],
        contact_account=contact_account,
        unsubscribed=unsubscribed,
    )

    activity, stale = _activity(stream(config, "activity"), need, duplicate, rates.stale_accounts)
    n = len(need)
    ctx = SignalContext(
        account_ids=book.ids,
        contact_ids=contacts["contact_id"],
        contact_first=np.searchsorted(contact_account, np.arange(n)).astype(np.int64),
        contact_count=np.bincount(contact_account, minlength=n).astype(np.int64),
        product_ids=products.ids_series,
        need=need,
        held=held_at_start,
        eligible=products.eligible(held_at_start),
        activity=activity,
        start=config.start,
    )
    inside, late = draw_signals(
        stream(config, "signals"),
        ctx,
        total=config.signal_count,
        first_day=0,
        last_day=days - 1,
        silent_from=np.where(stale, days - _SILENT_DAYS, np.iinfo(np.int32).max).astype(np.int64),
        click_factor=config.digital_drift,
        change_day=config.change_day,
        first_ticket=_FIRST_TICKET,
    )
    n_inside = sum(len(batch) for batch in inside)
    tickets = [int(batch.ticket.max(initial=0)) for batch in [*inside, late]]

    held = held_at_start.copy()
    held[purchases.account, purchases.product] = True
    ids = tuple(book.ids.to_list())
    truth = HiddenTruth(
        account_ids=ids,
        product_ids=products.ids,
        need=need,
        baseline=responses.baseline,
        account_class=responses.account_class,
        response=responses.response,
        uplift=responses.uplift,
        harm=responses.harm,
        churn=responses.churn,
        held_at_start=held_at_start,
        held=held,
        prerequisites=products.prerequisites,
        value=value,
        activity=np.where(stale, 0.0, activity),
        stale=stale,
        contact_account=contact_account,
        pending_signals=signal_frame(ctx, [late], first_event=n_inside + 1),
        next_event_number=n_inside + len(late) + 1,
        next_ticket_number=max(tickets) + 1,
        duplicate_of={ids[i]: ids[book.duplicate_of[i]] for i in np.flatnonzero(duplicate)},
        product_aliases={e.product_id: e.alias_of for e in entries if e.alias_of},
    )
    return SyntheticCompany(
        config=config,
        teams=staff.teams,
        owners=staff.owners,
        accounts=book.frame,
        contacts=contacts,
        products=products_frame(entries, as_of=config.as_of),
        holdings=ledger.holdings,
        opportunities=ledger.opportunities,
        signals=signal_frame(ctx, inside, first_event=1),
        outcomes=ledger.outcomes,
        truth=truth,
    )

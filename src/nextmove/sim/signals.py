"""Behavioural, intent, product-usage and support signals, drawn in bulk.

Three streams share one signal budget: support tickets (an open and, later, a close with
the same ``ref``), need-driven signals (pricing-page visits, intent surges, webinars,
concentrated on accounts with high latent need) and ordinary activity (visits, email
engagement, usage scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.sim.frames import gather_or_null, record_frame, sequential_ids
from nextmove.sim.sampling import pick_column, repeat_by_weight
from nextmove.sim.timeline import DAY_US, epoch_day

__all__ = [
    "EMAIL_CLICK",
    "EMAIL_OPEN",
    "SIGNAL_TYPES",
    "TICKET_OPENED",
    "SignalBatch",
    "SignalContext",
    "draw_signals",
    "signal_frame",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

SIGNAL_TYPES: tuple[str, ...] = (
    "web_visit",
    "pricing_page_visit",
    "intent_surge",
    "email_open",
    "email_click",
    "webinar_attended",
    "usage_score",
    "support_ticket_opened",
    "support_ticket_closed",
)
_SOURCES = ("web", "web", "bombora", "marketo", "marketo", "on24", "product", "zendesk", "zendesk")
(WEB, PRICING, INTENT, EMAIL_OPEN, EMAIL_CLICK, WEBINAR, USAGE, TICKET_OPENED, TICKET_CLOSED) = (
    range(9)
)
"""Signal kind codes, indexes into ``SIGNAL_TYPES``."""

_TICKET_SHARE = 0.04
_NEED_SHARE = 0.15
_NEED_MIX = ((PRICING, 0.45), (INTENT, 0.40), (WEBINAR, 0.15))
_PROSPECT_MIX = ((WEB, 0.60), (EMAIL_OPEN, 0.28), (EMAIL_CLICK, 0.07), (WEBINAR, 0.05))
_CUSTOMER_MIX = (
    (WEB, 0.30),
    (EMAIL_OPEN, 0.17),
    (EMAIL_CLICK, 0.04),
    (WEBINAR, 0.03),
    (USAGE, 0.46),
)
_WEEKDAY_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.2])  # Monday first


@dataclass(frozen=True)
class SignalContext:
    """What signal drawing needs to know about accounts, aligned by account index."""

    account_ids: pl.Series
    contact_ids: pl.Series
    contact_first: Ints
    """Index of each account's first contact (contacts are grouped by account)."""
    contact_count: Ints
    product_ids: pl.Series
    need: Floats
    held: Bools
    """Products held, under the id the holding is recorded with (usage and tickets use it)."""
    eligible: Bools
    activity: Floats
    start: date


@dataclass(frozen=True)
class SignalBatch:
    """Signals as columns of numbers (indexes into the context), before ids are assigned."""

    account: Ints
    kind: Ints
    product: Ints
    contact: Ints
    value: Floats
    at_us: Ints
    """Microseconds since the Unix epoch, UTC."""
    ticket: Ints
    """Ticket number, or -1."""

    def select(self, rows: Ints | Bools) -> SignalBatch:
        """Return the batch restricted to ``rows``."""
        return SignalBatch(
            account=self.account[rows],
            kind=self.kind[rows],
            product=self.product[rows],
            contact=self.contact[rows],
            value=self.value[rows],
            at_us=self.at_us[rows],
            ticket=self.ticket[rows],
        )

    def __len__(self) -> int:
        return len(self.account)


def _mix(rng: np.random.Generator, mix: tuple[tuple[int, float], ...], count: int) -> Ints:
    kinds = np.array([k for k, _ in mix])
    shares = np.array([s for _, s in mix])
    return kinds[rng.choice(len(kinds), size=count, p=shares / shares.sum())]


def _times(
    rng: np.random.Generator,
    account: Ints,
    *,
    start: date,
    first_day: int,
    last_day: Ints,
) -> Ints:
    """Return UTC times in business hours, on days in [first_day, last_day[account]]."""
    n = len(account)
    span = np.maximum(last_day[account] - first_day + 1, 1)
    days = np.arange(first_day, int(last_day.max(initial=first_day)) + 1)
    weekday = (np.datetime64(start, "D") + days).astype("datetime64[D]").view("int64")
    weight = _WEEKDAY_WEIGHT[(weekday + 3) % 7]  # 1970-01-01 was a Thursday
    cdf = np.cumsum(weight / weight.sum())
    day = first_day + np.minimum(np.searchsorted(cdf, rng.random(n)), len(days) - 1)
    short = day > last_day[account]
    day[short] = first_day + (rng.random(int(short.sum())) * span[short]).astype(np.int64)
    seconds = np.clip(rng.normal(14.5 * 3600, 3.5 * 3600, n), 0, 86_399).astype(np.int64)
    return (epoch_day(start) + day) * DAY_US + seconds * 1_000_000


def _tickets(
    rng: np.random.Generator,
    ctx: SignalContext,
    weight: Floats,
    count: int,
    *,
    first_day: int,
    last_day: Ints,
    first_ticket: int,
) -> SignalBatch:
    account = repeat_by_weight(rng, weight, count)
    n = len(account)
    with_product = rng.random(n) < 0.7
    product = pick_column(rng, ctx.held[account].astype(np.float64))
    product = np.where(with_product, product, -1)
    priority = rng.choice(4, size=n, p=np.array([0.1, 0.3, 0.4, 0.2])) + 1.0
    opened = _times(rng, account, start=ctx.start, first_day=first_day, last_day=last_day)
    hours = 1.0 + rng.exponential(40.0, n) / priority
    closed = opened + (hours * 3600).astype(np.int64) * 1_000_000
    ticket = first_ticket + np.arange(n, dtype=np.int64)
    none = np.full(n, -1, dtype=np.int64)
    return SignalBatch(
        account=np.concatenate([account, account]),
        kind=np.concatenate([np.full(n, TICKET_OPENED), np.full(n, TICKET_CLOSED)]),
        product=np.concatenate([product, product]),
        contact=np.concatenate([none, none]),
        value=np.concatenate([priority, priority]),
        at_us=np.concatenate([opened, closed]),
        ticket=np.concatenate([ticket, ticket]),
    )


def _activity(
    rng: np.random.Generator,
    ctx: SignalContext,
    account: Ints,
    kind: Ints,
    *,
    first_day: int,
    last_day: Ints,
) -> SignalBatch:
    """Fill product, contact, value and time for signals whose account and kind are drawn."""
    n = len(account)
    product = np.full(n, -1, dtype=np.int64)
    wants_need = (kind == PRICING) | (kind == INTENT)
    rows = np.flatnonzero(wants_need)
    need = ctx.need[account[rows]]
    product[rows] = pick_column(rng, need**3 * ctx.eligible[account[rows]])
    rows = np.flatnonzero(kind == USAGE)
    product[rows] = pick_column(rng, ctx.held[account[rows]].astype(np.float64))

    contact = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero((kind == EMAIL_OPEN) | (kind == EMAIL_CLICK) | (kind == WEBINAR))
    offset = (rng.random(len(rows)) * ctx.contact_count[account[rows]]).astype(np.int64)
    contact[rows] = ctx.contact_first[account[rows]] + offset

    value = np.ones(n)
    rows = np.flatnonzero(kind == WEB)
    value[rows] = rng.geometric(0.4, len(rows))
    rows = np.flatnonzero((kind == INTENT) & (product >= 0))
    fit = ctx.need[account[rows], product[rows]]
    value[rows] = np.round(np.clip(55 + 45 * fit + rng.normal(0, 5, len(rows)), 0, 100))
    rows = np.flatnonzero((kind == USAGE) & (product >= 0))
    fit = ctx.need[account[rows], product[rows]]
    value[rows] = np.round(np.clip(25 + 65 * fit + rng.normal(0, 8, len(rows)), 0, 100), 1)
    # A signal about a product the account cannot have is dropped to a product-less visit.
    lost = ((kind == USAGE) | (kind == PRICING) | (kind == INTENT)) & (product < 0)
    kind = np.where(lost, WEB, kind)
    at_us = _times(rng, account, start=ctx.start, first_day=first_day, last_day=last_day)
    none = np.full(n, -1, dtype=np.int64)
    return SignalBatch(account, kind, product, contact, value, at_us, none)


def draw_signals(
    rng: np.random.Generator,
    ctx: SignalContext,
    *,
    total: int,
    first_day: int,
    last_day: int,
    silent_from: Ints,
    click_factor: float,
    change_day: int,
    first_ticket: int,
) -> tuple[list[SignalBatch], SignalBatch]:
    """Return (batches of signals inside the window, ticket closes that fall after it).

    Exactly ``total`` signals land in days ``first_day..last_day`` (relative to
    ``ctx.start``). An account is silent from day ``silent_from[i]`` on; from
    ``change_day`` only ``click_factor`` of email clicks happen (the rest are opens).
    """
    last = np.minimum(silent_from - 1, last_day)
    reachable = last >= first_day
    weight = ctx.activity * reachable
    customer = np.asarray(ctx.held.any(axis=1), dtype=bool)
    # Tickets are only drawn for accounts that stay audible to the end, so a close never
    # breaks an account's silence.
    audible = silent_from > last_day
    n_tickets = round(_TICKET_SHARE * total / 2) if (customer & audible).any() else 0
    tickets = _tickets(
        rng,
        ctx,
        weight * customer * audible,
        n_tickets,
        first_day=first_day,
        last_day=last,
        first_ticket=first_ticket,
    )
    window_end = (epoch_day(ctx.start) + last_day + 1) * DAY_US
    late = tickets.at_us >= window_end
    remaining = max(0, total - int((~late).sum()))

    n_need = round(_NEED_SHARE * remaining)
    top_need = ctx.need.max(axis=1, initial=0.0)
    need_accounts = repeat_by_weight(rng, weight * top_need**3, n_need)
    need_kind = _mix(rng, _NEED_MIX, len(need_accounts))

    base_accounts = repeat_by_weight(rng, weight, remaining - len(need_accounts))
    base_kind = np.empty(len(base_accounts), dtype=np.int64)
    is_customer = customer[base_accounts]
    base_kind[is_customer] = _mix(rng, _CUSTOMER_MIX, int(is_customer.sum()))
    base_kind[~is_customer] = _mix(rng, _PROSPECT_MIX, int((~is_customer).sum()))

    accounts = np.concatenate([need_accounts, base_accounts])
    kinds = np.concatenate([need_kind, base_kind])
    activity = _activity(rng, ctx, accounts, kinds, first_day=first_day, last_day=last)
    day = (activity.at_us // DAY_US) - epoch_day(ctx.start)
    faded = (
        (activity.kind == EMAIL_CLICK)
        & (day >= change_day)
        & (rng.random(len(day)) >= click_factor)
    )
    activity.kind[faded] = EMAIL_OPEN
    return [tickets.select(~late), activity], tickets.select(late)


def _time_order(at_us: Ints) -> Ints:
    """Return the stable order of ``at_us`` (whole seconds), by two 16-bit radix passes."""
    if len(at_us) == 0:
        return np.zeros(0, dtype=np.int64)
    seconds = at_us // 1_000_000
    seconds = seconds - seconds.min()
    if seconds.max() >= 1 << 32:
        return np.argsort(seconds, kind="stable")
    order = np.argsort((seconds & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((seconds[order] >> 16).astype(np.uint16), kind="stable")]


def signal_frame(
    ctx: SignalContext, batches: Sequence[SignalBatch], *, first_event: int
) -> pl.DataFrame:
    """Return the ``signals`` frame of ``batches`` in time order, numbered from ``first_event``."""
    parts = [
        pl.DataFrame(
            {
                "account": batch.account,
                "kind": batch.kind,
                "product": batch.product,
                "contact": batch.contact,
                "value": batch.value,
                "at_us": batch.at_us,
                "ticket": batch.ticket,
            }
        )
        for batch in batches
    ]
    at_us = np.concatenate([batch.at_us for batch in batches])
    # A polars gather: it runs in parallel where numpy's fancy indexing does not.
    numbers = pl.concat(parts, rechunk=False)[_time_order(at_us)]
    n = numbers.height
    ticket = numbers["ticket"].to_numpy()
    tickets = np.flatnonzero(ticket >= 0)
    ref = pl.repeat(None, n, dtype=pl.String, eager=True)
    if len(tickets):
        ref = ref.scatter(tickets, "tkt-" + pl.Series(ticket[tickets]).cast(pl.String).str.zfill(7))
    kind = numbers["kind"]
    return record_frame(
        "signals",
        {
            "event_id": sequential_ids("evt-", n, width=9, first=first_event),
            "account_id": ctx.account_ids.gather(numbers["account"]),
            "signal_type": pl.Series(SIGNAL_TYPES).gather(kind),
            "product_id": gather_or_null(ctx.product_ids, numbers["product"].to_numpy()),
            "contact_id": gather_or_null(ctx.contact_ids, numbers["contact"].to_numpy()),
            "value": numbers["value"],
            "occurred_at": numbers["at_us"].cast(pl.Datetime("us", "UTC")),
            "source": pl.Series(_SOURCES).gather(kind),
            "ref": ref,
        },
    )

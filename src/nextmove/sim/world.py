"""The synthetic company as a world a decision loop can act on, one day at a time.

```python
world = World(generate(SimConfig(seed=7)))          # world.day == company.as_of
signals = world.signals_for_day()                   # what is observed today
outcomes = world.step([SimAction(account_id="acct-000042", motion="sales_outreach",
                                 day=world.day)])  # tomorrow's outcomes; the day advances
```

Outcomes are sampled from the hidden truth with common random numbers: the draws of a
day depend only on the seed and the date, so two policies run from the same state differ
only where their actions differ. Churn has no outcome type; it shows as holdings that
stop producing usage signals and as ``churned_account_ids``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.domain import Outcome, Signal
from nextmove.errors import SimulationError
from nextmove.sim.catalog import catalog_entries
from nextmove.sim.company import generate, stream
from nextmove.sim.effects import ActionEffects, action_effects, drift_factors, motion_codes
from nextmove.sim.frames import gather_or_null, record_frame, sequential_ids
from nextmove.sim.model import MOTIONS, Motion, SimAction, SimConfig, SyntheticCompany
from nextmove.sim.signals import (
    EMAIL_CLICK,
    EMAIL_OPEN,
    TICKET_OPENED,
    SignalBatch,
    SignalContext,
    draw_signals,
)
from nextmove.sim.signals import signal_frame as build_signal_frame
from nextmove.sim.timeline import timestamps
from nextmove.sim.truth import product_index

__all__ = ["World"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_OUTCOMES_STREAM, _SIGNALS_STREAM = 0, 1
_COMPLAINT_SHARE = 0.2
_OPEN_RATE, _CLICK_RATE = 0.45, 0.12


class World:
    """A synthetic company that answers actions with outcomes and produces daily signals."""

    def __init__(self, source: SyntheticCompany | SimConfig) -> None:
        """Start on the company's ``as_of`` (a config is turned into a company first)."""
        company = source if isinstance(source, SyntheticCompany) else generate(source)
        self.company = company
        self._config = company.config
        self._truth = company.truth
        entries = catalog_entries(with_duplicate=self._config.imperfections.duplicate_products)
        self._products = product_index(entries)
        self._account_index = {a: i for i, a in enumerate(self._truth.account_ids)}
        self._account_ids = company.accounts["account_id"]
        self._contact_ids = company.contacts["contact_id"]
        contacts = company.contacts
        self._reachable = (
            contacts["email"].is_not_null() & (contacts["email_consent"] != "opted_out")
        ).to_numpy()
        self._held = self._truth.held.copy()
        self._churned = np.zeros(len(self._account_index), dtype=bool)
        self._day_index = self._config.history_days - 1
        self._next_event = self._truth.next_event_number
        self._next_ticket = self._truth.next_ticket_number
        self._next_outcome = company.outcomes.height + 1
        self._pending = self._truth.pending_signals
        self._emailed: Ints = np.zeros(0, dtype=np.int64)
        self._today_signals: pl.DataFrame | None = None
        n = len(self._account_index)
        contact_account = self._truth.contact_account
        self._contact_first = np.searchsorted(contact_account, np.arange(n)).astype(np.int64)
        self._contact_count = np.bincount(contact_account, minlength=n).astype(np.int64)

    @property
    def day(self) -> date:
        """The current simulated date; actions are made on it."""
        return self._config.start + timedelta(days=self._day_index)

    @property
    def churned_account_ids(self) -> list[str]:
        """Accounts that left because of a motion since the world started."""
        return [self._truth.account_ids[i] for i in np.flatnonzero(self._churned)]

    def holds(self, account_id: str, product_id: str) -> bool:
        """Return whether an account currently owns a product (under either of its names)."""
        owned = self._products.owned(self._held[self._index(account_id)])
        return bool(owned[self._product(product_id)])

    # -- the oracle ---------------------------------------------------------------------

    def true_uplift(
        self, account_id: str, motion: Motion | str, product_id: str | None = None
    ) -> float:
        """Return how much ``motion`` today changes the chance the account buys tomorrow."""
        effects = self._effects([self._index(account_id)], [motion], [product_id])
        return float(effects.uplift[0])

    def expected_value(
        self,
        account_ids: Sequence[str],
        motions: Sequence[Motion | str],
        product_ids: Sequence[str | None] | None = None,
    ) -> Floats:
        """Return the expected incremental value of each action made today.

        Value = uplift x annual value of the product - P(unsubscribe) x
        ``unsubscribe_cost`` - P(churn) x the annual value the account holds.
        """
        if len(account_ids) != len(motions):
            raise SimulationError("account_ids and motions differ in length")
        accounts = np.array([self._index(a) for a in account_ids], dtype=np.int64)
        effects = self._effects(accounts, motions, product_ids or [None] * len(accounts))
        return self._value_of(accounts, effects)

    def value_matrix(self, account_ids: Sequence[str], product_ids: Sequence[str]) -> Floats:
        """Return the expected incremental value of every motion about every product today.

        Shape ``(motions, accounts, products)`` in ``MOTIONS`` order (the arithmetic of
        :meth:`expected_value`); a product the account cannot buy is worth only the
        motion's harm. Unknown accounts and products are NaN.
        """
        index = np.array([self._account_index.get(a, -1) for a in account_ids], dtype=np.int64)
        known = index >= 0
        accounts = index[known]
        values = np.full((len(MOTIONS), len(account_ids), len(product_ids)), np.nan)
        for p, product_id in enumerate(product_ids):
            try:
                column = self._products.position(product_id)
            except ValueError:
                continue
            for m in range(len(MOTIONS)):
                effects = self._effects_by_code(
                    accounts, np.full(len(accounts), m), np.full(len(accounts), column)
                )
                values[m, known, p] = self._value_of(accounts, effects)
        return values

    def policy_value(self, actions: Sequence[SimAction]) -> float:
        """Return the total expected incremental value of a set of actions made today."""
        self._check_day(actions)
        return float(
            self.expected_value(
                [a.account_id for a in actions],
                [a.motion for a in actions],
                [a.product_id for a in actions],
            ).sum()
        )

    def oracle_policy(self) -> pl.DataFrame:
        """Return the best motion today for every account (``no_action`` when nothing pays).

        Columns: ``account_id``, ``motion``, ``product_id``, ``expected_value``.
        """
        n = len(self._account_index)
        accounts = np.arange(n, dtype=np.int64)
        values = np.zeros((n, len(MOTIONS)))
        targets = np.full((n, len(MOTIONS)), -1, dtype=np.int64)
        for m in range(len(MOTIONS)):
            effects = self._effects_by_code(accounts, np.full(n, m), np.full(n, -1))
            values[:, m] = self._value_of(accounts, effects)
            targets[:, m] = effects.target
        best = np.argmax(values, axis=1)
        value = values[accounts, best]
        # Doing nothing wins every tie: a motion must be worth something to be chosen.
        act = value > 0
        names = pl.Series([m.value for m in MOTIONS])
        return pl.DataFrame(
            {
                "account_id": self._account_ids,
                "motion": names.gather(best).scatter(np.flatnonzero(~act), Motion.NO_ACTION.value),
                "product_id": gather_or_null(
                    self._products.ids_series, np.where(act, targets[accounts, best], -1)
                ),
                "expected_value": np.where(act, value, 0.0),
            }
        )

    # -- the loop -----------------------------------------------------------------------

    def step(self, actions: Sequence[SimAction] | pl.DataFrame) -> list[Outcome]:
        """Apply today's actions, advance one day and return that day's outcomes as records."""
        return [
            Outcome.model_validate(row) for row in self.step_frame(actions).iter_rows(named=True)
        ]

    def step_frame(self, actions: Sequence[SimAction] | pl.DataFrame) -> pl.DataFrame:
        """Apply today's actions, advance one day and return that day's ``outcomes`` frame.

        ``actions`` may be a frame with ``account_id``, ``motion`` and optional
        ``product_id`` and ``day`` columns. Every action must be dated today.
        """
        account, motion, product = self._parse(actions)
        d = self._day_index
        rng = stream(self._config, "world", _OUTCOMES_STREAM, d + 1)
        n, p = int(self._held.shape[0]), int(self._held.shape[1])
        u_buy, u_unsub, u_complaint, u_churn = (
            rng.random((n, p)),
            rng.random(n),
            rng.random(n),
            rng.random(n),
        )
        seconds = rng.integers(8 * 3600, 19 * 3600, n)

        chance = self._truth.baseline * self._products.eligible(self._held)
        chance[self._churned] = 0.0
        effects = self._effects_by_code(account, motion, product)
        hit = effects.target >= 0
        np.add.at(chance, (account[hit], effects.target[hit]), effects.uplift[hit])
        bought = u_buy < np.clip(chance, 0.0, 1.0)

        spared = np.ones(n)
        np.multiply.at(spared, account, 1.0 - effects.harm)
        unsubscribed = u_unsub < 1.0 - spared
        kept = np.ones(n)
        np.multiply.at(kept, account, 1.0 - effects.churn)
        churned = (u_churn < 1.0 - kept) & self._held.any(axis=1) & ~self._churned

        frame = self._outcome_frame(bought, unsubscribed, u_complaint, seconds)
        self._held |= bought
        self._held[churned] = False
        self._churned |= churned
        self._emailed = np.unique(account[motion == MOTIONS.index(Motion.DIGITAL_PROGRAM)])
        self._day_index = d + 1
        self._today_signals = None
        return frame

    def signals_for_day(self) -> list[Signal]:
        """Return today's signals as records (the same ones on every call for a day)."""
        frame = self.signal_frame_for_day()
        return [Signal.model_validate(row) for row in frame.iter_rows(named=True)]

    def signal_frame_for_day(self) -> pl.DataFrame:
        """Return today's ``signals`` frame: activity, email replies, due ticket closes."""
        if self._today_signals is not None:
            return self._today_signals
        d = self._day_index
        config = self._config
        rng = stream(config, "world", _SIGNALS_STREAM, d)
        ctx = self._signal_context()
        click_factor = float(
            drift_factors(
                day_index=d, change_day=config.change_day, digital_drift=config.digital_drift
            )[1]
        )
        n = len(self._account_index)
        inside, late = draw_signals(
            rng,
            ctx,
            total=int(rng.poisson(config.signal_count / config.history_days)),
            first_day=d,
            last_day=d,
            silent_from=np.full(n, d + 1, dtype=np.int64),
            click_factor=click_factor,
            change_day=config.change_day,
            first_ticket=self._next_ticket,
        )
        self._next_ticket += sum(int((b.kind == TICKET_OPENED).sum()) for b in inside)
        replies = self._email_replies(rng, click_factor)
        fresh = build_signal_frame(ctx, [*inside, replies], first_event=self._next_event)
        self._next_event += fresh.height
        later = build_signal_frame(ctx, [late], first_event=self._next_event)
        self._next_event += later.height
        # Closes due on a day nobody asked for signals arrive late, with the next call.
        due = pl.col("occurred_at").dt.date() <= self.day
        self._today_signals = pl.concat([fresh, self._pending.filter(due)]).sort(
            "occurred_at", maintain_order=True
        )
        self._pending = pl.concat([self._pending.filter(~due), later])
        return self._today_signals

    # -- internals ----------------------------------------------------------------------

    def _index(self, account_id: str) -> int:
        try:
            return self._account_index[account_id]
        except KeyError:
            raise SimulationError(f"unknown account {account_id!r}") from None

    def _product(self, product_id: str | None) -> int:
        if product_id is None:
            return -1
        try:
            return self._products.position(product_id)
        except ValueError:
            raise SimulationError(f"unknown product {product_id!r}") from None

    def _check_day(self, actions: Sequence[SimAction]) -> None:
        wrong = {a.day for a in actions if a.day != self.day}
        if wrong:
            raise SimulationError(f"actions dated {sorted(wrong)} but the world is on {self.day}")

    def _parse(self, actions: Sequence[SimAction] | pl.DataFrame) -> tuple[Ints, Ints, Ints]:
        if isinstance(actions, pl.DataFrame):
            if "day" in actions.columns and (actions["day"] != self.day).any():
                raise SimulationError(f"actions must be dated {self.day}")
            accounts = actions["account_id"].to_list()
            motions = actions["motion"].to_list()
            products = (
                actions["product_id"].to_list()
                if "product_id" in actions.columns
                else [None] * actions.height
            )
        else:
            self._check_day(actions)
            accounts = [a.account_id for a in actions]
            motions = [a.motion for a in actions]
            products = [a.product_id for a in actions]
        return (
            np.array([self._index(a) for a in accounts], dtype=np.int64),
            motion_codes(motions),
            np.array([self._product(p) for p in products], dtype=np.int64),
        )

    def _effects(
        self,
        accounts: Sequence[int] | Ints,
        motions: Sequence[Motion | str],
        products: Sequence[str | None],
    ) -> ActionEffects:
        return self._effects_by_code(
            np.asarray(accounts, dtype=np.int64),
            motion_codes(motions),
            np.array([self._product(p) for p in products], dtype=np.int64),
        )

    def _effects_by_code(self, account: Ints, motion: Ints, product: Ints) -> ActionEffects:
        config = self._config
        return action_effects(
            self._truth,
            self._products,
            held=self._held,
            churned=self._churned,
            account=account,
            motion=motion,
            product=product,
            drift=drift_factors(
                day_index=self._day_index,
                change_day=config.change_day,
                digital_drift=config.digital_drift,
            ),
        )

    def _value_of(self, accounts: Ints, effects: ActionEffects) -> Floats:
        value = self._truth.value[accounts, np.maximum(effects.target, 0)]
        gained = np.where(effects.target >= 0, effects.uplift * value, 0.0)
        at_risk = (self._truth.value[accounts] * self._held[accounts]).sum(axis=1)
        cost = effects.harm * self._config.unsubscribe_cost + effects.churn * at_risk
        value_of: Floats = gained - cost
        return value_of

    def _outcome_frame(
        self, bought: npt.NDArray[np.bool_], unsubscribed: npt.NDArray[np.bool_],
        u_complaint: Floats, seconds: Ints,
    ) -> pl.DataFrame:  # fmt: skip
        """Return the outcomes of tomorrow: purchases, unsubscribes and complaints."""
        buyer, product = np.nonzero(bought)
        # An account's first reachable contact is the one who opts out (and may complain).
        candidates = np.flatnonzero(unsubscribed)
        contact_of = self._first_reachable(candidates)
        leaver, contact = candidates[contact_of >= 0], contact_of[contact_of >= 0]
        self._reachable[contact] = False
        complaining = u_complaint[leaver] < _COMPLAINT_SHARE
        complainer = leaver[complaining]
        counts = {"purchase": len(buyer), "unsubscribe": len(leaver), "complaint": len(complainer)}
        kinds = pl.concat([pl.repeat(k, c, dtype=pl.String, eager=True) for k, c in counts.items()])
        sources = pl.Series(["billing", "marketo", "marketo"]).gather(
            np.repeat([0, 1, 2], list(counts.values()))
        )
        account = np.concatenate([buyer, leaver, complainer]).astype(np.int64)
        contacts = np.concatenate([np.full(len(buyer), -1), contact, contact[complaining]])
        products = np.concatenate([product, np.full(len(leaver) + len(complainer), -1)])
        day = np.full(len(account), self._day_index + 1, dtype=np.int64)
        frame = pl.DataFrame(
            {
                "account_id": self._account_ids.gather(account),
                "outcome_type": kinds,
                "product_id": gather_or_null(self._products.ids_series, products),
                "contact_id": gather_or_null(self._contact_ids, contacts),
                "value": np.where(
                    products >= 0, self._truth.value[account, np.maximum(products, 0)], 0.0
                ),
                "occurred_at": timestamps(self._config.start, day, seconds[account]),
                "source": sources,
            }
        ).sort("occurred_at", maintain_order=True)
        ids = sequential_ids("out-", frame.height, width=7, first=self._next_outcome)
        self._next_outcome += frame.height
        return record_frame("outcomes", {"outcome_id": ids, **frame.to_dict()})

    def _signal_context(self) -> SignalContext:
        truth = self._truth
        return SignalContext(
            account_ids=self._account_ids,
            contact_ids=self._contact_ids,
            contact_first=self._contact_first,
            contact_count=self._contact_count,
            product_ids=self._products.ids_series,
            need=truth.need,
            held=self._held,
            eligible=self._products.eligible(self._held),
            activity=truth.activity,
            start=self._config.start,
        )

    def _first_reachable(self, accounts: Ints) -> Ints:
        """Return each account's first contact with an email and no opt-out, or -1."""
        found = np.full(len(accounts), -1, dtype=np.int64)
        first, count = self._contact_first[accounts], self._contact_count[accounts]
        for offset in range(int(count.max(initial=0))):
            candidate = np.minimum(first + offset, len(self._reachable) - 1)
            usable = (found < 0) & (offset < count) & self._reachable[candidate]
            found[usable] = candidate[usable]
        return found

    def _email_replies(self, rng: np.random.Generator, click_factor: float) -> SignalBatch:
        """Return opens and clicks from the accounts the digital programme emailed yesterday."""
        contact = self._first_reachable(self._emailed)
        account, contact = self._emailed[contact >= 0], contact[contact >= 0]
        u = rng.random(len(account))
        opened = u < _OPEN_RATE
        kind = np.where(u < _CLICK_RATE * click_factor, EMAIL_CLICK, EMAIL_OPEN)[opened]
        account, contact = account[opened], contact[opened]
        seconds = rng.integers(7 * 3600, 20 * 3600, len(account))
        day = np.full(len(account), self._day_index, dtype=np.int64)
        at_us = timestamps(self._config.start, day, seconds).cast(pl.Int64).to_numpy()
        none = np.full(len(account), -1, dtype=np.int64)
        return SignalBatch(
            account=account,
            kind=kind.astype(np.int64),
            product=none,
            contact=contact,
            value=np.ones(len(account)),
            at_us=at_us,
            ticket=none,
        )

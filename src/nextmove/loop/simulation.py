"""The synthetic company around the loop, on a simulated clock: days pass in seconds.

Each cycle is one simulated day at noon. The company's signals of the day come in; the
loop decides and queues; simulated people work the approvals queue (each pending request
is approved with probability ``approve_share``, else rejected; requests needing two
approvers wait, as only one person is simulated); what was sent today is carried out in
the company, which answers with tomorrow's outcomes; the clock moves on a day. The world
knows the truth, so the value gained is measured against the best possible moves.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import polars as pl

from nextmove.decisions.service import DecisionRun
from nextmove.engine import Engine
from nextmove.errors import GovernanceError
from nextmove.execution.model import OutboxStatus
from nextmove.governance.model import ApprovalStatus
from nextmove.sim import MOTIONS, SimAction, World

__all__ = ["SimClock", "SimSummary", "SimulatedCompany", "noon"]

_MOTIONS = frozenset(motion.value for motion in MOTIONS)
_PAGE = 5_000


def noon(day: date) -> datetime:
    """Return noon UTC of ``day``: the simulated moment a day's cycle runs."""
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


@dataclass
class SimClock:
    """A clock the simulation moves; the Engine and the loop read it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SimSummary:
    """What the simulated days added up to."""

    days: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    autonomy: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)
    approved: int = 0
    rejected: int = 0
    sent: int = 0
    value: float = 0.0
    oracle: float = 0.0
    outcomes: int = 0


class SimulatedCompany:
    """The loop's surroundings in simulated-clock mode (see the module docstring)."""

    def __init__(
        self, world: World, clock: SimClock, *, approve_share: float = 0.8, seed: int = 0
    ) -> None:
        self.world = world
        self.clock = clock
        self.summary = SimSummary()
        self._approve_share = approve_share
        self._rng = random.Random(seed)
        self._seen_outbox = 0
        clock.now = noon(world.day)

    def observe(self, engine: Engine, now: datetime) -> int:
        """Ingest the day's signals; return how many."""
        signals = self.world.signals_for_day()
        if signals:
            engine.ingest(signals=signals)
        return len(signals)

    def review(self, engine: Engine, now: datetime, run: DecisionRun | None) -> None:
        """Count the day's decisions, then approve or reject what waits for people."""
        if run is not None:
            self._count(run)
        for approval in engine.approvals(ApprovalStatus.PENDING, limit=_PAGE):
            if approval.required_approvers > 1 and approval.approvers:
                continue  # four-eyes: the one simulated approver already said yes
            if self._rng.random() < self._approve_share:
                try:
                    engine.approve(approval.approval_id)
                except GovernanceError:
                    continue
                self.summary.approved += 1
            else:
                engine.reject(approval.approval_id, "simulated: not a priority this week")
                self.summary.rejected += 1

    def answer(self, engine: Engine, now: datetime) -> None:
        """Carry out what was sent today; record the company's outcomes; start tomorrow."""
        sent = []
        while True:
            page = engine.outbox(status=OutboxStatus.SENT, after_id=self._seen_outbox, limit=_PAGE)
            if not page:
                break
            sent.extend(page)
            self._seen_outbox = page[-1].outbox_id
        today = self.world.day
        actions = [
            SimAction(
                account_id=item.account_id,
                motion=item.action,
                day=today,
                product_id=item.product_id,
            )
            for item in sent
            if item.action in _MOTIONS
        ]
        self.summary.sent += len(actions)
        self.summary.value += self.world.policy_value(actions)
        self.summary.oracle += float(self.world.oracle_policy()["expected_value"].sum())
        outcomes = self.world.step(actions)
        engine.record_outcomes(outcomes)
        self.summary.outcomes += len(outcomes)
        self.summary.days += 1
        self.clock.now = noon(self.world.day)

    def _count(self, run: DecisionRun) -> None:
        acting = run.decisions.filter(pl.col("action") != "no_action")
        for action, autonomy, count in acting.group_by("action", "autonomy").len().iter_rows():
            self.summary.decisions[str(action)] += int(count)
            self.summary.autonomy[str(autonomy)] += int(count)
        for rule, count in run.batch.blocked.iter_rows():
            self.summary.blocked[str(rule)] += int(count)

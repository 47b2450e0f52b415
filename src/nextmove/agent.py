"""The agent loop: observe → decide → govern → act → measure → learn, continuously.

```python
agent = Agent(engine, schedule=LoopSchedule(batch_every=Cadence.HOURLY.period))
agent.run(stop)            # until ``stop`` (a threading.Event) is set, e.g. on SIGTERM
```

Each cycle imports what arrived (the inbox folder, and whatever the ``surroundings``
bring), decides every account when the batch is due or else only the accounts with an
urgent signal since the last cycle, queues what the decisions ask for (in the same
transaction), enqueues approved requests, sends what is due, lets the surroundings answer,
and refits on its cadence. Its state lives in the store, so a restart resumes the
schedule, and the outbox leases finish any send a crash interrupted.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

import polars as pl

from nextmove.decisions.service import DecisionRun
from nextmove.engine import Engine
from nextmove.execution.model import DispatchReport
from nextmove.loop.inbox import take_inbox
from nextmove.loop.metrics import LoopMetrics
from nextmove.loop.model import CycleReport, LoopSchedule, LoopState

__all__ = ["Agent", "Surroundings"]

Clock = Callable[[], datetime]
log = logging.getLogger("nextmove.agent")
_MAX_ERROR = 2000


class Surroundings(Protocol):
    """The world around the loop: what it brings in, how people review, how it answers."""

    def observe(self, engine: Engine, now: datetime) -> int:
        """Land what arrived since the last cycle; return how many rows."""
        ...

    def review(self, engine: Engine, now: datetime, run: DecisionRun | None) -> None:
        """Let people work their queues (approve, reject) after the cycle's decisions."""
        ...

    def answer(self, engine: Engine, now: datetime) -> None:
        """Let the world answer what was sent (record outcomes)."""
        ...


class Agent:
    """Runs cycles on one Engine; ``clock`` is the wall clock or a simulated one."""

    def __init__(
        self,
        engine: Engine,
        *,
        schedule: LoopSchedule | None = None,
        clock: Clock | None = None,
        metrics: LoopMetrics | None = None,
        surroundings: Sequence[Surroundings] = (),
    ) -> None:
        self.engine = engine
        self.schedule = schedule or LoopSchedule()
        self._clock = clock or engine.clock
        self._metrics = metrics
        self._surroundings = tuple(surroundings)
        self._state: LoopState | None = None
        self.last_run: DecisionRun | None = None
        self._settled = False

    @property
    def state(self) -> LoopState:
        """The loop's state (loaded or created on first use)."""
        if self._state is None:
            now = self._clock()
            stored = self.engine.loop_state(self.schedule.name)
            fresh = LoopState(name=self.schedule.name, started_at=now, heartbeat_at=now)
            self._state = (
                fresh
                if stored is None
                else replace(stored, started_at=now, heartbeat_at=now, last_error=None)
            )
            self.engine.save_loop_state(self._state)
        return self._state

    def run(self, stop: threading.Event, *, cycles: int | None = None) -> int:
        """Run cycles until ``stop`` is set (or ``cycles`` ran); return how many ran."""
        done = 0
        while not stop.is_set() and (cycles is None or done < cycles):
            self.cycle(stop)
            done += 1
            if cycles is None or done < cycles:
                stop.wait(self.schedule.poll_seconds)
        return done

    def cycle(self, stop: threading.Event | None = None) -> CycleReport:
        """Run one cycle; a failure is recorded (status, metrics) and the loop goes on."""
        try:
            return self._cycle(stop)
        finally:
            self._settle()

    def _settle(self) -> None:
        """After the first cycle, exempt what is alive then from garbage collection.

        What the first cycle built (modules, compiled playbook and model caches, the
        store's connections) lives as long as the process; without this every full
        collection walks it again, a 150 ms pause every few cycles at 10,000 accounts.
        """
        if not self._settled:
            gc.collect()
            gc.freeze()
            self._settled = True

    def _cycle(self, stop: threading.Event | None) -> CycleReport:
        state = self.state
        now = self._clock()
        wall = time.perf_counter()
        report = CycleReport(started_at=now)
        self.last_run = None
        try:
            self._observe(report, now)
            batch_at = self._decide(report, state, now)
            for surrounding in self._surroundings:
                surrounding.review(self.engine, now, self.last_run)
            report.expired_approvals = len(self.engine.expire_approvals())
            report.approved_enqueued = self.engine.enqueue_approved()
            self._dispatch(report, stop)
            for surrounding in self._surroundings:
                surrounding.answer(self.engine, now)
            learned_at = self._learn(report, state, now)
            refitted = learned_at == now and state.last_learn_at is not None
            if not refitted and report.batch_run is not None:
                self._update(report, now)
        except Exception as exc:  # a daemon outlives one bad cycle; the error is shown
            log.exception("cycle failed")
            report.error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            batch_at, learned_at = state.last_batch_at, state.last_learn_at
        report.finished_at = self._clock()
        report.wall_seconds = time.perf_counter() - wall
        self._state = replace(
            state,
            heartbeat_at=report.finished_at,
            cycles=state.cycles + 1,
            last_cycle_at=now,
            last_batch_at=batch_at,
            last_learn_at=learned_at,
            signal_watermark=now if report.error is None else state.signal_watermark,
            last_report=report.as_json(),
            errors=state.errors + (1 if report.error else 0),
            last_error=report.error or state.last_error,
            last_error_at=now if report.error else state.last_error_at,
        )
        self.engine.save_loop_state(self._state)
        if self._metrics is not None:
            self._metrics.observe(report, self.engine.status(self.schedule.name))
        return report

    # -- the steps ----------------------------------------------------------------------

    def _observe(self, report: CycleReport, now: datetime) -> None:
        if self.schedule.inbox is not None:
            taken = take_inbox(
                self.schedule.inbox, lambda kind, path: self.engine.import_file(kind, path)
            )
            report.ingested_files += taken.files
            report.ingested_rows += taken.rows
            for name in taken.failed:
                log.warning("inbox file %s could not be imported (see failed/)", name)
        for surrounding in self._surroundings:
            report.ingested_rows += surrounding.observe(self.engine, now)

    def _decide(self, report: CycleReport, state: LoopState, now: datetime) -> datetime | None:
        """Decide every account when the batch is due, else the urgent ones; return when
        the last batch ran."""
        last = _latest(state.last_batch_at, self.engine.last_batch_as_of())
        if self.engine.playbook() is None:
            return last
        # A clock that went back (a replayed simulation) makes the batch due as well.
        if last is None or now < last or now - last >= self.schedule.batch_every:
            self.last_run = self.engine.decide(as_of=now)
            report.batch_run = self.last_run.run_id
            last = now
        else:
            urgent = self.engine.urgent_signals(after=state.signal_watermark or last, until=now)
            if urgent.account_ids:
                self.last_run = self.engine.decide_for(urgent.account_ids, as_of=now)
                report.urgent_accounts = len(urgent.account_ids)
        if self.last_run is not None:
            _count_levels(report, self.last_run.decisions)
        return last

    def _dispatch(self, report: CycleReport, stop: threading.Event | None) -> None:
        for _ in range(self.schedule.dispatch_passes):
            passed = self.engine.dispatch()
            _add_dispatch(report, passed)
            full = passed.claimed >= self.engine.dispatch_batch_size
            if not full or (stop is not None and stop.is_set()):
                return

    def _learn(self, report: CycleReport, state: LoopState, now: datetime) -> datetime | None:
        every = self.schedule.learn_every
        if every is None:
            return state.last_learn_at
        if state.last_learn_at is None:
            return now  # nothing to learn from before the loop's first decisions
        if now - state.last_learn_at < every:
            return state.last_learn_at
        learned = self.engine.learn(as_of=now)
        report.learned = learned.model_version if learned.learned else None
        return now

    def _update(self, report: CycleReport, now: datetime) -> None:
        """After a batch without a refit, the playbook's online update (when it asks)."""
        if self.schedule.learn_every is None:
            return
        playbook = self.engine.active_playbook()
        if playbook is None or not playbook.measurement.online_updates:
            return
        found = self.engine.update_model(as_of=now)
        report.updated = found.model_version if found.registered else None


def _latest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def _count_levels(report: CycleReport, decisions: pl.DataFrame) -> None:
    acting = decisions.filter(pl.col("action") != "no_action")
    report.decided += decisions.height
    for level, count in acting.group_by("autonomy").len().iter_rows():
        if level in ("auto", "approve", "recommend"):
            setattr(report, level, getattr(report, level) + int(count))


def _add_dispatch(report: CycleReport, passed: DispatchReport) -> None:
    report.sent += passed.sent
    report.retrying += passed.retrying
    report.dead += passed.dead
    for action, count in passed.stopped.items():
        report.stopped[action] = max(report.stopped.get(action, 0), count)

"""Types of the agent loop: its schedule, its stored state, what a cycle did, its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import JsonValue

from nextmove.execution.model import OutboxStatus

__all__ = ["Cadence", "CycleReport", "LoopSchedule", "LoopState", "LoopStatus", "UrgentSignals"]


class Cadence(StrEnum):
    """How often every account is decided again."""

    HOURLY = "hourly"
    DAILY = "daily"

    @property
    def period(self) -> timedelta:
        """The time between two batch decisions."""
        return timedelta(hours=1) if self is Cadence.HOURLY else timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LoopSchedule:
    """What the loop does and when.

    ``batch_every`` is the period of the all-account decision; ``learn_every`` that of
    refitting (None: never); ``inbox`` a folder whose files are imported as they arrive;
    ``dispatch_passes`` bounds the outbox passes of one cycle, so a long queue never
    starves urgent signals.
    """

    batch_every: timedelta = timedelta(days=1)
    learn_every: timedelta | None = timedelta(days=7)
    poll_seconds: float = 1.0
    inbox: Path | None = None
    dispatch_passes: int = 10
    name: str = "default"


@dataclass(frozen=True, slots=True)
class LoopState:
    """What the loop keeps between cycles and restarts (one stored row per loop name)."""

    name: str
    started_at: datetime
    heartbeat_at: datetime
    cycles: int = 0
    last_cycle_at: datetime | None = None
    last_batch_at: datetime | None = None
    last_learn_at: datetime | None = None
    signal_watermark: datetime | None = None
    last_report: dict[str, JsonValue] = field(default_factory=dict)
    errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UrgentSignals:
    """Accounts with urgent signals after a watermark, and the newest such signal's time."""

    account_ids: tuple[str, ...]
    newest: datetime | None


@dataclass(slots=True)
class CycleReport:
    """What one cycle did."""

    started_at: datetime
    ingested_files: int = 0
    ingested_rows: int = 0
    batch_run: int | None = None
    urgent_accounts: int = 0
    decided: int = 0
    auto: int = 0
    approve: int = 0
    recommend: int = 0
    approved_enqueued: int = 0
    expired_approvals: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    learned: str | None = None
    updated: str | None = None
    """The model an online update registered this cycle (None: none)."""
    error: str | None = None
    finished_at: datetime | None = None
    wall_seconds: float = 0.0

    def as_json(self) -> dict[str, JsonValue]:
        """Return the report as stored with the loop's state."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "ingested_files": self.ingested_files,
            "ingested_rows": self.ingested_rows,
            "batch_run": self.batch_run,
            "urgent_accounts": self.urgent_accounts,
            "decided": self.decided,
            "auto": self.auto,
            "approve": self.approve,
            "recommend": self.recommend,
            "approved_enqueued": self.approved_enqueued,
            "expired_approvals": self.expired_approvals,
            "sent": self.sent,
            "retrying": self.retrying,
            "dead": self.dead,
            "stopped": dict(self.stopped),
            "learned": self.learned,
            "updated": self.updated,
            "error": self.error,
            "wall_seconds": round(self.wall_seconds, 4),
        }


@dataclass(frozen=True, slots=True)
class LoopStatus:
    """How the loop and its queues stand, for ``nextmove status``."""

    now: datetime
    state: LoopState | None
    outbox: dict[OutboxStatus, int]
    oldest_due_seconds: float | None
    approvals_pending: int
    exceptions_open: int
    last_decision_at: datetime | None

"""The dispatcher: sends due outbox items through their connectors, at least once.

One pass: claim due items (mark them ``sending`` and commit), then send each one and
record the receipt or the failure in a transaction of its own. A crash between the send
and the record leaves the item ``sending``; once its lease runs out it is due again and
is re-sent with the same idempotency key and payload, and the receiver de-duplicates.
That window is the price of never losing an action.

A retryable failure waits an exponential, jittered backoff; a permanent one, or running
out of attempts, makes the item ``dead`` and opens an exception (governance's queue)
naming the action, account, connector and error. Items of kill-switched actions are
left untouched, and items beyond a connector's rate limit stay due for a later pass.
Time comes only from the ``now`` clock and randomness only from ``rng``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from pydantic import JsonValue
from sqlalchemy import Engine as SqlEngine

from nextmove.execution.backoff import RetryPolicy, retry_delay
from nextmove.execution.connectors.registry import ConnectorSet
from nextmove.execution.errors import PermanentSendError, RetryableSendError
from nextmove.execution.model import DispatchReport, OutboxItem
from nextmove.execution.ratelimit import RateLimiter
from nextmove.execution.repository import OutboxRepository
from nextmove.governance.kill_switches import is_killed
from nextmove.governance.model import Actor, ExceptionKind, KillSwitch, Role
from nextmove.governance.queue_service import open_exception
from nextmove.governance.service import SYSTEM_ACTOR
from nextmove.store import UnitOfWork

__all__ = [
    "DEFAULT_LEASE",
    "EXECUTION_ACTOR",
    "Clock",
    "Dispatcher",
    "StopCheck",
    "dispatch_due",
    "kill_switch_check",
]

Clock = Callable[[], datetime]
StopCheck = Callable[[str], str | None]
"""Given an action, the reason it is stopped now, or None to send it."""

EXECUTION_ACTOR = Actor(user_id=SYSTEM_ACTOR, role=Role.OPS)
"""Who opens the exceptions of dead items."""
DEFAULT_LEASE = timedelta(minutes=5)
_MAX_ERROR = 2000
_MAX_SUMMARY_ERROR = 200


def kill_switch_check(
    switches: Iterable[KillSwitch], *, motion_of: Callable[[str], str] | None = None
) -> StopCheck:
    """Return a StopCheck from engaged kill switches (read them fresh for every pass).

    ``motion_of`` maps an action to its motion (default: the action itself).
    """
    engaged = [switch for switch in switches if switch.engaged]

    def stopped(action: str) -> str | None:
        motion = motion_of(action) if motion_of else action
        return is_killed(engaged, action=action, motion=motion)

    return stopped


def dispatch_due(
    *,
    database: SqlEngine,
    connectors: ConnectorSet,
    now: Clock,
    rng: random.Random,
    limiter: RateLimiter | None = None,
    stopped: StopCheck | None = None,
    batch_size: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    actor: Actor = EXECUTION_ACTOR,
) -> DispatchReport:
    """Send up to ``batch_size`` due items once; return what happened to them.

    ``lease`` is how long a claimed item is held before it counts as abandoned (a crash
    mid-send) and is sent again: longer than any send takes, so two live dispatchers
    never send the same item at once. Without ``limiter`` no rate limit applies.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = DispatchReport()
    claimed = _claim(database, connectors, now(), limiter, stopped, batch_size, lease, report)
    for item in claimed:
        _deliver(item, database, connectors, now, rng, actor, report)
    return report


class Dispatcher:
    """``dispatch_due`` with its rate-limit state and seeded randomness kept between passes."""

    def __init__(
        self,
        *,
        database: SqlEngine,
        connectors: ConnectorSet,
        seed: int = 0,
        batch_size: int = 100,
        lease: timedelta = DEFAULT_LEASE,
        actor: Actor = EXECUTION_ACTOR,
    ) -> None:
        self.database = database
        self.connectors = connectors
        self.batch_size = batch_size
        self.lease = lease
        self.actor = actor
        self._rng = random.Random(seed)
        self._limiter = RateLimiter(connectors.limits)

    def dispatch_due(self, *, now: Clock, stopped: StopCheck | None = None) -> DispatchReport:
        """Send the items due now (one pass); return what happened."""
        return dispatch_due(
            database=self.database,
            connectors=self.connectors,
            now=now,
            rng=self._rng,
            limiter=self._limiter,
            stopped=stopped,
            batch_size=self.batch_size,
            lease=self.lease,
            actor=self.actor,
        )


def _claim(
    database: SqlEngine,
    connectors: ConnectorSet,
    at: datetime,
    limiter: RateLimiter | None,
    stopped: StopCheck | None,
    batch_size: int,
    lease: timedelta,
    report: DispatchReport,
) -> list[OutboxItem]:
    claimed: list[OutboxItem] = []
    with UnitOfWork(database) as uow:
        outbox = OutboxRepository(uow.connection)
        due = outbox.due_counts(at)
        halted = {
            action for action in {a for _, a, _ in due} if stopped and stopped(action) is not None
        }
        waiting: Counter[str] = Counter()
        for connector, action, count in due:
            if action in halted:
                report.stopped[action] = report.stopped.get(action, 0) + count
            else:
                waiting[connector] += count
        for connector, count in sorted(waiting.items()):
            if connectors.get(connector) is None:
                report.unknown_connector[connector] = count
                continue
            allowance = limiter.allowance(connector, at) if limiter else None
            wanted = min(count, batch_size - len(claimed))
            if allowance is not None:
                wanted = min(wanted, allowance)
            items = outbox.claim(
                connector=connector,
                at=at,
                lease_until=at + lease,
                limit=wanted,
                excluding_actions=halted,
            )
            if limiter is not None:
                limiter.take(connector, len(items), at)
            if count > len(items):
                report.deferred[connector] = count - len(items)
            claimed.extend(items)
        uow.commit()  # the claims must be durable before anything is sent
    return claimed


def _deliver(
    item: OutboxItem,
    database: SqlEngine,
    connectors: ConnectorSet,
    now: Clock,
    rng: random.Random,
    actor: Actor,
    report: DispatchReport,
) -> None:
    connector = connectors.get(item.connector)
    policy = connectors.policy_for(item.connector)
    if connector is None:  # removed from the configuration between claim and send
        raise AssertionError(f"connector {item.connector!r} vanished during a pass")
    if item.attempts > policy.max_attempts:
        error = (
            f"{policy.max_attempts} attempts were started and none was confirmed (the sender "
            "stopped while sending); it may or may not have been delivered"
        )
        _give_up(item, error, database, connectors, now(), actor, report)
        return
    try:
        receipt = connector.send(item)
    except RetryableSendError as exc:
        _failed(item, str(exc), policy, database, connectors, now(), rng, actor, report)
        return
    except PermanentSendError as exc:
        _give_up(item, str(exc), database, connectors, now(), actor, report)
        return
    except Exception as exc:  # a connector bug: retrying will not fix it
        error = f"unexpected {type(exc).__name__} in connector {item.connector}: {exc}"
        _give_up(item, error, database, connectors, now(), actor, report)
        return
    with UnitOfWork(database) as uow:
        recorded = OutboxRepository(uow.connection).mark_sent(
            item, receipt=receipt.as_json(), at=now()
        )
        uow.commit()
    if recorded:
        report.sent += 1
    else:
        report.lost_lease += 1


def _failed(
    item: OutboxItem,
    error: str,
    policy: RetryPolicy,
    database: SqlEngine,
    connectors: ConnectorSet,
    at: datetime,
    rng: random.Random,
    actor: Actor,
    report: DispatchReport,
) -> None:
    if item.attempts >= policy.max_attempts:
        error = f"{error} (gave up after {item.attempts} attempts)"
        _give_up(item, error, database, connectors, at, actor, report)
        return
    retry_at = at + retry_delay(item.attempts, policy, rng)
    with UnitOfWork(database) as uow:
        recorded = OutboxRepository(uow.connection).mark_retry(
            item, error=error[:_MAX_ERROR], retry_at=retry_at
        )
        uow.commit()
    if recorded:
        report.retrying += 1
    else:
        report.lost_lease += 1


def _give_up(
    item: OutboxItem,
    error: str,
    database: SqlEngine,
    connectors: ConnectorSet,
    at: datetime,
    actor: Actor,
    report: DispatchReport,
) -> None:
    error = error[:_MAX_ERROR]
    with UnitOfWork(database) as uow:
        details: dict[str, JsonValue] = {
            "outbox_id": item.outbox_id,
            "idempotency_key": item.idempotency_key,
            "action": item.action,
            "account_id": item.account_id,
            "product_id": item.product_id,
            "connector": item.connector,
            "decision_id": item.decision_id,
            "assignee": item.assignee,
            "attempts": item.attempts,
            "last_error": error,
        }
        opened = open_exception(
            store=uow,
            actor=actor,
            kind=ExceptionKind.EXECUTION_FAILURE,
            summary=(
                f"{item.action} for account {item.account_id} could not be sent via "
                f"{item.connector}: {error[:_MAX_SUMMARY_ERROR]}"
            ),
            owner=connectors.exception_owner,
            details=details,
            account_id=item.account_id,
            now=lambda: at,
        )
        recorded = OutboxRepository(uow.connection).mark_dead(
            item, error=error, exception_id=opened.exception_id
        )
        if not recorded:
            report.lost_lease += 1
            return  # another dispatcher owns the item now; leaving rolls the exception back
        uow.commit()
    report.dead += 1
    report.exceptions.append(opened.exception_id)

"""The Engine's measurement calls: impact against the holdout, drift, evaluation, reports.

A mixin of :class:`nextmove.Engine`. Measuring only reads; :meth:`MeasurementCalls.monitor`
also acts on what it finds: each new alarm becomes an exception with its evidence and a
proposed change, and the playbook's ``drift_alert`` demotions apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import JsonValue
from sqlalchemy import Engine as SqlEngine

from nextmove.errors import GovernanceError
from nextmove.governance import queue_service
from nextmove.governance.autonomy import AutonomyDemotion, demotion_for
from nextmove.governance.model import Actor, ExceptionKind, ExceptionStatus, Permission, Role
from nextmove.governance.service import SYSTEM_ACTOR
from nextmove.measurement import service
from nextmove.measurement.model import (
    DriftAlarm,
    DriftReport,
    ImpactReport,
    Metric,
    PolicyEvaluation,
)
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.measurement.report import gather_report, render_report
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import DemotionTrigger, Playbook

__all__ = ["MeasurementCalls"]

_SYSTEM = Actor(user_id=SYSTEM_ACTOR, role=Role.ADMIN)
_ADAPTING = ("conversion", "input")
"""Alarm kinds that demote every autonomous move (calibration only asks a person)."""
_ENGAGEMENT = "engagement"
"""An engagement alarm demotes only the motion that weakened."""


class MeasurementCalls:
    """Proving impact, noticing drift, and saying what should change."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    def _authorise(self, permission: Permission) -> Actor:  # provided by Engine
        raise NotImplementedError

    def _required_playbook(self) -> tuple[Playbook, int]:  # provided by AutonomyCalls
        raise NotImplementedError

    def _demote_as_system(
        self,
        trigger: DemotionTrigger,
        *,
        reason: str,
        evidence: Mapping[str, JsonValue] | None = None,
    ) -> list[AutonomyDemotion]:  # provided by AutonomyCalls
        raise NotImplementedError

    def _demote(
        self,
        actor: Actor,
        trigger: DemotionTrigger,
        reason: str,
        actions: Sequence[str] | None,
        evidence: Mapping[str, JsonValue] | None,
    ) -> list[AutonomyDemotion]:  # provided by AutonomyCalls
        raise NotImplementedError

    def impact(
        self,
        *,
        as_of: datetime,
        since: datetime | None = None,
        metrics: Sequence[Metric] = tuple(Metric),
        dimensions: Sequence[str] = service.DIMENSIONS,
        confidence: float = 0.95,
        bootstrap: int = 0,
    ) -> ImpactReport:
        """Return the lift of the decisions made in ``[since, as_of)`` over the holdout."""
        self._authorise(Permission.VIEW)
        _check_time(as_of)
        playbook, _version = self._required_playbook()
        return service.impact(
            engine=self._database, playbook=playbook, until=as_of, since=since,
            metrics=metrics, dimensions=dimensions, confidence=confidence, bootstrap=bootstrap,
        )  # fmt: skip

    def monitor(
        self, *, as_of: datetime, settings: MonitorSettings | None = None, adapt: bool = True
    ) -> DriftReport:
        """Look for drift as of ``as_of``; open an exception for each new alarm and, when
        ``adapt``, apply the playbook's ``drift_alert`` demotions.

        An alarm whose exception is still open is reported again but not re-opened.
        """
        self._authorise(Permission.DECIDE)
        _check_time(as_of)
        playbook, _version = self._required_playbook()
        alarms, monitored = service.detect_drift(
            engine=self._database, playbook=playbook, as_of=as_of,
            settings=settings or MonitorSettings(),
        )  # fmt: skip
        open_keys = {
            item.details.get("key")
            for item in queue_service.list_exceptions(
                store=self._database, actor=_SYSTEM, status=ExceptionStatus.OPEN, limit=100_000
            )
            if item.kind == ExceptionKind.DRIFT
        }
        opened, demoted = [], []
        for alarm in alarms:
            if alarm.key in open_keys:
                continue
            opened.append(self._open_drift_exception(alarm, playbook))
            if adapt:
                demoted += self._adapt_to(alarm, playbook)
        return DriftReport(
            as_of=as_of,
            monitored=monitored,
            alarms=tuple(alarms),
            opened=tuple(opened),
            demoted=tuple(sorted({d.action for d in demoted})),
        )

    def _adapt_to(self, alarm: DriftAlarm, playbook: Playbook) -> list[AutonomyDemotion]:
        """Apply the ``drift_alert`` demotions ``alarm`` calls for."""
        evidence: dict[str, JsonValue] = {"key": alarm.key, **alarm.evidence}
        trigger = DemotionTrigger.DRIFT_ALERT
        if alarm.kind in _ADAPTING:
            return self._demote_as_system(trigger, reason=alarm.summary, evidence=evidence)
        if alarm.kind == _ENGAGEMENT and demotion_for(playbook, alarm.subject, trigger):
            return self._demote(_SYSTEM, trigger, alarm.summary, [alarm.subject], evidence)
        return []

    def _open_drift_exception(self, alarm: DriftAlarm, playbook: Playbook) -> int:
        details: dict[str, JsonValue] = {
            "key": alarm.key,
            "kind": alarm.kind,
            "detector": alarm.detector,
            "detected_on": alarm.detected_on.isoformat(),
            "change_from": alarm.change_from.isoformat() if alarm.change_from else None,
            "proposal": alarm.proposal,
            "evidence": alarm.evidence,
        }
        item = queue_service.open_exception(
            store=self._database,
            actor=_SYSTEM,
            kind=ExceptionKind.DRIFT,
            summary=f"{alarm.summary}. Proposed: {alarm.proposal}",
            owner=playbook.ownership.measurement.value,
            details=details,
            now=self._clock,
        )
        return item.exception_id

    def evaluate(
        self,
        playbook: str | Path | Playbook,
        *,
        as_of: datetime,
        runs: int = 14,
        reward_days: int | None = None,
        confidence: float = 0.95,
    ) -> PolicyEvaluation:
        """Estimate a candidate playbook's value per decision on the logged decisions
        (IPS, self-normalised IPS and doubly robust, with intervals and effective sizes)."""
        self._authorise(Permission.VIEW)
        _check_time(as_of)
        if isinstance(playbook, Playbook):
            candidate, name = playbook, "candidate"
        else:
            path = Path(playbook)
            candidate, name = load_playbook(path.read_text(encoding="utf-8")).playbook, path.name
        return service.evaluate(
            engine=self._database, candidate=candidate, name=name, as_of=as_of, runs=runs,
            reward_days=reward_days, confidence=confidence,
        )  # fmt: skip

    def measurement_report(
        self,
        path: str | Path,
        *,
        as_of: datetime,
        since: datetime | None = None,
        settings: MonitorSettings | None = None,
    ) -> Path:
        """Write the self-contained HTML measurement report (inline SVG charts) to ``path``."""
        self._authorise(Permission.VIEW)
        _check_time(as_of)
        playbook, version = self._required_playbook()
        data = gather_report(
            engine=self._database, playbook=playbook, playbook_version=version,
            as_of=as_of, since=since, settings=settings or MonitorSettings(),
        )  # fmt: skip
        target = Path(path)
        target.write_text(render_report(data), encoding="utf-8")
        return target


def _check_time(as_of: datetime) -> None:
    if as_of.tzinfo is None:
        raise GovernanceError(f"as_of must carry a time zone, got {as_of}")

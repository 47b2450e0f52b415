"""The Engine's decision calls: decide (all accounts or one), record outcomes, learn.

A mixin of :class:`nextmove.Engine`. Decisions follow the active playbook, the kill
switches engaged and the autonomy demotions holding at the moment of the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypedDict

import polars as pl
from pydantic import JsonValue
from sqlalchemy import Engine as SqlEngine

from nextmove.decisions import learn_service, online_service, service
from nextmove.decisions.online_service import OnlineUpdate
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.scoring import Scorer
from nextmove.decisions.service import DecisionRun, StoredHook
from nextmove.domain import Outcome
from nextmove.errors import GovernanceError
from nextmove.foundation.model import ImportSummary
from nextmove.foundation.service import import_records
from nextmove.governance import demotion_service
from nextmove.governance import service as governance_service
from nextmove.governance.autonomy import AutonomyDemotion
from nextmove.governance.model import Actor, Permission
from nextmove.learning.model import LearnReport, ModelRecord, ModelStatus
from nextmove.playbook.model import DemotionTrigger, Playbook
from nextmove.store import UnitOfWork

__all__ = ["DecisionCalls"]


class DecisionCalls:
    """The next move for every account, by incremental value, within the rules."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    def _authorise(  # provided by Engine
        self, permission: Permission, store: UnitOfWork | None = None
    ) -> Actor:
        raise NotImplementedError

    def _required_playbook(self) -> tuple[Playbook, int]:  # provided by AutonomyCalls
        raise NotImplementedError

    def _required_playbook_in(  # provided by AutonomyCalls
        self, store: SqlEngine | UnitOfWork
    ) -> tuple[Playbook, int]:
        raise NotImplementedError

    def _acting_on(self, playbook: Playbook, version: int) -> StoredHook:  # ExecutionCalls
        raise NotImplementedError

    def _demote_as_system(
        self,
        trigger: DemotionTrigger,
        *,
        reason: str,
        evidence: Mapping[str, JsonValue] | None = None,
    ) -> list[AutonomyDemotion]:  # provided by AutonomyCalls
        raise NotImplementedError

    def decide(self, *, as_of: datetime, scorer: Scorer | None = None) -> DecisionRun:
        """Decide every account's next move as of ``as_of`` and store the decisions.

        What the decisions ask for is queued in the same transaction: ``auto`` moves in
        the outbox, ``approve`` moves in the approvals queue. ``scorer`` replaces the
        learned response model for this run (a challenger policy or a baseline); everything
        else — guardrails, capacity, autonomy — is the same.
        """
        return self._decide(as_of, None, scorer)

    def decide_for(self, account_id: str | Sequence[str], *, as_of: datetime) -> DecisionRun:
        """Decide one account (or a few) now, e.g. when a signal arrives: as ``decide`` does."""
        ids = [account_id] if isinstance(account_id, str) else list(dict.fromkeys(account_id))
        return self._decide(as_of, ids)

    def _decide(
        self, as_of: datetime, account_ids: list[str] | None, scorer: Scorer | None = None
    ) -> DecisionRun:
        with UnitOfWork(self._database) as uow:
            # Everything the run reads, in one transaction: who acts, the rules in force
            # (playbook, kill switches, demotions) and the accounts' records agree.
            actor = self._authorise(Permission.DECIDE, uow)
            if as_of.tzinfo is None:
                raise GovernanceError(f"as_of must carry a time zone, got {as_of}")
            playbook, version = self._required_playbook_in(uow)
            kill_switches = governance_service.active_kill_switches(store=uow, actor=actor)
            demotions = demotion_service.active_demotions(store=uow, actor=actor)
            stored = service.read_inputs(uow, as_of=as_of, account_ids=account_ids)
            uow.rollback()  # the reading transaction ends: nothing is held while deciding
            # The run is stored in the next transaction, on the same connection.
            run = service.decide(
                engine=uow,
                actor=actor,
                playbook=playbook,
                playbook_version=version,
                kill_switches=kill_switches,
                demoted=demotion_service.demoted_levels(demotions),
                as_of=as_of,
                now=self._clock(),
                account_ids=account_ids,
                stored=stored,
                scorer=scorer,
                on_stored=self._acting_on(playbook, version),
            )
            uow.commit()
        if run.batch.breaches:
            # The last guardrail pass refused moves the engine had chosen: they were dropped,
            # and until a person looks, autonomous actions wait for approval.
            self._demote_as_system(
                DemotionTrigger.GUARDRAIL_BREACH,
                reason=(
                    f"decision run {run.run_id}: the final guardrail pass refused "
                    f"{run.batch.breaches} chosen move(s)"
                ),
                evidence={"run_id": run.run_id, "refused": run.batch.breaches},
            )
        return run

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> list[ImportSummary]:
        """Land outcomes (purchases, replies, unsubscribes, …) for learning and measurement."""
        self._authorise(Permission.RECORD_OUTCOMES)
        records = list(outcomes)
        if not records:
            return []
        return import_records(engine=self._database, records=records, now=self._clock)

    def learn(self, *, as_of: datetime, seed: int = 0) -> LearnReport:
        """Review the live challenger, refit the response model on the decisions logged
        before ``as_of``, gate it against the champion and register it (champion,
        challenger, candidate or rejected; see :mod:`nextmove.decisions.learn_service`)."""
        return learn_service.learn(**self._learning(as_of), seed=seed)

    def update_model(self, *, as_of: datetime, seed: int = 0) -> OnlineUpdate:
        """Correct the champion between refits: measure its uplift on the decisions made
        since it was trained (outcomes up to ``as_of``) and register it with the new
        factors when they moved (see :mod:`nextmove.decisions.online_service`)."""
        return online_service.update_online(**self._learning(as_of), seed=seed)

    def _learning(self, as_of: datetime) -> _LearningCall:
        """What learning's use cases are called with, once the caller may learn."""
        actor = self._authorise(Permission.LEARN)
        if as_of.tzinfo is None:
            raise GovernanceError(f"as_of must carry a time zone, got {as_of}")
        playbook, version = self._required_playbook()
        return _LearningCall(
            engine=self._database, actor=actor, playbook=playbook, playbook_version=version,
            as_of=as_of, now=self._clock(),
        )  # fmt: skip

    def models(
        self, *, version: str | None = None, status: ModelStatus | str | None = None
    ) -> list[ModelRecord]:
        """The model registry, newest first: every fitted model, its status and evidence."""
        self._authorise(Permission.VIEW)
        wanted = None if status is None else _model_status(status)
        return learn_service.model_records(engine=self._database, version=version, status=wanted)

    def set_model_status(
        self, version: str, status: ModelStatus | str, *, reason: str
    ) -> ModelRecord:
        """Promote a registered model to champion, make it the challenger, or retire it
        (a person's decision, audited with its reason)."""
        actor = self._authorise(Permission.LEARN)
        _playbook, playbook_version = self._required_playbook()
        return learn_service.set_status(
            engine=self._database, actor=actor, version=version, status=_model_status(status),
            reason=reason, now=self._clock(), playbook_version=playbook_version,
        )  # fmt: skip

    def decisions(
        self,
        *,
        run_id: int | None = None,
        account_id: str | None = None,
        limit: int | None = None,
        include_no_action: bool = False,
    ) -> pl.DataFrame:
        """Return stored decisions, newest first, of a run and/or one account.

        By default the decisions that ask for something; ``include_no_action`` reads the
        runs' full logs, where every account's decision is, doing nothing included.
        """
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            repository = DecisionRepository(uow.connection)
            if not include_no_action:
                return repository.decisions(run_id=run_id, account_id=account_id, limit=limit)
            logged = repository.log(run_id) if run_id is not None else repository.logged()
        if logged.height and account_id is not None:
            logged = logged.filter(pl.col("account_id") == account_id)
        return logged.head(limit) if limit is not None else logged


def _model_status(status: ModelStatus | str) -> ModelStatus:
    try:
        return ModelStatus(status)
    except ValueError:
        known = ", ".join(s.value for s in ModelStatus)
        raise GovernanceError(f"unknown model status {status!r}; expected one of {known}") from None


class _LearningCall(TypedDict):
    engine: SqlEngine
    actor: Actor
    playbook: Playbook
    playbook_version: int | None
    as_of: datetime
    now: datetime

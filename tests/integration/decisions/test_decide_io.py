"""What a real-time decision reads and writes: one transaction to read, one to store, the
acting decisions handed on as stored, capacity counted per run; and concurrent decisions
stored whole, numbered apart, audited in one unbroken chain."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import event

from nextmove import Engine
from nextmove.decisions.repository import DecisionRepository
from nextmove.learning.model import ModelStatus
from nextmove.store import UnitOfWork

AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def _account_ids(engine: Engine) -> list[str]:
    with UnitOfWork(engine.database) as uow:
        rows = uow.connection.exec_driver_sql("SELECT account_id FROM accounts ORDER BY account_id")
        return [row[0] for row in rows]


def test_a_real_time_decision_reads_in_one_transaction_and_stores_in_another(
    decider: Engine,
) -> None:
    ids = _account_ids(decider)
    decider.decide_for(ids[0], as_of=AS_OF)  # warm: the first call may migrate or parse
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    event.listen(decider.database, "begin", count)
    try:
        runs = [decider.decide_for(account, as_of=AS_OF) for account in ids[1:41]]
    finally:
        event.remove(decider.database, "begin", count)
    assert any(run.batch.decisions["action"][0] != "no_action" for run in runs)  # some acted
    assert len(begun) == 2 * len(runs)


def test_the_acting_decisions_are_handed_on_as_stored(
    decider: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[pl.DataFrame] = []
    real = decider._acting_on

    def capturing(*args: Any) -> Any:
        act = real(*args)

        def hook(uow: UnitOfWork, run_id: int, decisions: pl.DataFrame) -> None:
            handed.append(decisions)
            act(uow, run_id, decisions)

        return hook

    monkeypatch.setattr(decider, "_acting_on", capturing)
    run = decider.decide(as_of=AS_OF)
    (acting,) = handed
    stored = decider.decisions(run_id=run.run_id)
    assert acting.height > 0
    assert acting.schema == stored.schema
    assert acting.equals(stored)  # values and order: newest first
    assert decider.outbox(limit=10_000)  # and acted on in the same transaction


def test_capacity_is_counted_per_action_owner_and_day(decider: Engine) -> None:
    first = decider.decide(as_of=AS_OF - timedelta(days=1))
    second = decider.decide(as_of=AS_OF)
    ids = _account_ids(decider)
    for account in ids[:5]:
        decider.decide_for(account, as_of=AS_OF + timedelta(hours=1))
    day = datetime(2026, 11, 22, tzinfo=UTC)
    with UnitOfWork(decider.database) as uow:
        repository = DecisionRepository(uow.connection)
        used = repository.capacity_used(
            day.date() - timedelta(days=6), day.date() + timedelta(days=1), day=day.date()
        )
        stored = repository.decisions()
    assert first.run_id < second.run_id
    counted: dict[tuple[str, str | None, bool], int] = {}
    for action, owner, in_day, n in used:
        counted[action, owner, in_day] = counted.get((action, owner, in_day), 0) + n
    expected: dict[tuple[str, str | None, bool], int] = {}
    for row in stored.filter(pl.col("autonomy").is_in(["auto", "approve", "recommend"])).iter_rows(
        named=True
    ):
        key = (row["action"], row["owner_id"], row["as_of"] >= day)
        expected[key] = expected.get(key, 0) + 1
    assert counted == expected and any(in_day for _, _, in_day in counted)


def test_concurrent_decisions_are_stored_whole_and_numbered_apart(decider: Engine) -> None:
    ids = _account_ids(decider)
    decider.decide_for(ids[0], as_of=AS_OF)
    failures: list[BaseException] = []
    runs: list[int] = []

    def decide(offset: int) -> None:
        try:
            for account in ids[offset : offset + 40 : 8]:
                runs.append(decider.decide_for(account, as_of=AS_OF).run_id)
        except BaseException as exc:  # reported below, with the thread's failure
            failures.append(exc)

    threads = [threading.Thread(target=decide, args=(offset,)) for offset in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(set(runs)) == len(runs) == 20
    acting = decider.decisions()
    assert acting["decision_id"].n_unique() == acting.height
    logged = decider.decisions(include_no_action=True)
    assert set(runs) <= set(logged["run_id"])
    per_run = acting.group_by("run_id").len()
    audited = {
        int(entry.subject.split(":")[1]): entry
        for entry in decider.audit_entries(limit=100, action="decision.run")
    }
    for run_id, count in per_run.iter_rows():
        assert f'"actions":{count}' in audited[run_id].details
    assert decider.verify_audit().ok


def test_the_serving_models_are_read_in_one_query(engine: Engine) -> None:
    with UnitOfWork(engine.database) as uow:
        repository = DecisionRepository(uow.connection)
        assert repository.serving_models() == (None, None)
        for version, status, at in (
            ("m-old", ModelStatus.CHAMPION, 1),
            ("m-champion", ModelStatus.CHAMPION, 2),
            ("m-first-challenger", ModelStatus.CHALLENGER, 3),
            ("m-challenger", ModelStatus.CHALLENGER, 4),
            ("m-rejected", ModelStatus.REJECTED, 5),
        ):
            repository.save_model(
                version=version,
                trained_at=AS_OF + timedelta(days=at),
                data_from=None,
                as_of=AS_OF,
                rows=10,
                params={"version": version},
                metrics={},
                status=status,
                evaluation={},
            )
        champion, challenger = repository.serving_models()
        assert champion == repository.active_model() == {"version": "m-champion"}
        assert challenger == repository.challenger_model()
        assert challenger == ("m-challenger", {"version": "m-challenger"})


def test_each_decision_follows_the_playbook_in_force_when_it_is_made(decider: Engine) -> None:
    ids = _account_ids(decider)
    # Decided moves count as touches: the last round takes accounts not decided before.
    early, late = ids[0::2], ids[1::2]
    stored = decider.playbook()
    assert stored is not None
    acting_text = stored.content
    first = [decider.decide_for(account, as_of=AS_OF) for account in early]
    assert any(run.decisions["action"][0] != "no_action" for run in first)
    strict = re.sub(r"min_expected_value: \d+", "min_expected_value: 999999999", acting_text)
    decider.apply_playbook(strict, message="nothing clears")
    second = [decider.decide_for(account, as_of=AS_OF) for account in late]
    chosen = pl.concat([run.decisions for run in second])
    assert chosen.filter(~pl.col("explored"))["action"].unique().to_list() == ["no_action"]
    assert {run.playbook_version for run in second} == {first[0].playbook_version + 1}
    decider.apply_playbook(acting_text, message="back to acting often")  # a text seen before
    third = [decider.decide_for(account, as_of=AS_OF) for account in late]
    assert {run.playbook_version for run in third} == {first[0].playbook_version + 2}
    chosen = pl.concat([run.decisions for run in third])
    assert (~chosen["explored"] & (chosen["action"] != "no_action")).any()

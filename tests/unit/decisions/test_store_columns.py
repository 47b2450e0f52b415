"""Storing a few decisions makes the run's columns in plain Python and as series: the same
frames, value for value and type for type, as the polars expressions a batch takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from nextmove.decisions import service
from nextmove.decisions.pipeline import DecisionBatch


def _decisions(actions: list[str | None], *, model_versions: bool = False) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(len(actions))],
            "action": pl.Series(actions, dtype=pl.String),
            "expected_value": [float(i) for i in range(len(actions))],
            "holdout": [i % 2 == 0 for i in range(len(actions))],
        }
    )
    if model_versions:
        frame = frame.with_columns(model_version=pl.Series([f"m{i}" for i in range(len(actions))]))
    return frame


def _batch(decisions: pl.DataFrame, as_of: datetime) -> DecisionBatch:
    return DecisionBatch(
        decisions=decisions,
        shadow_prices=pl.DataFrame(
            {"constraint_id": ["c1", "c2", "c3"], "binding": [True, False, None]}
        ),
        blocked=pl.DataFrame(),
        as_of=as_of,
        model_version="prior-1",
    )


def _both(monkeypatch: pytest.MonkeyPatch, make: object) -> tuple[object, object]:
    few = make()  # type: ignore[operator]
    with monkeypatch.context() as patched:
        patched.setattr(service, "_FEW_ROWS", -1)
        many = make()  # type: ignore[operator]
    return few, many


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2026, 11, 22, 18, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 18, 0, 0, 123_456, tzinfo=timezone(timedelta(0), "Z")),
        datetime(2026, 11, 22, 18, 0, tzinfo=ZoneInfo("Europe/London")),  # UTC in winter
        datetime(2026, 11, 22, 18, 0, tzinfo=timezone(timedelta(0))),  # named UTC too
        datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 22, 18, 0),
    ],
)
@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("model_versions", [False, True])
@pytest.mark.parametrize("playbook_version", [7, None])
def test_a_few_decisions_get_the_run_columns_a_batch_gets(
    as_of: datetime,
    rows: int,
    model_versions: bool,
    playbook_version: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acting = _decisions(["digital_program"] * rows, model_versions=model_versions)
    batch = _batch(acting, as_of)
    few, many = _both(monkeypatch, lambda: service._with_run(acting, 42, batch, playbook_version))
    assert isinstance(few, pl.DataFrame) and isinstance(many, pl.DataFrame)
    assert few.schema == many.schema
    assert few.equals(many)


def test_a_time_zone_other_than_utc_is_refused_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acting = _decisions(["digital_program"])
    batch = _batch(acting, datetime(2026, 6, 1, 12, tzinfo=ZoneInfo("Europe/Paris")))
    with pytest.raises(TypeError):
        service._with_run(acting, 1, batch, 1)


@pytest.mark.parametrize(
    "actions",
    [
        ["digital_program"],
        ["no_action"],
        ["no_action", "sales_outreach", None, "digital_program"],
        ["no_action", "no_action"],
        [None],
        [],
    ],
)
def test_a_few_decisions_act_as_many_would(
    actions: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    decisions = _decisions(actions)
    few, many = _both(monkeypatch, lambda: service._acting(decisions))
    assert isinstance(few, pl.DataFrame) and isinstance(many, pl.DataFrame)
    assert few.schema == many.schema and few.equals(many)


def test_a_few_summary_rows_are_those_of_many(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _batch(_decisions(["digital_program"]), datetime(2026, 11, 22, tzinfo=UTC))
    few, many = _both(monkeypatch, lambda: service._rows(batch.shadow_prices, "binding"))
    assert few == many == [{"constraint_id": "c1", "binding": True}]
    assert service._rows(batch.blocked) == []

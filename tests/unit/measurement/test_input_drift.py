"""Drift of the model's inputs: PSI per feature, the sample, the reference, the one alarm."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nextmove.decisions.context import ContextInputs
from nextmove.measurement.drift import psi_numeric
from nextmove.measurement.input_drift import (
    ENGINE_DRIVEN,
    KEY,
    FeatureShift,
    Reference,
    feature_alarm,
    feature_shifts,
    feature_snapshot,
    feature_sources,
    psi_by_feature,
    reference_time,
    sample_accounts,
)
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook

REPO = Path(__file__).resolve().parents[3]
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
N = 4000


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    text = (REPO / "examples" / "playbooks" / "b2b_saas.yaml").read_text(encoding="utf-8")
    return load_playbook(text).playbook


def _columns(*columns: np.ndarray) -> np.ndarray:
    return np.column_stack(columns).astype(np.float64)


def test_a_shifted_feature_flags_and_an_unchanged_one_does_not() -> None:
    rng = np.random.default_rng(11)
    reference = _columns(rng.lognormal(0, 1, N), rng.normal(0, 1, N))
    recent = _columns(rng.lognormal(1.0, 1, N), rng.normal(0, 1, N))
    moved, same = psi_by_feature(["score", "steady"], reference, recent)
    assert (moved.name, same.name) == ("score", "steady")
    assert moved.psi > 0.25 > 0.02 > same.psi
    assert moved.recent_mean > moved.reference_mean


def test_mostly_zero_and_binary_features_are_judged_on_their_shares() -> None:
    rng = np.random.default_rng(12)
    sparse = np.where(rng.random(N) < 0.8, 0.0, rng.exponential(1, N))
    sparse_again = np.where(rng.random(N) < 0.8, 0.0, rng.exponential(1, N))
    sparse_no_more = np.where(rng.random(N) < 0.3, 0.0, rng.exponential(1, N))
    flag, flag_again = (rng.random(N) < 0.3).astype(float), (rng.random(N) < 0.3).astype(float)
    flag_up = (rng.random(N) < 0.7).astype(float)
    reference = _columns(sparse, sparse, flag, flag)
    recent = _columns(sparse_again, sparse_no_more, flag_again, flag_up)
    quiet_sparse, loud_sparse, quiet_flag, loud_flag = psi_by_feature("abcd", reference, recent)
    assert quiet_sparse.psi < 0.02 and quiet_flag.psi < 0.02
    assert loud_sparse.psi > 0.25 and loud_flag.psi > 0.25


def test_a_constant_feature_stays_quiet_until_it_varies_either_way() -> None:
    rng = np.random.default_rng(13)
    zeros, ones = np.zeros(N), np.ones(N)
    some_up = np.where(rng.random(N) < 0.5, 0.0, rng.exponential(1, N))
    reference = _columns(zeros, zeros, ones)
    recent = _columns(zeros, some_up, np.where(rng.random(N) < 0.5, 0.0, 1.0))
    constant, rises, falls = psi_by_feature(["same", "up", "down"], reference, recent)
    assert constant.psi == pytest.approx(0.0)
    assert rises.psi > 0.25 and falls.psi > 0.25


def test_missing_values_are_a_bin_of_their_own() -> None:
    rng = np.random.default_rng(14)
    values = rng.normal(0, 1, N)
    some_missing = np.where(rng.random(N) < 0.05, np.nan, rng.normal(0, 1, N))
    many_missing = np.where(rng.random(N) < 0.5, np.nan, rng.normal(0, 1, N))
    assert psi_numeric(some_missing, np.where(rng.random(N) < 0.05, np.nan, values)) < 0.02
    assert psi_numeric(values, many_missing) > 0.25
    assert psi_numeric(np.full(N, np.nan), np.full(N, np.nan)) == pytest.approx(0.0)
    assert psi_numeric(np.full(N, np.nan), values) > 0.25
    found = psi_by_feature(["x"], _columns(some_missing), _columns(some_missing))[0]
    assert np.isfinite(found.reference_mean) and found.psi == pytest.approx(0.0)


def test_the_sample_is_bounded_sorted_and_stable_as_accounts_come_and_go() -> None:
    ids = pl.Series([f"acc-{i:05d}" for i in range(5000)])
    first = sample_accounts(ids, 1000, seed=3)
    assert len(first) == 1000 and first.is_sorted()
    assert first.equals(sample_accounts(ids.shuffle(seed=1), 1000, seed=3))
    grown = sample_accounts(pl.concat([ids, pl.Series(["acc-new"])]), 1000, seed=3)
    assert len(set(first) & set(grown)) >= 999
    assert not first.equals(sample_accounts(ids, 1000, seed=4))
    assert sample_accounts(ids.head(10), 1000, seed=3).equals(ids.head(10))


def test_the_reference_is_the_models_data_else_the_lookback_after_the_warm_up() -> None:
    start, first = AS_OF - timedelta(days=56), AS_OF - timedelta(days=200)
    trained = AS_OF - timedelta(days=20)

    def at(**given: object) -> Reference | None:
        chosen: dict[str, object] = dict(
            as_of=AS_OF, lookback_start=start, trained_as_of=None,
            first_signal_at=first, warmup_days=28,
        ) | given  # fmt: skip
        return reference_time(**chosen)  # type: ignore[arg-type]

    assert at() == Reference(start, "lookback")
    assert at(trained_as_of=trained) == Reference(trained, "model")
    assert at(trained_as_of=AS_OF + timedelta(days=1)) == Reference(start, "lookback")
    young = AS_OF - timedelta(days=40)
    assert at(first_signal_at=young) == Reference(young + timedelta(days=28), "warm-up")
    assert at(first_signal_at=AS_OF - timedelta(days=10)) is None
    assert at(first_signal_at=None) == Reference(start, "lookback")


def _shift(name: str, psi: float) -> FeatureShift:
    return FeatureShift(name, psi, reference_mean=0.1, recent_mean=0.4)


def test_one_alarm_names_the_worst_features_and_the_feeds_to_check(playbook: Playbook) -> None:
    shifts = [
        _shift("intent_surge_score", 0.41), _shift("web_visits_score", 0.33),
        _shift("prod-analytics-pro interest", 0.30), _shift("products_held", 0.29),
        _shift("usage_value", 0.28), _shift("log_employees", 0.27), _shift("customer", 0.1),
    ]  # fmt: skip
    reference = Reference(AS_OF - timedelta(days=56), "lookback")
    alarm = feature_alarm(
        shifts, reference=reference, as_of=AS_OF, accounts={"reference": 900, "recent": 1000},
        sources=feature_sources(playbook), settings=MonitorSettings(),
    )  # fmt: skip
    assert alarm is not None
    assert (alarm.key, alarm.kind, alarm.detector) == (KEY, "input", "psi")
    assert alarm.change_from == date(2026, 9, 25) and alarm.detected_on == AS_OF.date()
    assert alarm.summary.startswith(
        "6 model inputs drifted since 2026-09-25: intent_surge_score PSI 0.41, "
        "web_visits_score PSI 0.33, prod-analytics-pro interest PSI 0.30"
    )
    assert alarm.summary.endswith("usage_value PSI 0.28 and 1 more")
    assert alarm.proposal.startswith("refit the response model on recent data")
    assert "intent_surge signals, web_visit signals, signals naming prod-analytics-pro" in (
        alarm.proposal
    )
    drifted = alarm.evidence["drifted"]
    assert isinstance(drifted, list) and len(drifted) == 6
    assert drifted[0] == {
        "feature": "intent_surge_score", "psi": 0.41, "reference_mean": 0.1,
        "recent_mean": 0.4, "source": "intent_surge signals",
    }  # fmt: skip
    assert alarm.evidence["watched"] == 7 and alarm.evidence["reference_basis"] == "lookback"
    quiet = feature_alarm(
        shifts[-1:], reference=reference, as_of=AS_OF, accounts={}, sources={},
        settings=MonitorSettings(),
    )  # fmt: skip
    assert quiet is None


def _inputs(accounts: int, surge_share: float, seed: int) -> ContextInputs:
    rng = np.random.default_rng(seed)
    ids = [f"acc-{i:04d}" for i in range(accounts)]
    created = [date(2025, 1, 1)] * (accounts - 50) + [AS_OF.date() - timedelta(days=3)] * 50
    surging = [a for a in ids if rng.random() < surge_share]
    signals = pl.DataFrame(
        {
            "event_id": [f"e-{i}" for i in range(len(surging))],
            "account_id": surging,
            "signal_type": ["intent_surge"] * len(surging),
            "product_id": ["prod-a"] * len(surging),
            "value": [1.0] * len(surging),
            "occurred_at": [AS_OF - timedelta(days=1)] * len(surging),
        }
    )
    frames = ContextInputs.empty()
    return ContextInputs(
        accounts=frames.accounts.vstack(
            pl.DataFrame({"account_id": ids, "segment": ["smb"] * accounts, "created_on": created})
            .select(pl.col(c).cast(t) if c in ("account_id", "segment", "created_on")
                    else pl.lit(None, dtype=t).alias(c) for c, t in frames.accounts.schema.items())
        ),
        products=pl.DataFrame({"product_id": ["prod-a", "prod-b"]}),
        signals=signals,
    )  # fmt: skip


def test_snapshots_read_the_models_features_of_the_accounts_then(playbook: Playbook) -> None:
    inputs = _inputs(600, surge_share=0.6, seed=15)
    before = feature_snapshot(inputs, playbook, AS_OF - timedelta(days=30))
    now = feature_snapshot(inputs, playbook, AS_OF)
    assert (before.accounts, now.accounts) == (550, 600)
    assert not ENGINE_DRIVEN & set(now.names)
    assert "intent_surge_score" in now.names and "segment_smb" in now.names
    watched = feature_snapshot(inputs, playbook, AS_OF, watched={"intent_surge_score"})
    assert watched.names == ("intent_surge_score",) and watched.matrix.shape == (600, 1)
    shifts = feature_shifts(before, now, products=["prod-a", "prod-b"])
    assert shifts[0].name in {"intent_surge_score", "prod-a interest"}
    assert {s.name for s in shifts if s.psi > 0.25} == {"intent_surge_score", "prod-a interest"}
    assert "prod-b interest" not in {s.name for s in shifts}  # no account ever named it
    assert [s.psi for s in shifts] == sorted((s.psi for s in shifts), reverse=True)

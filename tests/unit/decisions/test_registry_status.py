"""What the gate's verdict makes of a refit: the registry's decision table."""

from __future__ import annotations

import numpy as np
import pytest

from nextmove.decisions.learn_service import _status
from nextmove.learning.gate import GateResult, Verdict, compare_models
from nextmove.learning.model import ModelStatus


def _gate(verdict: Verdict) -> GateResult:
    rng = np.random.default_rng(1)
    n = 5000
    truth = rng.uniform(0.01, 0.2, n)
    bought = (rng.random(n) < truth).astype(float)
    flat = np.full(n, truth.mean())
    candidate, champion = {
        Verdict.PROMOTE: (truth, flat),
        Verdict.REJECT: (flat, truth),
        Verdict.INCONCLUSIVE: (truth, truth),
    }[verdict]
    found = compare_models(
        candidate, champion, bought, exposure=np.ones(n), motion=np.full(n, -1),
        groups=np.arange(n), actions=(),
    )  # fmt: skip
    assert found.verdict is verdict
    return found


@pytest.mark.parametrize(
    ("verdict", "share", "live", "expected"),
    [
        (Verdict.REJECT, 0.0, False, ModelStatus.REJECTED),
        (Verdict.REJECT, 0.2, False, ModelStatus.REJECTED),
        (Verdict.PROMOTE, 0.0, False, ModelStatus.CHAMPION),
        (Verdict.PROMOTE, 0.2, True, ModelStatus.CHAMPION),
        (Verdict.INCONCLUSIVE, 0.0, False, ModelStatus.CHAMPION),  # newer data, not worse
        (Verdict.INCONCLUSIVE, 0.2, False, ModelStatus.CHALLENGER),  # must earn its place
        (Verdict.INCONCLUSIVE, 0.2, True, ModelStatus.CANDIDATE),  # one challenger at a time
        (None, 0.2, True, ModelStatus.CHAMPION),  # warm-up: no fair comparison yet
    ],
)
def test_a_refit_of_a_learned_champion(
    verdict: Verdict | None, share: float, live: bool, expected: ModelStatus
) -> None:
    gate = None if verdict is None else _gate(verdict)
    status, reasons = _status(gate, champion_learned=True, challenger_live=live, share=share)
    assert status is expected
    assert reasons


def test_the_first_model_serves_unless_the_gate_rejects_it() -> None:
    first, _ = _status(
        _gate(Verdict.INCONCLUSIVE), champion_learned=False, challenger_live=False, share=0.2
    )
    assert first is ModelStatus.CHAMPION
    bad, why = _status(
        _gate(Verdict.REJECT), champion_learned=False, challenger_live=False, share=0.2
    )
    assert bad is ModelStatus.REJECTED and why[0].startswith("predicts worse")

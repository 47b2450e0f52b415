"""The features' rounding steps (dividing, log, exp) run in Python for a few accounts and
as a polars query for many: the two must agree to the bit, edge values included."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import numpy as np
import polars as pl
import pytest

from nextmove.learning import features
from nextmove.learning.features import account_features
from nextmove.playbook.loader import load_playbook

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
EDGES = [0.0, -0.0, 1.0, -1.0, 5e-324, 1e-300, 709.78, 709.79, -745.2, -746.0, 1e308]
EDGES += [np.inf, -np.inf, np.nan]


def _values(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [
        rng.random(20_000) * 100,
        rng.exponential(5.0, 20_000),
        rng.uniform(-800.0, 800.0, 20_000),
        rng.integers(-50, 10**6, 20_000) / 7.0,
        np.array(EDGES),
    ]
    return np.concatenate(parts)


@pytest.mark.parametrize("kind", sorted(features._STEPS))
def test_each_step_agrees_bit_for_bit(kind: str) -> None:
    in_polars, in_python = features._STEPS[kind]
    values = _values(seed=len(kind))
    expected = pl.DataFrame({"x": values}).select(in_polars(pl.col("x"))).to_series().to_numpy()
    got = np.array([in_python(float(x)) for x in values])
    # Bits compared, NaN alike whatever its payload.
    both_nan = np.isnan(expected) & np.isnan(got)
    differ = (expected.view(np.int64) != got.view(np.int64)) & ~both_nan
    assert not differ.any(), (
        f"{kind}: {values[differ][:5]} → {expected[differ][:5]} vs {got[differ][:5]}"
    )


def test_a_few_accounts_get_the_features_many_would() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    names = features._FEATURES(playbook, None)[0]
    rng = np.random.default_rng(3)
    rows = 200
    columns: dict[str, pl.Series] = {
        "segment": pl.Series(
            "segment", [["smb", "mid", "ent", None][i] for i in rng.integers(0, 4, rows)]
        )
    }
    for feature in names:
        if feature.column in columns:
            continue
        values = rng.choice([0.0, 1.0, 3.5, 40.0, 1e6, -2.0, np.nan, -1.0], rows)
        series = pl.Series(feature.column, values)
        columns[feature.column] = series.scatter(rng.choice(rows, 20, replace=False), None)
    frame = pl.DataFrame(list(columns.values()))
    few = account_features(frame, playbook)
    with patch.object(features, "_FEW_ROWS", 0):
        many = account_features(frame, playbook)
    assert few.names == many.names
    assert few.matrix.tobytes() == many.matrix.tobytes()
    assert np.isfinite(few.matrix).sum() > few.matrix.size // 2  # the values took the steps

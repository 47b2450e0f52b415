"""Backoff: exponential, capped, jittered within stated bounds, reproducible by seed."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nextmove.execution import RetryPolicy, retry_delay

POLICY = RetryPolicy(max_attempts=8, base_delay=timedelta(seconds=30), max_delay=timedelta(hours=1))


def ceiling(attempt: int) -> float:
    return min(3600.0, 30.0 * 2 ** (attempt - 1))


@given(attempt=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32))
def test_every_delay_lies_between_half_the_ceiling_and_the_ceiling(attempt: int, seed: int) -> None:
    delay = retry_delay(attempt, POLICY, random.Random(seed)).total_seconds()
    top = ceiling(min(attempt, 20))
    assert top / 2 <= delay <= top


def test_delays_double_until_the_cap() -> None:
    rng = random.Random(3)
    lows = [min(retry_delay(n, POLICY, rng) for _ in range(200)) for n in range(1, 10)]
    highs = [max(retry_delay(n, POLICY, rng) for _ in range(200)) for n in range(1, 10)]
    assert lows[0] >= timedelta(seconds=15) and highs[0] <= timedelta(seconds=30)
    assert lows[3] >= timedelta(seconds=120) and highs[3] <= timedelta(seconds=240)
    assert highs[-1] <= timedelta(hours=1) and lows[-1] >= timedelta(minutes=30)
    # the floor of each attempt is the ceiling of the one before, until the cap
    assert all(lows[n + 1] >= highs[n] for n in range(6))


def test_jitter_spreads_items_that_failed_together() -> None:
    rng = random.Random(11)
    delays = {retry_delay(4, POLICY, rng) for _ in range(50)}
    assert len(delays) == 50
    spread = max(delays) - min(delays)
    assert spread > timedelta(seconds=60)  # most of the 120 s jitter range is used


def test_the_same_seed_gives_the_same_delays() -> None:
    first = [retry_delay(n, POLICY, random.Random(5)) for n in range(1, 6)]
    second = [retry_delay(n, POLICY, random.Random(5)) for n in range(1, 6)]
    assert first == second


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, POLICY, random.Random(0))


@pytest.mark.parametrize(
    ("attempts", "base", "cap"),
    [(0, 30, 60), (3, 0, 60), (3, 120, 60)],
)
def test_a_policy_must_make_sense(attempts: int, base: int, cap: int) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(
            max_attempts=attempts,
            base_delay=timedelta(seconds=base),
            max_delay=timedelta(seconds=cap),
        )

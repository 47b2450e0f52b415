"""Rate limits: token buckets that start full and refill with the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nextmove.execution import RateLimit, RateLimiter
from nextmove.execution.ratelimit import TokenBucket

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(RateLimit.per(6, 60), T0)  # six a minute: one every ten seconds
    assert bucket.available(T0) == 6
    bucket.take(6, T0)
    assert bucket.available(T0) == 0
    assert bucket.available(T0 + timedelta(seconds=9.9)) == 0
    assert bucket.available(T0 + timedelta(seconds=10)) == 1
    assert bucket.available(T0 + timedelta(seconds=35)) == 3
    bucket.take(3, T0 + timedelta(seconds=35))
    assert bucket.available(T0 + timedelta(seconds=35)) == 0


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(RateLimit(per_second=5, burst=2), T0)
    assert bucket.available(T0 + timedelta(days=1)) == 2


def test_a_clock_going_back_adds_nothing() -> None:
    bucket = TokenBucket(RateLimit(per_second=1, burst=3), T0)
    bucket.take(3, T0)
    assert bucket.available(T0 - timedelta(minutes=5)) == 0
    assert bucket.available(T0 + timedelta(seconds=1)) == 1


def test_taking_more_than_allowed_is_a_bug() -> None:
    bucket = TokenBucket(RateLimit(per_second=1, burst=1), T0)
    with pytest.raises(ValueError, match="only 1 allowed"):
        bucket.take(2, T0)


def test_the_limiter_keeps_one_bucket_per_connector_and_leaves_others_unlimited() -> None:
    limiter = RateLimiter({"crm": RateLimit.per(2, 1), "mail": RateLimit.per(1, 60)})
    assert limiter.allowance("crm", T0) == 2
    limiter.take("crm", 2, T0)
    assert limiter.allowance("crm", T0) == 0
    assert limiter.allowance("mail", T0) == 1  # spending crm's tokens left mail's alone
    assert limiter.allowance("webhook", T0) is None
    limiter.take("webhook", 1000, T0)
    assert limiter.allowance("crm", T0 + timedelta(seconds=1)) == 2


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_a_limit_must_be_positive(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimit(per_second=rate, burst=burst)

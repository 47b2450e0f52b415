"""Per-connector rate limits: token buckets read against the injected clock. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["RateLimit", "RateLimiter", "TokenBucket"]

_EPSILON = 1e-9  # so 0.9999999999 tokens after float arithmetic still count as one


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``burst`` sends at once, refilled at ``per_second`` sends a second."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0 or not math.isfinite(self.per_second):
            raise ValueError("per_second must be a positive number")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")

    @classmethod
    def per(cls, count: int, seconds: float, burst: int | None = None) -> RateLimit:
        """Return a limit of ``count`` sends every ``seconds``; the burst defaults to ``count``."""
        return cls(per_second=count / seconds, burst=burst if burst is not None else count)


class TokenBucket:
    """A bucket that starts full; each send takes a token, time puts them back."""

    def __init__(self, limit: RateLimit, start: datetime) -> None:
        self._limit = limit
        self._tokens = float(limit.burst)
        self._updated = start

    def _refill(self, at: datetime) -> None:
        elapsed = max(0.0, (at - self._updated).total_seconds())
        self._tokens = min(
            float(self._limit.burst), self._tokens + elapsed * self._limit.per_second
        )
        self._updated = max(self._updated, at)

    def available(self, at: datetime) -> int:
        """Return how many sends may go out at ``at``."""
        self._refill(at)
        return int(math.floor(self._tokens + _EPSILON))

    def take(self, count: int, at: datetime) -> None:
        """Spend ``count`` tokens; taking more than are available is a bug in the caller."""
        if count > self.available(at):
            raise ValueError(f"asked for {count} sends, only {self.available(at)} allowed")
        self._tokens -= count


class RateLimiter:
    """One token bucket per limited key (connector name); unlisted keys are unlimited.

    State lives in memory: each dispatching process limits its own sends.
    """

    def __init__(self, limits: Mapping[str, RateLimit]) -> None:
        self._limits = dict(limits)
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, key: str, at: datetime) -> TokenBucket | None:
        limit = self._limits.get(key)
        if limit is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(limit, at)
        return bucket

    def allowance(self, key: str, at: datetime) -> int | None:
        """Return how many sends ``key`` may make at ``at``; None when it is not limited."""
        bucket = self._bucket(key, at)
        return None if bucket is None else bucket.available(at)

    def take(self, key: str, count: int, at: datetime) -> None:
        """Record ``count`` sends by ``key`` at ``at``."""
        bucket = self._bucket(key, at)
        if bucket is not None and count:
            bucket.take(count, at)

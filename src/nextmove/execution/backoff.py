"""Retry timing: exponential backoff with jitter. Pure; randomness comes from the caller."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["RetryPolicy", "retry_delay"]

_MAX_DOUBLINGS = 60


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a connector's sends are tried.

    After failed attempt ``n`` the wait is drawn from ``[d/2, d]`` with
    ``d = min(max_delay, base_delay * 2**(n-1))``; after ``max_attempts`` the item is dead.
    """

    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay <= timedelta(0) or self.max_delay < self.base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")


def retry_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> timedelta:
    """Return how long to wait after failed attempt number ``attempt`` (1 is the first).

    Half the ceiling is fixed and half random ("equal jitter"): waits still grow with
    every failure, while many items failing together do not all come back at once.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    doublings = min(attempt - 1, _MAX_DOUBLINGS)
    ceiling = min(
        policy.max_delay.total_seconds(), policy.base_delay.total_seconds() * 2.0**doublings
    )
    half = ceiling / 2
    return timedelta(seconds=half + half * rng.random())

"""What every section of the readiness report reads: one assessment's data, rules and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nextmove.foundation.readiness.model import ReadinessInputs, ReadinessRules, Thresholds

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    """One assessment: conformed inputs, the rules, ``as_of`` (UTC) and the two windows."""

    data: ReadinessInputs
    rules: ReadinessRules
    as_of: datetime
    stale_after_days: int
    review_after_days: int

    @property
    def limits(self) -> Thresholds:
        """The thresholds of the rules."""
        return self.rules.thresholds

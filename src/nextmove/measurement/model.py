"""The measurement part's typed values: estimates with their uncertainty, and what they say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from pydantic import JsonValue

__all__ = [
    "DriftAlarm",
    "DriftReport",
    "Estimate",
    "ImpactReport",
    "LiftRow",
    "Metric",
    "OffPolicyEstimate",
    "PolicyEvaluation",
]


class Metric(StrEnum):
    """What an account's outcome is counted as, per account over a period."""

    REVENUE = "revenue"
    """Value of purchases and won opportunities."""
    CONVERSION = "conversion"
    """1 when the account bought something (purchase or won opportunity), else 0."""
    OPPORTUNITIES = "opportunities"
    """Opportunities created."""
    UNSUBSCRIBE = "unsubscribe"
    """1 when a contact of the account unsubscribed, else 0."""
    COMPLAINT = "complaint"
    """1 when a contact of the account complained, else 0."""


@dataclass(frozen=True)
class Estimate:
    """A number estimated from data, with its standard error and confidence interval."""

    value: float
    std_error: float
    low: float
    high: float
    confidence: float = 0.95

    def covers(self, truth: float) -> bool:
        """Return whether the interval contains ``truth``."""
        return self.low <= truth <= self.high

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class LiftRow:
    """Treated (not held out) against held-out accounts in one group, for one metric."""

    dimension: str
    """``all``, ``segment``, ``motion``, ``product`` or ``week``."""
    group: str
    metric: Metric
    treated: int
    control: int
    treated_mean: float
    control_mean: float
    lift: Estimate
    """Treated mean minus control mean, per account."""

    @property
    def relative(self) -> float | None:
        """The lift as a share of the control mean (None when that is 0)."""
        return self.lift.value / self.control_mean if self.control_mean else None

    @property
    def total(self) -> float:
        """The lift over every treated account: what the moves brought in all."""
        return self.lift.value * self.treated


@dataclass(frozen=True)
class ImpactReport:
    """Incremental lift of the engine's moves against the randomised holdout."""

    since: datetime
    until: datetime
    attribution_days: int
    rows: tuple[LiftRow, ...]
    predicted: float
    """What the engine expected its acting decisions to bring (sum of expected value)."""
    accounts: int
    decisions: int

    def row(
        self, dimension: str = "all", group: str = "all", metric: Metric = Metric.REVENUE
    ) -> LiftRow | None:
        """Return one row, or None when that group had no treated or no control accounts."""
        for row in self.rows:
            if (row.dimension, row.group, row.metric) == (dimension, group, metric):
                return row
        return None


@dataclass(frozen=True)
class OffPolicyEstimate:
    """One estimator's value of a target policy, per decision, from logged decisions."""

    method: str
    """``ips``, ``snips`` or ``dr``."""
    estimate: Estimate
    effective_sample_size: float


@dataclass(frozen=True)
class PolicyEvaluation:
    """What a candidate policy would have been worth on the logged decisions."""

    name: str
    decisions: int
    matched: int
    """Logged decisions where the candidate would have done what was done."""
    logged_value: float
    """What the logged decisions brought, per decision (the champion, measured)."""
    estimates: tuple[OffPolicyEstimate, ...]
    """The candidate's incremental value per decision over doing nothing."""
    by_action: dict[str, int] = field(default_factory=dict)
    """How often the candidate would choose each action."""

    def estimate(self, method: str) -> OffPolicyEstimate:
        """Return the estimate of ``method``."""
        for found in self.estimates:
            if found.method == method:
                return found
        raise KeyError(method)


@dataclass(frozen=True)
class DriftAlarm:
    """A detector that fired: what drifted, since when, the evidence and a proposed change."""

    key: str
    """Stable name of what is monitored, e.g. ``conversion:digital_program``."""
    kind: str
    """``conversion``, ``input`` or ``calibration``."""
    subject: str
    detector: str
    detected_on: date
    change_from: date | None
    summary: str
    proposal: str
    evidence: dict[str, JsonValue]


@dataclass(frozen=True)
class DriftReport:
    """What a monitoring pass looked at and what it found."""

    as_of: datetime
    monitored: tuple[str, ...]
    alarms: tuple[DriftAlarm, ...]
    opened: tuple[int, ...] = ()
    """Exceptions opened for new alarms."""
    demoted: tuple[str, ...] = ()
    """Actions demoted automatically (the playbook's ``drift_alert`` demotions)."""

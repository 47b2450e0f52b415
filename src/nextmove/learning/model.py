"""The model registry's types: a fitted model's status, its record, and what learning did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["ChallengerReview", "LearnReport", "ModelRecord", "ModelStatus"]


class ModelStatus(StrEnum):
    """Where a fitted model stands.

    ``champion`` decides for every account (one at a time); ``challenger`` decides for its
    share of accounts until it wins or loses against the champion; ``candidate`` passed
    no test with confidence and serves nobody; ``rejected`` failed its gate; ``retired``
    served once (or was a challenger) and no longer does.
    """

    CHAMPION = "champion"
    CHALLENGER = "challenger"
    CANDIDATE = "candidate"
    REJECTED = "rejected"
    RETIRED = "retired"


@dataclass(frozen=True)
class ModelRecord:
    """One model of the registry."""

    version: str
    status: ModelStatus
    trained_at: datetime
    data_from: datetime | None
    """The oldest decision learned from (None: unknown, registered before the registry)."""
    as_of: datetime
    """Decisions before this time (and outcomes up to it) were learned from."""
    rows: int
    metrics: dict[str, float]
    evaluation: dict[str, Any]
    """The gate's evidence, the reasons for the status, and later reviews."""
    status_at: datetime | None


@dataclass(frozen=True)
class ChallengerReview:
    """The champion/challenger test of a live challenger on its own share of accounts."""

    challenger: str
    champion: str
    outcome: str
    """``promoted``, ``retired`` or ``continues``."""
    reason: str
    accounts_challenger: int
    accounts_champion: int
    value_challenger: float
    """Realised value per decision (purchases in the window so far, minus the cost)."""
    value_champion: float
    difference: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {
            name: (value if not isinstance(value, float) or value == value else None)
            for name, value in self.__dict__.items()
        }


@dataclass(frozen=True)
class LearnReport:
    """What a learning run fitted and what became of it."""

    model_version: str
    rows: int
    decisions: int
    learned: bool
    metrics: dict[str, float]
    status: ModelStatus | None = None
    """The fitted model's status in the registry (None: nothing learned, nothing stored)."""
    reasons: tuple[str, ...] = ()
    champion: str | None = None
    """The champion after this run (None: the playbook's priors decide)."""
    challenger: str | None = None
    review: ChallengerReview | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)

"""The synthetic company's types: its configuration, the hidden truth, actions and the result.

The hidden truth is what a real company never sees: each account's latent need for
each product and its true response to each motion. It lives beside the observable
frames so that decisions can later be scored against an oracle, and is never written
to files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum, StrEnum

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "IMPORT_ORDER",
    "MOTIONS",
    "AccountClass",
    "HiddenTruth",
    "ImperfectionRates",
    "Motion",
    "ResponseType",
    "SimAction",
    "SimConfig",
    "SyntheticCompany",
]

IMPORT_ORDER: tuple[str, ...] = (
    "teams",
    "owners",
    "accounts",
    "contacts",
    "products",
    "holdings",
    "opportunities",
    "signals",
    "outcomes",
)
"""Record kinds in an order in which every reference resolves."""

Rate = float


class Motion(StrEnum):
    """A move the company can make toward an account."""

    SALES_OUTREACH = "sales_outreach"
    DIGITAL_PROGRAM = "digital_program"
    SERVICE_CONVERSATION = "service_conversation"
    NO_ACTION = "no_action"


MOTIONS: tuple[Motion, ...] = (
    Motion.SALES_OUTREACH,
    Motion.DIGITAL_PROGRAM,
    Motion.SERVICE_CONVERSATION,
)
"""The active motions, in the column order of the truth's per-motion matrices."""


class ResponseType(IntEnum):
    """How an account responds to one motion (the classic four uplift quadrants)."""

    SURE_THING = 0
    """Buys anyway; the motion adds nothing."""
    PERSUADABLE = 1
    """Buys more often because of the motion."""
    LOST_CAUSE = 2
    """The motion does not move them."""
    SLEEPING_DOG = 3
    """The motion hurts: fewer purchases, unsubscribes, complaints, churn."""


class AccountClass(IntEnum):
    """An account's baseline disposition, independent of any motion."""

    MOVABLE = 0
    SURE_THING = 1
    LOST_CAUSE = 2


class ImperfectionRates(BaseModel):
    """How dirty the generated data is; every rate is a share of accounts unless noted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    missing_industry: Rate = Field(0.06, ge=0, le=1)
    missing_owner: Rate = Field(0.05, ge=0, le=1)
    missing_segment: Rate = Field(0.04, ge=0, le=1)
    missing_domain: Rate = Field(0.03, ge=0, le=1)
    duplicate_accounts: Rate = Field(0.015, ge=0, le=0.2)
    """Share of accounts that are a second record of another account."""
    misspelled_industry: Rate = Field(0.01, ge=0, le=1)
    """Share of accounts whose industry is misspelled or off-vocabulary."""
    stale_accounts: Rate = Field(0.03, ge=0, le=1)
    """Share of accounts silenced for the last 60 days of history (and after it).

    Low-activity accounts can be quiet by chance too: at 12 signals per account about
    2-3% more accounts have no signal in the last 60 days.
    """
    inactive_owners: Rate = Field(0.05, ge=0, le=1)
    """Share of reps who have left (inactive) but still own accounts."""
    duplicate_products: bool = True
    """Keep ``prod-data-guard`` "Data Guard" in the catalog beside ``prod-dataguard``."""
    bad_rows_per_10k_accounts: float = Field(15.0, ge=0)
    """Invalid rows the writer injects into files (never into the in-memory frames)."""

    @classmethod
    def none(cls) -> ImperfectionRates:
        """Return rates for perfectly clean data (no imperfections, no bad rows)."""
        return cls(
            missing_industry=0,
            missing_owner=0,
            missing_segment=0,
            missing_domain=0,
            duplicate_accounts=0,
            misspelled_industry=0,
            stale_accounts=0,
            inactive_owners=0,
            duplicate_products=False,
            bad_rows_per_10k_accounts=0,
        )


class SimConfig(BaseModel):
    """Everything that shapes a synthetic company; the same config always yields the same one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, ge=0)
    company_name: str = "Northwind Analytics"
    accounts: int = Field(10_000, ge=1, le=20_000_000)
    start: date = date(2026, 8, 25)
    """The first day of the signal history."""
    history_days: int = Field(90, ge=1, le=3650)
    signals_per_account: float = Field(12.0, ge=0)
    total_signals: int | None = Field(None, ge=0)
    """Exact number of history signals; overrides ``signals_per_account``."""
    customer_rate: Rate = Field(0.6, ge=0, le=1)
    """Share of (non-duplicate) accounts holding a product when the history starts."""
    change_day: int = Field(60, ge=0)
    """Day index (from ``start``) from which the digital programme's response drifts."""
    digital_drift: float = Field(0.5, ge=0)
    """Multiplier on the digital programme's response (and email clicks) from ``change_day``."""
    unsubscribe_cost: float = Field(500.0, ge=0)
    """Value lost when a contact unsubscribes; used by the oracle's expected value."""
    imperfections: ImperfectionRates = ImperfectionRates()

    @property
    def as_of(self) -> date:
        """The last day of the history (inclusive)."""
        return self.start + timedelta(days=self.history_days - 1)

    @property
    def signal_count(self) -> int:
        """The number of history signals to generate."""
        if self.total_signals is not None:
            return self.total_signals
        return round(self.accounts * self.signals_per_account)


class SimAction(BaseModel):
    """One move made toward one account on one day, as the world receives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    motion: Motion
    day: date
    product_id: str | None = None


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class HiddenTruth:
    """The latent state behind the observable frames, aligned by row with ``account_ids``.

    Matrices are ``(accounts, products)`` in the order of ``product_ids``, or
    ``(accounts, motions)`` in the order of ``MOTIONS``. Probabilities are per day.
    """

    account_ids: tuple[str, ...]
    product_ids: tuple[str, ...]
    need: FloatArray
    """Latent need for each product, 0..1."""
    baseline: FloatArray
    """Daily probability of buying each product with no action, if eligible."""
    account_class: IntArray
    """``AccountClass`` code per account."""
    response: IntArray
    """``ResponseType`` code per account and motion."""
    uplift: FloatArray
    """Change in next-day purchase probability of the best-fitting product per motion."""
    harm: FloatArray
    """Probability that a motion makes a contact unsubscribe, per account and motion."""
    churn: FloatArray
    """Probability that a motion makes a customer leave, per account and motion."""
    held_at_start: BoolArray
    """Products held when the history starts (before history purchases)."""
    held: BoolArray
    """Products held at the end of the history (``as_of``)."""
    prerequisites: tuple[tuple[int, ...], ...]
    """Product indexes each product requires, by product index."""
    value: FloatArray
    """Annual value of a purchase of each product by each account."""
    activity: FloatArray
    """Relative signal intensity per account (zero for dormant accounts)."""
    stale: BoolArray
    """Accounts deliberately silent for the last 60+ days of history (and after it)."""
    contact_account: IntArray
    """Account index of each contact row."""
    pending_signals: pl.DataFrame
    """Signals already set in motion that fall after ``as_of`` (ticket closes)."""
    next_event_number: int
    """The number the next signal's ``evt-`` id takes."""
    next_ticket_number: int
    duplicate_of: dict[str, str] = field(default_factory=dict)
    """Duplicate account id -> the account it duplicates."""
    product_aliases: dict[str, str] = field(default_factory=dict)
    """Catalog id that names the same product as another -> the canonical id."""


@dataclass(frozen=True, eq=False)
class SyntheticCompany:
    """A generated company: one polars frame per record kind plus its hidden truth.

    Frame columns are exactly the field names of the matching ``nextmove.domain`` record.
    """

    config: SimConfig
    teams: pl.DataFrame
    owners: pl.DataFrame
    accounts: pl.DataFrame
    contacts: pl.DataFrame
    products: pl.DataFrame
    holdings: pl.DataFrame
    opportunities: pl.DataFrame
    signals: pl.DataFrame
    outcomes: pl.DataFrame
    truth: HiddenTruth

    @property
    def as_of(self) -> date:
        """The last day of the history."""
        return self.config.as_of

    @property
    def name(self) -> str:
        """The company's name."""
        return self.config.company_name

    def frames(self) -> dict[str, pl.DataFrame]:
        """Return every frame by kind, in import order."""
        return {kind: getattr(self, kind) for kind in IMPORT_ORDER}

"""The typed, validated, immutable records every part of nextmove shares.

Field constraints are declared here once; the columnar import validator derives its
checks from these models, so a row accepted in bulk is a row these models accept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from nextmove.domain.vocabulary import (
    Consent,
    OpportunityStage,
    OutcomeType,
    OwnerRole,
    Segment,
    TeamFunction,
)

__all__ = [
    "RECORD_TYPES",
    "Account",
    "Contact",
    "Holding",
    "Opportunity",
    "Outcome",
    "Owner",
    "Product",
    "Record",
    "Signal",
    "Team",
]

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


def _lowercase(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


Code = Annotated[
    str,
    BeforeValidator(_lowercase),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.:-]+$"),
]
"""A lower-case token such as a signal type (``web_visit``); input is lower-cased first."""
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Score = Annotated[float, Field(allow_inf_nan=False)]


class Record(BaseModel):
    """Base of all records: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    kind: ClassVar[str]
    """The plural name used by importers, tables and the CLI (``accounts``)."""
    key: ClassVar[tuple[str, ...]]
    """Fields that identify a record; re-importing the same key updates it."""


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Account(Record):
    """A company nextmove may decide a move for."""

    kind: ClassVar[str] = "accounts"
    key: ClassVar[tuple[str, ...]] = ("account_id",)

    account_id: Id
    name: Name
    domain: Text | None = None
    industry: Text | None = None
    segment: Segment | None = None
    country: Text | None = None
    region: Text | None = None
    employees: Count | None = None
    annual_revenue: Money | None = None
    owner_id: Id | None = None
    parent_account_id: Id | None = None
    created_on: date | None = None


class Contact(Record):
    """A person at an account, with per-channel consent."""

    kind: ClassVar[str] = "contacts"
    key: ClassVar[tuple[str, ...]] = ("contact_id",)

    contact_id: Id
    account_id: Id
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    title: Text | None = None
    country: Text | None = None
    email_consent: Consent = Consent.UNKNOWN
    phone_consent: Consent = Consent.UNKNOWN
    do_not_contact: bool = False


class Product(Record):
    """A catalog entry: what can be sold, what it needs first, and who keeps it true."""

    kind: ClassVar[str] = "products"
    key: ClassVar[tuple[str, ...]] = ("product_id",)

    product_id: Id
    name: Name
    family: Text | None = None
    list_price: Money | None = None
    prerequisites: tuple[Id, ...] = ()
    related: tuple[Id, ...] = ()
    truth_owner: Text | None = None
    last_reviewed: date | None = None
    active: bool = True

    @model_validator(mode="after")
    def _not_its_own_prerequisite(self) -> Product:
        if self.product_id in self.prerequisites:
            raise ValueError("a product cannot be its own prerequisite")
        return self


class Holding(Record):
    """An account owns a product."""

    kind: ClassVar[str] = "holdings"
    key: ClassVar[tuple[str, ...]] = ("account_id", "product_id")

    account_id: Id
    product_id: Id
    since: date | None = None
    quantity: Count = 1
    annual_value: Money | None = None


class Opportunity(Record):
    """A deal in the pipeline."""

    kind: ClassVar[str] = "opportunities"
    key: ClassVar[tuple[str, ...]] = ("opportunity_id",)

    opportunity_id: Id
    account_id: Id
    product_id: Id | None = None
    stage: OpportunityStage
    amount: Money | None = None
    created_on: date | None = None
    close_date: date | None = None
    owner_id: Id | None = None

    @model_validator(mode="after")
    def _closes_after_it_opens(self) -> Opportunity:
        if self.created_on and self.close_date and self.close_date < self.created_on:
            raise ValueError("close_date is before created_on")
        return self


class Signal(Record):
    """Something observed about an account: a visit, an intent surge, a ticket, a usage score.

    ``ref`` names the thing an event is about (a ticket number) so that states which open
    and close can be paired. Times are always timezone-aware UTC.
    """

    kind: ClassVar[str] = "signals"
    key: ClassVar[tuple[str, ...]] = ("event_id",)

    event_id: Id
    account_id: Id
    signal_type: Code
    product_id: Id | None = None
    contact_id: Id | None = None
    value: Score = 1.0
    occurred_at: datetime
    source: Text | None = None
    ref: Id | None = None

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class Outcome(Record):
    """A result: a purchase, an opportunity created/won/lost, an unsubscribe, a complaint."""

    kind: ClassVar[str] = "outcomes"
    key: ClassVar[tuple[str, ...]] = ("outcome_id",)

    outcome_id: Id
    account_id: Id
    outcome_type: OutcomeType
    product_id: Id | None = None
    contact_id: Id | None = None
    opportunity_id: Id | None = None
    value: Money = 0.0
    occurred_at: datetime
    source: Text | None = None

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class Team(Record):
    """A group of owners with a function and a daily capacity."""

    kind: ClassVar[str] = "teams"
    key: ClassVar[tuple[str, ...]] = ("team_id",)

    team_id: Id
    name: Name
    function: TeamFunction
    capacity_per_day: Count | None = None


class Owner(Record):
    """A person who owns accounts or acts on moves: a rep, a CSM, a marketer."""

    kind: ClassVar[str] = "owners"
    key: ClassVar[tuple[str, ...]] = ("owner_id",)

    owner_id: Id
    name: Name
    email: Text | None = None
    team_id: Id | None = None
    role: OwnerRole = OwnerRole.OTHER
    manager_id: Id | None = None
    capacity_per_day: Count | None = None
    active: bool = True


RECORD_TYPES: dict[str, type[Record]] = {
    record.kind: record
    for record in (Team, Owner, Account, Contact, Product, Holding, Opportunity, Signal, Outcome)
}
"""Every importable record type by kind, in an order in which references resolve."""

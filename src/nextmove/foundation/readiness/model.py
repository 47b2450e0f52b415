"""The readiness report's types: the rules it judges by, the report, and its inputs.

The rules (``ReadinessRules`` and its parts) validate ``readiness.yaml``; the report
(``ReadinessReport`` and its parts) is frozen and JSON-serialisable; ``ReadinessInputs``
holds the stored records as polars frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Self

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nextmove.foundation.identity import FREE_MAIL_DOMAINS, DuplicatePair
from nextmove.foundation.schema import record_schema

__all__ = [
    "RECORD_KINDS",
    "Blocker",
    "Channel",
    "Check",
    "Condition",
    "DecisionReadiness",
    "DecisionRule",
    "DuplicateSummary",
    "FieldCompleteness",
    "Finding",
    "FreshnessSummary",
    "KindCompleteness",
    "OwnershipSummary",
    "Population",
    "ProductNameConflict",
    "QuarantineGroup",
    "QuarantineSummary",
    "ReadinessInputs",
    "ReadinessReport",
    "ReadinessRules",
    "Section",
    "Severity",
    "Thresholds",
    "Vocabulary",
    "VocabularyCheck",
    "VocabularyConflict",
]


# --------------------------------------------------------------------------- the rules


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """How much a finding matters: information, a warning, or a blocker."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for critical, 1 for warning, 2 for info (sort order of a report)."""
        return (Severity.CRITICAL, Severity.WARNING, Severity.INFO).index(self)


class Section(StrEnum):
    """The part of the report a finding belongs to."""

    COMPLETENESS = "completeness"
    FRESHNESS = "freshness"
    DUPLICATES = "duplicates"
    OWNERSHIP = "ownership"
    VOCABULARY = "vocabulary"
    QUARANTINE = "quarantine"


class Check(StrEnum):
    """What a condition of a decision type checks on an account."""

    FILLED = "filled"
    KNOWN_VALUE = "known_value"
    OWNER = "owner"
    RECENT_SIGNAL = "recent_signal"
    REACHABLE_CONTACT = "reachable_contact"


class Channel(StrEnum):
    """A channel a contact can be reached on."""

    EMAIL = "email"
    PHONE = "phone"


class Population(StrEnum):
    """The accounts a decision type is about."""

    CUSTOMERS = "customers"
    PROSPECTS = "prospects"
    ALL = "all"

    @property
    def label(self) -> str:
        """Plain words for the population."""
        return {
            Population.CUSTOMERS: "customer accounts",
            Population.PROSPECTS: "prospect accounts",
            Population.ALL: "accounts",
        }[self]


class Thresholds(_Frozen):
    """When a finding is a warning or critical, and the fuzzy-match cut-offs."""

    ready: float = Field(0.8, ge=0, le=1)
    usable: float = Field(0.5, ge=0, le=1)
    completeness: float = Field(0.9, ge=0, le=1)
    critical_share: float = Field(0.2, ge=0, le=1)
    duplicate_confidence: float = Field(0.7, ge=0, le=1)
    duplicate_name_score: float = Field(90.0, ge=0, le=100)
    suggestion_score: float = Field(80.0, ge=0, le=100)
    product_name_score: float = Field(92.0, ge=0, le=100)
    examples: int = Field(5, ge=0)
    top: int = Field(10, ge=1)


_ACCOUNT_FIELDS = frozenset(record_schema("accounts").field_names)


class Condition(_Frozen):
    """One thing an account must have for a decision type to have enough data."""

    check: Check
    fields: tuple[str, ...] = ()
    vocabulary: str | None = None
    within_days: int | None = Field(None, ge=0)
    channels: tuple[Channel, ...] = (Channel.EMAIL, Channel.PHONE)
    consent: Literal["not_opted_out", "opted_in"] = "not_opted_out"
    label: str | None = None

    @model_validator(mode="after")
    def _fields_fit_the_check(self) -> Self:
        if self.check in (Check.FILLED, Check.KNOWN_VALUE) and not self.fields:
            raise ValueError(f"a {self.check} condition needs fields")
        unknown = sorted(set(self.fields) - _ACCOUNT_FIELDS)
        if unknown:
            raise ValueError(f"unknown account field(s) {', '.join(unknown)}")
        if self.check is Check.KNOWN_VALUE and len(self.fields) != 1:
            raise ValueError("a known_value condition checks exactly one field")
        if self.check is Check.REACHABLE_CONTACT and not self.channels:
            raise ValueError("a reachable_contact condition needs at least one channel")
        return self

    @property
    def signature(self) -> Condition:
        """The condition without its label: equal signatures are computed once."""
        return self.model_copy(update={"label": None})

    def describe(self, stale_after_days: int) -> str:
        """Return the condition in plain words (its label, or a default)."""
        days = self.within_days if self.within_days is not None else stale_after_days
        if self.label:
            return self.label.replace("{days}", str(days))
        match self.check:
            case Check.FILLED:
                return " or ".join(self.fields).replace("_", " ")
            case Check.KNOWN_VALUE:
                return f"a known {self.fields[0].replace('_', ' ')}"
            case Check.OWNER:
                return "a known, active owner"
            case Check.RECENT_SIGNAL:
                return f"a signal in the last {days} days"
            case _:
                return f"a contact reachable by {' or '.join(self.channels)}"


class DecisionRule(_Frozen):
    """A decision type: which accounts it is for and what each of them needs."""

    label: str
    description: str = ""
    population: Population
    conditions: tuple[Condition, ...] = ()


class Vocabulary(_Frozen):
    """A known list: accepted values, accepted other spellings, known wrong spellings."""

    values: tuple[str, ...] = ()
    synonyms: dict[str, str] = Field(default_factory=dict)
    """Other accepted spellings → value (``Germany`` → ``DE``)."""
    aliases: dict[str, str] = Field(default_factory=dict)
    """Known off-list spellings → the value to use instead (``SaaS`` → ``software``)."""
    ignore_case: bool = False

    @model_validator(mode="after")
    def _targets_are_values(self) -> Self:
        known = set(self.values)
        for section in ("synonyms", "aliases"):
            wrong = sorted({v for v in getattr(self, section).values() if v not in known})
            if wrong:
                raise ValueError(f"{section} point at unknown value(s) {', '.join(wrong)}")
        return self

    def accepted(self) -> list[str]:
        """Return every accepted spelling (lower-cased when case is ignored)."""
        spellings = [*self.values, *self.synonyms]
        return [s.lower() for s in spellings] if self.ignore_case else spellings


class VocabularyCheck(_Frozen):
    """A field whose values are compared with a vocabulary."""

    kind: Literal["accounts", "contacts"]
    field: str
    vocabulary: str

    @model_validator(mode="after")
    def _field_exists(self) -> Self:
        if self.field not in record_schema(self.kind).field_names:
            raise ValueError(f"{self.kind} have no field {self.field}")
        return self


class ReadinessRules(_Frozen):
    """Everything the report judges by; loaded from ``readiness.yaml``."""

    version: int = 1
    thresholds: Thresholds = Field(default_factory=Thresholds)
    decision_types: dict[str, DecisionRule] = Field(default_factory=dict)
    vocabulary_checks: tuple[VocabularyCheck, ...] = ()
    vocabularies: dict[str, Vocabulary] = Field(default_factory=dict)
    free_mail_domains: tuple[str, ...] = tuple(sorted(FREE_MAIL_DOMAINS))

    @model_validator(mode="after")
    def _vocabularies_exist(self) -> Self:
        named = [check.vocabulary for check in self.vocabulary_checks] + [
            condition.vocabulary or condition.fields[0]
            for rule in self.decision_types.values()
            for condition in rule.conditions
            if condition.check is Check.KNOWN_VALUE
        ]
        missing = sorted(set(named) - set(self.vocabularies))
        if missing:
            raise ValueError(f"no vocabulary named {', '.join(missing)}")
        return self


# --------------------------------------------------------------------------- the report


class Finding(_Frozen):
    """One thing worth knowing about the data, in a line a rev-ops person understands."""

    section: Section
    code: str
    """Stable identifier (``freshness.stale_accounts``) for tools and tests."""
    severity: Severity
    headline: str
    count: int
    total: int | None = None
    share: float | None = None
    examples: tuple[str, ...] = ()
    suggestion: str | None = None


class Blocker(_Frozen):
    """A condition of a decision type and how many of its accounts fail it."""

    condition: str
    check: Check
    failing: int
    share: float


class DecisionReadiness(_Frozen):
    """How much of a decision type's population has enough data to decide on."""

    decision_type: str
    label: str
    description: str
    population: Population
    population_label: str
    accounts: int
    ready: int
    score: float
    """Share (0–1) of ``accounts`` that meet every condition."""
    severity: Severity
    headline: str
    blockers: tuple[Blocker, ...]
    """Every condition, the one failed most often first."""


class FieldCompleteness(_Frozen):
    """How often one field is filled, and which decision types need it."""

    field: str
    filled: int
    share: float
    needed_by: tuple[str, ...] = ()


class KindCompleteness(_Frozen):
    """Fill rates of every field of one record kind."""

    kind: str
    rows: int
    fields: tuple[FieldCompleteness, ...]


class FreshnessSummary(_Frozen):
    """How recent the signals and the product reviews are, as of the report."""

    stale_after_days: int
    review_after_days: int
    accounts: int
    stale_accounts: int
    """Accounts whose latest signal is older than the window (not counting never)."""
    never_signalled: int
    active_products: int
    past_review: int
    never_reviewed: int


class DuplicateSummary(_Frozen):
    """Probable duplicate accounts (see ``identity.py``); none is merged."""

    pairs: int
    accounts: int
    top: tuple[DuplicatePair, ...]


class OwnershipSummary(_Frozen):
    """Who keeps what true and who acts: the gaps."""

    accounts: int
    without_owner: int
    unknown_owner: int
    inactive_owner: int
    active_products: int
    products_without_truth_owner: int
    active_owners: int
    owners_without_team: int
    teams: int
    teams_without_capacity: int


class VocabularyConflict(_Frozen):
    """A value outside a known list, how often it occurs, and the closest known value."""

    kind: str
    field: str
    value: str
    rows: int
    suggestion: str | None = None
    score: float | None = None


class ProductNameConflict(_Frozen):
    """One product under two names: two catalog entries, or a quarantined reference."""

    source: Literal["catalog", "quarantine"]
    kind: str
    field: str
    value: str
    """The second name: a catalog entry's name or the quarantined value."""
    value_product_id: str | None = None
    product_id: str
    product_name: str
    score: float
    rows: int
    fix: str


class QuarantineGroup(_Frozen):
    """Quarantined rows sharing a kind, a field and a reason."""

    kind: str
    field: str | None
    reason: str
    rows: int
    examples: tuple[str, ...] = ()


class QuarantineSummary(_Frozen):
    """Rows rejected by the latest import of each file, and why."""

    entries: int
    rows: int
    by_kind: dict[str, int]
    top: tuple[QuarantineGroup, ...]


class ReadinessReport(_Frozen):
    """The foundation readiness report (JSON-serialisable; see ``report.py`` to render)."""

    as_of: datetime
    headline: str
    record_counts: dict[str, int]
    decisions: tuple[DecisionReadiness, ...]
    findings: tuple[Finding, ...]
    """Most severe first."""
    completeness: tuple[KindCompleteness, ...]
    freshness: FreshnessSummary
    duplicates: DuplicateSummary
    ownership: OwnershipSummary
    vocabulary: tuple[VocabularyConflict, ...]
    product_names: tuple[ProductNameConflict, ...]
    quarantine: QuarantineSummary

    def findings_of(self, severity: Severity) -> tuple[Finding, ...]:
        """Return the findings of one severity."""
        return tuple(f for f in self.findings if f.severity is severity)


# --------------------------------------------------------------------------- the inputs

RECORD_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "owners", "teams")
"""The kinds of stored record, in the order the report lists them."""


@dataclass(frozen=True, slots=True)
class ReadinessInputs:
    """The stored data the report reads, as polars frames named like the stored tables.

    Any frame may be empty, miss columns or hold all-null columns. ``last_signals`` has
    (account_id, last_signal_at UTC); ``quarantine`` (run_id, kind, file, row_number,
    field, value, reason).
    """

    accounts: pl.DataFrame = field(default_factory=pl.DataFrame)
    contacts: pl.DataFrame = field(default_factory=pl.DataFrame)
    products: pl.DataFrame = field(default_factory=pl.DataFrame)
    holdings: pl.DataFrame = field(default_factory=pl.DataFrame)
    opportunities: pl.DataFrame = field(default_factory=pl.DataFrame)
    owners: pl.DataFrame = field(default_factory=pl.DataFrame)
    teams: pl.DataFrame = field(default_factory=pl.DataFrame)
    last_signals: pl.DataFrame = field(default_factory=pl.DataFrame)
    quarantine: pl.DataFrame = field(default_factory=pl.DataFrame)

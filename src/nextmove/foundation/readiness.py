"""The foundation readiness report: can the data carry decisions yet, and if not, why not.

Pure: takes polars frames of the stored records (``ReadinessInputs``) and the rules of
``readiness.yaml`` (data, not code: a user may pass their own) and returns a
JSON-serialisable ``ReadinessReport``. ``as_of`` is always passed in.

Sections: readiness per decision type (its population and the share of it with enough
data, with the conditions that block the rest), then findings on completeness,
freshness, duplicates, ownership, vocabulary (including one product under two names)
and quarantine. Each finding has a severity and a one-line headline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal, Self

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rapidfuzz import fuzz, process

from nextmove.errors import ConfigurationError, NotFound
from nextmove.foundation.identity import (
    FREE_MAIL_DOMAINS,
    DuplicatePair,
    duplicate_pairs,
    pairs_from_frame,
)
from nextmove.foundation.schema import record_schema

__all__ = [
    "RULES_FILE",
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
    "assess_readiness",
    "default_rules",
    "load_rules",
    "percent",
]

RULES_FILE = Path(__file__).with_name("readiness.yaml")
"""The built-in rules: decision types, known vocabularies and thresholds."""


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


def load_rules(path: str | Path | None = None) -> ReadinessRules:
    """Return the readiness rules in ``path`` (default: the built-in ``readiness.yaml``)."""
    return default_rules() if path is None else _read_rules(Path(path))


@cache
def default_rules() -> ReadinessRules:
    """Return the built-in readiness rules (read once)."""
    return _read_rules(RULES_FILE)


def _read_rules(path: Path) -> ReadinessRules:
    if not path.is_file():
        raise NotFound(f"readiness rules file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"readiness rules {path} are not valid YAML: {exc}") from exc
    try:
        return ReadinessRules.model_validate(content or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(f"readiness rules {path} are invalid: {problems}") from exc


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


_UTC = pl.Datetime("us", "UTC")
_BASE_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "enum": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": _UTC,
    "list": pl.List(pl.String),
}
_RECORD_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "owners", "teams")
_OTHER_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "last_signals": {"account_id": pl.String(), "last_signal_at": _UTC},
    "quarantine": {
        "run_id": pl.Int64(),
        "kind": pl.String(),
        "file": pl.String(),
        "row_number": pl.Int64(),
        "field": pl.String(),
        "value": pl.String(),
        "reason": pl.String(),
    },
}


def _schema(name: str) -> dict[str, pl.DataType]:
    if name in _OTHER_SCHEMAS:
        return _OTHER_SCHEMAS[name]
    return {spec.name: _BASE_TYPES[spec.base] for spec in record_schema(name).fields}


def _conformed(inputs: ReadinessInputs) -> ReadinessInputs:
    """Every frame with exactly its expected columns and types (missing ones all null)."""
    frames = {f.name: _conform(getattr(inputs, f.name), _schema(f.name)) for f in fields(inputs)}
    return replace(inputs, **frames)


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    height = frame.height
    columns = [
        _cast(frame[name], dtype)
        if name in frame.columns
        else pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
        for name, dtype in schema.items()
    ]
    return pl.DataFrame(columns)


def _cast(column: pl.Series, dtype: pl.DataType) -> pl.Series:
    if isinstance(dtype, pl.Datetime) and isinstance(column.dtype, pl.Datetime):
        zoned = (
            column.dt.replace_time_zone("UTC")
            if column.dtype.time_zone is None
            else column.dt.convert_time_zone("UTC")
        )
        return zoned.cast(dtype)
    return column if column.dtype == dtype else column.cast(dtype, strict=False)


# --------------------------------------------------------------------------- assessment


@dataclass(frozen=True, slots=True)
class _Context:
    data: ReadinessInputs
    rules: ReadinessRules
    as_of: datetime
    stale_after_days: int
    review_after_days: int

    @property
    def limits(self) -> Thresholds:
        return self.rules.thresholds


def assess_readiness(
    inputs: ReadinessInputs,
    *,
    as_of: date | datetime,
    stale_after_days: int = 60,
    review_after_days: int = 365,
    rules: ReadinessRules | None = None,
) -> ReadinessReport:
    """Return the readiness report of ``inputs`` as of ``as_of``.

    A date ``as_of`` means the start of that day (UTC); a naive datetime is taken as UTC.
    Quarantine is read from the latest import of each file only (earlier runs of the same
    file are history).
    """
    context = _Context(
        data=_conformed(inputs),
        rules=rules or default_rules(),
        as_of=_as_utc(as_of),
        stale_after_days=stale_after_days,
        review_after_days=review_after_days,
    )
    facts, condition_columns = _account_facts(context)
    decisions = tuple(
        _decision_readiness(name, rule, facts, condition_columns, context)
        for name, rule in context.rules.decision_types.items()
    )
    completeness, completeness_findings = _completeness(context)
    freshness, freshness_findings = _freshness(facts, context)
    duplicates, duplicate_findings = _duplicates(context)
    ownership, ownership_findings = _ownership(context)
    vocabulary, vocabulary_findings = _vocabulary(context)
    product_names, product_findings = _product_names(context)
    quarantine, quarantine_findings = _quarantine(context)
    findings = sorted(
        [
            *completeness_findings,
            *freshness_findings,
            *duplicate_findings,
            *ownership_findings,
            *vocabulary_findings,
            *product_findings,
            *quarantine_findings,
        ],
        key=lambda f: (f.severity.rank, list(Section).index(f.section), -f.count),
    )
    return ReadinessReport(
        as_of=context.as_of,
        headline=_report_headline(decisions, findings, context.limits),
        record_counts={kind: getattr(context.data, kind).height for kind in _RECORD_KINDS},
        decisions=decisions,
        findings=tuple(findings),
        completeness=completeness,
        freshness=freshness,
        duplicates=duplicates,
        ownership=ownership,
        vocabulary=vocabulary,
        product_names=product_names,
        quarantine=quarantine,
    )


def _as_utc(moment: date | datetime) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _report_headline(
    decisions: tuple[DecisionReadiness, ...], findings: list[Finding], limits: Thresholds
) -> str:
    ready = sum(1 for d in decisions if d.accounts and d.score >= limits.ready)
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    return (
        f"{ready} of {len(decisions)} decision types have enough data for at least "
        f"{percent(limits.ready)} of their accounts; "
        f"{_plural(critical, 'critical finding')}, {_plural(warnings, 'warning')}."
    )


# --------------------------------------------------------------------------- decisions


def _account_facts(context: _Context) -> tuple[pl.DataFrame, dict[Condition, str]]:
    """One row per account: customer or not, latest signal, and one flag per condition."""
    data = context.data
    accounts = data.accounts.filter(pl.col("account_id").is_not_null()).unique(
        "account_id", keep="first", maintain_order=True
    )
    customers = data.holdings["account_id"].drop_nulls().unique()
    latest = (
        data.last_signals.drop_nulls("account_id")
        .group_by("account_id")
        .agg(pl.col("last_signal_at").max().alias("_last_signal"))
    )
    facts = accounts.with_columns(
        pl.col("account_id").is_in(customers.implode()).alias("_customer")
    ).join(latest, on="account_id", how="left")
    signatures = list(
        dict.fromkeys(
            condition.signature
            for rule in context.rules.decision_types.values()
            for condition in rule.conditions
        )
    )
    columns = {condition: f"_condition_{i}" for i, condition in enumerate(signatures)}
    facts = _with_contact_flags(facts, data.contacts, columns)
    facts = facts.with_columns(
        _condition_flag(condition, context, facts.schema).alias(name)
        for condition, name in columns.items()
        if condition.check is not Check.REACHABLE_CONTACT
    )
    return facts, columns


def _with_contact_flags(
    facts: pl.DataFrame, contacts: pl.DataFrame, columns: Mapping[Condition, str]
) -> pl.DataFrame:
    """Add, per reachable-contact condition, whether any contact of the account passes it."""
    reachable = {
        name: _reachable(condition)
        for condition, name in columns.items()
        if condition.check is Check.REACHABLE_CONTACT
    }
    if not reachable:
        return facts
    per_account = (
        contacts.drop_nulls("account_id")
        .group_by("account_id")
        .agg(expr.any().alias(name) for name, expr in reachable.items())
    )
    return facts.join(per_account, on="account_id", how="left").with_columns(
        pl.col(name).fill_null(False) for name in reachable
    )


def _reachable(condition: Condition) -> pl.Expr:
    """A contact-level flag: not do-not-contact and reachable on one of the channels."""

    def allowed(consent: str) -> pl.Expr:
        value = pl.col(consent).fill_null("unknown")
        return value == "opted_in" if condition.consent == "opted_in" else value != "opted_out"

    channels = []
    if Channel.EMAIL in condition.channels:
        channels.append(allowed("email_consent") & _filled("email", pl.String()))
    if Channel.PHONE in condition.channels:
        channels.append(allowed("phone_consent"))
    return ~pl.col("do_not_contact").fill_null(False) & pl.any_horizontal(channels)


def _condition_flag(
    condition: Condition, context: _Context, schema: Mapping[str, pl.DataType]
) -> pl.Expr:
    """An account-level flag for every check but reachable_contact."""
    match condition.check:
        case Check.FILLED:
            return pl.any_horizontal(_filled(name, schema[name]) for name in condition.fields)
        case Check.KNOWN_VALUE:
            name = condition.vocabulary or condition.fields[0]
            vocabulary = context.rules.vocabularies[name]
            return _recognised(pl.col(condition.fields[0]), vocabulary).fill_null(False)
        case Check.OWNER:
            owners = context.data.owners
            active = owners.filter(pl.col("active").fill_null(True))["owner_id"].drop_nulls()
            return pl.col("owner_id").is_in(active.implode()).fill_null(False)
        case _:
            days = condition.within_days
            cutoff = context.as_of - timedelta(
                days=context.stale_after_days if days is None else days
            )
            return (pl.col("_last_signal") >= cutoff).fill_null(False)


def _filled(name: str, dtype: pl.DataType) -> pl.Expr:
    """A value is there: not null, and for text not blank, for lists not empty."""
    column = pl.col(name)
    if dtype == pl.String:
        return column.str.strip_chars().str.len_chars().fill_null(0) > 0
    if isinstance(dtype, pl.List):
        return column.list.len().fill_null(0) > 0
    return column.is_not_null()


def _recognised(column: pl.Expr, vocabulary: Vocabulary) -> pl.Expr:
    """The value is an accepted spelling of the vocabulary (null stays null)."""
    text = column.cast(pl.String).str.strip_chars()
    if vocabulary.ignore_case:
        text = text.str.to_lowercase()
    return text.is_in(vocabulary.accepted())


def _population(population: Population) -> pl.Expr:
    match population:
        case Population.CUSTOMERS:
            return pl.col("_customer")
        case Population.PROSPECTS:
            return ~pl.col("_customer")
        case _:
            return pl.col("account_id").is_not_null()


def _decision_readiness(
    name: str,
    rule: DecisionRule,
    facts: pl.DataFrame,
    columns: Mapping[Condition, str],
    context: _Context,
) -> DecisionReadiness:
    """Score one decision type: the share of its population meeting every condition."""
    population = _population(rule.population)
    flags = [pl.col(columns[condition.signature]) for condition in rule.conditions]
    ready = population & pl.all_horizontal(flags) if flags else population
    counts = facts.select(
        population.sum().alias("accounts"),
        ready.sum().alias("ready"),
        *[(population & ~flag).sum().alias(f"fail_{i}") for i, flag in enumerate(flags)],
    ).row(0)
    accounts, ready_count, failing = int(counts[0] or 0), int(counts[1] or 0), counts[2:]
    blockers = sorted(
        (
            Blocker(
                condition=condition.describe(context.stale_after_days),
                check=condition.check,
                failing=int(fail or 0),
                share=_share(int(fail or 0), accounts),
            )
            for condition, fail in zip(rule.conditions, failing, strict=True)
        ),
        key=lambda b: -b.failing,
    )
    score = _share(ready_count, accounts)
    severity = _decision_severity(score, accounts, context.limits)
    return DecisionReadiness(
        decision_type=name,
        label=rule.label,
        description=rule.description,
        population=rule.population,
        population_label=rule.population.label,
        accounts=accounts,
        ready=ready_count,
        score=score,
        severity=severity,
        headline=_decision_headline(rule, accounts, ready_count, score, blockers),
        blockers=tuple(blockers),
    )


def _decision_severity(score: float, accounts: int, limits: Thresholds) -> Severity:
    if accounts == 0 or score < limits.usable:
        return Severity.CRITICAL if accounts else Severity.WARNING
    return Severity.INFO if score >= limits.ready else Severity.WARNING


def _decision_headline(
    rule: DecisionRule, accounts: int, ready: int, score: float, blockers: list[Blocker]
) -> str:
    who = rule.population.label
    if accounts == 0:
        return f"{rule.label}: there are no {who} to decide for."
    line = f"{rule.label}: {percent(score)} of {who} ({ready:,} of {accounts:,}) have enough data"
    if blockers and blockers[0].failing:
        top = blockers[0]
        line += f"; most often missing: {top.condition} ({top.failing:,} accounts)"
    return line + "."


# --------------------------------------------------------------------------- completeness


def _needed_fields(rules: ReadinessRules) -> dict[tuple[str, str], list[str]]:
    """(kind, field) → labels of the decision types that need it."""
    needed: dict[tuple[str, str], list[str]] = {}
    for rule in rules.decision_types.values():
        for condition in rule.conditions:
            for key in _fields_of(condition):
                needed.setdefault(key, [])
                if rule.label not in needed[key]:
                    needed[key].append(rule.label)
    return needed


def _fields_of(condition: Condition) -> list[tuple[str, str]]:
    match condition.check:
        case Check.FILLED | Check.KNOWN_VALUE:
            return [("accounts", name) for name in condition.fields]
        case Check.OWNER:
            return [("accounts", "owner_id")]
        case Check.REACHABLE_CONTACT:
            keys = [("contacts", "do_not_contact")]
            if Channel.EMAIL in condition.channels:
                keys += [("contacts", "email"), ("contacts", "email_consent")]
            if Channel.PHONE in condition.channels:
                keys.append(("contacts", "phone_consent"))
            return keys
        case _:
            return []


def _requirements(rules: ReadinessRules) -> dict[tuple[str, tuple[str, ...]], list[str]]:
    """(kind, fields of which any will do) → labels of the decision types that need one."""
    needed: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for rule in rules.decision_types.values():
        for condition in rule.conditions:
            match condition.check:
                case Check.FILLED | Check.KNOWN_VALUE:
                    key = ("accounts", condition.fields)
                case Check.OWNER:
                    key = ("accounts", ("owner_id",))
                case Check.REACHABLE_CONTACT if Channel.EMAIL in condition.channels:
                    key = ("contacts", ("email",))
                case _:
                    continue
            labels = needed.setdefault(key, [])
            if rule.label not in labels:
                labels.append(rule.label)
    return needed


def _completeness(context: _Context) -> tuple[tuple[KindCompleteness, ...], list[Finding]]:
    """Fill rate of every field of every kind; findings for needed fields filled too rarely."""
    needed = _needed_fields(context.rules)
    kinds = []
    for kind in _RECORD_KINDS:
        frame = getattr(context.data, kind)
        filled = frame.select(
            _filled(name, dtype).sum().alias(name) for name, dtype in frame.schema.items()
        ).row(0, named=True)
        entries = tuple(
            FieldCompleteness(
                field=name,
                filled=int(filled[name] or 0),
                share=_share(int(filled[name] or 0), frame.height),
                needed_by=tuple(needed.get((kind, name), ())),
            )
            for name in frame.columns
        )
        kinds.append(KindCompleteness(kind=kind, rows=frame.height, fields=entries))
    findings = _missing_kinds(context) + [
        finding
        for (kind, names), labels in _requirements(context.rules).items()
        if (finding := _requirement_finding(context, kind, names, labels)) is not None
    ]
    return tuple(kinds), findings


def _requirement_finding(
    context: _Context, kind: str, names: tuple[str, ...], labels: list[str]
) -> Finding | None:
    """A finding when too few records have any of ``names`` filled."""
    frame = getattr(context.data, kind)
    if frame.height == 0:
        return None
    any_filled = pl.any_horizontal(_filled(name, frame.schema[name]) for name in names)
    filled = int(frame.select(any_filled.sum()).item() or 0)
    share = _share(filled, frame.height)
    if share >= context.limits.completeness:
        return None
    words = " or ".join(_field_words(name) for name in names)
    return _finding(
        Section.COMPLETENESS,
        f"completeness.{kind}.{'_or_'.join(names)}",
        Severity.CRITICAL if share < context.limits.usable else Severity.WARNING,
        f"{words.capitalize()} is filled for only {percent(share)} of {kind} "
        f"({filled:,} of {frame.height:,}); {_join(labels)} need{'s' if len(labels) == 1 else ''} "
        "it.",
        frame.height - filled,
        total=frame.height,
        share=_share(frame.height - filled, frame.height),
        suggestion=f"Fill {words} in the source system or derive it in the {kind} mapping.",
    )


def _missing_kinds(context: _Context) -> list[Finding]:
    """Whole kinds of record that are not loaded at all."""
    counts = {kind: getattr(context.data, kind).height for kind in _RECORD_KINDS}
    if counts["accounts"] == 0:
        return [
            _finding(
                Section.COMPLETENESS,
                "completeness.no_accounts",
                Severity.CRITICAL,
                "No accounts are loaded, so nothing can be decided yet.",
                0,
                suggestion="Import accounts first (nextmove import accounts <file>).",
            )
        ]
    missing = {
        "contacts": (Severity.CRITICAL, "No contacts are loaded, so no account can be reached."),
        "holdings": (
            Severity.WARNING,
            "No product holdings are loaded, so every account counts as a prospect.",
        ),
        "products": (Severity.WARNING, "No product catalog is loaded."),
        "owners": (Severity.WARNING, "No owners are loaded, so no account has a known owner."),
    }
    return [
        _finding(
            Section.COMPLETENESS,
            f"completeness.no_{kind}",
            severity,
            headline,
            0,
            suggestion=f"Import {kind} (nextmove import {kind} <file>).",
        )
        for kind, (severity, headline) in missing.items()
        if counts[kind] == 0
    ]


# --------------------------------------------------------------------------- freshness


def _freshness(facts: pl.DataFrame, context: _Context) -> tuple[FreshnessSummary, list[Finding]]:
    """Accounts without a recent signal and products past their review date."""
    cutoff = context.as_of - timedelta(days=context.stale_after_days)
    never = facts.filter(pl.col("_last_signal").is_null())
    stale = facts.filter(pl.col("_last_signal") < cutoff).sort("_last_signal")
    products = context.data.products.filter(pl.col("active").fill_null(True))
    review_cutoff = context.as_of.date() - timedelta(days=context.review_after_days)
    unreviewed = products.filter(pl.col("last_reviewed").is_null())
    overdue = products.filter(pl.col("last_reviewed") < review_cutoff).sort("last_reviewed")
    summary = FreshnessSummary(
        stale_after_days=context.stale_after_days,
        review_after_days=context.review_after_days,
        accounts=facts.height,
        stale_accounts=stale.height,
        never_signalled=never.height,
        active_products=products.height,
        past_review=overdue.height,
        never_reviewed=unreviewed.height,
    )
    return summary, [
        *_stale_account_findings(summary, stale, never, context),
        *_review_findings(summary, overdue, unreviewed, context),
    ]


def _stale_account_findings(
    summary: FreshnessSummary, stale: pl.DataFrame, never: pl.DataFrame, context: _Context
) -> list[Finding]:
    count = summary.stale_accounts + summary.never_signalled
    if count == 0:
        return []
    share = _share(count, summary.accounts)
    k = context.limits.examples
    examples = [
        f"{_named(account_id, name)}: last signal {moment:%Y-%m-%d}"
        for account_id, name, moment in stale.select("account_id", "name", "_last_signal")
        .head(k)
        .iter_rows()
    ] + [
        f"{_named(account_id, name)}: no signal ever"
        for account_id, name in never.select("account_id", "name").head(k).iter_rows()
    ]
    never_part = (
        f", {summary.never_signalled:,} of them none ever" if summary.never_signalled else ""
    )
    headline = (
        f"{count:,} of {summary.accounts:,} accounts ({percent(share)}) have had no signal "
        f"in the last {summary.stale_after_days} days{never_part}."
    )
    if summary.never_signalled == summary.accounts:
        headline = f"None of the {summary.accounts:,} accounts has any signal yet."
    return [
        _finding(
            Section.FRESHNESS,
            "freshness.stale_accounts",
            _share_severity(share, context.limits),
            headline,
            count,
            total=summary.accounts,
            share=share,
            examples=examples[: max(k, 0)],
            suggestion="Check that web, product-usage and intent signals are still imported.",
        )
    ]


def _review_findings(
    summary: FreshnessSummary, overdue: pl.DataFrame, unreviewed: pl.DataFrame, context: _Context
) -> list[Finding]:
    count = summary.past_review + summary.never_reviewed
    if count == 0:
        return []
    share = _share(count, summary.active_products)
    examples = [
        f"{_named(product_id, name)}: last reviewed {reviewed:%Y-%m-%d}"
        for product_id, name, reviewed in overdue.select("product_id", "name", "last_reviewed")
        .head(context.limits.examples)
        .iter_rows()
    ] + [
        f"{_named(product_id, name)}: never reviewed"
        for product_id, name in unreviewed.select("product_id", "name")
        .head(context.limits.examples)
        .iter_rows()
    ]
    never_part = f" ({summary.never_reviewed:,} never)" if summary.never_reviewed else ""
    return [
        _finding(
            Section.FRESHNESS,
            "freshness.products_past_review",
            _share_severity(share, context.limits),
            f"{count:,} of {summary.active_products:,} active products have not been reviewed "
            f"in {summary.review_after_days} days{never_part}; their product truth may be out "
            "of date.",
            count,
            total=summary.active_products,
            share=share,
            examples=examples[: context.limits.examples],
            suggestion="Ask each product's truth owner to review and re-import the catalog.",
        )
    ]


# --------------------------------------------------------------------------- duplicates


def _country_codes(rules: ReadinessRules) -> dict[str, str]:
    """Lower-case country spellings → code, from the ``country`` vocabulary if there is one."""
    vocabulary = rules.vocabularies.get("country")
    if vocabulary is None:
        return {}
    return {
        **{value.lower(): value for value in vocabulary.values},
        **{name.lower(): code for name, code in vocabulary.synonyms.items()},
    }


def _duplicates(context: _Context) -> tuple[DuplicateSummary, list[Finding]]:
    """Probable duplicate accounts at or above the confidence threshold."""
    limits = context.limits
    pairs = duplicate_pairs(
        context.data.accounts,
        name_threshold=limits.duplicate_name_score,
        free_mail=context.rules.free_mail_domains,
        country_codes=_country_codes(context.rules),
    ).filter(pl.col("confidence") >= limits.duplicate_confidence)
    involved = pl.concat([pairs["account_id_a"], pairs["account_id_b"]]).n_unique()
    summary = DuplicateSummary(
        pairs=pairs.height, accounts=involved, top=tuple(pairs_from_frame(pairs.head(limits.top)))
    )
    if not pairs.height:
        return summary, []
    share = _share(involved, context.data.accounts.height)
    examples = [
        f"{p.name_a} ({p.account_id_a}) ~ {p.name_b} ({p.account_id_b}): {', '.join(p.reasons)}"
        for p in summary.top[: limits.examples]
    ]
    return summary, [
        _finding(
            Section.DUPLICATES,
            "duplicates.accounts",
            _share_severity(share, limits),
            f"{pairs.height:,} pairs of accounts look like duplicates ({involved:,} accounts, "
            f"{percent(share)}).",
            pairs.height,
            total=context.data.accounts.height,
            share=share,
            examples=examples,
            suggestion="Review the pairs and merge them in the CRM; nextmove never merges.",
        )
    ]


# --------------------------------------------------------------------------- ownership


def _ownership(context: _Context) -> tuple[OwnershipSummary, list[Finding]]:
    """Accounts, products, owners and teams missing the person or capacity they need."""
    data = context.data
    owner_status = (
        data.owners.drop_nulls("owner_id")
        .unique("owner_id")
        .select("owner_id", pl.col("active").fill_null(True).alias("_active"))
    )
    accounts = data.accounts.join(owner_status, on="owner_id", how="left")
    has_owner = _filled("owner_id", pl.String())
    products = data.products.filter(pl.col("active").fill_null(True))
    owners = data.owners.filter(pl.col("active").fill_null(True))
    teams = data.teams["team_id"].drop_nulls()
    gaps = {
        "without_owner": accounts.filter(~has_owner),
        "unknown_owner": accounts.filter(has_owner & pl.col("_active").is_null()),
        "inactive_owner": accounts.filter(has_owner & (pl.col("_active") == False)),  # noqa: E712
        "products_without_truth_owner": products.filter(~_filled("truth_owner", pl.String())),
        "owners_without_team": owners.filter(
            ~pl.col("team_id").is_in(teams.implode()).fill_null(False)
        ),
        "teams_without_capacity": data.teams.filter(pl.col("capacity_per_day").fill_null(0) <= 0),
    }
    summary = OwnershipSummary(
        accounts=accounts.height,
        active_products=products.height,
        active_owners=owners.height,
        teams=data.teams.height,
        **{name: frame.height for name, frame in gaps.items()},
    )
    totals = {
        "without_owner": accounts.height,
        "unknown_owner": accounts.height,
        "inactive_owner": accounts.height,
        "products_without_truth_owner": products.height,
        "owners_without_team": owners.height,
        "teams_without_capacity": data.teams.height,
    }
    findings = [
        _ownership_finding(name, frame, totals[name], context.limits)
        for name, frame in gaps.items()
        if frame.height
    ]
    return summary, findings


_OWNERSHIP_WORDS: dict[str, tuple[str, str, str, str]] = {
    "without_owner": (
        "account_id",
        "name",
        "{count} of {total} accounts {have} no owner",
        "Assign owners in the CRM, or route these accounts to a team queue.",
    ),
    "unknown_owner": (
        "account_id",
        "owner_id",
        "{count} of {total} accounts {name} an owner who is not in the owner list",
        "Import owners (nextmove import owners <file>) or fix the owner ids.",
    ),
    "inactive_owner": (
        "account_id",
        "owner_id",
        "{count} of {total} accounts {belong} to an owner who is no longer active",
        "Reassign these accounts to an active owner.",
    ),
    "products_without_truth_owner": (
        "product_id",
        "name",
        "{count} of {total} active products {have} no truth owner to keep their facts right",
        "Name a truth owner for each product in the catalog.",
    ),
    "owners_without_team": (
        "owner_id",
        "name",
        "{count} of {total} active owners {belong} to no known team",
        "Set each owner's team_id and import teams.",
    ),
    "teams_without_capacity": (
        "team_id",
        "name",
        "{count} of {total} teams {have} no daily capacity",
        "Set capacity_per_day for each team so work is not routed beyond it.",
    ),
}


def _ownership_finding(name: str, frame: pl.DataFrame, total: int, limits: Thresholds) -> Finding:
    key, detail, headline, suggestion = _OWNERSHIP_WORDS[name]
    share = _share(frame.height, total)
    examples = [
        _named(identifier, value) if detail == "name" else f"{identifier}: owner {value}"
        for identifier, value in frame.select(key, detail).head(limits.examples).iter_rows()
    ]
    return _finding(
        Section.OWNERSHIP,
        f"ownership.{name}",
        _share_severity(share, limits),
        headline.format(
            count=f"{frame.height:,}",
            total=f"{total:,}",
            have="has" if frame.height == 1 else "have",
            belong="belongs" if frame.height == 1 else "belong",
            name="names" if frame.height == 1 else "name",
        )
        + f" ({percent(share)}).",
        frame.height,
        total=total,
        share=share,
        examples=examples,
        suggestion=suggestion,
    )


# --------------------------------------------------------------------------- vocabulary


def _vocabulary(context: _Context) -> tuple[tuple[VocabularyConflict, ...], list[Finding]]:
    """Values outside the known lists, with the closest known value."""
    conflicts: list[VocabularyConflict] = []
    findings: list[Finding] = []
    for check in context.rules.vocabulary_checks:
        frame = getattr(context.data, check.kind)
        vocabulary = context.rules.vocabularies[check.vocabulary]
        values = frame.select(pl.col(check.field).str.strip_chars().alias("value")).filter(
            pl.col("value").str.len_chars() > 0
        )
        off = values.filter(~_recognised(pl.col("value"), vocabulary))
        if off.height == 0:
            continue
        counted = off.group_by("value").len().sort(["len", "value"], descending=[True, False])
        found = [
            VocabularyConflict(
                kind=check.kind,
                field=check.field,
                value=value,
                rows=rows,
                suggestion=suggestion,
                score=score,
            )
            for value, rows in counted.head(context.limits.top).iter_rows()
            for suggestion, score in [_suggest(value, vocabulary, context.limits.suggestion_score)]
        ]
        conflicts += found
        findings.append(
            _vocabulary_finding(
                check, found, off.height, counted.height, frame.height, context.limits
            )
        )
    return tuple(conflicts), findings


def _vocabulary_finding(
    check: VocabularyCheck,
    found: list[VocabularyConflict],
    rows: int,
    distinct: int,
    total: int,
    limits: Thresholds,
) -> Finding:
    share = _share(rows, total)
    examples = [
        f"{c.value} ({c.rows:,})" + (f" → {c.suggestion}" if c.suggestion else "") for c in found
    ]
    mapped = {c.value: c.suggestion for c in found if c.suggestion}
    sample = ", ".join(f"{k}: {v}" for k, v in list(mapped.items())[:3])
    fix = (
        f"Correct them at the source or translate them in the {check.kind} mapping "
        f"(values: {check.field}: {{{sample}}})"
        if mapped
        else f"Correct them at the source or add them to the {check.vocabulary} vocabulary"
    )
    return _finding(
        Section.VOCABULARY,
        f"vocabulary.{check.kind}.{check.field}",
        _share_severity(share, limits),
        f"{_records(rows, check.kind)} {'has' if rows == 1 else 'have'} {_a(check.field)} "
        f"{_field_words(check.field)} outside the known list ({_plural(distinct, 'value')}): "
        + "; ".join(examples[:3])
        + ".",
        rows,
        total=total,
        share=share,
        examples=examples[: limits.examples],
        suggestion=fix + " and re-import.",
    )


def _compact(text: str) -> str:
    """Lower-case letters and digits only: ``Data Guard`` and ``DataGuard`` compare equal."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _suggest(value: str, vocabulary: Vocabulary, cutoff: float) -> tuple[str | None, float | None]:
    """The closest accepted spelling of ``value`` and its score (an alias's target: 100)."""
    key = _compact(value)
    for alias, target in vocabulary.aliases.items():
        if _compact(alias) == key:
            return target, 100.0
    choices = [*vocabulary.values, *vocabulary.synonyms]
    best = process.extractOne(
        key, [_compact(c) for c in choices], scorer=fuzz.ratio, score_cutoff=cutoff
    )
    if best is None:
        return None, None
    return choices[best[2]], round(float(best[1]), 1)


# --------------------------------------------------------------------------- product names


def _product_names(context: _Context) -> tuple[tuple[ProductNameConflict, ...], list[Finding]]:
    """One product under two names: in the catalog, or in quarantined references."""
    catalog = (
        context.data.products.drop_nulls("product_id")
        .unique("product_id", keep="first", maintain_order=True)
        .select("product_id", pl.col("name").fill_null(pl.col("product_id")))
    )
    conflicts = [
        *_catalog_twins(catalog, context.limits.product_name_score),
        *_quarantined_products(context, catalog),
    ]
    return tuple(conflicts), [_product_finding(c) for c in conflicts]


def _catalog_twins(catalog: pl.DataFrame, cutoff: float) -> list[ProductNameConflict]:
    """Pairs of catalog entries whose names are near-identical once spacing and case go."""
    ids, names = catalog["product_id"].to_list(), catalog["name"].to_list()
    compact = [_compact(n) for n in names]
    blocks: dict[str, list[int]] = {}
    for i, key in enumerate(compact):
        blocks.setdefault(key[:1], []).append(i)
    twins: list[ProductNameConflict] = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        matrix = process.cdist(
            [compact[i] for i in members],
            [compact[i] for i in members],
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            dtype=np.uint8,
        )
        for a, b in zip(*np.nonzero(np.triu(matrix, 1)), strict=True):
            first, second = members[int(a)], members[int(b)]
            twins.append(
                ProductNameConflict(
                    source="catalog",
                    kind="products",
                    field="name",
                    value=names[second],
                    value_product_id=ids[second],
                    product_id=ids[first],
                    product_name=names[first],
                    score=float(matrix[a, b]),
                    rows=1,
                    fix=f"Keep one of {ids[first]} and {ids[second]} in the catalog and map "
                    "the other's id to it in the importers' values: sections.",
                )
            )
    return twins


def _quarantined_products(context: _Context, catalog: pl.DataFrame) -> list[ProductNameConflict]:
    """Quarantined references to unknown products whose value is close to a catalog entry."""
    unknown = _latest_quarantine(context.data.quarantine).filter(
        pl.col("reason").str.starts_with("unknown product") & pl.col("value").is_not_null()
    )
    if unknown.height == 0 or catalog.height == 0:
        return []
    groups = (
        unknown.group_by("kind", "field", "value")
        .agg(pl.struct("run_id", "file", "row_number").n_unique().alias("rows"))
        .sort(["rows", "value"], descending=[True, False])
        .head(context.limits.top * 5)
    )
    ids, names = catalog["product_id"].to_list(), catalog["name"].to_list()
    choices = [_compact(text) for text in (*ids, *names)]
    found = []
    for kind, field_name, value, rows in groups.iter_rows():
        best = process.extractOne(
            _compact(value),
            choices,
            scorer=fuzz.ratio,
            score_cutoff=context.limits.suggestion_score,
        )
        if best is None:
            continue
        index = best[2] % len(ids)
        found.append(
            ProductNameConflict(
                source="quarantine",
                kind=kind,
                field=field_name or "product_id",
                value=value,
                product_id=ids[index],
                product_name=names[index],
                score=round(float(best[1]), 1),
                rows=rows,
                fix=f"Add `{value}: {ids[index]}` under values: → {field_name or 'product_id'}: "
                f"in the {kind} mapping and import the file again.",
            )
        )
    return found


def _product_finding(conflict: ProductNameConflict) -> Finding:
    if conflict.source == "catalog":
        headline = (
            f"Catalog entries '{conflict.product_name}' ({conflict.product_id}) and "
            f"'{conflict.value}' ({conflict.value_product_id}) look like one product under "
            "two names."
        )
    else:
        headline = (
            f"{conflict.rows:,} {conflict.kind} rows were quarantined for product "
            f"'{conflict.value}', which looks like catalog product '{conflict.product_name}'"
            + (f" ({conflict.product_id})" if conflict.product_id != conflict.product_name else "")
            + "."
        )
    return _finding(
        Section.VOCABULARY,
        f"vocabulary.product_names.{conflict.source}",
        Severity.WARNING,
        headline,
        conflict.rows,
        suggestion=conflict.fix,
        examples=(f"{conflict.value} → {conflict.product_id} (similarity {conflict.score:g})",),
    )


# --------------------------------------------------------------------------- quarantine


def _latest_quarantine(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Entries of the latest import run of each (kind, file): earlier runs are history."""
    return quarantine.filter(
        pl.col("run_id").fill_null(0) == pl.col("run_id").fill_null(0).max().over("kind", "file")
    )


def _reason_pattern(reason: pl.Expr) -> pl.Expr:
    """Reasons with their row-specific numbers taken out, so that they group."""
    return reason.str.replace(r"first seen at row \d+", "first seen at an earlier row").str.replace(
        r"is \d+ characters long", "is too long"
    )


def _quarantine(context: _Context) -> tuple[QuarantineSummary, list[Finding]]:
    """Quarantined rows by kind, field and reason: where to look first."""
    latest = _latest_quarantine(context.data.quarantine).with_columns(
        _reason_pattern(pl.col("reason").fill_null("no reason given")).alias("reason")
    )
    row = pl.struct("run_id", "file", "row_number").n_unique()
    by_kind = dict(latest.group_by("kind").agg(row.alias("rows")).sort("kind").iter_rows())
    groups = (
        latest.group_by("kind", "field", "reason")
        .agg(row.alias("rows"), pl.col("value").drop_nulls().unique(maintain_order=True).head(3))
        .sort(["rows", "kind", "reason"], descending=[True, False, False])
        .head(context.limits.top)
    )
    summary = QuarantineSummary(
        entries=latest.height,
        rows=sum(by_kind.values()),
        by_kind={str(kind or "unknown"): int(rows) for kind, rows in by_kind.items()},
        top=tuple(
            QuarantineGroup(
                kind=kind or "unknown",
                field=field_name,
                reason=reason,
                rows=rows,
                examples=tuple(values),
            )
            for kind, field_name, reason, rows, values in groups.iter_rows()
        ),
    )
    if summary.rows == 0:
        return summary, []
    top = summary.top[0]
    where = ", ".join(f"{rows:,} {kind}" for kind, rows in summary.by_kind.items())
    return summary, [
        _finding(
            Section.QUARANTINE,
            "quarantine.rows",
            Severity.WARNING,
            f"{summary.rows:,} rows are in quarantine ({where}); the most common reason: "
            f"{top.kind}.{top.field or '*'} — {top.reason} ({top.rows:,} rows).",
            summary.rows,
            examples=tuple(
                f"{g.kind}.{g.field or '*'}: {g.reason} ({g.rows:,} rows)"
                for g in summary.top[: context.limits.examples]
            ),
            suggestion="See `nextmove quarantine` for the rows and values; fix the file or "
            "the mapping and import it again.",
        )
    ]


# --------------------------------------------------------------------------- wording


def _finding(
    section: Section,
    code: str,
    severity: Severity,
    headline: str,
    count: int,
    *,
    total: int | None = None,
    share: float | None = None,
    examples: Iterable[str] = (),
    suggestion: str | None = None,
) -> Finding:
    return Finding(
        section=section,
        code=code,
        severity=severity,
        headline=headline,
        count=count,
        total=total,
        share=share,
        examples=tuple(examples),
        suggestion=suggestion,
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _share_severity(share: float, limits: Thresholds) -> Severity:
    return Severity.CRITICAL if share >= limits.critical_share else Severity.WARNING


def percent(share: float) -> str:
    """``0.64`` → ``64%``; keeps one decimal near 0% and 100% so neither is claimed falsely."""
    if 0 < share < 0.01 or 0.99 < share < 1:
        return f"{share:.1%}"
    return f"{share:.0%}"


def _records(count: int, kind: str) -> str:
    """``1 account``, ``3 accounts`` (kinds are plural nouns)."""
    return f"{count:,} {kind.removesuffix('s') if count == 1 else kind}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _join(words: Iterable[str]) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _field_words(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ")


def _named(identifier: object, name: object) -> str:
    """``Acme (acct-1)``, or just the id when the name is missing or the same."""
    if name is None or name == identifier:
        return str(identifier)
    return f"{name} ({identifier})"


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"

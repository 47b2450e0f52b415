"""Types of the playbook part: the playbook's sections, problems found in it, stored versions.

Every model is frozen and rejects unknown keys, so a misspelt key in a YAML playbook is an
error with its line and column, never a silently ignored rule.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from nextmove.domain import Segment
from nextmove.governance.model import Role

__all__ = [
    "ALL",
    "REQUIRED_ACTIONS",
    "Action",
    "ActionScope",
    "ActionAutonomy",
    "ActionThreshold",
    "Autonomy",
    "AutonomyLevel",
    "AutonomyOverride",
    "Cap",
    "Capacity",
    "Channel",
    "Consent",
    "ConsentRule",
    "ContactPolicies",
    "Demotion",
    "DemotionTrigger",
    "EligibilityRule",
    "Levers",
    "Measurement",
    "Ownership",
    "Playbook",
    "PlaybookVersion",
    "Problem",
    "ProductValue",
    "QuietPeriod",
    "Role",
    "SegmentAmounts",
    "SegmentShares",
    "SignalDeclaration",
    "SignalKind",
    "TeamCapacity",
    "Thresholds",
    "Urgency",
    "ValueModel",
]

ALL: Final = "all"
REQUIRED_ACTIONS = ("sales_outreach", "digital_program", "service_conversation", "no_action")
"""Motions every playbook declares; ``no_action`` is the explicit choice to do nothing."""


class Channel(StrEnum):
    """How an action reaches an account; ``none`` touches nobody (e.g. ``no_action``)."""

    EMAIL = "email"
    PHONE = "phone"
    MEETING = "meeting"
    NONE = "none"


class AutonomyLevel(StrEnum):
    """The autonomy ladder, from least to most autonomous."""

    NEVER = "never"
    SHADOW = "shadow"
    RECOMMEND = "recommend"
    APPROVE = "approve"
    AUTO = "auto"


class DemotionTrigger(StrEnum):
    """Conditions that demote an ``auto`` action until a person restores it."""

    GUARDRAIL_BREACH = "guardrail_breach"
    DRIFT_ALERT = "drift_alert"
    EXECUTION_FAILURES = "execution_failures"
    COMPLAINT_SPIKE = "complaint_spike"


class SignalKind(StrEnum):
    """How a signal type is read: counted events, a latest measurement, or an open state."""

    COUNT = "count"
    GAUGE = "gauge"
    STATE = "state"


Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""An action or signal name: lower-case letters, digits and underscores."""
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$", max_length=128)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
Weight = Annotated[float, Field(gt=0, le=100)]
Days = Annotated[int, Field(ge=1, le=3650)]
Count = Annotated[int, Field(ge=0)]
CapChannel = Literal["email", "phone", "meeting", "any"]


def _all_or_list(value: object) -> object:
    if value == ALL or (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("expected 'all' or a list of ids")


Scope = Annotated[Literal["all"] | tuple[Id, ...], BeforeValidator(_all_or_list)]
"""Either the word ``all`` or a list of ids."""
ActionScope = Annotated[Literal["all"] | tuple[Name, ...], BeforeValidator(_all_or_list)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SegmentAmounts(_Section):
    """An amount per segment; ``default`` covers segments not listed."""

    default: Money | None = None
    smb: Money | None = None
    mid: Money | None = None
    ent: Money | None = None

    def for_segment(self, segment: Segment | str | None) -> float | None:
        """Return the amount for ``segment``, falling back to ``default``."""
        found = getattr(self, str(segment), None) if segment in tuple(Segment) else None
        return self.default if found is None else float(found)


class SegmentShares(SegmentAmounts):
    """A share (0..1) per segment, such as a margin."""

    default: Share | None = None
    smb: Share | None = None
    mid: Share | None = None
    ent: Share | None = None


class ProductValue(_Section):
    """What a sale of one product is worth: annual price and margin by segment."""

    price: SegmentAmounts | None = Field(default=None, description="annual price by segment")
    margin: SegmentShares | None = Field(default=None, description="gross margin by segment")


class Levers(_Section):
    """Business weights multiplying the value of a product or a motion (1 = neutral)."""

    products: dict[Id, Weight] = Field(default_factory=dict)
    actions: dict[Name, Weight] = Field(default_factory=dict)


class ValueModel(_Section):
    """What counts as value."""

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    horizon_months: Annotated[int, Field(ge=1, le=60)] = 12
    default_margin: Share = 0.7
    products: dict[Id, ProductValue] = Field(default_factory=dict)
    levers: Levers = Field(default_factory=Levers)
    unsubscribe_cost: Money = Field(
        default=0.0,
        description=(
            "what a contact who unsubscribes costs (the value of the marketing they will no "
            "longer receive); a move's expected value subtracts the extra chance of an "
            "unsubscribe it causes, as learned from the outcomes, times this"
        ),
    )


class Action(_Section):
    """One motion the system may choose for an account."""

    description: str = ""
    products: Scope = ALL
    cost: Money = 0.0
    team: Id | None = None
    connector: Id | None = None
    channel: Channel
    autonomy: AutonomyLevel
    prior_uplift: Share | None = Field(
        default=None,
        description=(
            "before any history: how much the motion raises the chance that an interested "
            "account buys the product within the attribution window (0.02 = 2 points); "
            "learned figures replace it as outcomes come in"
        ),
    )


class EligibilityRule(_Section):
    """An action is allowed only for accounts where ``require`` is true."""

    id: RuleId
    actions: ActionScope = ALL
    require: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    description: str = ""


class Cap(_Section):
    """At most ``max`` touches on ``channel`` per account or contact in ``days`` days."""

    id: RuleId | None = None
    scope: Literal["account", "contact"]
    channel: CapChannel
    max: Count
    days: Days

    @property
    def rule_id(self) -> str:
        """The id blocks are reported under (generated when none is written)."""
        return self.id or f"cap.{self.scope}.{self.channel}.{self.days}d"


class QuietPeriod(_Section):
    """No touch on ``channel`` for ``days`` days after a touch, a purchase or a complaint."""

    id: RuleId | None = None
    after: Literal["touch", "purchase", "complaint"]
    days: Days
    channel: CapChannel = "any"
    actions: ActionScope = ALL

    @property
    def rule_id(self) -> str:
        """The id blocks are reported under (generated when none is written)."""
        return self.id or f"quiet.after_{self.after}.{self.days}d"


class ContactPolicies(_Section):
    """How often anyone may be touched."""

    caps: tuple[Cap, ...] = ()
    quiet_periods: tuple[QuietPeriod, ...] = ()


class ConsentRule(_Section):
    """In ``region``, contacting by ``channel`` requires recorded opt-in (or is never allowed)."""

    id: RuleId
    region: Id
    channel: Literal["email", "phone", "any"]
    requires: Literal["opted_in", "never"]
    description: str = ""


class Consent(_Section):
    """Consent rules; opt-outs always win and cannot be switched off."""

    opt_outs_always_win: Literal[True] = True
    regions: dict[Id, tuple[Id, ...]] = Field(
        default_factory=dict, description="named groups of country codes, e.g. EU: [DE, FR]"
    )
    rules: tuple[ConsentRule, ...] = ()


class TeamCapacity(_Section):
    """How many accounts a team, and each of its owners, can take on."""

    per_day: Count | None = None
    per_week: Count | None = None
    per_owner_per_day: Count | None = None
    per_owner_per_week: Count | None = None


class Capacity(_Section):
    """Capacity per team id."""

    teams: dict[Id, TeamCapacity] = Field(default_factory=dict)


class ActionThreshold(_Section):
    """Per-action thresholds replacing the playbook-wide ones."""

    min_expected_value: Money | None = None
    min_confidence: Share | None = None


class Thresholds(_Section):
    """The least expected incremental value and confidence needed to act."""

    min_expected_value: Money = 0.0
    min_confidence: Share = 0.5
    by_action: dict[Name, ActionThreshold] = Field(default_factory=dict)


class AutonomyOverride(_Section):
    """A different level for some segments and/or a band of expected value."""

    segments: tuple[Segment, ...] | None = None
    min_value: Money | None = None
    max_value: Money | None = None
    level: AutonomyLevel

    @model_validator(mode="after")
    def _has_a_condition(self) -> AutonomyOverride:
        if self.segments is None and self.min_value is None and self.max_value is None:
            raise ValueError("an override needs segments, min_value or max_value")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value >= self.max_value
        ):
            raise ValueError("min_value must be below max_value")
        return self


class Demotion(_Section):
    """When ``when`` happens, an ``auto`` action drops to ``to`` until a person restores it."""

    when: DemotionTrigger
    to: Literal["never", "shadow", "recommend", "approve"] = "approve"


class ActionAutonomy(_Section):
    """Autonomy details of one action; unset fields take the section's defaults."""

    overrides: tuple[AutonomyOverride, ...] = ()
    approvers: tuple[Role, ...] | None = None
    four_eyes_above: Money | None = None
    demotions: tuple[Demotion, ...] | None = None


class Autonomy(_Section):
    """Who approves, when two people must, and what demotes an autonomous action."""

    approvers: tuple[Role, ...] = (Role.APPROVER, Role.OPS)
    four_eyes_above: Money | None = None
    demotions: tuple[Demotion, ...] = (
        Demotion(when=DemotionTrigger.GUARDRAIL_BREACH),
        Demotion(when=DemotionTrigger.DRIFT_ALERT),
    )
    actions: dict[Name, ActionAutonomy] = Field(default_factory=dict)

    def approvers_for(self, action: str) -> tuple[Role, ...]:
        """Return the roles that may approve ``action``."""
        own = self.actions.get(action)
        return self.approvers if own is None or own.approvers is None else own.approvers

    def levels_for(self, action: Action, name: str) -> tuple[AutonomyLevel, ...]:
        """Return every level ``action`` can be at: its own, its overrides', its demotions'."""
        own = self.actions.get(name)
        overrides = own.overrides if own else ()
        demotions = own.demotions if own and own.demotions is not None else self.demotions
        levels = [action.autonomy, *(o.level for o in overrides)]
        if AutonomyLevel.AUTO in levels:
            levels += [AutonomyLevel(d.to) for d in demotions]
        return tuple(dict.fromkeys(levels))


class Measurement(_Section):
    """How impact is measured and models are tried: a randomised holdout, an exploration
    budget, the promotion gate's held-out days, and the champion/challenger test."""

    holdout_share: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    exploration_budget: Annotated[float, Field(ge=0, le=0.3)] = 0.05
    attribution_days: Annotated[int, Field(ge=1, le=365)] = 30
    """An outcome counts for a decision made at most this many days before it."""
    validation_days: Annotated[int, Field(ge=1, le=365)] = 14
    """A refit is gated on the decisions of its newest this many days, held out."""
    challenger_share: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    """Share of accounts a challenger model decides (0: a model that does not win its
    gate with confidence serves nobody)."""
    calibrate_uplift: bool = False
    """Scale each motion's uplift by the share of it that came true on the held-out days
    (see :mod:`nextmove.learning.calibration`); measured either way, applied only if set."""
    challenger_days: Annotated[int, Field(ge=1, le=365)] = 60
    """A challenger that neither wins nor loses with confidence within this many days
    is retired."""
    online_updates: bool = True
    """Between refits, correct the champion's uplift each day by what the decisions since
    it was trained brought (see :mod:`nextmove.decisions.online_service`); ``nextmove
    run`` does it after each batch when set."""


class Ownership(_Section):
    """Which role owns (and may change) each section."""

    value: Role = Role.OPS
    actions: Role = Role.OPS
    eligibility: Role = Role.OPS
    contact_policies: Role = Role.STEWARD
    consent: Role = Role.STEWARD
    capacity: Role = Role.OPS
    thresholds: Role = Role.OPS
    autonomy: Role = Role.ADMIN
    measurement: Role = Role.ADMIN
    ownership: Role = Role.ADMIN
    signals: Role = Role.STEWARD


class Urgency(_Section):
    """A signal that re-decides its account at once, optionally only within a value band.

    ``urgent: true`` is every event of the signal; ``urgent: {max_value: 1}`` on a ticket
    signal whose value is the priority is a P1 ticket only.
    """

    min_value: float | None = None
    max_value: float | None = None

    def covers(self, value: float) -> bool:
        """Return whether an event with ``value`` is urgent."""
        low = self.min_value is None or value >= self.min_value
        return low and (self.max_value is None or value <= self.max_value)


def _urgency(value: object) -> object:
    if value is True:
        return Urgency()
    if value is False:
        return None
    return value


class SignalDeclaration(_Section):
    """How one kind of signal is read; expressions refer to it by its name.

    ``type`` is the stored ``signal_type`` (default: the name). A ``count`` may keep only
    events about one ``product``; a ``state`` opens with ``type`` and closes with
    ``closes_with``; ``half_life_days`` decays old events in scores. ``urgent`` events
    (of ``type``) re-decide their account within seconds rather than at the next batch.
    """

    kind: SignalKind
    type: Id | None = None
    product: Id | None = None
    closes_with: Id | None = None
    half_life_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    description: str = ""
    urgent: Annotated[Urgency | None, BeforeValidator(_urgency)] = None

    @model_validator(mode="after")
    def _fits_its_kind(self) -> SignalDeclaration:
        if self.product is not None and self.kind is not SignalKind.COUNT:
            raise ValueError("only a count signal can be limited to a product")
        if (self.closes_with is None) == (self.kind is SignalKind.STATE):
            raise ValueError("a state signal needs closes_with, and only a state signal has it")
        return self


class Playbook(_Section):
    """The whole playbook: every rule people own about what the system may do."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: str = ""
    value: ValueModel = Field(default_factory=ValueModel)
    actions: dict[Name, Action]
    eligibility: tuple[EligibilityRule, ...] = ()
    contact_policies: ContactPolicies = Field(default_factory=ContactPolicies)
    consent: Consent = Field(default_factory=Consent)
    capacity: Capacity = Field(default_factory=Capacity)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    autonomy: Autonomy = Field(default_factory=Autonomy)
    measurement: Measurement = Field(default_factory=Measurement)
    ownership: Ownership = Field(default_factory=Ownership)
    signals: dict[Name, SignalDeclaration] = Field(default_factory=dict)

    def urgent_signals(self) -> dict[str, Urgency]:
        """Return the stored signal types that are urgent, with their value band."""
        return {
            declared.type or name: declared.urgent
            for name, declared in self.signals.items()
            if declared.urgent is not None
        }

    def actions_in(self, scope: Literal["all"] | tuple[str, ...]) -> tuple[str, ...]:
        """Return the action names a scope covers; ``all`` leaves out ``no_action``."""
        if scope == ALL:
            return tuple(name for name in self.actions if name != "no_action")
        return tuple(scope)


class Problem(BaseModel):
    """One thing wrong with a playbook (or a cases file), located in its YAML text."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int | None = None
    column: int | None = None
    message: str
    severity: Literal["error", "warning"] = "error"

    def render(self, file: str) -> str:
        """Return ``FILE:LINE:COL: path: message`` (compiler style, for editors and CI)."""
        where = f"{file}:{self.line}:{self.column}" if self.line is not None else file
        kind = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.path or '<root>'}: {kind}{self.message}"


class PlaybookVersion(BaseModel):
    """One stored version of the playbook."""

    model_config = ConfigDict(frozen=True)

    version: int
    content: str
    content_hash: str
    author: str
    message: str
    created_at: datetime
    rollback_of: int | None = None

"""Typed records shared by all parts of nextmove."""

from nextmove.domain.records import (
    RECORD_TYPES,
    Account,
    Contact,
    Holding,
    Opportunity,
    Outcome,
    Owner,
    Product,
    Record,
    Signal,
    Team,
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
    "Consent",
    "Contact",
    "Holding",
    "Opportunity",
    "OpportunityStage",
    "Outcome",
    "OutcomeType",
    "Owner",
    "OwnerRole",
    "Product",
    "Record",
    "Segment",
    "Signal",
    "Team",
    "TeamFunction",
]

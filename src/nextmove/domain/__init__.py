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
    SALE_OUTCOMES,
    Consent,
    OpportunityStage,
    OutcomeType,
    OwnerRole,
    Segment,
    TeamFunction,
)

__all__ = [
    "RECORD_TYPES",
    "SALE_OUTCOMES",
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

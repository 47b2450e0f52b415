"""The closed vocabularies records are validated against."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "SALE_OUTCOMES",
    "Consent",
    "OpportunityStage",
    "OutcomeType",
    "OwnerRole",
    "Segment",
    "TeamFunction",
]


class Segment(StrEnum):
    """Commercial segment of an account, by size."""

    SMB = "smb"
    MID = "mid"
    ENT = "ent"


class Consent(StrEnum):
    """A contact's stated permission for one channel."""

    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    UNKNOWN = "unknown"


class OpportunityStage(StrEnum):
    """Pipeline stage; ``won`` and ``lost`` are closed."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"

    @property
    def is_closed(self) -> bool:
        return self in (OpportunityStage.WON, OpportunityStage.LOST)


class OutcomeType(StrEnum):
    """Something that happened after (and maybe because of) a move."""

    PURCHASE = "purchase"
    OPPORTUNITY_CREATED = "opportunity_created"
    OPPORTUNITY_WON = "opportunity_won"
    OPPORTUNITY_LOST = "opportunity_lost"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"


SALE_OUTCOMES = (OutcomeType.PURCHASE.value, OutcomeType.OPPORTUNITY_WON.value)
"""The outcome types (as stored text) that count as a sale: revenue, conversion, reward."""


class TeamFunction(StrEnum):
    """What a team does for accounts."""

    SALES = "sales"
    MARKETING = "marketing"
    CUSTOMER_SUCCESS = "customer_success"
    SERVICE = "service"


class OwnerRole(StrEnum):
    """The role of a person who can own accounts or act on moves."""

    REP = "rep"
    SDR = "sdr"
    CSM = "csm"
    MARKETER = "marketer"
    MANAGER = "manager"
    OTHER = "other"

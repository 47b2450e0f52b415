"""The foundation readiness report: can the data carry decisions yet, and if not, why not.

Pure: takes polars frames of the stored records (``ReadinessInputs``) and the rules of
``readiness.yaml`` (data, not code: a user may pass their own) and returns a
JSON-serialisable ``ReadinessReport``. ``as_of`` is always passed in.

Sections: readiness per decision type (its population and the share of it with enough
data, with the conditions that block the rest), then findings on completeness,
freshness, duplicates, ownership, vocabulary (including one product under two names)
and quarantine. Each finding has a severity and a one-line headline.

Modules: ``model`` (the rules, the report and the inputs), ``rules`` (loading
``readiness.yaml``), ``assess`` (``assess_readiness``, the whole report), one module per
section (``decisions``, ``completeness``, ``freshness``, ``duplicates``, ``ownership``,
``vocabulary``, ``product_names``, ``quarantine``), and what they share: ``conform``
(the inputs' columns and types), ``context``, ``expressions`` and ``wording``.
"""

from nextmove.foundation.readiness.assess import assess_readiness
from nextmove.foundation.readiness.model import (
    Blocker,
    Channel,
    Check,
    Condition,
    DecisionReadiness,
    DecisionRule,
    DuplicateSummary,
    FieldCompleteness,
    Finding,
    FreshnessSummary,
    KindCompleteness,
    OwnershipSummary,
    Population,
    ProductNameConflict,
    QuarantineGroup,
    QuarantineSummary,
    ReadinessInputs,
    ReadinessReport,
    ReadinessRules,
    Section,
    Severity,
    Thresholds,
    Vocabulary,
    VocabularyCheck,
    VocabularyConflict,
)
from nextmove.foundation.readiness.rules import RULES_FILE, default_rules, load_rules
from nextmove.foundation.readiness.wording import percent

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

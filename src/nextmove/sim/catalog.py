"""The product catalog of the synthetic company, with its deliberate flaws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from nextmove.sim.frames import record_frame

__all__ = ["CATALOG", "CatalogEntry", "catalog_entries", "products_frame"]


@dataclass(frozen=True)
class CatalogEntry:
    """One product and the hidden facts that drive how it sells."""

    product_id: str
    name: str
    family: str
    list_price: float
    prerequisites: tuple[str, ...]
    related: tuple[str, ...]
    truth_owner: str | None
    reviewed_days_ago: int
    """Days between the last review and the as-of date; over 365 is past review."""
    adoption: float
    """Log-odds shift of holding the product, before need is considered."""
    segment_affinity: tuple[float, float, float]
    """Shift in need for smb, mid and ent accounts."""
    alias_of: str | None = None
    """Set when this entry is the same product as another under a second name."""


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "prod-analytics-core", "Analytics Core", "Analytics", 12_000.0, (),
        ("prod-analytics-pro", "prod-data-pipelines"), "Maya Lindqvist", 40, 1.2, (0.4, 0.3, 0.2),
    ),
    CatalogEntry(
        "prod-analytics-pro", "Analytics Pro", "Analytics", 26_000.0, ("prod-analytics-core",),
        ("prod-predictive-insights",), "Maya Lindqvist", 95, 0.2, (-0.4, 0.3, 0.6),
    ),
    CatalogEntry(
        "prod-predictive-insights", "Predictive Insights", "Analytics", 38_000.0,
        ("prod-analytics-pro",), ("prod-data-pipelines",), "Tomás Ferreira", 430, -0.6,
        (-0.8, 0.1, 0.7),
    ),
    CatalogEntry(
        "prod-data-pipelines", "Data Pipelines", "Data", 18_000.0, (),
        ("prod-analytics-core", "prod-dataguard"), "Aisha Okafor", 60, 0.0, (-0.3, 0.2, 0.5),
    ),
    CatalogEntry(
        "prod-dataguard", "DataGuard", "Data", 9_500.0, (), ("prod-data-pipelines",),
        "Aisha Okafor", 120, -0.2, (0.0, 0.2, 0.4),
    ),
    CatalogEntry(
        "prod-data-guard", "Data Guard", "Security", 9_000.0, (), (), "Security Product Team",
        520, -0.2, (0.0, 0.2, 0.4), alias_of="prod-dataguard",
    ),
    CatalogEntry(
        "prod-engage-email", "Engage Email", "Engagement", 7_000.0, (),
        ("prod-engage-journeys",), "Jonas Becker", 30, 0.6, (0.6, 0.2, -0.2),
    ),
    CatalogEntry(
        "prod-engage-journeys", "Engage Journeys", "Engagement", 16_000.0,
        ("prod-engage-email",), ("prod-analytics-core",), "Jonas Becker", 75, -0.3,
        (0.1, 0.4, 0.2),
    ),
    CatalogEntry(
        "prod-platform-sso", "Single Sign-On", "Platform", 4_000.0, (), ("prod-audit-trail",),
        "Li Wei", 200, 0.3, (-0.2, 0.3, 0.6),
    ),
    CatalogEntry(
        "prod-audit-trail", "Audit Trail", "Platform", 6_000.0, ("prod-platform-sso",),
        ("prod-dataguard",), None, 400, -0.5, (-0.6, 0.1, 0.8),
    ),
    CatalogEntry(
        "prod-premium-support", "Premium Support", "Services", 8_000.0, (),
        ("prod-onboarding-plus",), "Rosa Martínez", 150, -0.1, (-0.2, 0.2, 0.5),
    ),
    CatalogEntry(
        "prod-onboarding-plus", "Onboarding Plus", "Services", 5_000.0, (),
        ("prod-premium-support",), "Rosa Martínez", 20, -0.4, (0.3, 0.1, -0.1),
    ),
)  # fmt: skip
"""Products in an order where every prerequisite comes before the product needing it."""


def catalog_entries(*, with_duplicate: bool) -> tuple[CatalogEntry, ...]:
    """Return the catalog, with or without the second name of DataGuard."""
    if with_duplicate:
        return CATALOG
    return tuple(entry for entry in CATALOG if entry.alias_of is None)


def products_frame(entries: tuple[CatalogEntry, ...], *, as_of: date) -> pl.DataFrame:
    """Return the ``products`` frame for ``entries``, review dates counted back from ``as_of``."""
    known = {entry.product_id for entry in entries}
    return record_frame(
        "products",
        {
            "product_id": [e.product_id for e in entries],
            "name": [e.name for e in entries],
            "family": [e.family for e in entries],
            "list_price": [e.list_price for e in entries],
            "prerequisites": [list(e.prerequisites) for e in entries],
            "related": [[r for r in e.related if r in known] for e in entries],
            "truth_owner": [e.truth_owner for e in entries],
            "last_reviewed": [as_of - timedelta(days=e.reviewed_days_ago) for e in entries],
            "active": [True] * len(entries),
        },
    )

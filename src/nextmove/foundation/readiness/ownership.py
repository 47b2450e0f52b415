"""Ownership: accounts, products, owners and teams missing the person or capacity they need."""

from __future__ import annotations

import polars as pl

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.expressions import is_filled
from nextmove.foundation.readiness.model import Finding, OwnershipSummary, Section, Thresholds
from nextmove.foundation.readiness.wording import (
    make_finding,
    named,
    percent,
    share_of,
    share_severity,
)

__all__ = ["assess_ownership"]


def assess_ownership(context: Context) -> tuple[OwnershipSummary, list[Finding]]:
    """Accounts, products, owners and teams missing the person or capacity they need."""
    data = context.data
    owner_status = (
        data.owners.drop_nulls("owner_id")
        .unique("owner_id")
        .select("owner_id", pl.col("active").fill_null(True).alias("_active"))
    )
    accounts = data.accounts.join(owner_status, on="owner_id", how="left")
    has_owner = is_filled("owner_id", pl.String())
    products = data.products.filter(pl.col("active").fill_null(True))
    owners = data.owners.filter(pl.col("active").fill_null(True))
    teams = data.teams["team_id"].drop_nulls()
    gaps = {
        "without_owner": accounts.filter(~has_owner),
        "unknown_owner": accounts.filter(has_owner & pl.col("_active").is_null()),
        "inactive_owner": accounts.filter(has_owner & (pl.col("_active") == False)),  # noqa: E712
        "products_without_truth_owner": products.filter(~is_filled("truth_owner", pl.String())),
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
    share = share_of(frame.height, total)
    examples = [
        named(identifier, value) if detail == "name" else f"{identifier}: owner {value}"
        for identifier, value in frame.select(key, detail).head(limits.examples).iter_rows()
    ]
    return make_finding(
        Section.OWNERSHIP,
        f"ownership.{name}",
        share_severity(share, limits),
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

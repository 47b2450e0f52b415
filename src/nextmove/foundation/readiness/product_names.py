"""Product names: one product under two names, in the catalog or in quarantined references."""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.model import (
    Finding,
    ProductNameConflict,
    Section,
    Severity,
)
from nextmove.foundation.readiness.quarantine import latest_quarantine
from nextmove.foundation.readiness.vocabulary import compact_key
from nextmove.foundation.readiness.wording import make_finding

__all__ = ["assess_product_names"]


def assess_product_names(context: Context) -> tuple[tuple[ProductNameConflict, ...], list[Finding]]:
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
    compact = [compact_key(n) for n in names]
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


def _quarantined_products(context: Context, catalog: pl.DataFrame) -> list[ProductNameConflict]:
    """Quarantined references to unknown products whose value is close to a catalog entry."""
    unknown = latest_quarantine(context.data.quarantine).filter(
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
    choices = [compact_key(text) for text in (*ids, *names)]
    found = []
    for kind, field_name, value, rows in groups.iter_rows():
        best = process.extractOne(
            compact_key(value),
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
    return make_finding(
        Section.VOCABULARY,
        f"vocabulary.product_names.{conflict.source}",
        Severity.WARNING,
        headline,
        conflict.rows,
        suggestion=conflict.fix,
        examples=(f"{conflict.value} → {conflict.product_id} (similarity {conflict.score:g})",),
    )

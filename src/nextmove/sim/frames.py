"""The polars schema of each record kind, matching the domain records field for field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["SCHEMAS", "UTC_DATETIME", "gather_or_null", "record_frame", "sequential_ids"]

UTC_DATETIME = pl.Datetime("us", "UTC")

_S = pl.String()
_I = pl.Int64()
_F = pl.Float64()
_D = pl.Date()
_B = pl.Boolean()
_L = pl.List(pl.String())

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "teams": {"team_id": _S, "name": _S, "function": _S, "capacity_per_day": _I},
    "owners": {
        "owner_id": _S,
        "name": _S,
        "email": _S,
        "team_id": _S,
        "role": _S,
        "manager_id": _S,
        "capacity_per_day": _I,
        "active": _B,
    },
    "accounts": {
        "account_id": _S,
        "name": _S,
        "domain": _S,
        "industry": _S,
        "segment": _S,
        "country": _S,
        "region": _S,
        "employees": _I,
        "annual_revenue": _F,
        "owner_id": _S,
        "parent_account_id": _S,
        "created_on": _D,
    },
    "contacts": {
        "contact_id": _S,
        "account_id": _S,
        "first_name": _S,
        "last_name": _S,
        "email": _S,
        "title": _S,
        "country": _S,
        "email_consent": _S,
        "phone_consent": _S,
        "do_not_contact": _B,
    },
    "products": {
        "product_id": _S,
        "name": _S,
        "family": _S,
        "list_price": _F,
        "prerequisites": _L,
        "related": _L,
        "truth_owner": _S,
        "last_reviewed": _D,
        "active": _B,
    },
    "holdings": {
        "account_id": _S,
        "product_id": _S,
        "since": _D,
        "quantity": _I,
        "annual_value": _F,
    },
    "opportunities": {
        "opportunity_id": _S,
        "account_id": _S,
        "product_id": _S,
        "stage": _S,
        "amount": _F,
        "created_on": _D,
        "close_date": _D,
        "owner_id": _S,
    },
    "signals": {
        "event_id": _S,
        "account_id": _S,
        "signal_type": _S,
        "product_id": _S,
        "contact_id": _S,
        "value": _F,
        "occurred_at": UTC_DATETIME,
        "source": _S,
        "ref": _S,
    },
    "outcomes": {
        "outcome_id": _S,
        "account_id": _S,
        "outcome_type": _S,
        "product_id": _S,
        "contact_id": _S,
        "opportunity_id": _S,
        "value": _F,
        "occurred_at": UTC_DATETIME,
        "source": _S,
    },
}
"""Column name -> dtype per kind, in the field order of the domain record."""


def record_frame(kind: str, columns: Mapping[str, Any]) -> pl.DataFrame:
    """Return a frame of ``kind`` with exactly its schema; absent columns are all null.

    Values may be polars Series, numpy arrays or lists; each is cast to the schema's dtype.
    """
    schema = SCHEMAS[kind]
    unknown = set(columns) - set(schema)
    if unknown:
        raise KeyError(f"{kind} has no columns {sorted(unknown)}")
    height = next((len(values) for values in columns.values()), 0)
    series = []
    for name, dtype in schema.items():
        if name in columns:
            values = columns[name]
            if isinstance(values, pl.Series):
                column = values.alias(name)
            else:
                column = pl.Series(name, values)
            column = column.cast(dtype)
        else:
            column = pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
        series.append(column)
    return pl.DataFrame(series)


def sequential_ids(prefix: str, count: int, *, width: int, first: int = 1) -> pl.Series:
    """Return ``count`` ids ``<prefix><number>`` from ``first`` on, zero-padded to ``width``."""
    numbers = pl.int_range(first, first + count, dtype=pl.Int64, eager=True)
    return (prefix + numbers.cast(pl.String).str.zfill(width)).alias("id")


def gather_or_null(lookup: pl.Series, index: npt.NDArray[np.int64]) -> pl.Series:
    """Return ``lookup`` gathered at ``index``; negative indexes become nulls."""
    positions = pl.Series(index, dtype=pl.Int64)
    positions = pl.select(pl.when(positions >= 0).then(positions)).to_series()
    return lookup.gather(positions)

"""A catalog of a few products is read in Python: as the query reads it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from nextmove.decisions import candidates
from nextmove.decisions.candidates import catalog_of

PRODUCTS = pl.DataFrame(
    {
        "product_id": ["b", "a", "c"],
        "list_price": [1200.5, None, float("nan")],
        "active": [None, False, True],
        "prerequisites": [["a"], None, ["b", "z"]],
    },
    schema={
        "product_id": pl.String,
        "list_price": pl.Float64,
        "active": pl.Boolean,
        "prerequisites": pl.List(pl.String),
    },
)


def test_a_few_products_read_as_many_are(monkeypatch: pytest.MonkeyPatch) -> None:
    few = catalog_of(PRODUCTS)
    monkeypatch.setattr(candidates, "_FEW", -1)
    many = catalog_of(PRODUCTS)
    assert few.product_ids == many.product_ids == ("a", "b", "c")
    assert few.prerequisites == many.prerequisites == ((), (0,), (1,))
    assert few.list_price.tobytes() == many.list_price.tobytes()
    assert few.list_price.dtype == many.list_price.dtype == np.float64
    assert few.active.tolist() == many.active.tolist() == [False, True, True]

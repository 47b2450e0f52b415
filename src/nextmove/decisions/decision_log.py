"""Rows of a stored decision log, completed with what their run records. Pure.

A run stores the model that decided it; a log row names its own model only when another
one decided it (an account the live challenger took), and is null or absent otherwise.
"""

from __future__ import annotations

import polars as pl

__all__ = ["with_model_versions"]


def with_model_versions(log: pl.DataFrame, run_model: str) -> pl.DataFrame:
    """Return ``log`` with each decision's ``model_version``: its own, else ``run_model``."""
    model = pl.lit(run_model, dtype=pl.String)
    if "model_version" in log.columns:
        model = pl.col("model_version").fill_null(model)
    return log.with_columns(model_version=model)

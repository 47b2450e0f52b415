"""Each logged decision's model: its own (a challenger's), else its run's."""

from __future__ import annotations

import polars as pl

from nextmove.decisions.decision_log import with_model_versions


def test_a_row_keeps_its_own_model_and_the_others_get_the_runs() -> None:
    log = pl.DataFrame({"account_id": ["a", "b"], "model_version": ["challenger", None]})
    found = with_model_versions(log, "champion")
    assert found["model_version"].to_list() == ["challenger", "champion"]
    assert found["account_id"].to_list() == ["a", "b"]


def test_a_log_without_model_versions_gets_the_runs() -> None:
    found = with_model_versions(pl.DataFrame({"account_id": ["a"]}), "champion")
    assert found.schema["model_version"] == pl.String
    assert found["model_version"].to_list() == ["champion"]


def test_an_empty_log_gets_a_string_column() -> None:
    found = with_model_versions(pl.DataFrame(schema={"account_id": pl.String}), "champion")
    assert found.height == 0 and found.schema["model_version"] == pl.String

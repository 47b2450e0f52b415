"""A small synthetic company (300 accounts, parquet) shared by the learning tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextmove.sim import SimConfig, generate, write_company


@pytest.fixture(scope="module")
def small_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_company(generate(SimConfig(seed=5, accounts=300)), folder, fmt="parquet")
    return folder

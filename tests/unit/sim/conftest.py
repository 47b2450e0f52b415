"""Small synthetic companies shared by the sim tests (generated once per session)."""

from __future__ import annotations

import pytest

from nextmove.sim import SimConfig, SyntheticCompany, generate


@pytest.fixture(scope="session")
def config() -> SimConfig:
    return SimConfig(seed=11, accounts=3_000)


@pytest.fixture(scope="session")
def company(config: SimConfig) -> SyntheticCompany:
    return generate(config)


@pytest.fixture(scope="session")
def large_company() -> SyntheticCompany:
    """Enough accounts for rates and effects to be measured with small tolerances."""
    return generate(SimConfig(seed=23, accounts=20_000))

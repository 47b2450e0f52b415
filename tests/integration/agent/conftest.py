"""Agent-loop fixtures: a small synthetic company imported, with the example playbook."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_company import Clock, Company, load_company

from nextmove import Engine


@pytest.fixture
def company(engine: Engine, clock: Clock, tmp_path: Path) -> Company:
    """400 accounts of the synthetic company and the example playbook, at noon of day one."""
    return load_company(engine, clock, tmp_path / "company")

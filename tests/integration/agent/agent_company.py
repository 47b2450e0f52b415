"""What the agent-loop tests share: a small synthetic company in an Engine's store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from nextmove import Engine
from nextmove.loop.simulation import noon
from nextmove.sim import SimConfig, World, generate, write_company

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"


class Clock(Protocol):
    """The ``clock`` fixture: callable, and movable through ``now``."""

    now: datetime

    def __call__(self) -> datetime: ...


@dataclass
class Company:
    """An Engine on a store holding the synthetic company, its world, and the clock."""

    engine: Engine
    world: World
    clock: Clock


def load_company(engine: Engine, clock: Clock, folder: Path, *, accounts: int = 400) -> Company:
    """Import a seeded company (seed 3: its first day has auto, approve and recommend
    moves), apply the example playbook, and set the clock to noon of its first day."""
    generated = generate(SimConfig(seed=3, accounts=accounts))
    manifest = write_company(generated, folder, fmt="parquet")
    engine.import_folder(manifest.parent)
    engine.apply_playbook(PLAYBOOK, message="the example rules")
    world = World(generated)
    clock.now = noon(world.day)
    return Company(engine, world, clock)

"""Teams and the people in them: reps, SDRs, CSMs, marketers, service agents, managers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from nextmove.sim.frames import record_frame
from nextmove.sim.lexicon import FIRST_NAMES, LAST_NAMES

__all__ = ["Staff", "company_domain", "hire_staff"]


@dataclass(frozen=True)
class _Role:
    team: int
    role: str
    count: int
    capacity: int


_TEAMS = (
    ("team-sales", "Sales", "sales"),
    ("team-marketing", "Marketing", "marketing"),
    ("team-customer-success", "Customer Success", "customer_success"),
    ("team-service", "Service Desk", "service"),
)


@dataclass(frozen=True)
class Staff:
    """The teams and owners frames plus who can own accounts."""

    teams: pl.DataFrame
    owners: pl.DataFrame
    rep_ids: pl.Series
    """Owner ids of account executives, including those who have left."""
    inactive_ids: pl.Series


def company_domain(company_name: str) -> str:
    """Return the web domain staff emails use, derived from the company name."""
    return re.sub(r"[^a-z0-9]", "", company_name.lower()) + ".example"


def _roles(accounts: int) -> list[_Role]:
    reps = max(3, math.ceil(accounts / 400))
    return [
        _Role(0, "manager", max(1, math.ceil(reps / 8)), 3),
        _Role(0, "rep", reps, 8),
        _Role(0, "sdr", max(1, math.ceil(accounts / 1500)), 25),
        _Role(1, "manager", 1, 3),
        _Role(1, "marketer", max(2, min(25, math.ceil(accounts / 5000))), 5000),
        _Role(2, "manager", 1, 3),
        _Role(2, "csm", max(2, math.ceil(accounts / 900)), 6),
        _Role(3, "manager", 1, 3),
        _Role(3, "other", max(2, math.ceil(accounts / 2000)), 12),
    ]


def hire_staff(
    rng: np.random.Generator, *, accounts: int, inactive_rate: float, company_name: str
) -> Staff:
    """Return teams and owners sized for ``accounts``; some reps left but still own accounts."""
    roles = _roles(accounts)
    team_of = np.concatenate([np.full(r.count, r.team) for r in roles])
    role = np.concatenate([np.full(r.count, r.role) for r in roles])
    capacity = np.concatenate([np.full(r.count, r.capacity) for r in roles])
    n = len(role)
    ids = pl.Series([f"own-{i:04d}" for i in range(1, n + 1)])

    pairs = len(FIRST_NAMES) * len(LAST_NAMES)
    combo = rng.permutation(pairs)[np.arange(n) % pairs]
    first = pl.Series(FIRST_NAMES).gather(combo // len(LAST_NAMES))
    last = pl.Series(LAST_NAMES).gather(combo % len(LAST_NAMES))
    clash = np.arange(n) // pairs
    local = (first + "." + last).str.to_lowercase() + pl.Series(
        np.where(clash > 0, clash.astype(str), "")
    )
    domain = company_domain(company_name)

    # Each team's first manager heads it; other sales managers report to the head, and
    # everyone else reports to a manager of their own team.
    first_of_team = {
        t: int(np.flatnonzero((team_of == t) & (role == "manager"))[0]) for t in range(4)
    }
    sales_managers = np.flatnonzero((team_of == 0) & (role == "manager"))
    manager_idx = np.array([first_of_team[int(t)] for t in team_of])
    reps = np.flatnonzero(role == "rep")
    manager_idx[reps] = sales_managers[np.arange(len(reps)) % len(sales_managers)]
    manager_idx[sales_managers] = first_of_team[0]
    is_head = np.isin(np.arange(n), list(first_of_team.values()))
    manager = ids.gather(manager_idx).scatter(np.flatnonzero(is_head), None)

    active = np.ones(n, dtype=bool)
    n_inactive = min(len(reps) - 1, math.ceil(inactive_rate * len(reps))) if inactive_rate else 0
    if n_inactive > 0:
        active[rng.choice(reps, size=n_inactive, replace=False)] = False

    owners = record_frame(
        "owners",
        {
            "owner_id": ids,
            "name": first + " " + last,
            "email": local + "@" + domain,
            "team_id": pl.Series([t[0] for t in _TEAMS]).gather(team_of),
            "role": role,
            "manager_id": manager,
            "capacity_per_day": capacity,
            "active": active,
        },
    )
    team_capacity = [int(capacity[(team_of == t) & active].sum()) for t in range(4)]
    teams = record_frame(
        "teams",
        {
            "team_id": [t[0] for t in _TEAMS],
            "name": [t[1] for t in _TEAMS],
            "function": [t[2] for t in _TEAMS],
            "capacity_per_day": team_capacity,
        },
    )
    return Staff(
        teams=teams,
        owners=owners,
        rep_ids=ids.gather(reps),
        inactive_ids=ids.filter(pl.Series(~active)),
    )

"""A seeded synthetic B2B software company for the demo, tests, benchmarks and closed loops.

```python
from nextmove.sim import SimConfig, World, generate, write_company

company = generate(SimConfig(seed=7, accounts=10_000))    # frames + hidden truth
write_company(company, "data/northwind", fmt="csv")        # files + manifest.yaml
world = World(company)                                     # step it day by day
```
"""

from nextmove.sim.company import generate
from nextmove.sim.model import (
    IMPORT_ORDER,
    MOTIONS,
    AccountClass,
    HiddenTruth,
    ImperfectionRates,
    Motion,
    ResponseType,
    SimAction,
    SimConfig,
    SyntheticCompany,
)
from nextmove.sim.world import World
from nextmove.sim.writer import BAD_ROW_PROBLEMS, FORMATS, BadRow, write_company

__all__ = [
    "BAD_ROW_PROBLEMS",
    "FORMATS",
    "IMPORT_ORDER",
    "MOTIONS",
    "AccountClass",
    "BadRow",
    "HiddenTruth",
    "ImperfectionRates",
    "Motion",
    "ResponseType",
    "SimAction",
    "SimConfig",
    "SyntheticCompany",
    "World",
    "generate",
    "write_company",
]

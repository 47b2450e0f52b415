"""nextmove: the next move for every account, by incremental value, inside the rules people set."""

from nextmove.config import Settings
from nextmove.engine import Engine
from nextmove.errors import (
    ConfigurationError,
    ImportFailed,
    MappingError,
    NextmoveError,
    NotFound,
    SimulationError,
    StoreError,
)

__all__ = [
    "ConfigurationError",
    "Engine",
    "ImportFailed",
    "MappingError",
    "NextmoveError",
    "NotFound",
    "Settings",
    "SimulationError",
    "StoreError",
]

__version__ = "0.1.0"

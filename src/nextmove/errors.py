"""Every error nextmove raises on purpose.

    NextmoveError
     ├── ConfigurationError        bad settings or a missing optional extra
     ├── StoreError                the database could not be reached or migrated
     ├── ImportFailed              an input file could not be read at all
     │    └── MappingError         a column mapping file is invalid
     ├── NotFound                  a named record, run or file does not exist
     └── SimulationError           the synthetic company was asked something impossible

Third-party exceptions are translated at the boundary (``raise X(...) from exc``) so a
caller only ever needs ``except NextmoveError``.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ImportFailed",
    "MappingError",
    "NextmoveError",
    "NotFound",
    "SimulationError",
    "StoreError",
]


class NextmoveError(Exception):
    """Root of every error nextmove raises deliberately."""


class ConfigurationError(NextmoveError):
    """Settings are invalid or an optional extra is not installed."""


class StoreError(NextmoveError):
    """The database could not be reached, migrated or written."""


class ImportFailed(NextmoveError):
    """An input file could not be read at all (nothing was imported from it)."""


class MappingError(ImportFailed):
    """A column mapping is invalid or names columns the file does not have."""


class NotFound(NextmoveError):
    """A named record, import run, mapping or file does not exist."""


class SimulationError(NextmoveError):
    """The synthetic company was configured or driven in an impossible way."""

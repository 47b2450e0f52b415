"""Every error nextmove raises on purpose.

    NextmoveError
     ├── ConfigurationError        bad settings or a missing optional extra
     ├── StoreError                the database could not be reached or migrated
     ├── ImportFailed              an input file could not be read at all
     │    └── MappingError         a column mapping file is invalid
     ├── NotFound                  a named record, run or file does not exist
     ├── SimulationError           the synthetic company was asked something impossible
     ├── PlaybookInvalid           a playbook failed its checks (carries every problem)
     ├── AuthenticationFailed      no valid identity (user and token) was given
     ├── AccessDenied              the acting user's role does not allow the operation
     └── GovernanceError           an approval, exception or kill switch refused a change

Third-party exceptions are translated at the boundary (``raise X(...) from exc``) so a
caller only ever needs ``except NextmoveError``.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "ConfigurationError",
    "GovernanceError",
    "ImportFailed",
    "MappingError",
    "NextmoveError",
    "NotFound",
    "PlaybookInvalid",
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


class PlaybookInvalid(NextmoveError):
    """A playbook failed its checks; ``problems`` lists every one (path, line, message)."""

    def __init__(self, message: str, problems: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class AuthenticationFailed(NextmoveError):
    """No valid identity was given: unknown user, wrong token, or a deactivated user."""


class AccessDenied(NextmoveError):
    """The acting user's role does not allow this operation."""


class GovernanceError(NextmoveError):
    """An approval, exception or kill-switch rule refused the change (e.g. self-approval)."""

"""Errors of the execution part, under ``NextmoveError``.

NextmoveError
 ├── ExecutionError                 an action could not be handed over
 │    └── SendError                 a connector's send failed
 │         ├── RetryableSendError   worth trying again later (5xx, timeout, refused)
 │         └── PermanentSendError   trying again cannot help (4xx, bad address)
 └── ConfigurationError
      └── ConnectorConfigInvalid    the connectors file is wrong (carries every problem)
"""

from __future__ import annotations

from nextmove.errors import ConfigurationError, NextmoveError

__all__ = [
    "ConnectorConfigInvalid",
    "ExecutionError",
    "PermanentSendError",
    "RetryableSendError",
    "SendError",
]


class ExecutionError(NextmoveError):
    """An action could not be handed to the outside world."""


class SendError(ExecutionError):
    """A connector could not deliver one outbox item."""


class RetryableSendError(SendError):
    """The failure may pass: the dispatcher tries again after a backoff."""


class PermanentSendError(SendError):
    """Trying again cannot help: the item goes to the dead letters and a person is told."""


class ConnectorConfigInvalid(ConfigurationError):
    """The connectors file failed validation; ``problems`` lists every one as ``field: why``."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

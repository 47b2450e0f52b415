"""The execution package exports what it documents, and its errors sit in the tree."""

from __future__ import annotations

import nextmove.execution as execution
from nextmove.errors import ConfigurationError, NextmoveError


def test_every_exported_name_exists() -> None:
    missing = [name for name in execution.__all__ if not hasattr(execution, name)]
    assert missing == []
    assert sorted(execution.__all__) == sorted(set(execution.__all__))


def test_send_errors_are_nextmove_errors() -> None:
    assert issubclass(execution.RetryableSendError, execution.SendError)
    assert issubclass(execution.PermanentSendError, execution.SendError)
    assert issubclass(execution.SendError, NextmoveError)
    assert issubclass(execution.ConnectorConfigInvalid, ConfigurationError)
    assert not issubclass(execution.RetryableSendError, execution.PermanentSendError)

"""The public package exports exactly what it documents."""

from __future__ import annotations

import nextmove
from nextmove import domain


def test_public_names_are_exported_and_exist() -> None:
    assert set(nextmove.__all__) == {
        "ConfigurationError",
        "Engine",
        "ImportFailed",
        "MappingError",
        "NextmoveError",
        "NotFound",
        "Settings",
        "SimulationError",
        "StoreError",
    }
    for name in (*nextmove.__all__, *domain.__all__):
        module = nextmove if name in nextmove.__all__ else domain
        assert getattr(module, name) is not None


def test_every_error_derives_from_the_root() -> None:
    for name in nextmove.__all__:
        value = getattr(nextmove, name)
        if isinstance(value, type) and name.endswith(("Error", "Failed", "NotFound")):
            assert issubclass(value, nextmove.NextmoveError), name

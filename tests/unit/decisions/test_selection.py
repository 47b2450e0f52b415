"""The holdout and exploration draws hash account ids the same way on every machine."""

from __future__ import annotations

import polars as pl
import pytest

from nextmove.decisions.selection import stable_unit

_MASK = (1 << 64) - 1


def reference(key: str | None, salt: str) -> float:
    """FNV-1a (64 bits) of the salted UTF-8 bytes, finalised with splitmix64."""
    state = 0xCBF29CE484222325
    for byte in (salt + (key or "")).encode():
        state = ((state ^ byte) * 0x100000001B3) & _MASK
    z = (state + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


@pytest.mark.parametrize(
    "keys",
    [
        ["acct-0001", "acct-0002", "acct-0003"],  # one length: read as a byte matrix
        ["a", "bcd", "", None, "zoë-42"],
        [],
    ],
)
def test_stable_unit_is_fnv1a_of_the_salted_bytes(keys: list[str | None]) -> None:
    for salt in ("", "holdout:"):
        drawn = stable_unit(pl.Series(keys, dtype=pl.String), salt).tolist()
        assert drawn == [reference(key, salt) for key in keys]

"""Holdout and exploration: the randomised part of deciding, reproducible to the bit.

*Holdout.* An account is held out when a stable hash of its id (FNV-1a, 64 bits, of its
UTF-8 bytes, finalised with splitmix64), read as a number in [0, 1), falls below the
playbook's ``holdout_share``. The hash depends on nothing else, so an account stays in
(or out of) the control group across runs, processes, machines and library versions.

*Exploration.* A share of the other accounts (the playbook's ``exploration_budget``) is
chosen at random for each decision run, from a hash of the id and the run's ``as_of``
day; an explored account gets one of its allowed options drawn uniformly (doing nothing
included). So the probability that an account gets option k is
``(1 − ε)·[k is the best] + ε / n_options``, which is what each decision stores.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from nextmove.decisions.columns import nulls_filled

__all__ = ["exploration_draws", "in_holdout", "stable_unit"]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def stable_unit(keys: pl.Series, salt: str = "") -> Floats:
    """Return a number in [0, 1) per key, the same on every machine and in every run."""
    return _splitmix(_fnv1a(keys, salt))


def _fnv1a(keys: pl.Series, salt: str) -> npt.NDArray[np.uint64]:
    """FNV-1a (64 bits) of each ``salt + key``'s UTF-8 bytes.

    The hash reads bytes in order, so the salt's part is hashed once for every key.
    """
    salted = _FNV_OFFSET
    with np.errstate(over="ignore"):
        for salt_byte in salt.encode():
            salted = (salted ^ np.uint64(salt_byte)) * _FNV_PRIME
    text = nulls_filled(keys.cast(pl.String), "")
    if len(text) <= _FEW:  # a few keys (deciding one account): hashed in Python
        return np.array([_fnv1a_of(key.encode(), int(salted)) for key in text.to_list()], np.uint64)
    array = text.rechunk().cast(pl.Binary).to_arrow().cast(pa.large_binary())
    _validity, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[: len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    start, length = offsets[:-1], np.diff(offsets)
    state = np.full(len(array), salted, dtype=np.uint64)
    shortest = int(length.min()) if len(length) else 0
    longest = int(length.max()) if len(length) else 0
    if shortest == longest:  # ids of one length (the usual case) are a byte matrix
        matrix = data[offsets[0] : offsets[-1]].reshape(len(array), shortest)
        with np.errstate(over="ignore"):
            for j in range(shortest):
                state = (state ^ matrix[:, j]) * _FNV_PRIME
        return state
    rows = np.arange(len(array))
    with np.errstate(over="ignore"):
        for j in range(shortest):  # every key has this byte
            state = (state ^ data[start + j].astype(np.uint64)) * _FNV_PRIME
        for j in range(shortest, longest):
            rows = rows[length[rows] > j]
            byte = data[start[rows] + j].astype(np.uint64)
            state[rows] = (state[rows] ^ byte) * _FNV_PRIME
    return state


_FEW = 16
"""Up to this many keys are hashed in Python rather than as arrays."""
_MASK = (1 << 64) - 1


def _fnv1a_of(data: bytes, state: int) -> int:
    """FNV-1a (64 bits) of ``data``, from ``state``, as :func:`_fnv1a` works it out."""
    prime = int(_FNV_PRIME)
    for byte in data:
        state = ((state ^ byte) * prime) & _MASK
    return state


def _splitmix(state: npt.NDArray[np.uint64]) -> Floats:
    with np.errstate(over="ignore"):
        z = state + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def in_holdout(account_ids: pl.Series, share: float) -> Bools:
    """Return which accounts belong to the randomised holdout (never receive actions)."""
    if share <= 0:
        return np.zeros(len(account_ids), dtype=bool)
    return stable_unit(account_ids, "holdout:") < share


def exploration_draws(account_ids: pl.Series, as_of: datetime) -> tuple[Floats, Floats]:
    """Return two independent uniform draws per account for the run of ``as_of``'s day.

    The first decides whether the account explores, the second which option it gets.
    """
    state = _fnv1a(account_ids, f"explore:{as_of:%Y-%m-%d}:")
    return _splitmix(state), _splitmix(state ^ np.uint64(0x5DEECE66D2545F49))

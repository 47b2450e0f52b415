"""Per account, its candidates side by side: the best, the runner-up, what was blocked. Pure.

An account has at most one candidate per action, so a batch's candidates fit in a few
account × action tables (numpy), and each question about an account's candidates — which
scores highest, which comes second, which rules stopped which actions — is a pass over its
row of a table rather than a sort or a join of long frames. Ties in score go to the action
declared first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.reasons import json_lists

__all__ = ["CandidateTable", "blocked_lists"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CandidateTable:
    """Where each (account, action) candidate sits in a list of candidates (-1: none).

    ``position[i, k]`` is the index, in the list the table was made of, of account ``i``'s
    candidate for action ``k``.
    """

    position: Ints

    @classmethod
    def of(cls, accounts: int, actions: int, row: Ints, action: Ints) -> CandidateTable:
        """Table the candidates whose accounts are ``row`` and actions ``action``."""
        position = np.full((accounts, max(actions, 1)), -1, dtype=np.int64)
        position[row, action] = np.arange(len(row), dtype=np.int64)
        return cls(position)

    def count(self) -> Ints:
        """How many candidates each account has."""
        counted: Ints = (self.position >= 0).sum(axis=1)
        return counted

    def spread(self, values: npt.NDArray[Any], fill: object) -> npt.NDArray[Any]:
        """``values`` (one per listed candidate) laid out as the table, ``fill`` elsewhere."""
        present = self.position >= 0
        table = np.full(self.position.shape, fill, dtype=values.dtype)
        table[present] = values[self.position[present]]
        return table

    def best(self, score: Floats, without: Ints | None = None) -> Ints:
        """Each account's action with the highest-scoring candidate (-1: none).

        ``without`` names an action per account (-1: none) whose candidate does not count.
        """
        table = self.spread(score, -np.inf)
        present = self.position >= 0
        if without is not None:
            rows = np.flatnonzero(without >= 0)
            present[rows, without[rows]] = False
            table[rows, without[rows]] = -np.inf
        action = np.argmax(table, axis=1)  # the first of equal scores
        found = present[np.arange(len(table)), action]
        return np.where(found, action, -1)

    def at(self, action: Ints) -> Ints:
        """The position of each account's candidate for ``action`` (-1: none or no action)."""
        rows = np.arange(len(self.position))
        found: Ints = np.where(action >= 0, self.position[rows, np.maximum(action, 0)], -1)
        return found


def blocked_lists(
    table: CandidateTable, first_rule: Ints, actions: Sequence[str], rule_ids: Sequence[str]
) -> pl.Series:
    """Per account, ``"<action>: <rule id>"`` for each of its blocked candidates, in action
    order, as JSON text (see :func:`~nextmove.decisions.reasons.json_lists`).

    ``table`` places the blocked candidates; ``first_rule`` is, per blocked candidate, the
    index in ``rule_ids`` of the first rule it breaks. Accounts share few distinct lists,
    so each is written once.
    """
    rule = table.spread(first_rule, -1)
    _, first, inverse = np.unique(
        _row_codes(rule + 1, len(rule_ids) + 1), return_index=True, return_inverse=True
    )
    lists = [
        [f"{actions[k]}: {rule_ids[r]}" for k, r in enumerate(rule[i].tolist()) if r >= 0]
        for i in first.tolist()
    ]
    labels = pl.Series("blocked", json_lists(lists), dtype=pl.String)
    return labels[inverse.reshape(-1)]


def _row_codes(values: Ints, base: int) -> Ints:
    """One integer per row of ``values`` (each in [0, base)), equal exactly for equal rows."""
    codes = np.zeros(len(values), dtype=np.int64)
    span = 1
    for column in values.T:
        if span * base >= 1 << 62:  # renumber the rows seen so far densely first
            _, codes = np.unique(codes, return_inverse=True)
            codes = codes.reshape(-1).astype(np.int64)
            span = int(codes.max()) + 1 if len(codes) else 1
        codes = codes * base + column
        span *= base
    return codes

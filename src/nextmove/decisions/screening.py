"""Screening: every (account, action) candidate through the guardrail rules. Pure.

An account's candidate for an action is its best product for it (see
:mod:`nextmove.decisions.scoring`), with the account's context beside it so that the
rules can read it. Rules read one candidate at a time, so the candidates are screened in
batches of a few actions, which decides the same while only one batch of these wide rows
exists at once; what passes keeps only the candidate's own columns, and what is blocked
keeps only its account, action and first rule broken, which is all the reasons need.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.candidates import ActionSpec, Catalog
from nextmove.decisions.columns import take_rows
from nextmove.decisions.ranking import CandidateTable, blocked_lists
from nextmove.decisions.scoring import Scores
from nextmove.governance.autonomy import autonomy_levels
from nextmove.governance.guardrails import apply_guardrails, count_first_rules
from nextmove.playbook.model import AutonomyLevel, Channel, Playbook
from nextmove.playbook.policy import GuardrailPolicy

__all__ = [
    "CANDIDATE_COLUMNS",
    "NOTHING",
    "BlockedCandidates",
    "Screened",
    "screen_candidates",
    "with_accounts",
]

Ints = npt.NDArray[np.int64]

NOTHING = ActionSpec("no_action", Channel.NONE, None, 0.0, 1.0, ())
"""Stands in when a playbook has no action besides no_action: no candidate rows."""


CANDIDATE_COLUMNS = (
    "row",
    "action",
    "action_index",
    "motion",
    "channel",
    "team_id",
    "product_id",
    "product_index",
    "expected_value",
    "score",
    "uplift",
    "value",
    "autonomy",
)
"""What a candidate adds to its account's context (``row``: the account's position)."""
_SCREENED_AT_ONCE = 1 << 19
"""Candidate rows (each some 30 columns wide) the guardrails screen in one batch."""


@dataclass(frozen=True)
class Screened:
    """The candidates the guardrails allowed, and what blocked the others."""

    allowed: pl.DataFrame
    blocked: BlockedCandidates


def screen_candidates(
    accounts: pl.DataFrame,
    scored: Scores,
    catalog: Catalog,
    specs: Sequence[ActionSpec],
    playbook: Playbook,
    demoted: Mapping[str, AutonomyLevel],
    policy: GuardrailPolicy,
    kept: Sequence[str],
) -> Screened:
    """Return the candidates every rule of ``policy`` allows, and what blocked the others.

    ``accounts`` has one row per account with the context columns the rules read; an
    allowed candidate keeps :data:`CANDIDATE_COLUMNS` and the ``kept`` context columns.
    """
    listed = tuple(specs or [NOTHING])
    with_product = [_with_product(spec, scored) for spec in listed]
    allowed, rows, actions, firsts = [], [], [], []
    for batch in _batches([len(found) for found in with_product], _SCREENED_AT_ONCE):
        frame = _candidate_rows(batch, listed, with_product, accounts, scored, catalog)
        candidates = frame.hstack([autonomy_levels(playbook, frame, demoted)])
        checked = apply_guardrails(candidates, policy.rules)
        allowed.append(checked.allowed[[*CANDIDATE_COLUMNS, *kept]])
        assert checked.first_rules is not None  # apply_guardrails always tells
        blocked = checked.first_rules.positions
        rows.append(_ints(candidates["row"])[blocked])
        actions.append(_ints(candidates["action_index"])[blocked])
        firsts.append(checked.first_rules.first)
    ids = tuple(rule.rule_id for rule in policy.rules)
    blocked_by = BlockedCandidates(
        np.concatenate(rows), np.concatenate(actions), np.concatenate(firsts), ids
    )
    return Screened(allowed[0] if len(allowed) == 1 else pl.concat(allowed), blocked_by)


def _with_product(spec: ActionSpec, scored: Scores) -> Ints:
    """The accounts (rows) with a product for the action."""
    product = scored.product.get(spec.name)
    return np.zeros(0, np.int64) if product is None else np.flatnonzero(product >= 0)


def _batches(sizes: Sequence[int], rows: int) -> Iterator[list[int]]:
    """Consecutive positions of ``sizes``, joined until a batch holds at least ``rows``."""
    pending: list[int] = []
    for k in range(len(sizes)):
        pending.append(k)
        if sum(sizes[i] for i in pending) >= rows:
            yield pending
            pending = []
    if pending:
        yield pending


def _candidate_rows(
    batch: Sequence[int],
    specs: tuple[ActionSpec, ...],
    with_product: Sequence[Ints],
    accounts: pl.DataFrame,
    scored: Scores,
    catalog: Catalog,
) -> pl.DataFrame:
    """One row per account with a product for each of the ``batch`` actions (action after
    action), with what the guardrails read but its autonomy."""
    found = [k for k in batch if len(with_product[k])]

    def taken(numbers: Mapping[str, npt.NDArray[Any]], empty: npt.NDArray[Any]) -> Any:
        parts = [numbers[specs[k].name][with_product[k]] for k in found]
        return np.concatenate(parts) if parts else empty

    sizes = [len(with_product[k]) for k in found]
    rows = np.concatenate([with_product[k] for k in found]) if found else np.zeros(0, np.int64)
    product = taken(scored.product, np.zeros(0, np.int64))
    ev = taken(scored.expected_value, np.zeros(0))
    lever = np.repeat([specs[k].lever for k in found], sizes)
    action = np.repeat(np.asarray(found, dtype=np.int64), sizes)
    # Built from arrays and one gather of the accounts, not as a query: no fixed cost.
    return take_rows(accounts, rows).hstack(
        [
            pl.Series("row", rows, dtype=pl.Int64),
            *_actions_at(specs, action),
            _products_at(catalog.product_ids, product),
            pl.Series("product_index", product, dtype=pl.Int64),
            pl.Series("expected_value", ev, dtype=pl.Float64),
            pl.Series("score", ev * lever, dtype=pl.Float64),
            pl.Series("uplift", taken(scored.uplift, np.zeros(0)), dtype=pl.Float64),
            pl.Series("value", taken(scored.value, np.zeros(0)), dtype=pl.Float64),
        ]
    )


def _actions_at(specs: tuple[ActionSpec, ...], action: Ints) -> list[pl.Series]:
    """:func:`_action_columns` at the candidates' actions (the same few for one account
    after another: remembered)."""
    if len(action) <= _FEW_CANDIDATES:
        return [column.clone() for column in _few_actions_at(specs, tuple(action.tolist()))]
    return _action_columns(specs)[action].get_columns()


@lru_cache(maxsize=64)
def _few_actions_at(specs: tuple[ActionSpec, ...], action: tuple[int, ...]) -> list[pl.Series]:
    return _action_columns(specs)[np.array(action, dtype=np.int64)].get_columns()


def _products_at(product_ids: tuple[str, ...], product: Ints) -> pl.Series:
    """The candidates' product ids (``product`` indexes the catalog's)."""
    if len(product) <= _FEW_CANDIDATES:
        return pl.Series("product_id", [product_ids[p] for p in product.tolist()], pl.String)
    return pl.Series("product_id", product_ids, dtype=pl.String)[product]


_FEW_CANDIDATES = 64
"""Up to this many candidates (one account's), their action and product columns are
looked up in Python, the former remembered."""


@lru_cache(maxsize=16)
def _action_columns(specs: tuple[ActionSpec, ...]) -> pl.DataFrame:
    """What each candidate of an action carries about it, one row per action."""
    return pl.DataFrame(
        {
            "action": [spec.name for spec in specs],
            "action_index": list(range(len(specs))),
            "motion": [spec.name for spec in specs],
            "channel": [spec.channel.value for spec in specs],
            "team_id": [spec.team for spec in specs],
        },
        schema={
            "action": pl.String,
            "action_index": pl.Int64,
            "motion": pl.String,
            "channel": pl.String,
            "team_id": pl.String,
        },
    )


def with_accounts(chosen: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """The chosen candidates with their accounts' context again, for the last guardrail pass."""
    context = accounts[[c for c in accounts.columns if c not in chosen.columns]]
    return take_rows(context, _ints(chosen["row"])).hstack(chosen.get_columns())


@dataclass(frozen=True)
class BlockedCandidates:
    """The candidates the guardrails blocked: their accounts, actions and first rules."""

    row: Ints
    action: Ints
    first: Ints
    """The index in ``rule_ids`` of the first rule each broke."""
    rule_ids: tuple[str, ...]

    def counts(self) -> pl.DataFrame:
        """How many candidates each rule blocked first, most first."""
        return count_first_rules(self.first, self.rule_ids)

    def lists(self, accounts: int, actions: Sequence[str]) -> pl.Series:
        """Per account, the JSON list of its blocked actions and their first rules."""
        table = CandidateTable.of(accounts, len(actions), self.row, self.action)
        return blocked_lists(table, self.first, actions, self.rule_ids)


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.to_numpy(), dtype=np.int64)

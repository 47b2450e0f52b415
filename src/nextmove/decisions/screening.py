"""Screening: every (account, action) candidate through the guardrail rules. Pure.

An account's candidate for an action is its best product for it (see
:mod:`nextmove.decisions.scoring`), with the account's context beside it so that the
rules can read it. Rules read one candidate at a time, so the candidates are screened in
batches of a few actions, which decides the same while only one batch of these wide rows
exists at once; what passes keeps only the candidate's own columns, and what is blocked
keeps only its account, action and first rule broken, which is all the reasons need.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.candidates import ActionSpec, Catalog
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
    parts = (
        _candidate_rows(k, spec, accounts, scored, catalog)
        for k, spec in enumerate(specs or [NOTHING])
    )
    allowed, rows, actions, firsts = [], [], [], []
    for batch in _in_batches(parts, _SCREENED_AT_ONCE):
        candidates = batch.hstack([autonomy_levels(playbook, batch, demoted)])
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
    return Screened(pl.concat(allowed), blocked_by)


def _in_batches(parts: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The parts, consecutive ones joined until a batch has at least ``rows`` rows."""
    pending: list[pl.DataFrame] = []
    for part in parts:
        pending.append(part)
        if sum(frame.height for frame in pending) >= rows:
            yield pl.concat(pending)
            pending = []
    if pending:
        yield pl.concat(pending)


def _candidate_rows(
    k: int,
    spec: ActionSpec,
    accounts: pl.DataFrame,
    scored: Scores,
    catalog: Catalog,
) -> pl.DataFrame:
    """One row per account with a product for the ``k``-th action, with what the
    guardrails read but its autonomy."""
    product = scored.product.get(spec.name, np.full(accounts.height, -1))
    rows = np.flatnonzero(product >= 0)
    ev = scored.expected_value[spec.name][rows] if len(rows) else np.zeros(0)
    ids = pl.Series(catalog.product_ids, dtype=pl.String)

    def repeated(name: str, value: object, dtype: pl.DataType) -> pl.Series:
        return pl.Series(name, [value], dtype=dtype).new_from_index(0, len(rows))

    # Built from arrays and repeats, not as a query: the same columns, at no fixed cost.
    return accounts[rows].hstack(
        [
            pl.Series("row", rows, dtype=pl.Int64),
            repeated("action", spec.name, pl.String()),
            repeated("action_index", k, pl.Int64()),
            repeated("motion", spec.name, pl.String()),
            repeated("channel", spec.channel.value, pl.String()),
            repeated("team_id", spec.team, pl.String()),
            ids[product[rows]].alias("product_id")
            if len(rows)
            else pl.Series("product_id", [], dtype=pl.String),
            pl.Series("product_index", product[rows], dtype=pl.Int64),
            pl.Series("expected_value", ev, dtype=pl.Float64),
            pl.Series("score", ev * spec.lever, dtype=pl.Float64),
            pl.Series(
                "uplift", scored.uplift[spec.name][rows] if len(rows) else [], dtype=pl.Float64
            ),
            pl.Series(
                "value", scored.value[spec.name][rows] if len(rows) else [], dtype=pl.Float64
            ),
        ]
    )


def with_accounts(chosen: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """The chosen candidates with their accounts' context again, for the last guardrail pass."""
    context = accounts[[c for c in accounts.columns if c not in chosen.columns]]
    return context[chosen["row"]].hstack(chosen.get_columns())


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

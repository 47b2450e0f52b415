"""Vowpal Wabbit's contextual bandit as a policy to hold the engine against.

:class:`BanditScorer` asks ``--cb_explore_adf`` for every account's move among doing
nothing and every (action, buyable product) pair, with the engine's own account features
(shared) and the product's interest (per move). :meth:`BanditScorer.learn` gives it the
reward of the moves that were carried out as it chose them: the value of what the account
bought next (by the playbook's prices) minus the motion's cost — the same outcome for
every move, so what it learns about one move against another is the move's uplift.

Needs the optional ``vowpalwabbit`` package (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nextmove.decisions.candidates import ActionSpec, Catalog, buyable
from nextmove.decisions.context import AccountContext
from nextmove.decisions.scoring import Scores, scores_from_preferences
from nextmove.learning.features import account_features
from nextmove.playbook.model import Playbook
from nextmove.sim.policies import UNWANTED, interest_matrix

__all__ = ["BanditScorer"]

Floats = npt.NDArray[np.float64]

NO_ACTION = "no_action"


@dataclass(frozen=True)
class _Choice:
    lines: list[str]
    index: int
    probability: float
    action: str
    product_id: str | None


class BanditScorer:
    """``vw --cb_explore_adf`` choosing each account's move; learns from carried-out moves."""

    def __init__(self, *, seed: int = 0, epsilon: float = 0.05, reward_scale: float = 1e-4):
        from vowpalwabbit import Workspace

        self.seed = seed
        self.epsilon = epsilon
        self.reward_scale = reward_scale
        self._vw: Any = Workspace(
            f"--cb_explore_adf -q SA --epsilon {epsilon} --random_seed {seed} --quiet"
        )
        self._rng = np.random.default_rng(seed)
        self._pending: dict[str, _Choice] = {}

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Draw each account's move from the bandit's exploration distribution."""
        frame = context.frame
        features = account_features(frame, playbook)
        interest = interest_matrix(context, catalog)
        can_buy = buyable(frame, catalog)
        n, p = can_buy.shape
        chosen = np.full(n, -1)
        chosen_product = np.full(n, -1)
        self._pending = {}
        for row, account_id in enumerate(frame["account_id"].to_list()):
            shared = "shared |S " + " ".join(
                f"{name}:{value:.4g}"
                for name, value in zip(features.names, features.matrix[row], strict=True)
                if value
            )
            moves: list[tuple[int, int]] = [(-1, -1)]
            lines = [shared, "|A no_action"]
            for k, spec in enumerate(specs):
                for column in spec.products:
                    if can_buy[row, column]:
                        moves.append((k, column))
                        lines.append(
                            f"|A {spec.name} {spec.name}__{catalog.product_ids[column]} "
                            f"interest:{interest[row, column]:.4g}"
                        )
            pmf = np.asarray(self._vw.predict(lines), dtype=np.float64)
            pick = int(self._rng.choice(len(pmf), p=pmf / pmf.sum()))
            k, column = moves[pick]
            chosen[row], chosen_product[row] = k, column
            self._pending[account_id] = _Choice(
                lines,
                pick,
                float(pmf[pick]),
                NO_ACTION if k < 0 else specs[k].name,
                None if column < 0 else catalog.product_ids[column],
            )

        def preference(k: int, _spec: ActionSpec) -> Floats:
            wanted = np.full((n, p), UNWANTED)
            rows = np.flatnonzero(chosen == k)
            wanted[rows, chosen_product[rows]] = 1.0
            return wanted

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="vowpal-wabbit"
        )

    def learn(
        self,
        carried_out: Mapping[str, tuple[str, str | None]],
        rewards: Mapping[str, float],
    ) -> int:
        """Learn from moves carried out as chosen; return how many examples it learned from.

        ``carried_out`` maps an account to the (action, product) made (no entry: nothing
        was done); ``rewards`` maps an account to its reward (no entry: 0).
        """
        learned = 0
        for account_id, choice in self._pending.items():
            made = carried_out.get(account_id, (NO_ACTION, None))
            if made != (choice.action, choice.product_id):
                continue  # a guardrail or capacity changed the move: not the bandit's
            cost = -rewards.get(account_id, 0.0) * self.reward_scale
            lines = list(choice.lines)
            at = choice.index + 1  # after the shared line
            lines[at] = f"0:{cost:.6g}:{choice.probability:.6g} {lines[at]}"
            self._vw.learn(lines)
            learned += 1
        self._pending = {}
        return learned

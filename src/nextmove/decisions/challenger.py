"""Champion and challenger: a live challenger model decides for its share of accounts.

Which accounts are the challenger's is a stable hash of the account id salted with the
challenger's version (see :func:`~nextmove.decisions.selection.stable_unit`): an account
stays with the same model for the challenger's whole life, whatever runs it takes part in,
and every new challenger draws its own accounts. Everything after scoring — guardrails,
thresholds, capacity, holdout, exploration — is the same for both, so the two shares of
accounts differ only by the model: comparing what their decisions brought is a randomised
test of the models (see :func:`nextmove.decisions.learn_service.review_challenger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.candidates import ActionSpec, Catalog
from nextmove.decisions.context import AccountContext
from nextmove.decisions.scoring import ModelScorer, Scores
from nextmove.decisions.selection import stable_unit
from nextmove.learning.response import ResponseModel
from nextmove.playbook.model import Playbook

__all__ = ["ChampionChallenger", "challenger_arm"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def challenger_arm(account_ids: pl.Series, version: str, share: float) -> Bools:
    """Whether each account is decided by the challenger ``version``."""
    arm: Bools = stable_unit(account_ids, salt=f"challenger:{version}") < share
    return arm


@dataclass(frozen=True)
class ChampionChallenger:
    """A scorer: the champion's scores, the challenger's for the challenger's accounts."""

    champion: ResponseModel
    challenger: ResponseModel
    share: float
    version: str
    """The challenger's registered version (its accounts are drawn with it)."""

    def arm(self, account_ids: pl.Series) -> Bools:
        return challenger_arm(account_ids, self.version, self.share)

    def versions(self, account_ids: pl.Series) -> pl.Series:
        """The model that decides each account."""
        arm = self.arm(account_ids)
        names = np.where(arm, self.version, self.champion.version)
        return pl.Series("model_version", names, dtype=pl.String)

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Score every account with both models and keep each account's own model's."""
        arm = self.arm(context.frame["account_id"])
        champion = ModelScorer(self.champion).score(context, playbook, catalog, specs)
        if not arm.any():
            return champion
        challenger = ModelScorer(self.challenger).score(context, playbook, catalog, specs)

        spread = None
        if champion.spread is not None and challenger.spread is not None:
            spread_a, spread_b = champion.spread, challenger.spread

            def spread(k: int, rows: Ints, products: Ints) -> Floats:
                return np.where(arm[rows], spread_b(k, rows, products), spread_a(k, rows, products))

        return Scores(
            product=_pick(arm, challenger.product, champion.product),
            uplift=_pick(arm, challenger.uplift, champion.uplift),
            value=_pick(arm, challenger.value, champion.value),
            expected_value=_pick(arm, challenger.expected_value, champion.expected_value),
            spread=spread,
            version=champion.version,
        )


_Array = TypeVar("_Array", Ints, Floats)


def _pick(arm: Bools, ours: dict[str, _Array], theirs: dict[str, _Array]) -> dict[str, _Array]:
    """Per action, the challenger's numbers on its accounts and the champion's elsewhere."""
    return {name: np.where(arm, ours[name], theirs[name]) for name in theirs}

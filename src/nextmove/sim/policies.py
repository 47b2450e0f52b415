"""Policies to hold the engine against on the synthetic company: each one is a
:class:`~nextmove.decisions.scoring.Scorer`, so it meets the very same guardrails,
capacities and allocation as the engine's own scoring.

- :class:`RandomScorer` — a uniformly random move (doing nothing included) per account;
- :class:`RulesScorer` — the usual hand-written routing: interest (an intent surge or
  repeated pricing visits) sends mid-market and enterprise accounts to sales and small
  ones to the email programme; an open support ticket sends a customer to a service call;
- :class:`PropensityScorer` — lead scoring: a logistic model of "buys this product within
  30 days" fitted on history; the likeliest buyers get the segment's motion;
- :class:`OracleScorer` — knows the simulator's hidden truth: every move's real value;
- :class:`FeatureCeilingScorer` — the most a policy reading the data could know: each
  move's true value *averaged over accounts that look alike* (a regression of the truth on
  the observable features, cross-fitted so that no account's own hidden type leaks in).

Rule-like policies rank rather than value, so their scores are preferences (see
:func:`~nextmove.decisions.scoring.scores_from_preferences`); run them with the
playbook's value thresholds at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from nextmove.decisions.candidates import ActionSpec, Catalog, buyable, sale_values
from nextmove.decisions.context import AccountContext
from nextmove.decisions.scoring import Scores, scores_from_preferences
from nextmove.learning.features import account_features, product_interest
from nextmove.playbook.model import Playbook
from nextmove.sim.world import World

__all__ = [
    "FeatureCeilingScorer",
    "OracleScorer",
    "PropensityScorer",
    "RandomScorer",
    "RulesScorer",
    "interest_matrix",
    "segment_motion",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

SALES, DIGITAL, SERVICE = "sales_outreach", "digital_program", "service_conversation"
UNWANTED = -1.0
"""The preference of a move a policy does not want (never chosen: scores must be > 0)."""


def interest_matrix(context: AccountContext, catalog: Catalog) -> Floats:
    """log(1 + interest score) per account × catalog product."""
    return product_interest(
        context.product_interest, context.frame["account_id"], catalog.product_ids
    )


def segment_motion(frame: pl.DataFrame) -> npt.NDArray[np.str_]:
    """Sales for mid-market and enterprise accounts, the email programme for the rest."""
    big = frame["segment"].is_in(["mid", "ent"]).fill_null(False).to_numpy()
    return np.where(big, SALES, DIGITAL)


def _product_taste(interest: Floats, values: Floats) -> Floats:
    """Prefer the product the account showed interest in, then the dearer one (< 1)."""
    return 0.5 * np.tanh(interest) + 0.4 * values / max(float(values.max(initial=1.0)), 1.0)


@dataclass(frozen=True)
class RandomScorer:
    """A uniformly random move among every action and doing nothing, per account and day."""

    seed: int = 0

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Draw each account's move (a fresh draw per ``as_of``)."""
        n = context.frame.height
        day = int(context.as_of.timestamp() // 86_400)
        rng = np.random.default_rng([self.seed, day])
        choice = rng.integers(0, len(specs) + 1, n)  # len(specs): do nothing
        taste = rng.random((n, len(catalog.product_ids)))

        def preference(k: int, _spec: ActionSpec) -> Floats:
            return np.where((choice == k)[:, None], 1.0 + taste, UNWANTED)

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="random"
        )


@dataclass(frozen=True)
class RulesScorer:
    """Hand-written routing rules on the playbook's declared signals.

    Interest: at least ``intent_surges`` intent surges or ``pricing_visits`` pricing-page
    visits in 30 days. A customer with an open support ticket gets a service call first.
    Stronger interest ranks first where capacity is short.
    """

    intent_surges: int = 1
    pricing_visits: int = 2

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Route each account by the rules."""
        frame = context.frame
        intent = _column(frame, "signals__intent_surge__30d")
        visits = _column(frame, "signals__pricing_visits__30d")
        ticket = _column(frame, "signals__support_ticket__open") > 0
        customer = _column(frame, "products_held") > 0
        interested = (intent >= self.intent_surges) | (visits >= self.pricing_visits)
        strength = 1.0 + np.log1p(intent + visits)
        motion = np.where(ticket & customer, SERVICE, segment_motion(frame))
        acting = interested | (ticket & customer)
        taste = _product_taste(
            interest_matrix(context, catalog), sale_values(playbook, catalog, frame["segment"])
        )

        def preference(_k: int, spec: ActionSpec) -> Floats:
            wanted = acting & (motion == spec.name)
            return np.where(wanted[:, None], strength[:, None] + taste, UNWANTED)

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="rules"
        )


@dataclass
class PropensityScorer:
    """Lead scoring: P(buys the product within ``window_days``), learned from history.

    :meth:`fit` learns from contexts and the purchases that followed them; the accounts
    whose best product is in the top ``share`` of propensity get their segment's motion
    about it (an open ticket of a customer: a service call), likeliest first.
    """

    share: float = 0.25
    seed: int = 0
    _model: LogisticRegression | None = field(default=None, init=False, repr=False)

    def fit(self, examples: Sequence[tuple[AccountContext, pl.DataFrame]], playbook: Playbook,
            catalog: Catalog) -> PropensityScorer:  # fmt: skip
        """Learn from (context, purchases in the window after it) pairs.

        ``purchases`` has ``account_id`` and ``product_id`` of every purchase.
        """
        designs, labels = [], []
        for context, purchases in examples:
            design, can_buy, _ = self._design(context, playbook, catalog)
            bought = _bought(context, purchases, catalog)
            designs.append(design[can_buy.ravel()])
            labels.append(bought.ravel()[can_buy.ravel()])
        y = np.concatenate(labels) if labels else np.zeros(0)
        if y.size == 0 or y.min() == y.max():
            self._model = None
            return self
        model = LogisticRegression(C=1.0, max_iter=500, random_state=self.seed)
        self._model = model.fit(np.concatenate(designs), y)
        return self

    def propensity(self, context: AccountContext, playbook: Playbook, catalog: Catalog) -> Floats:
        """P(buy) per account × product (0 where it cannot buy, or before any fit)."""
        design, can_buy, _ = self._design(context, playbook, catalog)
        if self._model is None:
            return np.zeros(can_buy.shape)
        p = self._model.predict_proba(design)[:, 1].reshape(can_buy.shape)
        return np.where(can_buy, p, 0.0)

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Target the likeliest buyers with their segment's motion."""
        frame = context.frame
        p = self.propensity(context, playbook, catalog)
        best = p.max(axis=1) if p.size else np.zeros(frame.height)
        cut = np.quantile(best, 1.0 - self.share) if best.size else 0.0
        ticket = _column(frame, "signals__support_ticket__open") > 0
        customer = _column(frame, "products_held") > 0
        motion = np.where(ticket & customer, SERVICE, segment_motion(frame))
        acting = (best >= cut) & (best > 0)

        def preference(_k: int, spec: ActionSpec) -> Floats:
            wanted = acting & (motion == spec.name)
            return np.where(wanted[:, None] & (p > 0), 1.0 + p, UNWANTED)

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="propensity"
        )

    def _design(
        self, context: AccountContext, playbook: Playbook, catalog: Catalog
    ) -> tuple[Floats, Bools, int]:
        """Stacked (account, product) rows: account features, interest, product one-hot."""
        frame = context.frame
        features = account_features(frame, playbook).matrix
        interest = interest_matrix(context, catalog)
        n, p = interest.shape
        rows = np.repeat(features, p, axis=0)
        onehot = np.tile(np.eye(p), (n, 1))
        design = np.hstack([rows, interest.reshape(-1, 1), onehot])
        return design, buyable(frame, catalog), p


@dataclass(frozen=True)
class OracleScorer:
    """Knows the truth: each move's real expected value today, net of the motion's cost."""

    world: World

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Value every move with the simulator's hidden truth."""
        account_ids = context.frame["account_id"].to_list()
        truth = self.world.value_matrix(account_ids, catalog.product_ids)
        motions = {name: m for m, name in enumerate((SALES, DIGITAL, SERVICE))}

        def preference(_k: int, spec: ActionSpec) -> Floats:
            m = motions.get(spec.name)
            if m is None:
                return np.full((len(account_ids), len(catalog.product_ids)), UNWANTED)
            worth: Floats = np.nan_to_num(truth[m] - spec.cost, nan=UNWANTED)
            return worth

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="oracle"
        )


@dataclass
class FeatureCeilingScorer:
    """The truth as far as the observable features can tell it apart.

    Every ``refit_days`` it regresses each motion's true value (per account and product)
    on the engine's account features, the product's interest and the product, with two
    folds of accounts so that an account is always scored by a fit that never saw it.
    """

    world: World
    refit_days: int = 7
    seed: int = 0
    _fits: dict[int, tuple[Any, Any]] = field(default_factory=dict, init=False)
    _fitted_on: datetime | None = field(default=None, init=False)

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Value each move by the regression of the truth (refitted every ``refit_days``)."""
        frame = context.frame
        design = self._design(context, playbook, catalog)
        n, p = frame.height, len(catalog.product_ids)
        stale = self._fitted_on is None or context.as_of - self._fitted_on >= timedelta(
            days=self.refit_days
        )
        fold = np.random.default_rng(self.seed).integers(0, 2, n)
        if stale:
            truth = self.world.value_matrix(frame["account_id"].to_list(), catalog.product_ids)
            self._fitted_on = context.as_of
            self._fits = {m: self._fit(design, truth[m], fold) for m in range(truth.shape[0])}
        motions = {name: m for m, name in enumerate((SALES, DIGITAL, SERVICE))}

        def preference(_k: int, spec: ActionSpec) -> Floats:
            m = motions.get(spec.name)
            if m is None or m not in self._fits:
                return np.full((n, p), UNWANTED)
            first, second = self._fits[m]
            rows = np.repeat(fold, p)
            guess = np.where(rows == 0, second.predict(design), first.predict(design))
            worth: Floats = guess.reshape(n, p) - spec.cost
            return worth

        return scores_from_preferences(
            context, playbook, catalog, specs, preference, version="feature-ceiling"
        )

    def _fit(self, design: Floats, truth: Floats, fold: npt.NDArray[np.int64]) -> tuple[Any, Any]:
        target = np.nan_to_num(truth, nan=0.0).ravel()
        rows = np.repeat(fold, truth.shape[1])
        fits = []
        for f in (0, 1):
            model = HistGradientBoostingRegressor(max_iter=150, random_state=self.seed)
            fits.append(model.fit(design[rows == f], target[rows == f]))
        return fits[0], fits[1]

    def _design(self, context: AccountContext, playbook: Playbook, catalog: Catalog) -> Floats:
        features = account_features(context.frame, playbook).matrix
        interest = interest_matrix(context, catalog)
        held = buyable(context.frame, catalog).astype(np.float64)
        n, p = interest.shape
        return np.hstack(
            [
                np.repeat(features, p, axis=0),
                interest.reshape(-1, 1),
                held.reshape(-1, 1),
                np.tile(np.eye(p), (n, 1)),
            ]
        )


def _column(frame: pl.DataFrame, name: str) -> Floats:
    if name not in frame.columns:
        return np.zeros(frame.height)
    return frame[name].cast(pl.Float64).fill_null(0.0).to_numpy()


def _bought(context: AccountContext, purchases: pl.DataFrame, catalog: Catalog) -> Floats:
    """1 where the account bought the product in the window, per account × product."""
    matrix = np.zeros((context.frame.height, len(catalog.product_ids)))
    if purchases.height == 0:
        return matrix
    rows = context.frame.select("account_id").with_row_index("row")
    columns = pl.DataFrame({"product_id": list(catalog.product_ids)}).with_row_index("column")
    hits = purchases.join(rows, on="account_id").join(columns, on="product_id")
    matrix[hits["row"].to_numpy(), hits["column"].to_numpy()] = 1.0
    return matrix

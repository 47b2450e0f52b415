"""What moved in the response model's inputs: each feature's PSI between two snapshots.

A snapshot is the account features (:mod:`nextmove.learning.features`) and product
interest of a sample of accounts at one time, built from stored records by the decisions'
own context builder (:func:`~nextmove.decisions.context.build_context`), so the monitor sees
what the model would read. The *reference* is the time the active model's training data
ends (without a stored model, the start of the monitoring lookback), moved later when it
would fall in the first ``feature_warmup_days`` of stored signals (decayed scores are
still filling up then: every input would seem to move). The *recent* snapshot is at the
monitor's ``as_of``. Each account counts at a time only once it was created.

One alarm (``input:features``) lists every feature whose PSI exceeds ``psi_threshold``,
worst first, and the sources to check before refitting.

Not watched: features the engine's own moves drive (:data:`ENGINE_DRIVEN`). They shift
whenever autonomy changes, which is no fault of the data, and an input alarm demotes every
autonomous move.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import JsonValue

from nextmove.decisions.context import ContextInputs, build_context
from nextmove.domain import Segment
from nextmove.learning.features import account_features, product_interest
from nextmove.measurement.drift import psi_numeric
from nextmove.measurement.model import DriftAlarm
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.playbook.model import Playbook

__all__ = [
    "ENGINE_DRIVEN",
    "FEATURE_RECORDS",
    "FeatureShift",
    "KEY",
    "FeatureSnapshot",
    "Reference",
    "feature_alarm",
    "feature_shifts",
    "feature_snapshot",
    "feature_sources",
    "psi_by_feature",
    "reference_time",
    "sample_accounts",
]

Floats = npt.NDArray[np.float64]

ENGINE_DRIVEN = frozenset({"touched_recently"})
"""Features that follow the engine's own moves rather than the incoming data."""
FEATURE_RECORDS = ("accounts", "products", "holdings", "opportunities", "signals")
"""The stored records the watched features read through the context (contacts, outcomes
and touches feed none of them)."""
KEY = "input:features"
_LISTED = 5
"""Features named in an alarm's summary (the evidence lists up to twice as many)."""
_INTEREST_CHUNK = 64
"""Products whose interest is laid out densely at once (bounds memory on big catalogs)."""


@dataclass(frozen=True)
class FeatureShift:
    """How far one model input moved between the reference and the recent snapshot."""

    name: str
    psi: float
    reference_mean: float
    recent_mean: float


@dataclass(frozen=True)
class FeatureSnapshot:
    """The model inputs of some accounts at one time: ``matrix[i]`` are the features named
    by ``names`` of ``account_ids[i]``; ``interest`` is the context's product interest."""

    as_of: datetime
    account_ids: pl.Series
    names: tuple[str, ...]
    matrix: Floats
    interest: pl.DataFrame

    @property
    def accounts(self) -> int:
        """How many accounts the snapshot holds."""
        return len(self.account_ids)


@dataclass(frozen=True)
class Reference:
    """When the reference snapshot is taken, and why then."""

    as_of: datetime
    basis: str
    """``model`` (the active model's data ends there), ``lookback`` or ``warm-up``."""


def reference_time(
    *,
    as_of: datetime,
    lookback_start: datetime,
    trained_as_of: datetime | None,
    first_signal_at: datetime | None,
    warmup_days: int,
) -> Reference | None:
    """Return when to take the reference snapshot, or None when no time before ``as_of``
    is fit to be one."""
    if trained_as_of is not None and trained_as_of < as_of:
        found = Reference(trained_as_of, "model")
    else:
        found = Reference(lookback_start, "lookback")
    if first_signal_at is not None:
        settled = first_signal_at + timedelta(days=warmup_days)
        if found.as_of < settled:
            found = Reference(settled, "warm-up")
    return found if found.as_of < as_of else None


def sample_accounts(account_ids: pl.Series, size: int, seed: int) -> pl.Series:
    """Return at most ``size`` of ``account_ids``, sorted: those of smallest seeded hash.

    The same accounts on every call (within one polars version), and an account stays
    in the sample while others come and go.
    """
    ids = account_ids.unique()
    if len(ids) > size:
        ranked = pl.DataFrame({"account_id": ids}).with_columns(
            rank=pl.col("account_id").hash(seed)
        )
        ids = ranked.sort("rank", "account_id").head(size)["account_id"]
    return ids.sort()


def feature_snapshot(
    inputs: ContextInputs,
    playbook: Playbook,
    as_of: datetime,
    *,
    watched: Collection[str] | None = None,
) -> FeatureSnapshot:
    """Return the account features at ``as_of`` of the accounts of ``inputs`` created by
    then (``watched`` keeps only those features; :data:`ENGINE_DRIVEN` ones never)."""
    accounts = inputs.accounts.filter(
        pl.col("created_on").is_null() | (pl.col("created_on") <= as_of.date())
    )
    context = build_context(
        ContextInputs(
            accounts=accounts, products=inputs.products, holdings=inputs.holdings,
            opportunities=inputs.opportunities, signals=inputs.signals,
        ),
        playbook,
        as_of,
    )  # fmt: skip
    features = account_features(context.frame, playbook)
    kept = [
        i
        for i, name in enumerate(features.names)
        if name not in ENGINE_DRIVEN and (watched is None or name in watched)
    ]
    return FeatureSnapshot(
        as_of=as_of,
        account_ids=context.frame["account_id"],
        names=tuple(features.names[i] for i in kept),
        matrix=features.matrix[:, kept],
        interest=context.product_interest,
    )


def psi_by_feature(
    names: Sequence[str], reference: Floats, recent: Floats, *, bins: int = 10
) -> list[FeatureShift]:
    """Return the PSI of every column of two feature matrices (rows are accounts), in
    column order; a missing value (NaN) is a value of its own."""
    shifts = []
    for j, name in enumerate(names):
        before, after = reference[:, j], recent[:, j]
        shifts.append(
            FeatureShift(
                name=name,
                psi=psi_numeric(before, after, bins),
                reference_mean=_mean(before),
                recent_mean=_mean(after),
            )
        )
    return shifts


def _mean(values: Floats) -> float:
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else float("nan")


def feature_shifts(
    reference: FeatureSnapshot,
    recent: FeatureSnapshot,
    *,
    products: Sequence[str],
    bins: int = 10,
) -> list[FeatureShift]:
    """Return the PSI of every account feature and of the interest in each of
    ``products``, worst first (a product no account showed interest in is skipped)."""
    shared = [name for name in reference.names if name in set(recent.names)]
    shifts = psi_by_feature(
        shared,
        reference.matrix[:, [reference.names.index(n) for n in shared]],
        recent.matrix[:, [recent.names.index(n) for n in shared]],
        bins=bins,
    )
    named = set(reference.interest["product_id"]) | set(recent.interest["product_id"])
    shown = [product for product in products if product in named]
    for start in range(0, len(shown), _INTEREST_CHUNK):
        chunk = tuple(shown[start : start + _INTEREST_CHUNK])
        shifts += psi_by_feature(
            [f"{product} interest" for product in chunk],
            product_interest(reference.interest, reference.account_ids, chunk),
            product_interest(recent.interest, recent.account_ids, chunk),
            bins=bins,
        )
    return sorted(shifts, key=lambda s: (-s.psi, s.name))


def feature_sources(playbook: Playbook) -> dict[str, str]:
    """Return where each account feature's data comes from (a feed to check)."""
    sources = {f"segment_{s.value}": "account records (segment)" for s in Segment}
    sources |= {
        "log_employees": "account records (employees)",
        "customer": "holdings",
        "products_held": "holdings",
        "open_opportunities": "opportunities",
    }
    for name, declared in playbook.signals.items():
        stored = declared.type or name
        for suffix in ("score", "value", "missing", "open"):
            sources[f"{name}_{suffix}"] = f"{stored} signals"
    return sources


def feature_alarm(
    shifts: Sequence[FeatureShift],
    *,
    reference: Reference,
    as_of: datetime,
    accounts: Mapping[str, int],
    sources: Mapping[str, str],
    settings: MonitorSettings,
) -> DriftAlarm | None:
    """Return one alarm naming the features whose PSI exceeds the threshold, or None."""
    drifted = [s for s in shifts if s.psi > settings.psi_threshold]
    if not drifted:
        return None
    since = reference.as_of.date().isoformat()
    listed = ", ".join(f"{s.name} PSI {s.psi:.2f}" for s in drifted[:_LISTED])
    if len(drifted) > _LISTED:
        listed += f" and {len(drifted) - _LISTED} more"
    feeds = list(dict.fromkeys(_source(s.name, sources) for s in drifted))
    inputs = "model input" if len(drifted) == 1 else "model inputs"
    details: list[JsonValue] = [
        {"feature": s.name, "psi": s.psi, "reference_mean": _json(s.reference_mean),
         "recent_mean": _json(s.recent_mean), "source": _source(s.name, sources)}
        for s in drifted[: 2 * _LISTED]
    ]  # fmt: skip
    return DriftAlarm(
        key=KEY,
        kind="input",
        subject="model inputs",
        detector="psi",
        detected_on=as_of.date(),
        change_from=reference.as_of.date(),
        summary=f"{len(drifted)} {inputs} drifted since {since}: {listed}",
        proposal=(
            "refit the response model on recent data (nextmove learn) so it reads its inputs "
            f"as they are now; first check the source feed of {', '.join(feeds[:3])}: "
            "a broken feed moves them too"
        ),
        evidence={
            "drifted": details, "drifted_count": len(drifted), "watched": len(shifts),
            "threshold": settings.psi_threshold, "reference_as_of": reference.as_of.isoformat(),
            "reference_basis": reference.basis, "as_of": as_of.isoformat(),
            "accounts": dict(accounts), "not_watched": list[JsonValue](sorted(ENGINE_DRIVEN)),
        },
    )  # fmt: skip


def _source(feature: str, sources: Mapping[str, str]) -> str:
    if feature.endswith(" interest"):
        return f"signals naming {feature.removesuffix(' interest')}"
    return sources.get(feature, feature)


def _json(value: float) -> float | None:
    """A mean of nothing but missing values is stored as null (JSON has no NaN)."""
    return value if np.isfinite(value) else None

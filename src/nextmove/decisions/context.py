"""The account context: one row per account with every column a playbook and its guardrails read.

:func:`build_context` turns the stored records (polars frames, see :class:`ContextInputs`)
into an :class:`AccountContext` as it stood at ``as_of``. It is pure and vectorised: only
records at or before ``as_of`` count, nothing reads the clock, and every value of a row
depends on that account's records alone, so building the context of one account's rows
(:meth:`ContextInputs.for_accounts`) gives exactly that account's row of the full build:
the engine's real-time path.

Columns of :attr:`AccountContext.frame`, first the fields of ``default_context_schema``
in its order and types (numbers are Float64; counts are 0, never null):

===========================================  ===========================================
column                                       meaning (null)
===========================================  ===========================================
``account_id`` … ``annual_revenue``,         copied from the account
``owner_id``
``account_age_days``                         days since ``created_on`` (unknown)
``products_held``                            distinct products held (of any id)
``open_opportunities``                       opportunities open at as_of
``days_since_last_touch``                    since the latest touch (never)
``days_since_last_purchase``                 since the latest purchase (never), below
``email_consent``, ``phone_consent``,        those of the best contact, below (no
``do_not_contact``, ``best_contact_id``      contacts: unknown, unknown, false, null)
``holds__<p>``, ``open_opportunity__<p>``    per product of ``inputs.products``
``open_ticket_p1`` … ``open_ticket_p4``      an open state of any declared state signal
                                             whose opening event has value 1 … 4
``signals__<s>__score``                      count: decayed count (plain count without a
                                             half-life)
``signals__<s>__<N>d``                       count: events in the last N days, for N in
                                             7, 30, 90 and every N the rules read
``signals__<s>__days_since``                 count, gauge: since the latest event (never)
``signals__<s>__value``                      gauge: the latest value (never measured)
``signals__<s>__open``, ``…__open_days``     state: one is open; age of the oldest (none)
``touches__<scope>__<channel>__<N>d``        per cap: touches in the last N days
``days_since__<event>``                      per quiet period: whole days since the last
                                             touch, purchase or complaint (never)
``unsubscribed``, ``complaints_90d``         an unsubscribe ever; complaints in 90 days
===========================================  ===========================================

Conventions:

- *Time.* Signals, outcomes and touches count when ``occurred_at <= as_of``; "the last N
  days" is ``as_of - N days < occurred_at <= as_of``. Days since something are elapsed
  days with fractions; a date (``created_on``, ``since``) is read as midnight UTC. The
  guardrail columns ``days_since__<event>`` are whole days (floored): for whole-day quiet
  periods ``floor(d) < N`` exactly when ``d < N``.
- *Records in time.* A holding counts from its ``since`` date (always, when that is
  null). An opportunity counts from its ``created_on`` and is open at ``as_of`` when its
  stage is not won/lost, or when it closed after ``as_of`` (``close_date`` later than
  ``as_of``'s date), so replaying stored data at an earlier ``as_of`` sees it open.
  Contacts' consents are read as they are now.
- *Last purchase.* ``days_since_last_purchase`` and ``days_since__purchase`` read both
  purchase outcomes and the ``since`` date of holdings (a purchase the CRM recorded
  without an outcome still quiets the account).
- *Best contact.* Among an account's contacts that are not do-not-contact, the one whose
  email consent is opted_in, else unknown, else opted_out; ties go to the smallest
  ``contact_id``. When every contact is do-not-contact, the same order picks among them
  and ``do_not_contact`` is true. A null do-not-contact flag counts as set, a null
  consent as unknown, and a contact without an id is ignored.
- *Contact caps.* ``touches__contact__…`` counts the touches of the best contact; a
  touch without a ``contact_id`` counts for every contact of the account.
- *States* (``kind: state``; opened by ``type``, closed by ``closes_with``). Events with
  a ``ref`` pair by (account, declaration, ref): the state is open when an opening event
  came after the last closing one (a close at the same instant wins), and it opened at
  the first such opening event, whose value is its priority. Events without a ``ref``
  pair among themselves: in time order (opens before closes at the same instant) each
  close closes the oldest open state of the account and declaration, and a close with
  nothing open does nothing. A value of 1 … 4 makes an open state a P1 … P4 ticket.
- *Scores* sum ``2 ** -(age_days / half_life_days)`` per event, each rounded to a
  multiple of 2**-32, so a score does not depend on the order of the rows.
- *Accounts.* One row per distinct ``account_id`` of ``inputs.accounts``, sorted;
  records of other accounts are ignored (ids are matched by two independent 64-bit
  hashes of the id; the id itself when there is one account).

:attr:`AccountContext.product_interest` is long: per declared count signal, account and
product of ``inputs.products`` its events named, the decayed ``score`` and ``count_30d``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.columns import at_positions, nulls_filled
from nextmove.decisions.compiled import PerPlaybook
from nextmove.domain import Consent, OpportunityStage, OutcomeType
from nextmove.governance.guardrail_rules import touches_column
from nextmove.playbook.context import ContextSchema, default_context_schema, polars_type
from nextmove.playbook.model import Channel, Playbook, SignalDeclaration, SignalKind
from nextmove.playbook.rules import compile_rules

__all__ = [
    "COLUMNS_READ",
    "FIXED_WINDOWS",
    "INPUT_SCHEMAS",
    "TICKET_PRIORITIES",
    "AccountContext",
    "ContextInputs",
    "build_context",
]

FIXED_WINDOWS: Final = (7, 30, 90)
"""Windows (days) every count signal gets, whether or not a rule reads them."""
TICKET_PRIORITIES: Final = (1, 2, 3, 4)

_STRING, _NUMBER, _BOOL, _DATE = pl.String(), pl.Float64(), pl.Boolean(), pl.Date()
_TIME = pl.Datetime("us", "UTC")
_INT = pl.Int64()


def _columns(text: str, typed: Mapping[str, pl.DataType] | None = None) -> dict[str, pl.DataType]:
    """Columns named in ``text`` (strings unless ``typed`` says otherwise), in that order."""
    return {name: (typed or {}).get(name, _STRING) for name in text.split()}


INPUT_SCHEMAS: Final[Mapping[str, Mapping[str, pl.DataType]]] = {
    "accounts": _columns(
        "account_id name domain industry segment country region employees annual_revenue "
        "owner_id parent_account_id created_on",
        {"employees": _INT, "annual_revenue": _NUMBER, "created_on": _DATE},
    ),
    "contacts": _columns(
        "contact_id account_id first_name last_name email title country email_consent "
        "phone_consent do_not_contact",
        {"do_not_contact": _BOOL},
    ),
    "products": _columns(
        "product_id name family list_price truth_owner last_reviewed active prerequisites related",
        {
            "list_price": _NUMBER,
            "last_reviewed": _DATE,
            "active": _BOOL,
            "prerequisites": pl.List(_STRING),
            "related": pl.List(_STRING),
        },
    ),
    "holdings": _columns(
        "account_id product_id since quantity annual_value",
        {"since": _DATE, "quantity": _INT, "annual_value": _NUMBER},
    ),
    "opportunities": _columns(
        "opportunity_id account_id product_id stage amount created_on close_date owner_id",
        {"amount": _NUMBER, "created_on": _DATE, "close_date": _DATE},
    ),
    "signals": _columns(
        "event_id account_id signal_type product_id contact_id value occurred_at source ref",
        {"value": _NUMBER, "occurred_at": _TIME},
    ),
    "outcomes": _columns(
        "outcome_id account_id outcome_type product_id contact_id opportunity_id value "
        "occurred_at source",
        {"value": _NUMBER, "occurred_at": _TIME},
    ),
    "touches": _columns("account_id contact_id channel occurred_at", {"occurred_at": _TIME}),
}
"""Each input's columns and types, as in the store's tables (``touches``: the actions taken)."""
_READ: Final[Mapping[str, str]] = {
    "accounts": "account_id segment industry country region employees annual_revenue owner_id "
    "created_on",
    "contacts": "contact_id account_id email_consent phone_consent do_not_contact",
    "products": "product_id",
    "holdings": "account_id product_id since",
    "opportunities": "account_id product_id stage created_on close_date",
    "signals": "event_id account_id signal_type product_id value occurred_at ref",
    "outcomes": "account_id outcome_type occurred_at",
    "touches": "account_id contact_id channel occurred_at",
}
"""The columns the context reads from each input; it ignores the others."""
COLUMNS_READ: Final[Mapping[str, tuple[str, ...]]] = {
    kind: tuple(names.split()) for kind, names in _READ.items()
}
"""Per input, the columns :func:`build_context` reads (a caller may load only these)."""
_REQUIRED: Final[Mapping[str, str]] = {
    "accounts": "account_id",
    "contacts": "contact_id account_id",
    "products": "product_id",
    "holdings": "account_id product_id",
    "opportunities": "account_id stage",
    "signals": "account_id signal_type occurred_at",
    "outcomes": "account_id outcome_type occurred_at",
    "touches": "account_id channel occurred_at",
}
"""Columns an input must have; missing optional ones are read as null."""

_DAY: Final = 86_400_000_000  # microseconds
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER: Final = np.iinfo(np.int64).min
_FIXED_POINT: Final = 2.0**32
_HASH_SEED, _CHECK_SEED = 0x5EED, 0xC0FFEE
_CLOSED_STAGES: Final = tuple(s.value for s in OpportunityStage if s.is_closed)
_ENGINE: Final = "in-memory"
"""Engine of the context's small queries: the default's fixed cost per query (a few tenths
of a millisecond) would be most of the time of deciding one account. The batch's join of
every record to its account keeps the default engine: in memory it cost a million-account
batch about a third more time and 270 MB more peak memory."""
_FEW_ACCOUNTS: Final = 64
"""Up to this many accounts (a real-time call) the context's join runs in memory."""
_NO_STATES: Final[Mapping[str, pl.DataType]] = {"_idx": _INT, "_ts": _INT, "value": _NUMBER}

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def _empty(kind: str) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(INPUT_SCHEMAS[kind]))


@dataclass(frozen=True)
class ContextInputs:
    """The stored records the context is built from; frames not given are empty.

    Each frame has the columns of its store table (:data:`INPUT_SCHEMAS`; only some are
    read and missing optional ones read as null); ``touches`` are the actions already
    taken (account_id, contact_id or null, channel email/phone/meeting, occurred_at).
    Times are UTC; naive ones are read as UTC.
    """

    accounts: pl.DataFrame = field(default_factory=lambda: _empty("accounts"))
    contacts: pl.DataFrame = field(default_factory=lambda: _empty("contacts"))
    products: pl.DataFrame = field(default_factory=lambda: _empty("products"))
    holdings: pl.DataFrame = field(default_factory=lambda: _empty("holdings"))
    opportunities: pl.DataFrame = field(default_factory=lambda: _empty("opportunities"))
    signals: pl.DataFrame = field(default_factory=lambda: _empty("signals"))
    outcomes: pl.DataFrame = field(default_factory=lambda: _empty("outcomes"))
    touches: pl.DataFrame = field(default_factory=lambda: _empty("touches"))

    @classmethod
    def empty(cls) -> ContextInputs:
        """Return inputs with a correctly typed empty frame of every kind."""
        return cls()

    def for_accounts(self, account_ids: Iterable[str]) -> ContextInputs:
        """Return these inputs keeping only the records of ``account_ids`` (all products)."""
        ids = pl.Series(list(account_ids), dtype=pl.String).implode()
        kept = {
            kind: getattr(self, kind).filter(pl.col("account_id").is_in(ids))
            for kind in INPUT_SCHEMAS
            if kind != "products"
        }
        return ContextInputs(products=self.products, **kept)


@dataclass(frozen=True)
class AccountContext:
    """The context at ``as_of``: ``frame`` has one row per account, sorted by account_id.

    ``product_interest`` has one row per (account_id, product_id, signal) with a positive
    decayed ``score`` or ``count_30d``, sorted by those three.
    """

    frame: pl.DataFrame
    product_interest: pl.DataFrame
    as_of: datetime


def build_context(inputs: ContextInputs, playbook: Playbook, as_of: datetime) -> AccountContext:
    """Return every account's context at ``as_of`` (tz-aware) under ``playbook``.

    Raises ValueError when ``as_of`` is naive or an input lacks a required column.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be a timezone-aware datetime")
    as_of = as_of.astimezone(UTC)
    clock = _Clock(as_of, (as_of - _EPOCH) // timedelta(microseconds=1))
    schema, windows = _READS_OF(playbook, None)
    accounts = _accounts(inputs.accounts)
    index = _AccountIndex(accounts["account_id"])
    products = _Products.of(inputs.products, playbook)

    contacts = _best_contacts(index, inputs.contacts)
    holdings, held_since = _holdings(index, inputs.holdings, products, schema, clock)
    outcomes, purchased, complained = _outcomes(index, inputs.outcomes, clock)
    touches, touched = _touches(index, inputs.touches, playbook, contacts["best_contact_id"], clock)
    signals, interest = _signals(index, inputs.signals, playbook, schema, windows, products, clock)
    last = {
        "touch": touched,
        "purchase": np.maximum(held_since, purchased),
        "complaint": complained,
    }
    columns = {
        "account_age_days": _days_since(_ints(_date_micros(accounts["created_on"])), clock.now),
        "days_since_last_touch": _days_since(last["touch"], clock.now),
        "days_since_last_purchase": _days_since(last["purchase"], clock.now),
        **contacts,
        **holdings,
        **_opportunities(index, inputs.opportunities, products, schema, clock),
        **signals,
        **touches,
        **_quiet_columns(playbook, last, clock),
        **outcomes,
    }
    kept = accounts[[c for c in accounts.columns if c != "created_on"]]
    frame = kept.hstack([s.alias(n) for n, s in columns.items()])
    return AccountContext(frame=_ordered(frame, playbook), product_interest=interest, as_of=as_of)


@dataclass(frozen=True)
class _Clock:
    as_of: datetime  # in UTC
    now: int  # as_of in microseconds since the epoch

    @property
    def today(self) -> date:
        return self.as_of.date()

    def after(self, days: int) -> int:
        """The instant ``days`` days before as_of: events after it are in the window."""
        return self.now - days * _DAY


def _ordered(frame: pl.DataFrame, playbook: Playbook) -> pl.DataFrame:
    """The schema's fields first, in its order and with its types, then the rest."""
    schema, _ = _READS_OF(playbook, None)
    fields = _FIELDS_OF(playbook, None)
    return frame.select(*fields, *(c for c in frame.columns if c not in schema.fields))


def _fields_of(playbook: Playbook, _: None) -> list[pl.Expr]:
    """The fields of the context's schema under ``playbook``, typed."""
    schema = _READS_OF(playbook, None)[0]
    return [pl.col(name).cast(polars_type(spec.type)) for name, spec in schema.fields.items()]


_FIELDS_OF = PerPlaybook(_fields_of)


class _AccountIndex:
    """Row numbers of the accounts, and the lookup of each record's account row."""

    def __init__(self, ids: pl.Series) -> None:
        self.ids = ids
        self.n = len(ids)
        # One account (deciding in real time) is found by its id, more by their hashes.
        self._only: str | None = ids[0] if self.n == 1 else None
        self._keys: pl.LazyFrame | None = None
        if self._only is None:
            account = pl.col("account_id")
            keys = (
                ids.alias("account_id")
                .to_frame()
                .select(
                    account.hash(_HASH_SEED).alias("_h"),
                    pl.int_range(self.n, dtype=pl.UInt32).alias("_idx"),
                    account.hash(_CHECK_SEED).alias("_k"),
                )
            )
            self._keys = keys.lazy()

    def locate(self, rows: pl.LazyFrame) -> pl.DataFrame:
        """Return the rows of known accounts, ``account_id`` replaced by its row ``_idx``.

        Rows come back in no particular order. Joining compact rows on a hash of the id
        is several times faster than joining on the strings; a second, independent hash
        rules out a collision of the first.
        """
        account = pl.col("account_id")
        if self._only is not None:
            own = rows.filter(account == self._only).with_columns(_idx=pl.lit(0, pl.UInt32))
            return own.drop("account_id").collect(engine=_ENGINE)
        assert self._keys is not None
        hashed = rows.filter(account.is_not_null()).with_columns(
            account.hash(_HASH_SEED).alias("_h"), account.hash(_CHECK_SEED).alias("_c")
        )
        joined = hashed.drop("account_id").join(self._keys, on="_h", how="inner")
        located = joined.filter(pl.col("_c") == pl.col("_k")).drop("_h", "_c", "_k")
        return located.collect(engine=_ENGINE if self.n <= _FEW_ACCOUNTS else "auto")


@dataclass(frozen=True)
class _Products:
    """The catalog, and the codes of product ids (the catalog and declared products)."""

    catalog: tuple[str, ...]
    vocabulary: tuple[str, ...]

    @classmethod
    def of(cls, frame: pl.DataFrame, playbook: Playbook) -> _Products:
        ids = {p for p in _conform("products", frame)["product_id"].to_list() if p is not None}
        declared = {d.product for d in playbook.signals.values() if d.product}
        return cls(tuple(sorted(ids)), tuple(sorted({*ids, *declared})))

    def code(self, column: str = "product_id") -> pl.Expr:
        """Each product id's position in the vocabulary (-1: other or null)."""
        return _code(pl.col(column), self.vocabulary)

    def in_catalog(self) -> list[tuple[str, int]]:
        """(product id, code) of every catalog product."""
        return [(product, self.vocabulary.index(product)) for product in self.catalog]


def _code(column: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    """Position of each string in ``values`` (distinct; -1 for others and nulls)."""
    enum = column.cast(pl.Enum(values), strict=False)
    return enum.to_physical().cast(pl.Int64).fill_null(-1)


def _conform(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and type the columns read from one input; missing optional ones are null."""
    return frame.select(_conforming(kind, tuple(frame.schema.items())))


def _conformed_lazily(kind: str, frame: pl.DataFrame) -> pl.LazyFrame:
    """:func:`_conform`, left to the query that reads the input (one step less)."""
    return frame.lazy().select(_conforming(kind, tuple(frame.schema.items())))


@lru_cache(maxsize=64)
def _conforming(kind: str, schema: tuple[tuple[str, pl.DataType], ...]) -> list[pl.Expr]:
    """The expressions that conform an input of ``kind`` with these columns (built once
    per input schema: deciding one account at a time conforms eight inputs a call)."""
    types = dict(schema)
    missing = [name for name in _REQUIRED[kind].split() if name not in types]
    if missing:
        raise ValueError(f"the {kind} frame lacks the column(s) {', '.join(missing)}")
    columns = []
    for name in _READ[kind].split():
        dtype = INPUT_SCHEMAS[kind][name]
        if name not in types:
            columns.append(pl.lit(None, dtype).alias(name))
            continue
        actual, column = types[name], pl.col(name)
        if isinstance(actual, pl.Datetime) and actual.time_zone is None and dtype == _TIME:
            column = column.dt.replace_time_zone("UTC")
        elif isinstance(actual, pl.Datetime) and actual.time_zone is not None:
            column = column.dt.convert_time_zone("UTC")
        columns.append(column.cast(dtype))
    return columns


def _records(kind: str, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """The conformed input, and it lazily with each row's position ``_row`` in it."""
    conformed = _conform(kind, frame)
    return conformed, conformed.lazy().with_row_index("_row")


def _accounts(frame: pl.DataFrame) -> pl.DataFrame:
    """The accounts sorted by id, the first row of each id."""
    accounts = _conform("accounts", frame)
    if accounts["account_id"].null_count():
        accounts = accounts.filter(pl.col("account_id").is_not_null())
    if not accounts["account_id"].is_sorted():
        accounts = accounts.sort("account_id", maintain_order=True)
    ids = accounts["account_id"]
    if len(ids) < 2 or not (ids.slice(1) == ids.slice(0, len(ids) - 1)).any():
        return accounts  # no id twice (asking costs less than filtering)
    account = pl.col("account_id")
    return accounts.filter(account.ne_missing(account.shift(1)))  # repeats are adjacent


# --- per-account aggregation: numpy over account row numbers ----------------------------


def _count(n: int, idx: Ints, mask: Bools | None = None) -> Floats:
    rows = idx if mask is None else idx[mask]
    return np.bincount(rows, minlength=n).astype(np.float64)


def _latest(n: int, idx: Ints, times: Ints) -> Ints:
    """The latest time per account (``_NEVER`` for none)."""
    latest = np.full(n, _NEVER, dtype=np.int64)
    np.maximum.at(latest, idx, times)
    return latest


def _lowest(n: int, idx: Ints, values: Ints) -> Ints:
    """The lowest value per account (the largest int64 for none)."""
    lowest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, idx, values)
    return lowest


def _earliest(n: int, idx: Ints, times: Ints) -> Ints:
    """The earliest time per account (``_NEVER`` for none)."""
    earliest = _lowest(n, idx, times)
    return np.where(earliest == np.iinfo(np.int64).max, _NEVER, earliest)


def _decayed(n: int, idx: Ints, times: Ints, now: int, half_life: float | None) -> Floats:
    """Each key's sum of event weights, in fixed point so that row order cannot matter."""
    if half_life is None:
        return _count(n, idx)
    weight = np.rint(np.exp2(-(now - times) / (_DAY * half_life)) * _FIXED_POINT)
    # Sums of whole numbers below 2**53 are exact in float64, hence order-independent.
    return np.bincount(idx, weights=weight, minlength=n) / _FIXED_POINT


def _flags_by_code(n: int, idx: Ints, codes: Ints, k: int) -> list[Bools]:
    """For each code 0 … k-1, which accounts have a row with it (negative codes: none)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    flags = []
    for code in range(k):
        flag = np.zeros(n, dtype=bool)
        flag[idx[order[bounds[code] : bounds[code + 1]]]] = True
        flags.append(flag)
    return flags


def _one_per_account(
    n: int, idx: Ints, rows: Ints, frame: pl.DataFrame, by: str, *, last: bool
) -> Ints:
    """The row of ``frame`` each account keeps among its candidate ``rows`` (-1: none).

    An account with several candidates keeps the one first (or ``last``) by column ``by``
    then by position, so the choice never depends on the order rows arrived in.
    """
    chosen = np.full(n, -1, dtype=np.int64)
    alone = np.bincount(idx, minlength=n)[idx] == 1
    chosen[idx[alone]] = rows[alone]
    if alone.all():
        return chosen
    idx, rows = idx[~alone], rows[~alone]
    column = frame[by]
    tied_in_order = column[np.sort(rows)]
    if tied_in_order.null_count() == 0 and tied_in_order.is_sorted():
        # Stored records usually come sorted by id: then position decides alone.
        some = np.bincount(idx, minlength=n) > 0
        chosen[some] = (_latest(n, idx, rows) if last else _lowest(n, idx, rows))[some]
    else:
        tied_rows = pl.Series("_row", rows)
        tied = pl.DataFrame({"_idx": idx, "_row": tied_rows, by: column[tied_rows]})
        order = pl.col("_row").sort_by(by, "_row", descending=last, nulls_last=not last)
        picked = tied.group_by("_idx").agg(order.first())
        chosen[_ints(picked["_idx"])] = _ints(picked["_row"])
    return chosen


def _days_since(latest: Ints, now: int, *, whole: bool = False) -> pl.Series:
    """Days from ``latest`` (micros since the epoch; ``_NEVER``: never) to ``now``."""
    days = np.where(latest == _NEVER, np.nan, (now - latest) / _DAY)
    return pl.Series(np.floor(days) if whole else days, nan_to_null=True)


def _date_micros(dates: pl.Series) -> pl.Series:
    """Midnight UTC of each date in micros since the epoch (``_NEVER`` for null)."""
    return nulls_filled(dates.cast(pl.Int32).cast(pl.Int64) * _DAY, _NEVER)


def _number(values: Floats) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64)


def _flag(values: Bools) -> pl.Series:
    return pl.Series(values, dtype=pl.Boolean)


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.cast(pl.Int64).to_numpy(), dtype=np.int64)


def _mask(series: pl.Series) -> Bools:
    return np.asarray(nulls_filled(series, False).to_numpy(), dtype=np.bool_)


# --- contacts, holdings, opportunities, outcomes, touches -------------------------------


def _best_contacts(index: _AccountIndex, contacts: pl.DataFrame) -> dict[str, pl.Series]:
    """Consents and id of each account's best contact (see the module docstring)."""
    email = pl.col("email_consent")
    rank = pl.when(pl.col("do_not_contact").fill_null(True)).then(3).otherwise(0) + (
        pl.when(email == Consent.OPTED_IN.value)
        .then(0)
        .when(email == Consent.OPTED_OUT.value)
        .then(2)
        .otherwise(1)
    )
    conformed, records = _records("contacts", contacts)
    named = records.filter(pl.col("contact_id").is_not_null())
    rows = index.locate(named.select("account_id", "_row", rank.alias("_rank")))
    idx, row, ranks = _ints(rows["_idx"]), _ints(rows["_row"]), _ints(rows["_rank"])
    best = ranks == _lowest(index.n, idx, ranks)[idx]
    chosen = _one_per_account(index.n, idx[best], row[best], conformed, "contact_id", last=False)
    found = pl.Series(chosen >= 0)
    unknown = Consent.UNKNOWN.value
    do_not_contact = at_positions(conformed["do_not_contact"], chosen)
    return {
        "email_consent": nulls_filled(at_positions(conformed["email_consent"], chosen), unknown),
        "phone_consent": nulls_filled(at_positions(conformed["phone_consent"], chosen), unknown),
        "do_not_contact": nulls_filled(do_not_contact, found),  # a null flag on a contact: set
        "best_contact_id": at_positions(conformed["contact_id"], chosen),
    }


def _holdings(
    index: _AccountIndex,
    holdings: pl.DataFrame,
    products: _Products,
    schema: ContextSchema,
    clock: _Clock,
) -> tuple[dict[str, pl.Series], Ints]:
    """``products_held`` and ``holds__<p>``, and the latest ``since`` per account."""
    since, product = pl.col("since"), pl.col("product_id")
    records = _conformed_lazily("holdings", holdings)
    rows = index.locate(
        records.filter(product.is_not_null() & (since.is_null() | (since <= clock.today))).select(
            "account_id",
            products.code().alias("_code"),
            product.hash(_HASH_SEED).alias("_product"),
            product.hash(_CHECK_SEED).alias("_product_check"),
            since.to_physical().cast(pl.Int64).alias("_since"),
        )
    )
    idx, codes = _ints(rows["_idx"]), _ints(rows["_code"])
    flags = _flags_by_code(index.n, idx, codes, len(products.vocabulary))
    # Distinct products: known ones by code, others (rare) by their two hashes.
    others = np.zeros(0, dtype=np.int64)
    if (codes < 0).any():
        unknown = rows.filter(pl.col("_code") < 0).unique(["_idx", "_product", "_product_check"])
        others = _ints(unknown["_idx"])
    held = sum((flag.astype(np.float64) for flag in flags), _count(index.n, others))
    columns = {"products_held": _number(held)}
    holds = schema.functions["holds"]
    for product_id, code in products.in_catalog():
        columns[holds.column((product_id,))] = _flag(flags[code])
    held_since = _ints(nulls_filled(rows["_since"] * _DAY, _NEVER))
    return columns, _latest(index.n, idx, held_since)


def _opportunities(
    index: _AccountIndex,
    opportunities: pl.DataFrame,
    products: _Products,
    schema: ContextSchema,
    clock: _Clock,
) -> dict[str, pl.Series]:
    """``open_opportunities`` and ``open_opportunity__<p>`` as they stood at as_of."""
    created, closed_on = pl.col("created_on"), pl.col("close_date")
    closed_later = (closed_on > clock.today).fill_null(False)
    open_then = ~pl.col("stage").is_in(_CLOSED_STAGES) | closed_later
    existed = created.is_null() | (created <= clock.today)
    records = _conformed_lazily("opportunities", opportunities)
    rows = index.locate(
        records.filter(existed & open_then).select("account_id", products.code().alias("_code"))
    )
    idx = _ints(rows["_idx"])
    columns = {"open_opportunities": _number(_count(index.n, idx))}
    flags = _flags_by_code(index.n, idx, _ints(rows["_code"]), len(products.vocabulary))
    in_pipeline = schema.functions["has_open_opportunity"]
    for product_id, code in products.in_catalog():
        columns[in_pipeline.column((product_id,))] = _flag(flags[code])
    return columns


def _outcomes(
    index: _AccountIndex, outcomes: pl.DataFrame, clock: _Clock
) -> tuple[dict[str, pl.Series], Ints, Ints]:
    """``unsubscribed`` and ``complaints_90d``; the last purchase and complaint."""
    kinds = (OutcomeType.COMPLAINT.value, OutcomeType.PURCHASE.value, OutcomeType.UNSUBSCRIBE.value)
    records = _conformed_lazily("outcomes", outcomes)
    rows = index.locate(
        records.select(
            "account_id",
            _code(pl.col("outcome_type"), kinds).alias("_kind"),
            pl.col("occurred_at").dt.epoch("us").alias("_ts"),
        ).filter((pl.col("_kind") >= 0) & (pl.col("_ts") <= clock.now))
    )
    idx, times, kind = _ints(rows["_idx"]), _ints(rows["_ts"]), _ints(rows["_kind"])
    complaint, purchase, unsubscribe = (kind == code for code in range(len(kinds)))
    columns = {
        "unsubscribed": _flag(_count(index.n, idx, unsubscribe) > 0),
        "complaints_90d": _number(_count(index.n, idx, complaint & (times > clock.after(90)))),
    }
    purchased = _latest(index.n, idx[purchase], times[purchase])
    return columns, purchased, _latest(index.n, idx[complaint], times[complaint])


def _touches(
    index: _AccountIndex,
    touches: pl.DataFrame,
    playbook: Playbook,
    best_contact: pl.Series,
    clock: _Clock,
) -> tuple[dict[str, pl.Series], Ints]:
    """One touch count per cap, and each account's last touch."""
    channels = tuple(sorted(str(channel) for channel in Channel))
    contact = pl.col("contact_id")
    records = _conformed_lazily("touches", touches)
    rows = index.locate(
        records.select(
            "account_id",
            _code(pl.col("channel"), channels).alias("_channel"),
            pl.col("occurred_at").dt.epoch("us").alias("_ts"),
            contact.is_null().alias("_anyone"),
            contact.hash(_HASH_SEED).alias("_contact"),
            contact.hash(_CHECK_SEED).alias("_contact_check"),
        ).filter(pl.col("_ts") <= clock.now)
    )
    idx, times, channel = _ints(rows["_idx"]), _ints(rows["_ts"]), _ints(rows["_channel"])
    # A touch without a contact reached the account, so it counts for every contact.
    of_best = _mask(rows["_anyone"])
    if len(idx):  # most single accounts were never touched
        known = best_contact.is_not_null().to_numpy()[idx]
        of_best = of_best | (
            known
            & (rows["_contact"].to_numpy() == best_contact.hash(_HASH_SEED).to_numpy()[idx])
            & (rows["_contact_check"].to_numpy() == best_contact.hash(_CHECK_SEED).to_numpy()[idx])
        )
    columns: dict[str, pl.Series] = {}
    for cap in playbook.contact_policies.caps:
        mask = times > clock.after(cap.days)
        if cap.channel != "any":
            mask &= channel == channels.index(cap.channel)
        if cap.scope == "contact":
            mask &= of_best
        columns[touches_column(cap.scope, cap.channel, cap.days)] = _number(
            _count(index.n, idx, mask)
        )
    return columns, _latest(index.n, idx, times)


def _quiet_columns(
    playbook: Playbook, last: Mapping[str, Ints], clock: _Clock
) -> dict[str, pl.Series]:
    """``days_since__<event>`` (whole days, null: never) for each quiet period's event."""
    return {
        f"days_since__{quiet.after}": _days_since(last[quiet.after], clock.now, whole=True)
        for quiet in playbook.contact_policies.quiet_periods
    }


# --- signals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Events:
    """Signal events of known accounts at or before as_of, as numpy arrays.

    ``product_codes`` index the products' vocabulary (-1: none); ``rows`` are positions in
    ``conformed``, the signals frame (for ref and event_id); ``by_type`` lists the events
    type by type: those of ``type_names[k]`` from ``starts[k]`` to ``starts[k + 1]``.
    """

    conformed: pl.DataFrame
    type_names: tuple[str, ...]
    products: _Products
    idx: Ints
    times: Ints
    rows: Ints
    product_codes: Ints
    values: Floats
    by_type: Ints
    starts: Ints

    def of_type(self, signal_type: str, product: str | None = None) -> Ints:
        """Positions of the events of ``signal_type`` (and, if given, about ``product``)."""
        code = self.type_names.index(signal_type)
        at = self.by_type[self.starts[code] : self.starts[code + 1]]
        if product is not None:
            at = at[self.product_codes[at] == self.products.vocabulary.index(product)]
        return at


def _events(
    index: _AccountIndex,
    signals: pl.DataFrame,
    playbook: Playbook,
    products: _Products,
    clock: _Clock,
) -> _Events:
    """The events of the signal types the playbook declares (opening or closing)."""
    declared = {d.type or n for n, d in playbook.signals.items()}
    declared |= {d.closes_with for d in playbook.signals.values() if d.closes_with}
    type_names = tuple(sorted(declared))
    conformed, records = _records("signals", signals)
    rows = index.locate(
        records.select(
            "account_id",
            "_row",
            _code(pl.col("signal_type"), type_names).alias("_type"),
            products.code().alias("_product"),
            pl.col("occurred_at").dt.epoch("us").alias("_ts"),
            pl.col("value").fill_null(np.nan),
        ).filter((pl.col("_type") >= 0) & (pl.col("_ts") <= clock.now))
    )
    types = rows["_type"].cast(pl.Int16).to_numpy()
    by_type = np.argsort(types, kind="stable")  # a radix sort: linear in the events
    return _Events(
        conformed=conformed,
        type_names=type_names,
        products=products,
        idx=_ints(rows["_idx"]),
        times=_ints(rows["_ts"]),
        rows=_ints(rows["_row"]),
        product_codes=_ints(rows["_product"]),
        values=np.asarray(rows["value"].to_numpy(), dtype=np.float64),
        by_type=by_type.astype(np.int64),
        starts=np.searchsorted(types[by_type], np.arange(len(type_names) + 1)).astype(np.int64),
    )


def _signals(
    index: _AccountIndex,
    signals: pl.DataFrame,
    playbook: Playbook,
    schema: ContextSchema,
    windows: Mapping[str, tuple[int, ...]],
    products: _Products,
    clock: _Clock,
) -> tuple[dict[str, pl.Series], pl.DataFrame]:
    """Columns of every declared signal and ticket priority, and the product interest."""
    events = _events(index, signals, playbook, products, clock)
    columns: dict[str, pl.Series] = {}
    interest: list[pl.DataFrame] = []
    open_states: list[pl.DataFrame] = []
    for name, declared in playbook.signals.items():
        reads = _Reads(schema, name)
        opens = events.of_type(declared.type or name, declared.product)
        if declared.kind is SignalKind.COUNT:
            columns |= _count_columns(index.n, reads, declared, events, opens, windows[name], clock)
            rank = sorted(windows).index(name)  # product interest sorts by signal name
            found = _interest(index.n, rank, declared, events, opens, clock)
            if found is not None:
                interest.append(found)
        elif declared.kind is SignalKind.GAUGE:
            columns |= _gauge_columns(index.n, reads, events, opens, clock)
        else:
            closes = events.of_type(declared.closes_with or "")
            states = _open_states(events, opens, closes)
            open_states.append(states)
            columns |= _state_columns(index.n, reads, states, clock)
    columns |= _ticket_columns(index.n, open_states, schema)
    return columns, _sorted_interest(index, products, sorted(windows), interest)


def _reads_of(playbook: Playbook, _: None) -> tuple[ContextSchema, dict[str, tuple[int, ...]]]:
    """The context's schema under ``playbook``, and the windows of its count signals."""
    schema = default_context_schema(None, {n: d.kind for n, d in playbook.signals.items()})
    return schema, _windows(playbook, schema)


_READS_OF = PerPlaybook(_reads_of)


def _windows(playbook: Playbook, schema: ContextSchema) -> dict[str, tuple[int, ...]]:
    """Per count signal, the fixed windows and every window a compiled rule reads."""
    counts = [name for name, d in playbook.signals.items() if d.kind is SignalKind.COUNT]
    pattern = re.escape(schema.functions["signal_count"].column_pattern)
    pattern = pattern.replace(r"\{signal\}", "(?P<signal>.+)")
    pattern = pattern.replace(r"\{days\}", r"(?P<days>\d+)")
    found: dict[str, set[int]] = {name: set(FIXED_WINDOWS) for name in counts}
    for column in compile_rules(playbook, schema).columns:
        match = re.fullmatch(pattern, column)
        if match and match["signal"] in found:
            found[match["signal"]].add(int(match["days"]))
    return {name: tuple(sorted(days)) for name, days in found.items()}


@dataclass(frozen=True)
class _Reads:
    """The columns of one declared signal: named by the context's functions where it has one."""

    schema: ContextSchema
    signal: str

    def function(self, function: str, *args: str | int) -> str:
        return self.schema.functions[function].column((self.signal, *args))

    def own(self, suffix: str) -> str:
        return f"signals__{self.signal}__{suffix}"


def _count_columns(
    n: int,
    reads: _Reads,
    declared: SignalDeclaration,
    events: _Events,
    at: Ints,
    windows: tuple[int, ...],
    clock: _Clock,
) -> dict[str, pl.Series]:
    """``score``, one count per window and ``days_since`` of one count signal."""
    idx, times = events.idx[at], events.times[at]
    score = _decayed(n, idx, times, clock.now, declared.half_life_days)
    columns = {reads.function("signal_score"): _number(score)}
    for days in windows:
        in_window = _count(n, idx, times > clock.after(days))
        columns[reads.function("signal_count", days)] = _number(in_window)
    columns[reads.own("days_since")] = _days_since(_latest(n, idx, times), clock.now)
    return columns


def _interest(
    n: int, rank: int, declared: SignalDeclaration, events: _Events, at: Ints, clock: _Clock
) -> pl.DataFrame | None:
    """Per (account, catalog product) named by the events: decayed score, events in 30 days.

    Rows are keyed ``_key`` (account row × vocabulary size + product code), in key order,
    and ``_signal``, the signal's ``rank`` among the count signals' names. None: no row.
    """
    size = max(len(events.products.vocabulary), 1)
    in_catalog = np.zeros(size + 1, dtype=bool)  # the last entry stands for code -1
    in_catalog[[code for _, code in events.products.in_catalog()]] = True
    keep = at[in_catalog[events.product_codes[at]]]
    keys, times = events.idx[keep] * size + events.product_codes[keep], events.times[keep]
    keys, position = np.unique(keys, return_inverse=True)
    score = _decayed(len(keys), position, times, clock.now, declared.half_life_days)
    recent = _count(len(keys), position, times > clock.after(30))
    positive = (score > 0) | (recent > 0)
    if not positive.any():  # often so for one account: no frame to build
        return None
    keys, score, recent = keys[positive], score[positive], recent[positive]
    return pl.DataFrame(
        {
            "_key": keys.astype(np.int64),
            "_signal": np.full(len(keys), rank, dtype=np.int64),
            "score": score,
            "count_30d": recent,
        }
    )


def _sorted_interest(
    index: _AccountIndex, products: _Products, names: list[str], parts: list[pl.DataFrame]
) -> pl.DataFrame:
    """The product interest of every count signal, sorted by account, product and signal.

    Keys sort as (account_id, product_id), since the accounts and the vocabulary are
    sorted, and ``names`` are the signals in name order; the strings come last.
    """
    size = max(len(products.vocabulary), 1)
    columns = ("_key", "_signal", "score", "count_30d")
    types = (pl.Int64(), pl.Int64(), _NUMBER, _NUMBER)
    empty = pl.DataFrame(schema=dict(zip(columns, types, strict=True)))
    numbers = pl.concat(parts) if parts else empty
    order = np.lexsort((numbers["_signal"].to_numpy(), numbers["_key"].to_numpy()))
    numbers = numbers[order]
    keys = _ints(numbers["_key"])
    return pl.DataFrame(
        {
            "account_id": index.ids[keys // size],
            "product_id": pl.Series(products.vocabulary, dtype=pl.String)[keys % size],
            "signal": pl.Series(names, dtype=pl.String)[_ints(numbers["_signal"])],
            "score": numbers["score"].cast(pl.Float64),
            "count_30d": numbers["count_30d"].cast(pl.Float64),
        }
    )


def _gauge_columns(
    n: int, reads: _Reads, events: _Events, at: Ints, clock: _Clock
) -> dict[str, pl.Series]:
    """The latest value (ties at one instant: the largest event_id) and its age."""
    idx, times, rows = events.idx[at], events.times[at], events.rows[at]
    latest = _latest(n, idx, times)
    at_latest = times == latest[idx]
    chosen = _one_per_account(
        n, idx[at_latest], rows[at_latest], events.conformed, "event_id", last=True
    )
    value = at_positions(events.conformed["value"], chosen)
    if np.isnan(value.to_numpy()).any():  # NaN (and null, which is kept) as null
        value = value.fill_nan(None)
    return {
        reads.function("signal_value"): value,
        reads.own("days_since"): _days_since(latest, clock.now),
    }


def _open_states(events: _Events, opens: Ints, closes: Ints) -> pl.DataFrame:
    """Every state open at as_of: its account ``_idx``, opening ``_ts`` and ``value``."""
    if not len(opens):  # nothing opened, nothing open: most single accounts
        return pl.DataFrame(schema=dict(_NO_STATES))
    at = np.concatenate([opens, closes])
    rows = pl.Series(events.rows[at])
    ref = events.conformed["ref"].gather(rows)
    frame = pl.DataFrame(
        {
            "_idx": events.idx[at],
            "_ts": events.times[at],
            "value": events.values[at],
            "_opens": np.arange(len(at)) < len(opens),
            "_has_ref": ref.is_not_null(),
            # Two independent hashes stand for the ref: grouping on integers is faster.
            "_ref": ref.hash(_HASH_SEED),
            "_ref_check": ref.hash(_CHECK_SEED),
            "event_id": events.conformed["event_id"].gather(rows),
            "_row": rows,
        }
    )
    return pl.concat(
        [
            _open_by_ref(frame.filter(pl.col("_has_ref"))),
            _open_in_order(frame.filter(~pl.col("_has_ref"))),
        ]
    )


def _open_by_ref(events: pl.DataFrame) -> pl.DataFrame:
    """Per (account, ref): open when an opening came after the last close, since the first."""
    key = ["_idx", "_ref", "_ref_check"]
    closes = events.filter(~pl.col("_opens"))
    last_close = closes.group_by(key).agg(pl.col("_ts").max().alias("_closed"))
    spell = (
        events.filter(pl.col("_opens"))
        .join(last_close, on=key, how="left")
        .filter(pl.col("_closed").is_null() | (pl.col("_ts") > pl.col("_closed")))
    )
    first = pl.col("_ts", "value").sort_by("_ts", "event_id", "_row").first()
    return spell.group_by(key).agg(first).select("_idx", "_ts", "value")


def _open_in_order(events: pl.DataFrame) -> pl.DataFrame:
    """Events without a ref: each close closes the oldest open state, if any is open.

    With steps +1 (open) and -1 (close) in time order, the number still open is the last
    running sum minus its lowest point below zero (closes with nothing open do nothing);
    those are the latest openings, since closes take the oldest first.
    """
    opens, idx = pl.col("_opens"), pl.col("_idx")
    ordered = events.sort("_idx", "_ts", ~opens, "event_id", "_row", nulls_last=True)
    ordered = ordered.with_columns(
        pl.when(opens).then(1).otherwise(-1).cum_sum().over(idx).alias("_level"),
        opens.cast(pl.Int64).cum_sum().over(idx).alias("_rank"),
    )
    level, rank = pl.col("_level"), pl.col("_rank")
    still_open = level.last().over(idx) - pl.min_horizontal(level.min().over(idx), pl.lit(0))
    kept = ordered.filter(opens & (rank > rank.last().over(idx) - still_open))
    return kept.select("_idx", "_ts", "value")


def _state_columns(
    n: int, reads: _Reads, states: pl.DataFrame, clock: _Clock
) -> dict[str, pl.Series]:
    """``open`` and ``open_days`` (age of the oldest open state) of one state signal."""
    idx, times = _ints(states["_idx"]), _ints(states["_ts"])
    return {
        reads.function("signal_open"): _flag(_count(n, idx) > 0),
        reads.own("open_days"): _days_since(_earliest(n, idx, times), clock.now),
    }


def _ticket_columns(
    n: int, open_states: list[pl.DataFrame], schema: ContextSchema
) -> dict[str, pl.Series]:
    """``open_ticket_p<k>``: some declared state whose opening value is k is open."""
    states = pl.concat(open_states) if open_states else pl.DataFrame(schema=dict(_NO_STATES))
    idx, value = _ints(states["_idx"]), states["value"].to_numpy()
    ticket = schema.functions["has_open_ticket"]
    return {
        ticket.column((f"P{p}",)): _flag(_count(n, idx, value == float(p)) > 0)
        for p in TICKET_PRIORITIES
    }

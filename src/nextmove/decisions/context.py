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
  records of other accounts are ignored. A batch matches ids (and contacts' ids) by
  two independent 64-bit hashes; up to ``_FEW_ACCOUNTS`` accounts (a real-time call)
  match the ids themselves, reading the inputs' columns without a query. Both ways give
  the same frames (``tests/unit/decisions/test_context_paths.py``).

:attr:`AccountContext.product_interest` is long: per declared count signal, account and
product of ``inputs.products`` its events named, the decayed ``score`` and ``count_30d``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.columns import at_positions, nulls_filled, typed_nulls
from nextmove.decisions.compiled import PerPlaybook
from nextmove.domain import Consent, OpportunityStage, OutcomeType
from nextmove.governance.guardrail_rules import touches_column
from nextmove.playbook.context import ContextSchema, default_context_schema, polars_type
from nextmove.playbook.model import Cap, Channel, Playbook, SignalDeclaration, SignalKind
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
_UNTIMED: Final = np.iinfo(np.int64).max
"""The time of a record without one: after any as_of, so the record never counts."""
_FIXED_POINT: Final = 2.0**32
_HASH_SEED, _CHECK_SEED = 0x5EED, 0xC0FFEE
_CLOSED_STAGES: Final = tuple(s.value for s in OpportunityStage if s.is_closed)
_EMAIL_RANK: Final = {Consent.OPTED_IN.value: 0, Consent.OPTED_OUT.value: 2}
"""The best contact's order of email consents: any other (unknown, null) ranks 1."""
_CHANNELS: Final = tuple(sorted(str(channel) for channel in Channel))
_OUTCOME_KINDS: Final = tuple(
    kind.value for kind in (OutcomeType.COMPLAINT, OutcomeType.PURCHASE, OutcomeType.UNSUBSCRIBE)
)
_ENGINE: Final = "in-memory"
"""Engine of a batch's small queries (its join of every record to its account keeps the
default engine: in memory it cost a million-account batch about a third more time and
270 MB more peak memory)."""
_FEW_ACCOUNTS: Final = 64
"""Up to this many accounts (a real-time call) the context reads each input's columns as
they are, with no query at all: a query's fixed cost (a few tenths of a millisecond) per
input would be most of the time of building one account's context."""
_FEW_ROWS: Final = 500
"""Up to this many values, plain Python (a dict lookup, a list) costs less than a query."""
_INTEREST: Final[Mapping[str, pl.DataType]] = {
    "account_id": _STRING,
    "product_id": _STRING,
    "signal": _STRING,
    "score": _NUMBER,
    "count_30d": _NUMBER,
}

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Column = pl.Series | Floats | Bools
"""A column of the context: a series, or numbers (NaN stands for null) or flags."""


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
    accounts = _accounts(inputs.accounts)
    index = _AccountIndex(accounts["account_id"])
    products = _Products.of(inputs.products, playbook)
    names = _NAMES(playbook, products)

    contacts = _best_contacts(index, inputs.contacts)
    holdings, held_since = _holdings(index, inputs.holdings, products, names, clock)
    outcomes, purchased, complained = _outcomes(index, inputs.outcomes, clock)
    touches, touched = _touches(index, inputs.touches, names, contacts["best_contact_id"], clock)
    signals, interest = _signals(index, inputs.signals, playbook, names, products, clock)
    last = {
        "touch": touched,
        "purchase": np.maximum(held_since, purchased),
        "complaint": complained,
    }
    columns: dict[str, Column] = {
        **{name: column for name, column in accounts.items() if name != "created_on"},
        "account_age_days": _days_since(_day_micros(accounts["created_on"]), clock.now),
        "days_since_last_touch": _days_since(last["touch"], clock.now),
        "days_since_last_purchase": _days_since(last["purchase"], clock.now),
        **contacts,
        **holdings,
        **_opportunities(index, inputs.opportunities, products, names, clock),
        **signals,
        **touches,
        **{name: _days_since(last[event], clock.now, whole=True) for event, name in names.quiet},
        **outcomes,
    }
    frame = _frame(columns, names.fields, few=index.few)
    return AccountContext(frame=frame, product_interest=interest, as_of=as_of)


@dataclass(frozen=True)
class _Clock:
    as_of: datetime  # in UTC
    now: int  # as_of in microseconds since the epoch

    @property
    def today(self) -> date:
        return self.as_of.date()

    @property
    def midnight(self) -> int:
        """The start of as_of's day (UTC) in microseconds since the epoch."""
        return self.now - self.now % _DAY

    def after(self, days: int) -> int:
        """The instant ``days`` days before as_of: events after it are in the window."""
        return self.now - days * _DAY


def _frame(
    columns: Mapping[str, Column], fields: Mapping[str, pl.DataType], *, few: bool
) -> pl.DataFrame:
    """The schema's fields first, in its order and with its types, then the other columns.

    Numbers are Float64 (NaN: null) and flags Boolean. A few accounts' rows are built from
    Python values at once: a series per column would cost more than all else.
    """
    order = [*fields, *(name for name in columns if name not in fields)]
    typed: list[pl.Series | Floats | Bools] = []
    for name in order:
        column = columns[name]
        dtype = fields.get(name)
        if isinstance(column, pl.Series) and dtype is not None and column.dtype != dtype:
            column = column.cast(dtype)
        typed.append(column)
    if not few:
        return pl.DataFrame(
            [_series(name, column) for name, column in zip(order, typed, strict=True)]
        )
    schema: dict[str, pl.DataType] = {}
    values: list[list[Any]] = []
    for name, column in zip(order, typed, strict=True):
        if isinstance(column, pl.Series):
            schema[name] = column.dtype
            values.append(column.to_list())
        elif column.dtype == np.bool_:
            schema[name] = _BOOL
            values.append(column.tolist())
        else:
            schema[name] = _NUMBER
            values.append([None if number != number else number for number in column.tolist()])
    return pl.DataFrame(
        [dict(zip(order, row, strict=True)) for row in zip(*values, strict=True)], schema=schema
    )


def _series(name: str, column: Column) -> pl.Series:
    if isinstance(column, pl.Series):
        return column.alias(name)
    if column.dtype == np.bool_:
        return pl.Series(name, column, dtype=pl.Boolean)
    return pl.Series(name, column, dtype=pl.Float64, nan_to_null=True)


@dataclass(frozen=True)
class _SignalNames:
    """The columns of one declared signal: named by the context's functions where it has one."""

    score: str
    counts: tuple[tuple[int, str], ...]  # (days, column) per window of a count
    days_since: str
    value: str
    open: str
    open_days: str


@dataclass(frozen=True)
class _Names:
    """The context's columns under one playbook and catalog, named once (not per call)."""

    fields: Mapping[str, pl.DataType]  # the schema's fields, typed, in order
    holds: tuple[tuple[str, int], ...]  # (column, product code) per catalog product
    in_pipeline: tuple[tuple[str, int], ...]
    signals: Mapping[str, _SignalNames]
    tickets: tuple[str, ...]  # per ticket priority
    caps: tuple[tuple[Cap, str], ...]  # (cap, column) per contact cap
    quiet: tuple[tuple[str, str], ...]  # (event, column) per quiet period


def _names_of(playbook: Playbook, products: _Products) -> _Names:
    schema, windows = _READS_OF(playbook, None)
    function = schema.functions

    def per_product(name: str) -> tuple[tuple[str, int], ...]:
        return tuple((function[name].column((p,)), code) for p, code in products.in_catalog())

    def of_signal(signal: str) -> _SignalNames:
        own = f"signals__{signal}__"
        return _SignalNames(
            score=function["signal_score"].column((signal,)),
            counts=tuple(
                (days, function["signal_count"].column((signal, days)))
                for days in windows.get(signal, ())
            ),
            days_since=own + "days_since",
            value=function["signal_value"].column((signal,)),
            open=function["signal_open"].column((signal,)),
            open_days=own + "open_days",
        )

    policies = playbook.contact_policies
    return _Names(
        fields={name: polars_type(spec.type) for name, spec in schema.fields.items()},
        holds=per_product("holds"),
        in_pipeline=per_product("has_open_opportunity"),
        signals={name: of_signal(name) for name in playbook.signals},
        tickets=tuple(function["has_open_ticket"].column((f"P{p}",)) for p in TICKET_PRIORITIES),
        caps=tuple(
            (cap, touches_column(cap.scope, cap.channel, cap.days)) for cap in policies.caps
        ),
        quiet=tuple((q.after, f"days_since__{q.after}") for q in policies.quiet_periods),
    )


_NAMES = PerPlaybook(_names_of)


class _AccountIndex:
    """Row numbers of the accounts, and the lookup of each record's account row.

    A batch joins each input to the accounts in a query (:meth:`locate`); a few accounts
    (:attr:`few`) find their records by id in the input's columns (:meth:`own`).
    """

    def __init__(self, ids: pl.Series) -> None:
        self.ids = ids
        self.n = len(ids)
        self.few = self.n <= _FEW_ACCOUNTS
        self._only: str | None = ids[0] if self.n == 1 else None
        self._names: tuple[str, ...] = tuple(ids.to_list()) if self.few else ()
        self._keys: pl.LazyFrame | None = None

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
        hashed = rows.filter(account.is_not_null()).with_columns(
            account.hash(_HASH_SEED).alias("_h"), account.hash(_CHECK_SEED).alias("_c")
        )
        joined = hashed.drop("account_id").join(self._hashed_keys(), on="_h", how="inner")
        located = joined.filter(pl.col("_c") == pl.col("_k")).drop("_h", "_c", "_k")
        return located.collect(engine=_ENGINE if self.few else "auto")

    def _hashed_keys(self) -> pl.LazyFrame:
        if self._keys is None:
            account = pl.col("account_id")
            keys = (
                self.ids.alias("account_id")
                .to_frame()
                .select(
                    account.hash(_HASH_SEED).alias("_h"),
                    pl.int_range(self.n, dtype=pl.UInt32).alias("_idx"),
                    account.hash(_CHECK_SEED).alias("_k"),
                )
            )
            self._keys = keys.lazy()
        return self._keys

    def own(self, kind: str, frame: pl.DataFrame) -> tuple[Ints, dict[str, pl.Series]]:
        """The columns read from ``frame`` (as :func:`_conform`) of known accounts' rows, in
        their order, and each row's account row. For a few accounts: no query is run."""
        columns = _columns_of(kind, frame)
        account = columns["account_id"]
        if self._only is not None:
            same = account == self._only
            if not account.null_count() and same.all():
                return np.zeros(len(account), dtype=np.int64), columns  # the real-time case
            kept = np.flatnonzero(_mask(same))
            idx = np.zeros(len(kept), dtype=np.int64)
        else:
            idx = _codes_of(account, self._names)
            kept = np.flatnonzero(idx >= 0)
            if len(kept) == len(idx):
                return idx, columns
            idx = idx[kept]
        return idx, {name: column[kept] for name, column in columns.items()}


@dataclass(frozen=True)
class _Products:
    """The catalog, and the codes of product ids (the catalog and declared products)."""

    catalog: tuple[str, ...]
    vocabulary: tuple[str, ...]

    @classmethod
    def of(cls, frame: pl.DataFrame, playbook: Playbook) -> _Products:
        ids = {p for p in _columns_of("products", frame)["product_id"].to_list() if p is not None}
        declared = {d.product for d in playbook.signals.values() if d.product}
        return cls(tuple(sorted(ids)), tuple(sorted({*ids, *declared})))

    def code(self, column: str = "product_id") -> pl.Expr:
        """Each product id's position in the vocabulary (-1: other or null)."""
        return _code(pl.col(column), self.vocabulary)

    def codes(self, product_ids: pl.Series) -> Ints:
        """:meth:`code` of a series, without a query."""
        return _codes_of(product_ids, self.vocabulary)

    def in_catalog(self) -> list[tuple[str, int]]:
        """(product id, code) of every catalog product."""
        return [(product, self.vocabulary.index(product)) for product in self.catalog]


def _code(column: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    """Position of each string in ``values`` (distinct; -1 for others and nulls)."""
    enum = column.cast(pl.Enum(values), strict=False)
    return enum.to_physical().cast(pl.Int64).fill_null(-1)


def _codes_of(strings: pl.Series, values: tuple[str, ...]) -> Ints:
    """:func:`_code` of a series: a dict lookup for a few strings, else the same query."""
    if len(strings) <= _FEW_ROWS or not values:
        position = _positions(values)
        return np.array([position.get(s, -1) for s in strings.to_list()], dtype=np.int64)
    coded = strings.cast(pl.Enum(values), strict=False).to_physical().cast(pl.Int64)
    return _ints(nulls_filled(coded, -1))


@lru_cache(maxsize=64)
def _positions(values: tuple[str, ...]) -> Mapping[str, int]:
    return {value: position for position, value in enumerate(values)}


def _conform(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and type the columns read from one input; missing optional ones are null."""
    return frame.select(_conforming(kind, tuple(frame.schema.items())))


def _conformed_lazily(kind: str, frame: pl.DataFrame) -> pl.LazyFrame:
    """:func:`_conform`, left to the query that reads the input (one step less)."""
    return frame.lazy().select(_conforming(kind, tuple(frame.schema.items())))


@lru_cache(maxsize=64)
def _conforming(kind: str, schema: tuple[tuple[str, pl.DataType], ...]) -> list[pl.Expr]:
    """The expressions that conform an input of ``kind`` with these columns (built once
    per input schema)."""
    types = dict(schema)
    _check_required(kind, tuple(types))
    return [
        _conformed(name, types[name], dtype) if name in types else pl.lit(None, dtype).alias(name)
        for name, dtype in _typed_reads(kind)
    ]


def _conformed(name: str, actual: pl.DataType, dtype: pl.DataType) -> pl.Expr:
    """Column ``name``, stored as ``actual``, read as ``dtype`` (times in UTC)."""
    column = pl.col(name)
    if isinstance(actual, pl.Datetime) and actual.time_zone is None and dtype == _TIME:
        column = column.dt.replace_time_zone("UTC")
    elif isinstance(actual, pl.Datetime) and actual.time_zone is not None:
        column = column.dt.convert_time_zone("UTC")
    return column.cast(dtype)


@lru_cache(maxsize=64)
def _check_required(kind: str, names: tuple[str, ...]) -> None:
    missing = [name for name in _REQUIRED[kind].split() if name not in names]
    if missing:
        raise ValueError(f"the {kind} frame lacks the column(s) {', '.join(missing)}")


@lru_cache(maxsize=16)
def _typed_reads(kind: str) -> tuple[tuple[str, pl.DataType], ...]:
    return tuple((name, INPUT_SCHEMAS[kind][name]) for name in _READ[kind].split())


def _columns_of(kind: str, frame: pl.DataFrame) -> dict[str, pl.Series]:
    """:func:`_conform` column by column: a column stored with its type is read as it is."""
    names = frame.columns
    _check_required(kind, tuple(names))
    columns = {}
    for name, dtype in _typed_reads(kind):
        if name not in names:
            columns[name] = typed_nulls(name, dtype, frame.height)
            continue
        column = frame.get_column(name)
        if column.dtype != dtype:  # rare: a query conforms it
            column = frame.select(_conformed(name, column.dtype, dtype)).to_series()
        columns[name] = column
    return columns


def _records(kind: str, frame: pl.DataFrame) -> tuple[dict[str, pl.Series], pl.LazyFrame]:
    """The conformed input's columns, and it lazily with each row's position ``_row``."""
    conformed = _conform(kind, frame)
    return _series_of(conformed), conformed.lazy().with_row_index("_row")


def _series_of(frame: pl.DataFrame) -> dict[str, pl.Series]:
    return dict(zip(frame.columns, frame.get_columns(), strict=True))


def _accounts(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """The accounts' columns sorted by id, the first row of each id."""
    if frame.height <= _FEW_ACCOUNTS:
        return _few_accounts(frame)
    accounts = _conform("accounts", frame)
    if accounts["account_id"].null_count():
        accounts = accounts.filter(pl.col("account_id").is_not_null())
    if not accounts["account_id"].is_sorted():
        accounts = accounts.sort("account_id", maintain_order=True)
    ids = accounts["account_id"]
    if len(ids) < 2 or not (ids.slice(1) == ids.slice(0, len(ids) - 1)).any():
        return _series_of(accounts)  # no id twice (asking costs less than filtering)
    account = pl.col("account_id")
    return _series_of(accounts.filter(account.ne_missing(account.shift(1))))  # repeats adjacent


def _few_accounts(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """:func:`_accounts` of a few rows, ordered in plain Python (strings compare alike)."""
    columns = _columns_of("accounts", frame)
    ids = columns["account_id"].to_list()
    order = sorted((row for row, id_ in enumerate(ids) if id_ is not None), key=ids.__getitem__)
    kept = [row for k, row in enumerate(order) if k == 0 or ids[row] != ids[order[k - 1]]]
    if kept == list(range(len(ids))):
        return columns
    rows = np.array(kept, dtype=np.int64)
    return {name: column[rows] for name, column in columns.items()}


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


def _one_per_account(n: int, idx: Ints, rows: Ints, by: pl.Series, *, last: bool) -> Ints:
    """The row each account keeps among its candidate ``rows`` (-1: none).

    An account with several candidates keeps the one first (or ``last``) by ``by`` (a
    column of the input) then by position, so the choice never depends on the order rows
    arrived in.
    """
    chosen = np.full(n, -1, dtype=np.int64)
    alone = np.bincount(idx, minlength=n)[idx] == 1
    chosen[idx[alone]] = rows[alone]
    if alone.all():
        return chosen
    idx, rows = idx[~alone], rows[~alone]
    tied_in_order = by[np.sort(rows)]
    if tied_in_order.null_count() == 0 and tied_in_order.is_sorted():
        # Stored records usually come sorted by id: then position decides alone.
        some = np.bincount(idx, minlength=n) > 0
        chosen[some] = (_latest(n, idx, rows) if last else _lowest(n, idx, rows))[some]
    else:
        tied_rows = pl.Series("_row", rows)
        tied = pl.DataFrame({"_idx": idx, "_row": tied_rows, "_by": by[tied_rows]})
        order = pl.col("_row").sort_by("_by", "_row", descending=last, nulls_last=not last)
        picked = tied.group_by("_idx").agg(order.first())
        chosen[_ints(picked["_idx"])] = _ints(picked["_row"])
    return chosen


def _picked(column: pl.Series, chosen: Ints, fill: object = None) -> pl.Series:
    """The values of ``column`` at ``chosen`` rows (-1: null), nulls read as ``fill`` (a
    value, or flags: one per row)."""
    if len(column) <= _FEW_ROWS and len(chosen) <= _FEW_ROWS:  # no query for a few values
        values = column.to_list()
        fills = fill.tolist() if isinstance(fill, np.ndarray) else [fill] * len(chosen)
        picked = [values[row] if row >= 0 else None for row in chosen.tolist()]
        filled = [f if value is None else value for value, f in zip(picked, fills, strict=True)]
        return pl.Series(column.name, filled, dtype=column.dtype)
    found = at_positions(column, chosen)
    if fill is None:
        return found
    return nulls_filled(found, pl.Series(fill) if isinstance(fill, np.ndarray) else fill)


def _values_at(column: pl.Series, rows: Ints) -> list[Any]:
    """The values of ``column`` at ``rows``, as Python values."""
    if len(column) <= _FEW_ROWS:
        values = column.to_list()
        return [values[row] for row in rows.tolist()]
    return column[rows].to_list()


def _days_since(latest: Ints, now: int, *, whole: bool = False) -> Floats:
    """Days from ``latest`` (micros since the epoch; ``_NEVER``: never) to ``now`` (NaN)."""
    days = np.where(latest == _NEVER, np.nan, (now - latest) / _DAY)
    return np.floor(days) if whole else days


def _day_micros(dates: pl.Series) -> Ints:
    """Midnight UTC of each date in micros since the epoch (``_NEVER`` for null)."""
    days = dates.cast(pl.Int32)
    if days.null_count() == 0:
        return days.to_numpy().astype(np.int64) * _DAY
    return _ints(nulls_filled(days.cast(pl.Int64) * _DAY, _NEVER))


def _micros(times: pl.Series) -> Ints:
    """Micros since the epoch of UTC times (``_UNTIMED`` for null)."""
    return _ints(nulls_filled(times.cast(pl.Int64), _UNTIMED))


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.cast(pl.Int64).to_numpy(), dtype=np.int64)


def _floats(series: pl.Series) -> Floats:
    """Float values (null as NaN)."""
    return np.asarray(series.to_numpy(), dtype=np.float64)


def _mask(series: pl.Series) -> Bools:
    return np.asarray(nulls_filled(series, False).to_numpy(), dtype=np.bool_)


# --- contacts, holdings, opportunities, outcomes, touches -------------------------------


def _best_contacts(index: _AccountIndex, contacts: pl.DataFrame) -> dict[str, pl.Series]:
    """Consents and id of each account's best contact (see the module docstring)."""
    if index.few:
        idx, columns = index.own("contacts", contacts)
        flags, emails = columns["do_not_contact"].to_list(), columns["email_consent"].to_list()
        named = [c is not None for c in columns["contact_id"].to_list()]
        ranks = [
            (0 if flag is False else 3) + _EMAIL_RANK.get(email, 1)  # a null flag: set
            for flag, email in zip(flags, emails, strict=True)
        ]
        row = np.flatnonzero(np.array(named, dtype=bool))
        idx, rank = idx[row], np.array(ranks, dtype=np.int64)[row]
    else:
        email = pl.col("email_consent")
        rank_of = pl.when(pl.col("do_not_contact").fill_null(True)).then(3).otherwise(0) + (
            pl.when(email == Consent.OPTED_IN.value)
            .then(0)
            .when(email == Consent.OPTED_OUT.value)
            .then(2)
            .otherwise(1)
        )
        columns, records = _records("contacts", contacts)
        named_rows = records.filter(pl.col("contact_id").is_not_null())
        rows = index.locate(named_rows.select("account_id", "_row", rank_of.alias("_rank")))
        idx, row, rank = _ints(rows["_idx"]), _ints(rows["_row"]), _ints(rows["_rank"])
    best = rank == _lowest(index.n, idx, rank)[idx]
    chosen = _one_per_account(index.n, idx[best], row[best], columns["contact_id"], last=False)
    unknown = Consent.UNKNOWN.value
    return {
        "email_consent": _picked(columns["email_consent"], chosen, unknown),
        "phone_consent": _picked(columns["phone_consent"], chosen, unknown),
        # A null flag on a contact: set; no contact: not set.
        "do_not_contact": _picked(columns["do_not_contact"], chosen, chosen >= 0),
        "best_contact_id": _picked(columns["contact_id"], chosen),
    }


def _holdings(
    index: _AccountIndex,
    holdings: pl.DataFrame,
    products: _Products,
    names: _Names,
    clock: _Clock,
) -> tuple[dict[str, Column], Ints]:
    """``products_held`` and ``holds__<p>``, and the latest ``since`` per account."""
    if index.few:
        idx, columns = index.own("holdings", holdings)
        since = _day_micros(columns["since"])  # a null since: _NEVER, so always held
        product_ids = columns["product_id"].to_list()
        named = np.array([p is not None for p in product_ids], dtype=bool)
        kept = np.flatnonzero(named & (since <= clock.midnight))
        codes = products.codes(columns["product_id"])[kept]
        idx, held_since = idx[kept], since[kept]
        # Distinct products: known ones by code, others (rare) by their ids.
        unknown = {
            (i, product_ids[row]) for i, row, c in zip(idx, kept, codes, strict=True) if c < 0
        }
        others = np.array([i for i, _ in unknown], dtype=np.int64)
    else:
        idx, codes, others, held_since = _held(index, holdings, products, clock)
    flags = _flags_by_code(index.n, idx, codes, len(products.vocabulary))
    held = sum((flag.astype(np.float64) for flag in flags), _count(index.n, others))
    columns_out: dict[str, Column] = {"products_held": held}
    for column, code in names.holds:
        columns_out[column] = flags[code]
    return columns_out, _latest(index.n, idx, held_since)


def _held(
    index: _AccountIndex, holdings: pl.DataFrame, products: _Products, clock: _Clock
) -> tuple[Ints, Ints, Ints, Ints]:
    """A batch's holdings held at as_of: account rows, product codes, the account row of
    each distinct unknown product, and the ``since`` of each (micros, ``_NEVER``: null)."""
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
    # Distinct products: known ones by code, others (rare) by their two hashes.
    others = np.zeros(0, dtype=np.int64)
    if (codes < 0).any():
        unknown = rows.filter(pl.col("_code") < 0).unique(["_idx", "_product", "_product_check"])
        others = _ints(unknown["_idx"])
    return idx, codes, others, _ints(nulls_filled(rows["_since"] * _DAY, _NEVER))


def _opportunities(
    index: _AccountIndex,
    opportunities: pl.DataFrame,
    products: _Products,
    names: _Names,
    clock: _Clock,
) -> dict[str, Column]:
    """``open_opportunities`` and ``open_opportunity__<p>`` as they stood at as_of."""
    if index.few:
        idx, columns = index.own("opportunities", opportunities)
        existed = _day_micros(columns["created_on"]) <= clock.midnight  # null: _NEVER
        closed_later = _day_micros(columns["close_date"]) > clock.midnight  # null: never
        stages = columns["stage"].to_list()
        open_stage = np.array([s is not None and s not in _CLOSED_STAGES for s in stages], bool)
        kept = np.flatnonzero(existed & (open_stage | closed_later))
        idx, codes = idx[kept], products.codes(columns["product_id"])[kept]
    else:
        created, closed_on = pl.col("created_on"), pl.col("close_date")
        closed_after = (closed_on > clock.today).fill_null(False)
        open_then = ~pl.col("stage").is_in(_CLOSED_STAGES) | closed_after
        existed_then = created.is_null() | (created <= clock.today)
        records = _conformed_lazily("opportunities", opportunities)
        rows = index.locate(
            records.filter(existed_then & open_then).select(
                "account_id", products.code().alias("_code")
            )
        )
        idx, codes = _ints(rows["_idx"]), _ints(rows["_code"])
    columns_out: dict[str, Column] = {"open_opportunities": _count(index.n, idx)}
    flags = _flags_by_code(index.n, idx, codes, len(products.vocabulary))
    for column, code in names.in_pipeline:
        columns_out[column] = flags[code]
    return columns_out


def _outcomes(
    index: _AccountIndex, outcomes: pl.DataFrame, clock: _Clock
) -> tuple[dict[str, Column], Ints, Ints]:
    """``unsubscribed`` and ``complaints_90d``; the last purchase and complaint."""
    if index.few:
        idx, columns = index.own("outcomes", outcomes)
        kind = _codes_of(columns["outcome_type"], _OUTCOME_KINDS)
        times = _micros(columns["occurred_at"])
        kept = np.flatnonzero((kind >= 0) & (times <= clock.now))
        idx, times, kind = idx[kept], times[kept], kind[kept]
    else:
        records = _conformed_lazily("outcomes", outcomes)
        rows = index.locate(
            records.select(
                "account_id",
                _code(pl.col("outcome_type"), _OUTCOME_KINDS).alias("_kind"),
                pl.col("occurred_at").dt.epoch("us").alias("_ts"),
            ).filter((pl.col("_kind") >= 0) & (pl.col("_ts") <= clock.now))
        )
        idx, times, kind = _ints(rows["_idx"]), _ints(rows["_ts"]), _ints(rows["_kind"])
    complaint, purchase, unsubscribe = (kind == code for code in range(len(_OUTCOME_KINDS)))
    counted: dict[str, Column] = {
        "unsubscribed": _count(index.n, idx, unsubscribe) > 0,
        "complaints_90d": _count(index.n, idx, complaint & (times > clock.after(90))),
    }
    purchased = _latest(index.n, idx[purchase], times[purchase])
    return counted, purchased, _latest(index.n, idx[complaint], times[complaint])


def _touches(
    index: _AccountIndex,
    touches: pl.DataFrame,
    names: _Names,
    best_contact: pl.Series,
    clock: _Clock,
) -> tuple[dict[str, Column], Ints]:
    """One touch count per cap, and each account's last touch."""
    if index.few:
        idx, columns = index.own("touches", touches)
        times = _micros(columns["occurred_at"])
        kept = np.flatnonzero(times <= clock.now)
        best = best_contact.to_list()
        # A touch without a contact reached the account, so it counts for every contact.
        reached = [
            contact is None or contact == best[i]
            for contact, i in zip(columns["contact_id"].to_list(), idx.tolist(), strict=True)
        ]
        of_best = np.array(reached, dtype=bool)[kept]
        channel = _codes_of(columns["channel"], _CHANNELS)[kept]
        idx, times = idx[kept], times[kept]
    else:
        idx, times, channel, of_best = _touched(index, touches, best_contact, clock)
    columns_out: dict[str, Column] = {}
    for cap, column in names.caps:
        mask = times > clock.after(cap.days)
        if cap.channel != "any":
            mask &= channel == _CHANNELS.index(cap.channel)
        if cap.scope == "contact":
            mask &= of_best
        columns_out[column] = _count(index.n, idx, mask)
    return columns_out, _latest(index.n, idx, times)


def _touched(
    index: _AccountIndex, touches: pl.DataFrame, best_contact: pl.Series, clock: _Clock
) -> tuple[Ints, Ints, Ints, Bools]:
    """A batch's touches at or before as_of: account rows, times, channel codes, and
    whether each reached the account's best contact (a touch without a contact did)."""
    contact = pl.col("contact_id")
    records = _conformed_lazily("touches", touches)
    rows = index.locate(
        records.select(
            "account_id",
            _code(pl.col("channel"), _CHANNELS).alias("_channel"),
            pl.col("occurred_at").dt.epoch("us").alias("_ts"),
            contact.is_null().alias("_anyone"),
            contact.hash(_HASH_SEED).alias("_contact"),
            contact.hash(_CHECK_SEED).alias("_contact_check"),
        ).filter(pl.col("_ts") <= clock.now)
    )
    idx, times, channel = _ints(rows["_idx"]), _ints(rows["_ts"]), _ints(rows["_channel"])
    of_best = _mask(rows["_anyone"])
    if len(idx):
        known = best_contact.is_not_null().to_numpy()[idx]
        of_best = of_best | (
            known
            & (rows["_contact"].to_numpy() == best_contact.hash(_HASH_SEED).to_numpy()[idx])
            & (rows["_contact_check"].to_numpy() == best_contact.hash(_CHECK_SEED).to_numpy()[idx])
        )
    return idx, times, channel, of_best


# --- signals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Events:
    """Signal events of known accounts at or before as_of, as numpy arrays.

    ``product_codes`` index the products' vocabulary (-1: none); ``rows`` are positions in
    ``conformed``, the signals' columns (for ref and event_id); ``by_type`` lists the
    events type by type: those of ``type_names[k]`` from ``starts[k]`` to ``starts[k + 1]``.
    """

    conformed: Mapping[str, pl.Series]
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
    type_names = _TYPE_NAMES(playbook, None)
    if index.few:
        idx, conformed = index.own("signals", signals)
        codes, times = (
            _codes_of(conformed["signal_type"], type_names),
            _micros(conformed["occurred_at"]),
        )
        rows = np.flatnonzero((codes >= 0) & (times <= clock.now))
        idx, times, types = idx[rows], times[rows], codes[rows]
        product_codes = products.codes(conformed["product_id"])[rows]
        values = _floats(conformed["value"])[rows]
    else:
        conformed, records = _records("signals", signals)
        located = index.locate(
            records.select(
                "account_id",
                "_row",
                _code(pl.col("signal_type"), type_names).alias("_type"),
                products.code().alias("_product"),
                pl.col("occurred_at").dt.epoch("us").alias("_ts"),
                pl.col("value").fill_null(np.nan),
            ).filter((pl.col("_type") >= 0) & (pl.col("_ts") <= clock.now))
        )
        idx, times, rows = _ints(located["_idx"]), _ints(located["_ts"]), _ints(located["_row"])
        types, product_codes = _ints(located["_type"]), _ints(located["_product"])
        values = _floats(located["value"])
    by_type = np.argsort(types.astype(np.int16), kind="stable")  # a radix sort: linear
    return _Events(
        conformed=conformed,
        type_names=type_names,
        products=products,
        idx=idx,
        times=times,
        rows=rows,
        product_codes=product_codes,
        values=values,
        by_type=by_type.astype(np.int64),
        starts=np.searchsorted(types[by_type], np.arange(len(type_names) + 1)).astype(np.int64),
    )


def _type_names(playbook: Playbook, _: None) -> tuple[str, ...]:
    """The signal types the playbook declares, opening or closing, sorted."""
    declared = {d.type or n for n, d in playbook.signals.items()}
    declared |= {d.closes_with for d in playbook.signals.values() if d.closes_with}
    return tuple(sorted(declared))


_TYPE_NAMES = PerPlaybook(_type_names)


class _Interest(NamedTuple):
    """Product interest of one count signal: per key (account row × vocabulary size +
    product code), in key order, the signal's rank among the count signals' names, the
    decayed score and the events in 30 days."""

    keys: Ints
    signal: Ints
    score: Floats
    count_30d: Floats


class _States(NamedTuple):
    """States open at as_of: the account row, the opening time and value of each."""

    idx: Ints
    times: Ints
    values: Floats


def _signals(
    index: _AccountIndex,
    signals: pl.DataFrame,
    playbook: Playbook,
    names: _Names,
    products: _Products,
    clock: _Clock,
) -> tuple[dict[str, Column], pl.DataFrame]:
    """Columns of every declared signal and ticket priority, and the product interest."""
    events = _events(index, signals, playbook, products, clock)
    counted = sorted(name for name, d in playbook.signals.items() if d.kind is SignalKind.COUNT)
    columns: dict[str, Column] = {}
    interest: list[_Interest] = []
    open_states: list[_States] = []
    for name, declared in playbook.signals.items():
        own = names.signals[name]
        opens = events.of_type(declared.type or name, declared.product)
        if declared.kind is SignalKind.COUNT:
            columns |= _count_columns(index.n, own, declared, events, opens, clock)
            rank = counted.index(name)  # product interest sorts by signal name
            found = _interest(index.n, rank, declared, events, opens, clock)
            if found is not None:
                interest.append(found)
        elif declared.kind is SignalKind.GAUGE:
            columns |= _gauge_columns(index.n, own, events, opens, clock)
        else:
            closes = events.of_type(declared.closes_with or "")
            states = _open_states(events, opens, closes)
            open_states.append(states)
            columns |= _state_columns(index.n, own, states, clock)
    columns |= _ticket_columns(index.n, open_states, names)
    return columns, _sorted_interest(index, products, counted, interest)


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


def _count_columns(
    n: int,
    names: _SignalNames,
    declared: SignalDeclaration,
    events: _Events,
    at: Ints,
    clock: _Clock,
) -> dict[str, Column]:
    """``score``, one count per window and ``days_since`` of one count signal."""
    idx, times = events.idx[at], events.times[at]
    columns: dict[str, Column] = {
        names.score: _decayed(n, idx, times, clock.now, declared.half_life_days)
    }
    for days, column in names.counts:
        columns[column] = _count(n, idx, times > clock.after(days))
    columns[names.days_since] = _days_since(_latest(n, idx, times), clock.now)
    return columns


def _interest(
    n: int, rank: int, declared: SignalDeclaration, events: _Events, at: Ints, clock: _Clock
) -> _Interest | None:
    """Per (account, catalog product) named by the events: decayed score, events in 30 days.

    None: no row.
    """
    size = max(len(events.products.vocabulary), 1)
    in_catalog = np.zeros(size + 1, dtype=bool)  # the last entry stands for code -1
    in_catalog[[code for _, code in events.products.in_catalog()]] = True
    keep = at[in_catalog[events.product_codes[at]]]
    if not len(keep):  # often so for one account
        return None
    keys, times = events.idx[keep] * size + events.product_codes[keep], events.times[keep]
    keys, position = np.unique(keys, return_inverse=True)
    score = _decayed(len(keys), position, times, clock.now, declared.half_life_days)
    recent = _count(len(keys), position, times > clock.after(30))
    positive = (score > 0) | (recent > 0)
    if not positive.any():
        return None
    keys, score, recent = keys[positive], score[positive], recent[positive]
    signal = np.full(len(keys), rank, dtype=np.int64)
    return _Interest(keys.astype(np.int64), signal, score, recent)


def _sorted_interest(
    index: _AccountIndex, products: _Products, names: list[str], parts: list[_Interest]
) -> pl.DataFrame:
    """The product interest of every count signal, sorted by account, product and signal.

    Keys sort as (account_id, product_id), since the accounts and the vocabulary are
    sorted, and ``names`` are the signals in name order; the strings come last.
    """
    if not parts:
        return pl.DataFrame(schema=dict(_INTEREST))
    keys, signal, score, recent = (np.concatenate(values) for values in zip(*parts, strict=True))
    order = np.lexsort((signal, keys))
    keys, signal = keys[order], signal[order]
    size = max(len(products.vocabulary), 1)
    if index.few and len(keys) <= _FEW_ROWS:  # listed in Python: no gathers
        ids, vocabulary = index.ids.to_list(), products.vocabulary
        listed = {
            "account_id": [ids[key] for key in (keys // size).tolist()],
            "product_id": [vocabulary[key] for key in (keys % size).tolist()],
            "signal": [names[rank] for rank in signal.tolist()],
            "score": score[order].tolist(),
            "count_30d": recent[order].tolist(),
        }
        return pl.DataFrame(listed, schema=dict(_INTEREST))
    return pl.DataFrame(
        {
            "account_id": index.ids[keys // size],
            "product_id": pl.Series(products.vocabulary, dtype=pl.String)[keys % size],
            "signal": pl.Series(names, dtype=pl.String)[signal],
            "score": pl.Series(score[order], dtype=pl.Float64),
            "count_30d": pl.Series(recent[order], dtype=pl.Float64),
        }
    )


def _gauge_columns(
    n: int, names: _SignalNames, events: _Events, at: Ints, clock: _Clock
) -> dict[str, Column]:
    """The latest value (ties at one instant: the largest event_id) and its age."""
    idx, times, rows = events.idx[at], events.times[at], events.rows[at]
    latest = _latest(n, idx, times)
    at_latest = times == latest[idx]
    candidates, values = rows[at_latest], events.values[at][at_latest]
    chosen = _one_per_account(
        n, idx[at_latest], candidates, events.conformed["event_id"], last=True
    )
    # The chosen rows' values (NaN, and null read as NaN: null), found among the candidates.
    value = np.full(n, np.nan)
    some = chosen >= 0
    if len(candidates) <= _FEW_ROWS:  # found among the candidates, without a query
        order = np.argsort(candidates, kind="stable")
        value[some] = values[order][np.searchsorted(candidates[order], chosen[some])]
    else:  # gathered from the column: cheaper than sorting many candidates
        value[some] = _floats(events.conformed["value"].gather(chosen[some]))
    return {names.value: value, names.days_since: _days_since(latest, clock.now)}


def _open_states(events: _Events, opens: Ints, closes: Ints) -> _States:
    """Every state open at as_of: its account row, opening time and value."""
    if not len(opens):  # nothing opened, nothing open: most single accounts
        return _States(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(opens) + len(closes) <= _FEW_ROWS:
        return _few_open_states(events, opens, closes)
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
    states = pl.concat(
        [
            _open_by_ref(frame.filter(pl.col("_has_ref"))),
            _open_in_order(frame.filter(~pl.col("_has_ref"))),
        ]
    )
    return _States(_ints(states["_idx"]), _ints(states["_ts"]), _floats(states["value"]))


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


def _few_open_states(events: _Events, opens: Ints, closes: Ints) -> _States:
    """:func:`_open_states` of a few events, in plain Python: the same two rules.

    Strings order alike in Python and polars (code points, UTF-8 bytes); a null event_id
    comes first among a ref's openings and last among events without a ref, as there.
    """
    at = np.concatenate([opens, closes])
    count = len(opens)  # positions below it are openings
    refs = _values_at(events.conformed["ref"], events.rows[at])
    ids = _values_at(events.conformed["event_id"], events.rows[at])
    idx, times, rows = events.idx[at].tolist(), events.times[at].tolist(), events.rows[at].tolist()
    last_close: dict[tuple[int, str], int] = {}
    for k in range(count, len(at)):
        if refs[k] is not None:
            key = (idx[k], refs[k])
            last_close[key] = max(times[k], last_close.get(key, _NEVER))
    first: dict[tuple[int, str], tuple[tuple[Any, ...], int]] = {}
    for k in range(count):
        key = (idx[k], refs[k])
        if refs[k] is None or times[k] <= last_close.get(key, _NEVER):
            continue
        order = (times[k], ids[k] is not None, ids[k] or "", rows[k])
        if key not in first or order < first[key][0]:
            first[key] = (order, k)
    kept = [k for _, k in first.values()]
    unpaired = sorted(
        (k for k in range(len(at)) if refs[k] is None),
        key=lambda k: (idx[k], times[k], k >= count, ids[k] is None, ids[k] or "", rows[k]),
    )
    for _, group in groupby(unpaired, key=idx.__getitem__):
        level = lowest = 0
        opened = []
        for k in group:
            level += 1 if k < count else -1
            lowest = min(lowest, level)
            if k < count:
                opened.append(k)
        kept.extend(opened[len(opened) - (level - lowest) :])
    chosen = at[np.array(kept, dtype=np.int64)]
    return _States(events.idx[chosen], events.times[chosen], events.values[chosen])


def _state_columns(
    n: int, names: _SignalNames, states: _States, clock: _Clock
) -> dict[str, Column]:
    """``open`` and ``open_days`` (age of the oldest open state) of one state signal."""
    return {
        names.open: _count(n, states.idx) > 0,
        names.open_days: _days_since(_earliest(n, states.idx, states.times), clock.now),
    }


def _ticket_columns(n: int, open_states: list[_States], names: _Names) -> dict[str, Column]:
    """``open_ticket_p<k>``: some declared state whose opening value is k is open."""
    idx = np.concatenate([np.zeros(0, np.int64), *(states.idx for states in open_states)])
    value = np.concatenate([np.zeros(0), *(states.values for states in open_states)])
    return {
        column: _count(n, idx, value == float(p)) > 0
        for p, column in zip(TICKET_PRIORITIES, names.tickets, strict=True)
    }

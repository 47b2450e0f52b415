"""Accounts and their contacts, with the imperfections a real CRM has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.errors import SimulationError
from nextmove.sim.frames import gather_or_null, record_frame, sequential_ids
from nextmove.sim.lexicon import (
    COUNTRIES,
    FIRST_NAMES,
    INDUSTRIES,
    INDUSTRY_DESCRIPTORS,
    INDUSTRY_MISSPELLINGS,
    INDUSTRY_WEIGHTS,
    LAST_NAMES,
    NAME_ONSETS,
    NAME_VOWELS,
    TITLES,
)
from nextmove.sim.model import ImperfectionRates

__all__ = ["AccountBook", "SEGMENTS", "draw_accounts", "draw_contacts"]

SEGMENTS: tuple[str, ...] = ("smb", "mid", "ent")
_SEGMENT_SHARE = (0.6, 0.3, 0.1)
_EMPLOYEE_RANGE = ((10, 199), (200, 1_999), (2_000, 120_000))
_PARENT_SHARE = 0.03
_CONSENTS = ("opted_in", "unknown", "opted_out")

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AccountBook:
    """The accounts frame plus the true attributes behind it (before any was blanked)."""

    frame: pl.DataFrame
    ids: pl.Series
    segment: Ints
    industry: Ints
    country: Ints
    employees: Ints
    created_on: npt.NDArray[np.datetime64]
    root_domain: pl.Series
    """The clean domain (``tavorilabs.com``) even where the frame's is blank or mangled."""
    duplicate_of: Ints
    """Index of the account this one duplicates, or -1."""


def _weights(values: tuple[float, ...]) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    shares: npt.NDArray[np.float64] = array / array.sum()
    return shares


def _unique_name_keys(
    rng: np.random.Generator, industry: Ints, descriptor: Ints, roots: int
) -> Ints:
    """Draw name roots so that (root, industry, descriptor) never repeats."""
    root = rng.integers(0, roots, size=len(industry))
    for _ in range(64):
        key = (root * len(INDUSTRIES) + industry) * 4 + descriptor
        _, first = np.unique(key, return_index=True)
        repeated = np.ones(len(key), dtype=bool)
        repeated[first] = False
        if not repeated.any():
            return root
        root[repeated] = rng.integers(0, roots, size=int(repeated.sum()))
    raise SimulationError("could not draw unique account names")  # pragma: no cover


def _names(
    rng: np.random.Generator, industry: Ints, country: Ints
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Return (name, clean domain, name without legal suffix) per account, all unique."""
    syllables = pl.Series([o + v for o in NAME_ONSETS for v in NAME_VOWELS])
    s = len(syllables)
    descriptor = (
        rng.integers(0, 4, size=len(industry))
        % np.array([len(INDUSTRY_DESCRIPTORS[i]) for i in range(len(INDUSTRIES))])[industry]
    )
    root = _unique_name_keys(rng, industry, descriptor, s**3)
    stem = (
        syllables.gather(root // (s * s))
        + syllables.gather((root // s) % s)
        + syllables.gather(root % s)
    )
    words = [w for group in INDUSTRY_DESCRIPTORS for w in group]
    offsets = np.cumsum([0] + [len(g) for g in INDUSTRY_DESCRIPTORS])[:-1]
    word = pl.Series(words).gather(offsets[industry] + descriptor)
    tld = pl.Series([c.tld for c in COUNTRIES]).gather(country)
    domain = stem + word.str.to_lowercase() + "." + tld
    legal = pl.Series([c.legal_suffix for c in COUNTRIES]).gather(country)
    with_legal = pl.Series(rng.random(len(industry)) < 0.3)
    base = stem.str.to_titlecase() + " " + word
    name = pl.select(pl.when(with_legal).then(base + " " + legal).otherwise(base)).to_series()
    return name, domain, base


def _name_variants(rng: np.random.Generator, name: pl.Series) -> pl.Series:
    """Return a second spelling of each name, as a duplicate record would have it."""
    variant = pl.Series(rng.integers(0, 5, size=len(name)))
    return pl.select(
        pl.when(variant == 0)
        .then(name.str.to_uppercase() + " INC.")
        .when(variant == 1)
        .then(name + " Corporation")
        .when(variant == 2)
        .then(name + ", Inc.")
        .when(variant == 3)
        .then(name.str.to_lowercase() + " ltd")
        .otherwise("The " + name + " Company")
    ).to_series()


def _domain_variants(rng: np.random.Generator, domain: pl.Series) -> pl.Series:
    """Return the same domain written differently (``www.``, a URL, capitals)."""
    variant = pl.Series(rng.integers(0, 4, size=len(domain)))
    return pl.select(
        pl.when(variant == 0)
        .then("www." + domain)
        .when(variant == 1)
        .then("https://www." + domain + "/")
        .when(variant == 2)
        .then(domain.str.to_uppercase())
        .otherwise(domain + "/")
    ).to_series()


def _blank(
    rng: np.random.Generator, column: pl.Series, rate: float, among: Bools | None = None
) -> tuple[pl.Series, Bools]:
    """Null out exactly ``rate`` of the rows (drawn from ``among``); return the column and mask."""
    n = len(column)
    pool = np.arange(n) if among is None else np.flatnonzero(among)
    k = min(len(pool), round(rate * n))
    mask = np.zeros(n, dtype=bool)
    if k:
        mask[rng.choice(pool, size=k, replace=False)] = True
    return column.scatter(np.flatnonzero(mask), None), mask


@dataclass(frozen=True)
class _Draft:
    """True attributes of accounts before ids are given and fields are blanked."""

    segment: Ints
    industry: Ints
    country: Ints
    employees: Ints
    age: Ints
    name: pl.Series
    domain: pl.Series
    shown_domain: pl.Series
    duplicate_of: Ints
    parent: Ints

    def take(self, order: Ints) -> _Draft:
        """Return the accounts in ``order``, with row references renumbered to match."""
        where = np.argsort(order)

        def renumber(rows: Ints) -> Ints:
            return np.where(rows[order] >= 0, where[np.maximum(rows[order], 0)], -1)

        return _Draft(
            segment=self.segment[order],
            industry=self.industry[order],
            country=self.country[order],
            employees=self.employees[order],
            age=self.age[order],
            name=self.name.gather(order),
            domain=self.domain.gather(order),
            shown_domain=self.shown_domain.gather(order),
            duplicate_of=renumber(self.duplicate_of),
            parent=renumber(self.parent),
        )


def _draw_originals(rng: np.random.Generator, n: int) -> tuple[_Draft, pl.Series]:
    """Return ``n`` distinct accounts and their names without a legal suffix."""
    segment = rng.choice(3, size=n, p=_weights(_SEGMENT_SHARE))
    low = np.log(np.array([r[0] for r in _EMPLOYEE_RANGE]))[segment]
    high = np.log(np.array([r[1] + 1 for r in _EMPLOYEE_RANGE]))[segment]
    industry = rng.choice(len(INDUSTRIES), size=n, p=_weights(INDUSTRY_WEIGHTS))
    country = rng.choice(len(COUNTRIES), size=n, p=_weights(tuple(c.weight for c in COUNTRIES)))
    name, domain, plain_name = _names(rng, industry, country)
    draft = _Draft(
        segment=segment,
        industry=industry,
        country=country,
        employees=np.floor(np.exp(rng.uniform(low, high))).astype(np.int64),
        age=rng.integers(30, 3650, size=n),
        name=name,
        domain=domain,
        shown_domain=domain,
        duplicate_of=np.full(n, -1, dtype=np.int64),
        parent=np.full(n, -1, dtype=np.int64),
    )
    return draft, plain_name


def _with_duplicates(
    rng: np.random.Generator, draft: _Draft, plain_name: pl.Series, count: int
) -> _Draft:
    """Append ``count`` second records of random accounts: same firm, spelled differently."""
    n = len(draft.segment)
    original = rng.choice(n, size=count, replace=False) if count else np.zeros(0, np.int64)
    source = np.concatenate([np.arange(n), original])
    copies = np.maximum(1, draft.employees[original] * rng.uniform(0.9, 1.1, count))
    return _Draft(
        segment=draft.segment[source],
        industry=draft.industry[source],
        country=draft.country[source],
        employees=np.concatenate([draft.employees, copies.astype(np.int64)]),
        # The second record was created later than the first.
        age=np.concatenate([draft.age, rng.integers(0, np.maximum(1, draft.age[original]))]),
        name=pl.concat([draft.name, _name_variants(rng, plain_name.gather(original))]),
        domain=draft.domain.gather(source),
        shown_domain=pl.concat(
            [draft.domain, _domain_variants(rng, draft.domain.gather(original))]
        ),
        duplicate_of=np.concatenate([draft.duplicate_of, original]).astype(np.int64),
        parent=np.concatenate([draft.parent, np.full(count, -1, dtype=np.int64)]),
    )


def _link_parents(rng: np.random.Generator, draft: _Draft) -> None:
    """Make a few smaller accounts subsidiaries of enterprise ones (in place)."""
    count = len(draft.segment)
    ents = np.flatnonzero((draft.segment == 2) & (draft.duplicate_of < 0))
    children = np.flatnonzero((draft.segment < 2) & (draft.duplicate_of < 0))
    n_children = min(len(children), round(_PARENT_SHARE * count)) if len(ents) else 0
    if n_children:
        chosen = rng.choice(children, size=n_children, replace=False)
        draft.parent[chosen] = rng.choice(ents, size=n_children)


def draw_accounts(
    rng: np.random.Generator,
    *,
    count: int,
    start: date,
    rep_ids: pl.Series,
    rates: ImperfectionRates,
) -> AccountBook:
    """Return ``count`` accounts; duplicates and blanked fields are drawn at ``rates``."""
    n_dup = min(round(rates.duplicate_accounts * count), count // 2)
    draft, plain_name = _draw_originals(rng, count - n_dup)
    draft = _with_duplicates(rng, draft, plain_name, n_dup)
    _link_parents(rng, draft)
    # Number accounts in the order they were created, as a CRM does; this scatters the
    # duplicates among the originals (each after the account it repeats).
    shuffled = rng.permutation(count)
    draft = draft.take(shuffled[np.argsort(-draft.age[shuffled], kind="stable")])
    revenue = np.round(draft.employees * rng.lognormal(np.log(180_000), 0.4, count), -3)
    created_on = np.datetime64(start, "D") - draft.age.astype("timedelta64[D]")

    ids = sequential_ids("acct-", count, width=6)
    industry, has_no_industry = _blank(
        rng, pl.Series(INDUSTRIES).gather(draft.industry), rates.missing_industry
    )
    industry = _misspell(rng, industry, draft.industry, rates, ~has_no_industry)
    owner, _ = _blank(
        rng, rep_ids.gather(rng.integers(0, len(rep_ids), count)), rates.missing_owner
    )
    segment, _ = _blank(rng, pl.Series(SEGMENTS).gather(draft.segment), rates.missing_segment)
    domain, _ = _blank(rng, draft.shown_domain, rates.missing_domain)
    frame = record_frame(
        "accounts",
        {
            "account_id": ids,
            "name": draft.name,
            "domain": domain,
            "industry": industry,
            "segment": segment,
            "country": pl.Series([c.code for c in COUNTRIES]).gather(draft.country),
            "region": pl.Series([c.region for c in COUNTRIES]).gather(draft.country),
            "employees": draft.employees,
            "annual_revenue": revenue,
            "owner_id": owner,
            "parent_account_id": gather_or_null(ids, draft.parent),
            "created_on": created_on,
        },
    )
    return AccountBook(
        frame=frame,
        ids=ids,
        segment=draft.segment,
        industry=draft.industry,
        country=draft.country,
        employees=draft.employees,
        created_on=created_on,
        root_domain=draft.domain,
        duplicate_of=draft.duplicate_of,
    )


def _misspell(
    rng: np.random.Generator,
    column: pl.Series,
    industry: Ints,
    rates: ImperfectionRates,
    among: Bools,
) -> pl.Series:
    """Replace ``misspelled_industry`` of the rows with an off-vocabulary spelling."""
    pool = np.flatnonzero(among)
    k = min(len(pool), round(rates.misspelled_industry * len(column)))
    if not k:
        return column
    rows = rng.choice(pool, size=k, replace=False)
    spellings = [w for group in INDUSTRY_MISSPELLINGS for w in group]
    offsets = np.cumsum([0] + [len(g) for g in INDUSTRY_MISSPELLINGS])[:-1]
    sizes = np.array([len(g) for g in INDUSTRY_MISSPELLINGS])
    pick = offsets[industry[rows]] + rng.integers(0, 1 << 30, size=k) % sizes[industry[rows]]
    return column.scatter(rows, pl.Series(spellings).gather(pick))


def draw_contacts(rng: np.random.Generator, book: AccountBook) -> tuple[pl.DataFrame, Ints]:
    """Return (1-4 contacts per account with per-channel consent, each contact's account index).

    Contacts are grouped by account in account order; EU contacts consent more cautiously.
    """
    n = len(book.ids)
    extra = np.array([1, 2, 2])[book.segment]
    counts = np.array([1, 1, 2])[book.segment] + rng.binomial(extra, 0.5)
    counts[book.duplicate_of >= 0] = 1
    owner = np.repeat(np.arange(n), counts)
    m = len(owner)
    first = pl.Series(FIRST_NAMES).gather(rng.integers(0, len(FIRST_NAMES), m))
    last = pl.Series(LAST_NAMES).gather(rng.integers(0, len(LAST_NAMES), m))
    email = (first + "." + last).str.to_lowercase() + "@" + book.root_domain.gather(owner)
    email, _ = _blank(rng, email, 0.02)
    country = book.country[owner].copy()
    moved = rng.random(m) < 0.08
    country[moved] = rng.integers(0, len(COUNTRIES), int(moved.sum()))
    eu = np.array([c.eu for c in COUNTRIES])[country]
    email_consent = _consent(rng, eu, eu_p=(0.35, 0.50, 0.15), other_p=(0.55, 0.33, 0.12))
    phone_consent = _consent(rng, eu, eu_p=(0.25, 0.60, 0.15), other_p=(0.40, 0.45, 0.15))
    frame = record_frame(
        "contacts",
        {
            "contact_id": sequential_ids("cont-", m, width=7),
            "account_id": book.ids.gather(owner),
            "first_name": first,
            "last_name": last,
            "email": email,
            "title": pl.Series(TITLES).gather(rng.integers(0, len(TITLES), m)),
            "country": pl.Series([c.code for c in COUNTRIES]).gather(country),
            "email_consent": email_consent,
            "phone_consent": phone_consent,
            "do_not_contact": rng.random(m) < 0.02,
        },
    )
    return frame, owner.astype(np.int64)


def _consent(
    rng: np.random.Generator,
    eu: Bools,
    *,
    eu_p: tuple[float, float, float],
    other_p: tuple[float, float, float],
) -> pl.Series:
    cdf = np.cumsum(np.where(eu[:, None], np.array(eu_p), np.array(other_p)), axis=1)
    code = (rng.random(len(eu))[:, None] > cdf[:, :2]).sum(axis=1)
    return pl.Series(_CONSENTS).gather(code)

"""Accounts and their contacts, with the imperfections a real CRM has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.sim.frames import record_frame, sequential_ids
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
    raise RuntimeError("could not draw unique account names")  # pragma: no cover


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
    n = count - n_dup
    segment = rng.choice(3, size=n, p=_weights(_SEGMENT_SHARE))
    low = np.log(np.array([r[0] for r in _EMPLOYEE_RANGE]))[segment]
    high = np.log(np.array([r[1] + 1 for r in _EMPLOYEE_RANGE]))[segment]
    employees = np.floor(np.exp(rng.uniform(low, high))).astype(np.int64)
    industry = rng.choice(len(INDUSTRIES), size=n, p=_weights(INDUSTRY_WEIGHTS))
    country = rng.choice(len(COUNTRIES), size=n, p=_weights(tuple(c.weight for c in COUNTRIES)))
    name, domain, plain_name = _names(rng, industry, country)
    age = rng.integers(30, 3650, size=n)

    original = rng.choice(n, size=n_dup, replace=False) if n_dup else np.zeros(0, np.int64)
    duplicate_of = np.concatenate([np.full(n, -1), original]).astype(np.int64)
    source = np.concatenate([np.arange(n), original])
    segment, industry, country = segment[source], industry[source], country[source]
    employees = np.concatenate(
        [employees, np.maximum(1, employees[original] * rng.uniform(0.9, 1.1, n_dup)).astype(int)]
    )
    age = np.concatenate([age, rng.integers(0, np.maximum(1, age[original]))])
    root_domain = domain.gather(source)
    shown_domain = pl.concat([domain, _domain_variants(rng, domain.gather(original))])
    name = pl.concat([name, _name_variants(rng, plain_name.gather(original))])

    revenue = np.round(employees * rng.lognormal(np.log(180_000), 0.4, count), -3)
    created_on = np.datetime64(start, "D") - age.astype("timedelta64[D]")
    parent = np.full(count, -1, dtype=np.int64)
    ents = np.flatnonzero((segment == 2) & (duplicate_of < 0))
    children = np.flatnonzero((segment < 2) & (duplicate_of < 0))
    n_children = min(len(children), round(_PARENT_SHARE * count)) if len(ents) else 0
    if n_children:
        chosen = rng.choice(children, size=n_children, replace=False)
        parent[chosen] = rng.choice(ents, size=n_children)

    # Scatter the duplicates among the originals, as years of data entry would.
    order = rng.permutation(count)
    where = np.argsort(order)
    segment, industry, country = segment[order], industry[order], country[order]
    employees, revenue, created_on = employees[order], revenue[order], created_on[order]
    root_domain, shown_domain, name = (
        root_domain.gather(order),
        shown_domain.gather(order),
        name.gather(order),
    )
    duplicate_of = np.where(duplicate_of[order] >= 0, where[duplicate_of[order]], -1)
    parent = np.where(parent[order] >= 0, where[parent[order]], -1)

    ids = sequential_ids("acct-", count, width=6)
    industry_col, has_no_industry = _blank(
        rng, pl.Series(INDUSTRIES).gather(industry), rates.missing_industry
    )
    industry_col = _misspell(rng, industry_col, industry, rates, ~has_no_industry)
    owner_col, _ = _blank(
        rng, rep_ids.gather(rng.integers(0, len(rep_ids), count)), rates.missing_owner
    )
    segment_col, _ = _blank(rng, pl.Series(SEGMENTS).gather(segment), rates.missing_segment)
    domain_col, _ = _blank(rng, shown_domain, rates.missing_domain)
    frame = record_frame(
        "accounts",
        {
            "account_id": ids,
            "name": name,
            "domain": domain_col,
            "industry": industry_col,
            "segment": segment_col,
            "country": pl.Series([c.code for c in COUNTRIES]).gather(country),
            "region": pl.Series([c.region for c in COUNTRIES]).gather(country),
            "employees": employees,
            "annual_revenue": revenue,
            "owner_id": owner_col,
            "parent_account_id": pl.select(
                pl.when(pl.Series(parent) >= 0).then(ids.gather(np.maximum(parent, 0)))
            ).to_series(),
            "created_on": created_on,
        },
    )
    return AccountBook(
        frame=frame,
        ids=ids,
        segment=segment,
        industry=industry,
        country=country,
        employees=employees,
        created_on=created_on,
        root_domain=root_domain,
        duplicate_of=duplicate_of,
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

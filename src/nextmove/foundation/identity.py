"""Probable duplicate accounts: same web domain, or near-identical names in one country.

Pure and vectorised: takes the ``accounts`` frame, returns pairs with a confidence and
the reasons. Nothing is ever merged; people decide. Names are compared only inside
blocks (country + the first characters of the normalised name, widened until a block is
small enough), so the work grows with the number of accounts, not its square.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz, process

__all__ = [
    "FREE_MAIL_DOMAINS",
    "LEGAL_SUFFIXES",
    "DuplicatePair",
    "country_key",
    "domain_key",
    "duplicate_pairs",
    "find_duplicate_accounts",
    "name_key",
    "normalise_domain",
    "normalise_name",
    "pairs_from_frame",
]

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
        "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "mail.com", "mail.ru",
        "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "orange.fr", "free.fr",
        "laposte.net", "libero.it", "zoho.com", "fastmail.com", "hey.com", "example.com",
    }
)  # fmt: skip
"""Web-mail and placeholder domains: sharing one says nothing about being one company."""

LEGAL_SUFFIXES: tuple[str, ...] = (
    "sp z oo", "s de rl", "de cv", "and company", "and co", "pty ltd", "pte ltd",
    "incorporated", "inc", "corporation", "corp", "company", "co", "limited", "ltd", "ltda",
    "llc", "llp", "lp", "plc", "gmbh", "mbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa",
    "sl", "bv", "nv", "ab", "oy", "oyj", "aps", "kk", "pte", "pty", "pvt", "group",
    "holdings", "holding",
)  # fmt: skip
"""Trailing words dropped from names before comparing (after punctuation is removed)."""

_SUFFIX_PATTERN = r"(?:\s+(?:" + "|".join(LEGAL_SUFFIXES) + r"))+$"
_DOMAIN_CONFIDENCE = 0.95
_DOMAIN_NAME_BONUS = 0.04
_NAME_CONFIDENCE = 0.9
_OTHER_DOMAIN_PENALTY = 0.2
_MAX_PREFIX = 6
_ROWS_PER_CALL = 512
_PARALLEL_FROM = 512 * 512

Ints = npt.NDArray[np.int64]
_PAIR_COLUMNS = ("account_id_a", "account_id_b")


class DuplicatePair(BaseModel):
    """Two accounts that are probably one company, and why we think so."""

    model_config = ConfigDict(frozen=True)

    account_id_a: str
    account_id_b: str
    name_a: str
    name_b: str
    confidence: float
    """0–1: 0.95–0.99 for a shared domain, up to 0.9 for names alone (less when the
    accounts give different domains)."""
    reasons: tuple[str, ...]
    domain: str | None = None
    name_score: float | None = None
    """Similarity (0–100) of the normalised names when they matched within a country."""


def domain_key(column: pl.Expr, free_mail: Iterable[str] = FREE_MAIL_DOMAINS) -> pl.Expr:
    """Return the comparable web domain of ``column``: null when empty or free-mail.

    ``https://www.Acme.com:443/about`` → ``acme.com``; an e-mail address gives its domain.
    """
    text = (
        column.cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace(r"^[a-z][a-z0-9+.\-]*://", "")
        .str.replace(r"^[^/]*@", "")
        .str.extract(r"^([^/?#\s]*)", 1)
        .str.replace(r":\d*$", "")
        .str.replace(r"\.+$", "")
        .str.replace(r"^www\d*\.", "")
    )
    useless = text.is_null() | ~text.str.contains(r"^[^.]+\.[^.]") | text.is_in(list(free_mail))
    return pl.when(useless).then(None).otherwise(text)


def name_key(column: pl.Expr) -> pl.Expr:
    """Return the comparable company name of ``column`` (empty string when there is none).

    Lower-cased, accents and punctuation removed, a leading "the" and trailing legal
    suffixes (inc, gmbh, group, holdings …) dropped: ``The Acme Corp.`` → ``acme``.
    """
    text = (
        column.cast(pl.String)
        .fill_null("")
        .str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.replace_all("&", " and ")
        .str.replace_all(r"[.'’`]", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.replace(r"^the\s+", "")
        .str.replace(_SUFFIX_PATTERN, "")
    )
    return text.str.strip_chars()


def country_key(column: pl.Expr, country_codes: Mapping[str, str] | None = None) -> pl.Expr:
    """Return a comparable country: lower-cased, names mapped to codes when given a mapping.

    ``country_codes`` maps lower-case names and aliases to a code (``germany`` → ``DE``);
    a missing country becomes the empty string (such accounts are compared together).
    """
    text = column.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    if country_codes:
        table = {name.lower(): code.lower() for name, code in country_codes.items()}
        text = text.replace(table)
    return text


def normalise_domain(value: str | None, free_mail: Iterable[str] = FREE_MAIL_DOMAINS) -> str | None:
    """Return the comparable web domain of one value, or None (see ``domain_key``)."""
    result = pl.select(domain_key(pl.lit(value, dtype=pl.String), free_mail)).item()
    return None if result is None else str(result)


def normalise_name(value: str | None) -> str:
    """Return the comparable company name of one value (see ``name_key``)."""
    return str(pl.select(name_key(pl.lit(value, dtype=pl.String))).item())


def find_duplicate_accounts(
    accounts: pl.DataFrame,
    *,
    name_threshold: float = 90.0,
    max_block: int = 128,
    max_group: int = 25,
    free_mail: Iterable[str] = FREE_MAIL_DOMAINS,
    country_codes: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[DuplicatePair]:
    """Return probable duplicate pairs, most confident first (at most ``limit``)."""
    frame = duplicate_pairs(
        accounts,
        name_threshold=name_threshold,
        max_block=max_block,
        max_group=max_group,
        free_mail=free_mail,
        country_codes=country_codes,
    )
    return pairs_from_frame(frame if limit is None else frame.head(limit))


def pairs_from_frame(frame: pl.DataFrame) -> list[DuplicatePair]:
    """Return the rows of a ``duplicate_pairs`` frame as typed pairs."""
    return [
        DuplicatePair(
            account_id_a=row["account_id_a"],
            account_id_b=row["account_id_b"],
            name_a=row["name_a"] or "",
            name_b=row["name_b"] or "",
            confidence=row["confidence"],
            reasons=tuple(row["reasons"]),
            domain=row["domain"],
            name_score=row["name_score"],
        )
        for row in frame.iter_rows(named=True)
    ]


def duplicate_pairs(
    accounts: pl.DataFrame,
    *,
    name_threshold: float = 90.0,
    max_block: int = 128,
    max_group: int = 25,
    free_mail: Iterable[str] = FREE_MAIL_DOMAINS,
    country_codes: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Return probable duplicate pairs as a frame, most confident first.

    Columns: account_id_a < account_id_b, name_a, name_b, domain, name_score, confidence,
    reasons. A shared (non-free-mail) domain scores 0.95–0.99 (higher when the names are
    alike too); names alone score ``0.9 × similarity``, 0.2 less when the two accounts
    give different web domains. An account and its parent are not a pair. Groups sharing
    one domain or one name are paired fully for their first ``max_group`` members and by a
    star to the first member beyond that.
    """
    keyed = _keyed(accounts, free_mail, country_codes)
    by_domain = _pairs_within_groups(keyed.filter(pl.col("_domain").is_not_null()), ["_domain"])
    by_domain = _pairs_capped(by_domain, max_group).select(
        *_PAIR_COLUMNS, pl.col("_domain").alias("domain"), pl.lit(None, pl.Float64).alias("_score")
    )
    named = keyed.filter(pl.col("_name").str.len_chars() >= 2)
    by_name = pl.concat(
        [
            _pairs_capped(_pairs_within_groups(named, ["_country", "_name"]), max_group).select(
                *_PAIR_COLUMNS, pl.lit(100.0).alias("_score")
            ),
            _similar_name_pairs(named, name_threshold, max_block, max_group),
        ]
    ).select(*_PAIR_COLUMNS, pl.lit(None, pl.String).alias("domain"), "_score")
    merged = (
        pl.concat([by_domain, by_name])
        .group_by(_PAIR_COLUMNS)
        .agg(pl.col("domain").drop_nulls().first(), pl.col("_score").max().alias("name_score"))
    )
    return _scored(_without_parents(merged, keyed), keyed)


def _keyed(
    accounts: pl.DataFrame, free_mail: Iterable[str], country_codes: Mapping[str, str] | None
) -> pl.DataFrame:
    """The accounts with their comparison keys (``_domain``, ``_name``, ``_country``)."""
    columns = {"account_id", "name", "domain", "country", "parent_account_id"}
    frame = accounts.select(
        [
            pl.col(c).cast(pl.String) if c in accounts.columns else pl.lit(None, pl.String).alias(c)
            for c in sorted(columns)
        ]
    ).filter(pl.col("account_id").is_not_null())
    return frame.with_columns(
        domain_key(pl.col("domain"), free_mail).alias("_domain"),
        name_key(pl.col("name")).alias("_name"),
        country_key(pl.col("country"), country_codes).alias("_country"),
    )


def _token_sorted(name: pl.Expr) -> pl.Expr:
    """Tokens in order: ``ratio`` on these is rapidfuzz's ``token_sort_ratio``, but faster."""
    return name.str.split(" ").list.sort().list.join(" ")


def _pairs_within_groups(members: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Members of groups of two or more, ranked by account id within their group."""
    return (
        members.filter(pl.len().over(keys) > 1)
        .with_columns(pl.col("account_id").rank("ordinal").over(keys).alias("_rank"))
        .select("account_id", "_rank", *keys)
    )


def _pairs_capped(ranked: pl.DataFrame, max_group: int) -> pl.DataFrame:
    """Every pair among the first ``max_group`` of a group, then a star to its first member."""
    keys = [c for c in ranked.columns if c not in ("account_id", "_rank")]
    left = ranked.filter(pl.col("_rank") <= max_group)
    joined = left.join(ranked, on=keys, suffix="_b").filter(
        (pl.col("_rank") < pl.col("_rank_b"))
        & ((pl.col("_rank_b") <= max_group) | (pl.col("_rank") == 1))
    )
    return joined.select(pl.col("account_id").alias("account_id_a"), pl.col("account_id_b"), *keys)


def _similar_name_pairs(
    named: pl.DataFrame, threshold: float, max_block: int, max_group: int
) -> pl.DataFrame:
    """Pairs of accounts whose distinct normalised names are alike within one country."""
    names = named.select("_country", "_name").unique()
    names = _chunked(names.with_columns(_token_sorted(pl.col("_name")).alias("_sorted")), max_block)
    matches = _matches_in_chunks(names, threshold)
    matched = pl.concat(
        [matches.select("_country", pl.col(side).alias("_name")) for side in ("_name_a", "_name_b")]
    ).unique()
    members = (
        named.join(matched, on=["_country", "_name"], how="semi")
        .filter(pl.col("account_id").rank("ordinal").over("_country", "_name") <= max_group)
        .select("account_id", "_country", "_name")
    )
    pairs = matches.join(
        members.rename({"_name": "_name_a", "account_id": "_id_a"}), on=["_country", "_name_a"]
    ).join(members.rename({"_name": "_name_b", "account_id": "_id_b"}), on=["_country", "_name_b"])
    return pairs.select(
        pl.min_horizontal("_id_a", "_id_b").alias("account_id_a"),
        pl.max_horizontal("_id_a", "_id_b").alias("account_id_b"),
        pl.col("_score").cast(pl.Float64),
    )


def _chunked(names: pl.DataFrame, max_block: int) -> pl.DataFrame:
    """Sort distinct names into ``_chunk``s of under 2 × ``max_block`` names to compare.

    Blocks are country + name prefix; a block over ``max_block`` names is split by a longer
    prefix (up to six characters). Neighbouring small blocks of one country are packed into
    one chunk, which only adds comparisons, never loses one.
    """
    finished: list[pl.DataFrame] = []
    pending = names
    for length in range(2, _MAX_PREFIX + 1):
        blocked = pending.with_columns(pl.col("_name").str.slice(0, length).alias("_prefix"))
        small = pl.lit(length == _MAX_PREFIX) | (pl.len().over("_country", "_prefix") <= max_block)
        finished.append(blocked.filter(small))
        pending = blocked.filter(~small).drop("_prefix")
        if pending.height == 0:
            break
    # A block is a run of one prefix, so sorting by name keeps each block together.
    blocks = pl.concat(finished).sort("_country", "_name")
    position = pl.int_range(pl.len(), dtype=pl.Int64).over("_country")
    return (
        blocks.with_columns(position.alias("_position"))
        .with_columns(
            (pl.col("_position").min().over("_country", "_prefix") // max_block).alias("_slot")
        )
        .with_columns(pl.struct("_country", "_slot").rle_id().alias("_chunk"))
    )


def _matches_in_chunks(names: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Name pairs scoring at least ``threshold`` within each chunk (rapidfuzz ``cdist``)."""
    sorted_names = names["_sorted"].to_list()
    bounds = names.group_by("_chunk", maintain_order=True).len()["len"].to_numpy()
    ends = np.cumsum(bounds.astype(np.int64))
    found: list[tuple[Ints, Ints, Ints]] = []
    for start, end in zip(ends - bounds, ends, strict=True):
        # Slices of rows against the rest of the chunk bound the memory of a big block.
        for low in range(int(start), int(end) - 1, _ROWS_PER_CALL):
            found.append(
                _matches(sorted_names, low, min(low + _ROWS_PER_CALL, end), end, threshold)
            )
    a, b, scores = (
        np.concatenate([part[k] for part in found]) if found else np.zeros(0, np.int64)
        for k in range(3)
    )
    return pl.DataFrame(
        {
            "_country": names["_country"].gather(a),
            "_name_a": names["_name"].gather(a),
            "_name_b": names["_name"].gather(b),
            "_score": pl.Series(scores, dtype=pl.Float64),
        }
    )


def _matches(
    names: list[str], low: int, high: int, end: int, threshold: float
) -> tuple[Ints, Ints, Ints]:
    """Pairs (i < j) with rows i in [low, high) and columns j in (i, end) that match."""
    matrix = process.cdist(
        names[low:high],
        names[low:end],
        scorer=fuzz.ratio,
        score_cutoff=threshold,
        dtype=np.uint8,
        workers=-1 if (high - low) * (end - low) > _PARALLEL_FROM else 1,
    )
    rows, cols = np.nonzero(matrix)
    upper = cols > rows
    rows, cols = rows[upper], cols[upper]
    return rows + low, cols + low, matrix[rows, cols].astype(np.int64)


def _without_parents(pairs: pl.DataFrame, keyed: pl.DataFrame) -> pl.DataFrame:
    """Drop pairs where one account is the other's parent."""
    parent = keyed.select("account_id", "parent_account_id").unique("account_id")
    with_parents = pairs.join(
        parent.rename({"account_id": "account_id_a", "parent_account_id": "_parent_a"}),
        on="account_id_a",
        how="left",
    ).join(
        parent.rename({"account_id": "account_id_b", "parent_account_id": "_parent_b"}),
        on="account_id_b",
        how="left",
    )
    related = (pl.col("_parent_a") == pl.col("account_id_b")).fill_null(False) | (
        pl.col("_parent_b") == pl.col("account_id_a")
    ).fill_null(False)
    return with_parents.filter(~related).drop("_parent_a", "_parent_b")


def _scored(pairs: pl.DataFrame, keyed: pl.DataFrame) -> pl.DataFrame:
    """Attach names, confidence and reasons; sort most confident first."""
    involved = pl.concat([pairs["account_id_a"], pairs["account_id_b"]]).alias("account_id")
    side = (
        keyed.join(involved.to_frame(), on="account_id", how="semi")
        .unique("account_id")
        .select("account_id", "name", "_country", "_domain", _token_sorted(pl.col("_name")))
        .rename({"_name": "_sorted"})
    )
    joined = pairs.join(
        side.rename({c: f"{c}_a" for c in side.columns}), on="account_id_a", how="left"
    ).join(side.rename({c: f"{c}_b" for c in side.columns}), on="account_id_b", how="left")
    similarity = process.cpdist(
        joined["_sorted_a"].fill_null("").to_list(),
        joined["_sorted_b"].fill_null("").to_list(),
        scorer=fuzz.ratio,
        dtype=np.float64,
    )
    joined = joined.with_columns(pl.Series("_similarity", similarity, dtype=pl.Float64))
    domain_confidence = _DOMAIN_CONFIDENCE + _DOMAIN_NAME_BONUS * pl.col("_similarity") / 100
    name_confidence = _NAME_CONFIDENCE * pl.col("name_score") / 100 - pl.when(
        _other_domains()
    ).then(_OTHER_DOMAIN_PENALTY).otherwise(0.0)
    confidence = pl.max_horizontal(
        pl.when(pl.col("domain").is_not_null()).then(domain_confidence),
        name_confidence,
    )
    return joined.select(
        *_PAIR_COLUMNS,
        pl.col("name_a"),
        pl.col("name_b"),
        pl.col("domain"),
        pl.col("name_score"),
        confidence.round(3).alias("confidence"),
        _reasons().alias("reasons"),
    ).sort(["confidence", *_PAIR_COLUMNS], descending=[True, False, False])


def _other_domains() -> pl.Expr:
    """Both accounts give a web domain and the domains differ (evidence against)."""
    return (pl.col("_domain_a") != pl.col("_domain_b")).fill_null(False)


def _reasons() -> pl.Expr:
    """Plain-language reasons, one per kind of evidence."""
    country = pl.col("_country_a").str.to_uppercase()
    where = pl.when(country == "").then(pl.lit("with no country")).otherwise("in " + country)
    return pl.concat_list(
        pl.when(pl.col("domain").is_not_null()).then("same web domain " + pl.col("domain")),
        pl.when(pl.col("name_score") >= 100)
        .then("same name " + where)
        .when(pl.col("name_score").is_not_null())
        .then(pl.format("similar names ({}/100) {}", pl.col("name_score").cast(pl.Int64), where)),
        pl.when(_other_domains()).then(
            pl.format("but different web domains ({}, {})", "_domain_a", "_domain_b")
        ),
    ).list.drop_nulls()

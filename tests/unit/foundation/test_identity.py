"""Probable duplicate accounts: same web domain or near-identical names in one country."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from nextmove.foundation.identity import (
    DuplicatePair,
    duplicate_pairs,
    find_duplicate_accounts,
    normalise_domain,
    normalise_name,
)


def account(account_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """One account row; unspecified fields are absent (null)."""
    return {"account_id": account_id, "name": name, **fields}


def accounts(*rows: dict[str, Any]) -> pl.DataFrame:
    columns = ["account_id", "name", "domain", "country", "parent_account_id"]
    return pl.DataFrame(
        [{column: row.get(column) for column in columns} for row in rows],
        schema={column: pl.String for column in columns},
    )


def pair_of(pairs: list[DuplicatePair], a: str, b: str) -> DuplicatePair | None:
    wanted = tuple(sorted((a, b)))
    return next((p for p in pairs if (p.account_id_a, p.account_id_b) == wanted), None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com:443/about?x=1", "acme.com"),
        ("WWW.ACME.COM.", "acme.com"),
        ("http://www2.acme.co.uk/", "acme.co.uk"),
        ("sales@acme.com", "acme.com"),
        ("  acme.com  ", "acme.com"),
        ("gmail.com", None),
        ("jane@gmail.com", None),
        ("n/a", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_domain(raw: str | None, expected: str | None) -> None:
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Corporation", "acme"),
        ("ACME Corp.", "acme"),
        ("The Acme Company", "acme"),
        ("Acme Holdings Group, Inc.", "acme"),
        ("Globex GmbH", "globex"),
        ("Zuma S.A. de C.V.", "zuma"),
        ("Kowal Sp. z o.o.", "kowal"),
        ("Müller & Söhne AG", "muller and sohne"),
        ("Group", "group"),
        (None, ""),
    ],
)
def test_normalise_name(raw: str | None, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_same_domain_is_a_confident_duplicate() -> None:
    frame = accounts(
        account("a1", "Acme Software", domain="acme.com", country="US"),
        account("a2", "Acme Europe", domain="https://www.acme.com/", country="DE"),
    )

    [pair] = find_duplicate_accounts(frame)

    assert (pair.account_id_a, pair.account_id_b) == ("a1", "a2")
    assert 0.95 <= pair.confidence <= 0.99
    assert pair.domain == "acme.com"
    assert pair.reasons == ("same web domain acme.com",)


def test_name_variant_in_one_country_is_found_and_another_country_is_not() -> None:
    frame = accounts(
        account("a1", "Globex Corporation", country="DE"),
        account("a2", "GLOBEX CORP.", country="DE"),
        account("a3", "Globex Inc", country="US"),
    )

    pairs = find_duplicate_accounts(frame)

    assert [(p.account_id_a, p.account_id_b) for p in pairs] == [("a1", "a2")]
    assert pairs[0].confidence == pytest.approx(0.9)
    assert pairs[0].reasons == ("same name in DE",)


def test_fuzzy_names_score_below_exact_ones_and_different_domains_count_against() -> None:
    frame = accounts(
        account("a1", "Initech Software", country="US"),
        account("a2", "Initech Sofware", country="US"),
        account("b1", "Umbrella Logistics", domain="umbrella.com", country="US"),
        account("b2", "Umbrela Logistics", domain="umbrela-freight.com", country="US"),
        account("c1", "Hooli", country="US"),
        account("c2", "Vandelay", country="US"),
    )

    pairs = find_duplicate_accounts(frame)

    fuzzy = pair_of(pairs, "a1", "a2")
    assert fuzzy is not None and fuzzy.name_score is not None
    assert 90 <= fuzzy.name_score < 100
    assert fuzzy.confidence == pytest.approx(0.9 * fuzzy.name_score / 100, abs=1e-3)
    contradicted = pair_of(pairs, "b1", "b2")
    assert contradicted is not None
    assert contradicted.confidence < fuzzy.confidence
    assert any("different web domains" in reason for reason in contradicted.reasons)
    assert pair_of(pairs, "c1", "c2") is None


def test_domain_and_name_together_rank_highest() -> None:
    frame = accounts(
        account("a1", "Acme Corporation", domain="acme.com", country="US"),
        account("a2", "ACME Corp.", domain="www.acme.com", country="US"),
        account("a3", "Acme International", domain="acme.com", country="FR"),
        account("b1", "Globex Labs", country="US"),
        account("b2", "Globex Lab", country="US"),
    )

    pairs = find_duplicate_accounts(frame)

    assert [(p.account_id_a, p.account_id_b) for p in pairs][0] == ("a1", "a2")
    assert pairs[0].confidence == pytest.approx(0.99)
    assert pairs[0].reasons == ("same web domain acme.com", "same name in US")
    confidences = [p.confidence for p in pairs]
    assert confidences == sorted(confidences, reverse=True)
    assert pair_of(pairs, "b1", "b2") is not None


def test_parent_and_subsidiary_are_not_duplicates() -> None:
    frame = accounts(
        account("parent", "Acme Holdings", domain="acme.com", country="US"),
        account("child", "Acme", domain="acme.com", country="US", parent_account_id="parent"),
    )

    assert find_duplicate_accounts(frame) == []


def test_free_mail_domains_and_blank_names_say_nothing() -> None:
    frame = accounts(
        account("a1", "Jane Doe Consulting", domain="gmail.com", country="US"),
        account("a2", "Widget Works", domain="jane@gmail.com", country="US"),
        account("a3", "Inc.", country="US"),
        account("a4", "", country="US"),
    )

    assert find_duplicate_accounts(frame) == []


def test_small_blocks_still_find_pairs_sharing_a_prefix() -> None:
    names = [f"Acme {word}" for word in ("Alpha", "Beta", "Gamma", "Delta", "Omega", "Sigma")]
    rows = [account(f"a{i}", name, country="US") for i, name in enumerate(names)]
    rows.append(account("dup", "Acme Gamma Ltd", country="US"))

    pairs = find_duplicate_accounts(accounts(*rows), max_block=2)

    assert [(p.account_id_a, p.account_id_b) for p in pairs] == [("a2", "dup")]


def test_large_groups_are_capped_as_a_star() -> None:
    rows = [
        account(f"a{i:02d}", f"Shop {i}", domain="shared.com", country=f"C{i}") for i in range(30)
    ]

    frame = duplicate_pairs(accounts(*rows), max_group=5)

    assert frame.height == 10 + 25
    assert frame.filter(pl.col("account_id_a") == "a00").height == 4 + 25
    assert frame.filter(pl.col("account_id_b") > "a04").height == 25


def test_country_names_and_codes_block_together_when_mapped() -> None:
    frame = accounts(
        account("a1", "Globex GmbH", country="Germany"),
        account("a2", "Globex AG", country="DE"),
    )

    assert find_duplicate_accounts(frame) == []
    [pair] = find_duplicate_accounts(frame, country_codes={"germany": "DE"})
    assert pair.reasons == ("same name in DE",)


def test_empty_or_sparse_input_gives_no_pairs() -> None:
    assert find_duplicate_accounts(pl.DataFrame()) == []
    assert find_duplicate_accounts(accounts()) == []
    assert find_duplicate_accounts(pl.DataFrame({"account_id": ["a1", "a2"]})) == []
    assert duplicate_pairs(pl.DataFrame()).columns == [
        "account_id_a",
        "account_id_b",
        "name_a",
        "name_b",
        "domain",
        "name_score",
        "confidence",
        "reasons",
    ]

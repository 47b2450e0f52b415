"""Tokens are random, stored only as salted hashes, and checked exactly."""

from __future__ import annotations

import pytest

from nextmove.governance.tokens import generate_token, hash_token, verify_token


def test_tokens_are_long_random_and_url_safe() -> None:
    tokens = {generate_token() for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert len(token) >= 43
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_hash_verifies_its_token_only() -> None:
    token = generate_token()
    stored = hash_token(token)
    assert verify_token(token, stored)
    assert not verify_token(token + "x", stored)
    assert not verify_token("", stored)
    assert not verify_token(generate_token(), stored)


def test_the_hash_hides_the_token_and_carries_salt_and_parameters() -> None:
    token = generate_token()
    first, second = hash_token(token), hash_token(token)
    assert first != second  # a fresh salt every time
    assert token not in first
    assert first.startswith("scrypt$n=16384,r=8,p=1$")
    assert len(first) <= 256  # fits users.token_hash
    assert verify_token(token, first) and verify_token(token, second)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-token",
        "bcrypt$n=16384,r=8,p=1$AAAA$AAAA",
        "scrypt$n=16384,r=8$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "scrypt$n=1000,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "scrypt$n=4194304,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
        "scrypt$n=16384,r=8,p=1$!!!$" + "A" * 43,
        "scrypt$n=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
    ],
)
def test_a_malformed_stored_hash_never_matches(stored: str) -> None:
    assert verify_token("anything", stored) is False


def test_a_hash_made_with_other_parameters_still_verifies() -> None:
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"secret", salt=salt, n=2**10, r=4, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    stored = f"scrypt$n=1024,r=4,p=1${b64(salt)}${b64(digest)}"
    assert verify_token("secret", stored)
    assert not verify_token("Secret", stored)

"""Secret tokens: generated once, stored only as a salted scrypt hash, checked in constant time.

A stored hash reads ``scrypt$n=16384,r=8,p=1$<salt>$<digest>`` (URL-safe base64, no
padding), so its cost parameters travel with it and can be raised later without
invalidating tokens already issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["generate_token", "hash_token", "verify_token"]

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_DIGEST_BYTES = 32
_TOKEN_BYTES = 32
_MAX_N = 2**20  # refuse stored parameters that would exhaust memory


def generate_token() -> str:
    """Return a new random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the encoded salted hash of ``token`` (a fresh salt on every call)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(token, salt, _N, _R, _P)
    return f"{_SCHEME}$n={_N},r={_R},p={_P}${_b64(salt)}${_b64(digest)}"


def verify_token(token: str, encoded: str) -> bool:
    """Return whether ``token`` matches ``encoded``; a malformed hash never matches."""
    parsed = _parse(encoded)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    return hmac.compare_digest(_scrypt(token, salt, n, r, p), expected)


def _scrypt(token: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = token.encode("utf-8", "surrogateescape")
    memory = 128 * n * r * (p + 1) + 2**20
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=_DIGEST_BYTES)


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[1].split(","))
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        salt, digest = _unb64(parts[2]), _unb64(parts[3])
    except (KeyError, ValueError, binascii.Error):
        return None
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16):
        return None
    if len(salt) < 8 or len(digest) != _DIGEST_BYTES:
        return None
    return n, r, p, salt, digest


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)

"""The HTTP transport shared by the webhook, REST task and chat connectors.

One JSON POST per item with an ``Idempotency-Key`` header and, when a secret is set, an
HMAC-SHA256 signature of the exact body (``X-Nextmove-Signature: sha256=<hex>``).
Timeouts, connection errors, 5xx, 408, 425 and 429 are worth retrying; any other
status outside 2xx is permanent. Errors name only the scheme and host of the URL:
webhook URLs often carry their secret in the path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import httpx

from nextmove.execution.errors import PermanentSendError, RetryableSendError

__all__ = ["SIGNATURE_HEADER", "JsonPoster", "response_reference", "sign"]

SIGNATURE_HEADER = "X-Nextmove-Signature"
_RETRYABLE_STATUS = frozenset({408, 425, 429})
_SHOWN_BODY = 200


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value of ``body`` under ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class JsonPoster:
    """POSTs JSON bodies to one URL over a kept-alive client."""

    def __init__(
        self,
        *,
        url: str,
        secret: str | None = None,
        timeout_seconds: float = 10.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._headers = dict(headers or {})
        self._timeout = timeout_seconds
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)
        parsed = httpx.URL(url)
        self.where = f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")

    def post(self, body: bytes, *, key: str) -> httpx.Response:
        """Send ``body``; return the 2xx response or raise the matching SendError."""
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise RetryableSendError(
                f"no answer from {self.where} within {self._timeout:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableSendError(f"could not reach {self.where}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return response
        said = response.text[:_SHOWN_BODY].strip()
        message = f"{self.where} answered HTTP {status}" + (f": {said}" if said else "")
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise RetryableSendError(message)
        raise PermanentSendError(message)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()


def response_reference(response: httpx.Response) -> str | None:
    """Return an id the receiver gave (``id`` in a JSON answer, or ``Location``), if any."""
    location: str | None = response.headers.get("Location")
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str | int):
            return str(answer["id"])
    return location

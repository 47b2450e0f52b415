"""Webhook: the item's JSON document POSTed to a URL, keyed and signed."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from nextmove.execution.connectors.base import action_document, document_body
from nextmove.execution.connectors.http import JsonPoster, response_reference
from nextmove.execution.model import OutboxItem, Receipt

__all__ = ["WebhookConnector"]


class WebhookConnector:
    """POSTs ``action_document(item)``; the receiver de-duplicates by ``Idempotency-Key``."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        secret: str | None = None,
        timeout_seconds: float = 10.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._name = name
        self._poster = JsonPoster(
            url=url,
            secret=secret,
            timeout_seconds=timeout_seconds,
            headers=headers,
            transport=transport,
        )

    @property
    def name(self) -> str:
        return self._name

    def send(self, item: OutboxItem) -> Receipt:
        """POST the item; return the HTTP status and any id the receiver gave."""
        response = self._poster.post(document_body(action_document(item)), key=item.idempotency_key)
        return Receipt(
            reference=response_reference(response),
            details={"status": response.status_code, "url": self._poster.where},
        )

    def close(self) -> None:
        self._poster.close()

"""Chat: a Slack-compatible incoming webhook (``{"text": ..., "blocks": [...]}``)."""

from __future__ import annotations

import httpx
from pydantic import JsonValue

from nextmove.execution.connectors.base import document_body
from nextmove.execution.connectors.http import JsonPoster
from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.model import OutboxItem, Receipt

__all__ = ["DEFAULT_CHAT_TEXT", "ChatConnector"]

DEFAULT_CHAT_TEXT = (
    "*{{ action_label }}* for account `{{ account_id }}`"
    "{% if product_id %} ({{ product_id }}){% endif %}"
    "{% if assignee %}, for {{ assignee }}{% endif %}"
    "{% if routing_reason %}\n_{{ routing_reason }}_{% endif %}"
)


class ChatConnector:
    """Posts one message per item; the text comes from a template."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        text: TextTemplate | None = None,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._name = name
        self._text = text or TextTemplate(DEFAULT_CHAT_TEXT, field="text")
        self._poster = JsonPoster(url=url, timeout_seconds=timeout_seconds, transport=transport)

    @property
    def name(self) -> str:
        return self._name

    def message(self, item: OutboxItem) -> dict[str, JsonValue]:
        """Return the message posted for ``item``."""
        text = self._text.render(item)
        return {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"nextmove · {item.idempotency_key}"}],
                },
            ],
        }

    def send(self, item: OutboxItem) -> Receipt:
        """Post the message; Slack answers 200 ``ok`` and has no id to keep."""
        response = self._poster.post(document_body(self.message(item)), key=item.idempotency_key)
        return Receipt(details={"status": response.status_code, "url": self._poster.where})

    def close(self) -> None:
        self._poster.close()

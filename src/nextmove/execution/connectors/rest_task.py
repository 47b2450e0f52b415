"""A generic REST "create task": one JSON task POSTed per item (the webhook transport)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import JsonValue

from nextmove.execution.connectors.base import document_body
from nextmove.execution.connectors.http import JsonPoster, response_reference
from nextmove.execution.connectors.tasks import TaskTemplate
from nextmove.execution.model import OutboxItem, Receipt

__all__ = ["RestTaskConnector"]


class RestTaskConnector:
    """POSTs ``{"task": {...}, "idempotency_key": ...}``; keyed and signed like a webhook."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        template: TaskTemplate | None = None,
        secret: str | None = None,
        timeout_seconds: float = 10.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._name = name
        self._template = template or TaskTemplate()
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

    def document(self, item: OutboxItem) -> dict[str, JsonValue]:
        """Return the JSON body posted for ``item``."""
        task = self._template.task(item)
        return {
            "idempotency_key": task.key,
            "task": {
                "subject": task.subject,
                "description": task.description,
                "owner": task.owner,
                "account": task.account,
                "contact": task.contact or None,
                "due_date": task.due.isoformat(),
                "priority": task.priority,
                "type": task.task_type,
            },
            "source": {
                "account_id": item.account_id,
                "action": item.action,
                "product_id": item.product_id,
                "decision_id": item.decision_id,
            },
        }

    def send(self, item: OutboxItem) -> Receipt:
        """Create the task; return the id the CRM gave, when it gave one."""
        response = self._poster.post(document_body(self.document(item)), key=item.idempotency_key)
        return Receipt(
            reference=response_reference(response),
            details={"status": response.status_code, "url": self._poster.where},
        )

    def close(self) -> None:
        self._poster.close()

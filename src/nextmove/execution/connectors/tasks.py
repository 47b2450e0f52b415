"""A CRM task, independent of any one CRM: what to do, for whom, by when.

Shared by the CSV exports and the REST "create task" connector. The account and contact
named on the task are the payload's ``crm_account_id`` and ``contact_id`` when given
(the CRM's own ids), else nextmove's account id. The due date counts from when the item
was enqueued (never from when it happens to be sent), unless the payload says
``due_date`` (YYYY-MM-DD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.errors import PermanentSendError
from nextmove.execution.model import OutboxItem

__all__ = [
    "DEFAULT_TASK_DESCRIPTION",
    "DEFAULT_TASK_SUBJECT",
    "Priority",
    "Task",
    "TaskTemplate",
    "TaskType",
]

Priority = Literal["high", "normal", "low"]
TaskType = Literal["call", "email", "todo"]

DEFAULT_TASK_SUBJECT = "{{ action_label }}{% if product_id %}: {{ product_id }}{% endif %}"
DEFAULT_TASK_DESCRIPTION = (
    "Suggested by nextmove for account {{ account_id }}"
    "{% if product_id %} about {{ product_id }}{% endif %}."
    "{% if routing_reason %} Routed: {{ routing_reason }}.{% endif %}"
    "{% if payload.reasons is defined %} Why: {{ payload.reasons }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class Task:
    """One task as a CRM would hold it."""

    key: str
    subject: str
    description: str
    owner: str
    account: str
    contact: str
    due: date
    priority: Priority
    task_type: TaskType


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """How an item becomes a task."""

    subject: TextTemplate = field(
        default_factory=lambda: TextTemplate(DEFAULT_TASK_SUBJECT, field="subject")
    )
    description: TextTemplate = field(
        default_factory=lambda: TextTemplate(DEFAULT_TASK_DESCRIPTION, field="description")
    )
    due_in_days: int = 2
    priority: Priority = "normal"
    task_type: TaskType = "todo"

    def task(self, item: OutboxItem) -> Task:
        """Return the task for ``item``."""
        return Task(
            key=item.idempotency_key,
            subject=self.subject.render(item).strip(),
            description=self.description.render(item).strip(),
            owner=item.assignee or "",
            account=_text(item.payload.get("crm_account_id")) or item.account_id,
            contact=_text(item.payload.get("contact_id")),
            due=self._due(item),
            priority=self.priority,
            task_type=self.task_type,
        )

    def _due(self, item: OutboxItem) -> date:
        given = item.payload.get("due_date")
        if given is None:
            return item.created_at.date() + timedelta(days=self.due_in_days)
        try:
            return date.fromisoformat(str(given))
        except ValueError as exc:
            raise PermanentSendError(
                f"due_date {given!r} of {item.action} on {item.account_id} is not YYYY-MM-DD"
            ) from exc


def _text(value: object) -> str:
    return "" if value is None else str(value)

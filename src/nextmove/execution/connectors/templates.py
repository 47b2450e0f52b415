"""Text rendered from Jinja2 templates in the connectors file (subjects, bodies, tasks).

Templates see the item: ``key``, ``action``, ``action_label``, ``account_id``,
``product_id``, ``assignee``, ``routing_reason``, ``decision_id``, ``run_id``,
``created_at`` and ``payload``. A missing name is an error, not an empty string, so a
typo shows up as a dead item with the reason rather than as a blank email.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from nextmove.execution.errors import PermanentSendError
from nextmove.execution.model import OutboxItem

__all__ = ["TextTemplate", "template_context"]


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TextTemplate:
    """A compiled template; ``field`` names where it came from, for error messages."""

    def __init__(self, source: str, *, field: str) -> None:
        self.source = source
        self.field = field
        try:
            self._template = _environment().from_string(source)
        except TemplateError as exc:
            raise ValueError(f"not a valid template: {exc}") from exc

    def render(self, item: OutboxItem) -> str:
        """Return the text for ``item``; PermanentSendError when the template cannot render."""
        try:
            return self._template.render(template_context(item))
        except TemplateError as exc:
            raise PermanentSendError(
                f"the {self.field} template failed for {item.action} on {item.account_id}: {exc}"
            ) from exc


def template_context(item: OutboxItem) -> dict[str, Any]:
    """Return the names a template may use for ``item``."""
    return {
        "key": item.idempotency_key,
        "action": item.action,
        "action_label": item.action.replace("_", " ").capitalize(),
        "account_id": item.account_id,
        "product_id": item.product_id,
        "assignee": item.assignee,
        "routing_reason": item.routing_reason,
        "decision_id": item.decision_id,
        "run_id": item.run_id,
        "created_at": item.created_at,
        "payload": item.payload,
    }

"""Connectors: the seams to outside systems, one module per kind, and their configuration."""

from nextmove.execution.connectors.base import Connector, action_document, document_body
from nextmove.execution.connectors.chat import ChatConnector
from nextmove.execution.connectors.config import (
    ConnectorsConfig,
    load_connectors_config,
    parse_connectors_config,
)
from nextmove.execution.connectors.crm_export import CrmExportConnector
from nextmove.execution.connectors.dry_run import DryRunConnector
from nextmove.execution.connectors.http import SIGNATURE_HEADER, sign
from nextmove.execution.connectors.references import resolve_reference
from nextmove.execution.connectors.registry import (
    DRY_RUN,
    ConnectorSet,
    build_connectors,
    dry_run_connectors,
    load_connectors,
)
from nextmove.execution.connectors.rest_task import RestTaskConnector
from nextmove.execution.connectors.smtp import SmtpConnector, message_id
from nextmove.execution.connectors.tasks import Task, TaskTemplate
from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.connectors.webhook import WebhookConnector

__all__ = [
    "DRY_RUN",
    "SIGNATURE_HEADER",
    "ChatConnector",
    "Connector",
    "ConnectorSet",
    "ConnectorsConfig",
    "CrmExportConnector",
    "DryRunConnector",
    "RestTaskConnector",
    "SmtpConnector",
    "Task",
    "TaskTemplate",
    "TextTemplate",
    "WebhookConnector",
    "action_document",
    "build_connectors",
    "document_body",
    "dry_run_connectors",
    "load_connectors",
    "load_connectors_config",
    "message_id",
    "parse_connectors_config",
    "resolve_reference",
    "sign",
]

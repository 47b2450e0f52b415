"""The configured connectors, built from a connectors file, with their retry and rate rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from nextmove.errors import ConfigurationError
from nextmove.execution.backoff import RetryPolicy
from nextmove.execution.connectors.base import Connector
from nextmove.execution.connectors.chat import ChatConnector
from nextmove.execution.connectors.config import (
    ChatSettings,
    ConnectorsConfig,
    ConnectorSettings,
    CrmExportSettings,
    DryRunSettings,
    RestTaskSettings,
    SmtpSettings,
    WebhookSettings,
    load_connectors_config,
)
from nextmove.execution.connectors.crm_export import CrmExportConnector
from nextmove.execution.connectors.dry_run import DryRunConnector
from nextmove.execution.connectors.references import resolve_reference
from nextmove.execution.connectors.rest_task import RestTaskConnector
from nextmove.execution.connectors.smtp import SmtpConnector
from nextmove.execution.connectors.tasks import TaskTemplate
from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.connectors.webhook import WebhookConnector
from nextmove.execution.errors import ConnectorConfigInvalid
from nextmove.execution.ratelimit import RateLimit

__all__ = ["DRY_RUN", "ConnectorSet", "build_connectors", "dry_run_connectors", "load_connectors"]

DRY_RUN = "dry_run"


@dataclass(frozen=True)
class ConnectorSet:
    """Connectors by name, the connector of each action, and each connector's rules."""

    connectors: Mapping[str, Connector]
    actions: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    policies: Mapping[str, RetryPolicy] = field(default_factory=dict)
    limits: Mapping[str, RateLimit] = field(default_factory=dict)
    default_policy: RetryPolicy = field(default_factory=RetryPolicy)
    exception_owner: str = "ops"

    def get(self, name: str) -> Connector | None:
        """Return the connector called ``name``, or None."""
        return self.connectors.get(name)

    def connector_for(self, action: str) -> str:
        """Return the name of the connector ``action`` is sent through."""
        name = self.actions.get(action, self.default)
        if name is None:
            raise ConfigurationError(
                f"no connector for action {action!r}: list it under 'actions' or set 'default'"
            )
        return name

    def policy_for(self, connector: str) -> RetryPolicy:
        """Return the retry policy of ``connector``."""
        return self.policies.get(connector, self.default_policy)

    def close(self) -> None:
        """Close every connector."""
        for connector in self.connectors.values():
            connector.close()


def dry_run_connectors() -> ConnectorSet:
    """Return the set of an installation without a connectors file: every action dry-run."""
    return ConnectorSet(connectors={DRY_RUN: DryRunConnector(name=DRY_RUN)}, default=DRY_RUN)


def load_connectors(
    path: Path,
    *,
    environ: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> ConnectorSet:
    """Read a connectors file and build its connectors (see ``build_connectors``)."""
    return build_connectors(load_connectors_config(path), environ=environ, transport=transport)


def build_connectors(
    config: ConnectorsConfig,
    *,
    environ: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> ConnectorSet:
    """Build every connector of ``config``, resolving ``env:`` references in ``environ``.

    ``transport`` replaces the network for the HTTP connectors (tests, proxies).
    """
    built: dict[str, Connector] = {}
    try:
        for name, settings in config.connectors.items():
            built[name] = _build(name, settings, config.base_dir, environ, transport)
    except BaseException:
        for connector in built.values():
            connector.close()
        raise
    return ConnectorSet(
        connectors=built,
        actions=dict(config.actions),
        default=config.default,
        policies={n: s.retry.policy() for n, s in config.connectors.items() if s.retry},
        limits={n: s.rate_limit.limit() for n, s in config.connectors.items() if s.rate_limit},
        exception_owner=config.exception_owner,
    )


def _build(
    name: str,
    settings: ConnectorSettings,
    base_dir: Path,
    environ: Mapping[str, str],
    transport: httpx.BaseTransport | None,
) -> Connector:
    def resolved(value: str, field: str) -> str:
        return resolve_reference(value, environ=environ, field=f"connectors.{name}.{field}")

    def optional(value: str | None, field: str) -> str | None:
        return None if value is None else resolved(value, field)

    def url(value: str) -> str:
        found = resolved(value, "url")
        if not found.startswith(("http://", "https://")):
            problem = f"connectors.{name}.url: expected an http:// or https:// URL"
            raise ConnectorConfigInvalid(problem, (problem,))
        return found

    def headers(given: Mapping[str, str]) -> dict[str, str]:
        return {k: resolved(v, f"headers.{k}") for k, v in given.items()}

    match settings:
        case WebhookSettings():
            return WebhookConnector(
                name=name,
                url=url(settings.url),
                secret=optional(settings.secret, "secret"),
                timeout_seconds=settings.timeout_seconds,
                headers=headers(settings.headers),
                transport=transport,
            )
        case RestTaskSettings():
            return RestTaskConnector(
                name=name,
                url=url(settings.url),
                template=_task_template(settings),
                secret=optional(settings.secret, "secret"),
                timeout_seconds=settings.timeout_seconds,
                headers=headers(settings.headers),
                transport=transport,
            )
        case CrmExportSettings():
            return CrmExportConnector(
                name=name,
                crm=settings.crm,
                path=base_dir / settings.path,
                template=_task_template(settings),
            )
        case SmtpSettings():
            return SmtpConnector(
                name=name,
                host=resolved(settings.host, "host"),
                port=settings.port,
                from_address=settings.from_address,
                to=settings.to,
                subject=TextTemplate(settings.subject, field="subject"),
                body=TextTemplate(settings.body, field="body"),
                security=settings.security,
                username=optional(settings.username, "username"),
                password=optional(settings.password, "password"),
                timeout_seconds=settings.timeout_seconds,
            )
        case ChatSettings():
            return ChatConnector(
                name=name,
                url=url(settings.url),
                text=TextTemplate(settings.text, field="text"),
                timeout_seconds=settings.timeout_seconds,
                transport=transport,
            )
        case DryRunSettings():
            path = base_dir / settings.path if settings.path is not None else None
            return DryRunConnector(name=name, path=path)


def _task_template(settings: RestTaskSettings | CrmExportSettings) -> TaskTemplate:
    return TaskTemplate(
        subject=TextTemplate(settings.subject, field="subject"),
        description=TextTemplate(settings.description, field="description"),
        due_in_days=settings.due_in_days,
        priority=settings.priority,
        task_type=settings.task_type,
    )

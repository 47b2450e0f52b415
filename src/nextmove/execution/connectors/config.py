"""The connectors file: which connectors exist, their settings, and which action uses which.

```yaml
exception_owner: ops            # who is told when an item is given up on
default: shadow                 # connector of actions not listed (optional)
actions:
  sales_outreach: crm_tasks
connectors:
  crm_tasks: {type: crm_export, crm: salesforce, path: exports/tasks.csv}
  shadow: {type: dry_run}
```

Every connector takes ``retry`` (max_attempts, base_seconds, max_seconds) and
``rate_limit`` (one of per_second, per_minute, per_hour, and an optional burst). Secrets
and URLs may be written ``env:NAME`` and are read from the environment when the
connectors are built (``registry.build_connectors``), never stored in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nextmove.execution.backoff import RetryPolicy
from nextmove.execution.connectors.chat import DEFAULT_CHAT_TEXT
from nextmove.execution.connectors.crm_export import CrmFormat
from nextmove.execution.connectors.smtp import DEFAULT_EMAIL_BODY, DEFAULT_EMAIL_SUBJECT, Security
from nextmove.execution.connectors.tasks import (
    DEFAULT_TASK_DESCRIPTION,
    DEFAULT_TASK_SUBJECT,
    Priority,
    TaskType,
)
from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.errors import ConnectorConfigInvalid
from nextmove.execution.ratelimit import RateLimit

__all__ = [
    "ChatSettings",
    "ConnectorSettings",
    "ConnectorsConfig",
    "CrmExportSettings",
    "DryRunSettings",
    "RateLimitSettings",
    "RestTaskSettings",
    "RetrySettings",
    "SmtpSettings",
    "WebhookSettings",
    "load_connectors_config",
    "parse_connectors_config",
]

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
Seconds = Annotated[float, Field(gt=0, le=300)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrySettings(_Section):
    """How a connector's failed sends are retried."""

    max_attempts: int = Field(default=5, ge=1, le=100)
    base_seconds: float = Field(default=30.0, gt=0)
    max_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RetrySettings:
        if self.max_seconds < self.base_seconds:
            raise ValueError("max_seconds must be at least base_seconds")
        return self

    def policy(self) -> RetryPolicy:
        """Return the retry policy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=timedelta(seconds=self.base_seconds),
            max_delay=timedelta(seconds=self.max_seconds),
        )


class RateLimitSettings(_Section):
    """At most so many sends per second, minute or hour (exactly one of them)."""

    per_second: int | None = Field(default=None, ge=1)
    per_minute: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)
    burst: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_period(self) -> RateLimitSettings:
        given = [p for p in (self.per_second, self.per_minute, self.per_hour) if p is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of per_second, per_minute, per_hour")
        return self

    def limit(self) -> RateLimit:
        """Return the rate limit these settings describe."""
        for count, seconds in ((self.per_second, 1), (self.per_minute, 60), (self.per_hour, 3600)):
            if count is not None:
                return RateLimit.per(count, seconds, self.burst)
        raise AssertionError("validated to have one period")


class _Connector(_Section):
    retry: RetrySettings | None = None
    rate_limit: RateLimitSettings | None = None


def _template(value: str, info: ValidationInfo) -> str:
    TextTemplate(value, field=info.field_name or "template")  # ValueError says what is wrong
    return value


class _TaskFields(_Section):
    subject: str = DEFAULT_TASK_SUBJECT
    description: str = DEFAULT_TASK_DESCRIPTION
    due_in_days: int = Field(default=2, ge=0, le=365)
    priority: Priority = "normal"
    task_type: TaskType = "todo"

    @field_validator("subject", "description")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        return _template(value, info)


class WebhookSettings(_Connector):
    """JSON POST of each item, keyed and signed."""

    type: Literal["webhook"]
    url: str = Field(min_length=1)
    secret: str | None = None
    timeout_seconds: Seconds = 10.0
    headers: dict[str, str] = Field(default_factory=dict)


class RestTaskSettings(_TaskFields, _Connector):
    """A CRM task created by a JSON POST."""

    type: Literal["rest_task"]
    url: str = Field(min_length=1)
    secret: str | None = None
    timeout_seconds: Seconds = 10.0
    headers: dict[str, str] = Field(default_factory=dict)


class CrmExportSettings(_TaskFields, _Connector):
    """Task rows appended to a Salesforce or HubSpot import file."""

    type: Literal["crm_export"]
    crm: CrmFormat
    path: Path


class SmtpSettings(_Connector):
    """Email through an SMTP server."""

    type: Literal["smtp"]
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    security: Security = "none"
    username: str | None = None
    password: str | None = None
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    subject: str = DEFAULT_EMAIL_SUBJECT
    body: str = DEFAULT_EMAIL_BODY
    timeout_seconds: Seconds = 30.0

    @field_validator("subject", "body")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        return _template(value, info)


class ChatSettings(_Connector):
    """A message to a Slack-compatible incoming webhook."""

    type: Literal["chat"]
    url: str = Field(min_length=1)
    text: str = DEFAULT_CHAT_TEXT
    timeout_seconds: Seconds = 10.0

    @field_validator("text")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        return _template(value, info)


class DryRunSettings(_Connector):
    """Record what would be sent (to a JSON Lines file when ``path`` is given)."""

    type: Literal["dry_run"]
    path: Path | None = None


ConnectorSettings = (
    WebhookSettings
    | RestTaskSettings
    | CrmExportSettings
    | SmtpSettings
    | ChatSettings
    | DryRunSettings
)
_BY_TYPE: dict[str, type[ConnectorSettings]] = {
    "chat": ChatSettings,
    "crm_export": CrmExportSettings,
    "dry_run": DryRunSettings,
    "rest_task": RestTaskSettings,
    "smtp": SmtpSettings,
    "webhook": WebhookSettings,
}


class _File(_Section):
    connectors: dict[Name, dict[str, Any]] = Field(min_length=1)
    actions: dict[Name, Name] = Field(default_factory=dict)
    default: Name | None = None
    exception_owner: str = Field(default="ops", min_length=1)


@dataclass(frozen=True, slots=True)
class ConnectorsConfig:
    """A validated connectors file; relative paths in it are relative to ``base_dir``."""

    connectors: Mapping[str, ConnectorSettings]
    actions: Mapping[str, str]
    default: str | None
    exception_owner: str
    base_dir: Path


def load_connectors_config(path: Path) -> ConnectorsConfig:
    """Read and validate a connectors YAML file; ConnectorConfigInvalid lists every problem."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConnectorConfigInvalid(f"cannot read connectors file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConnectorConfigInvalid(f"{path} is not valid YAML: {exc}") from exc
    return parse_connectors_config(content, source=str(path), base_dir=path.parent)


def parse_connectors_config(content: object, *, source: str, base_dir: Path) -> ConnectorsConfig:
    """Validate already-parsed connectors content (``source`` names it in errors)."""
    try:
        shape = _File.model_validate(content if content is not None else {})
    except ValidationError as exc:
        raise _invalid(source, _problems(exc, ())) from exc
    problems: list[str] = []
    connectors: dict[str, ConnectorSettings] = {}
    for name, raw in shape.connectors.items():
        settings = _connector(name, raw, problems)
        if settings is not None:
            connectors[name] = settings
    declared = set(shape.connectors)
    for action, connector in shape.actions.items():
        if connector not in declared:
            problems.append(
                f"actions.{action}: names connector {connector!r}, which is not declared"
            )
    if shape.default is not None and shape.default not in declared:
        problems.append(f"default: names connector {shape.default!r}, which is not declared")
    if problems:
        raise _invalid(source, problems)
    return ConnectorsConfig(
        connectors=connectors,
        actions=dict(shape.actions),
        default=shape.default,
        exception_owner=shape.exception_owner,
        base_dir=base_dir,
    )


def _connector(name: str, raw: dict[str, Any], problems: list[str]) -> ConnectorSettings | None:
    where = ("connectors", name)
    kind = raw.get("type")
    model = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = ", ".join(sorted(_BY_TYPE))
        said = "missing" if kind is None else f"unknown connector type {kind!r}"
        problems.append(f"connectors.{name}.type: {said} (expected one of: {expected})")
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems(exc, where))
        return None


def _problems(exc: ValidationError, prefix: tuple[str, ...]) -> list[str]:
    found = []
    for error in exc.errors():
        path = ".".join(str(part) for part in (*prefix, *error["loc"])) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        found.append(f"{path}: {message}")
    return found


def _invalid(source: str, problems: list[str]) -> ConnectorConfigInvalid:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return ConnectorConfigInvalid(
        f"{source} is not a valid connectors file:\n{listed}", tuple(problems)
    )

"""The connectors file: what a valid one builds, and errors that name the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from nextmove.errors import ConfigurationError
from nextmove.execution import ConnectorConfigInvalid, RateLimit, RetryPolicy, load_connectors
from nextmove.execution.connectors import (
    ChatConnector,
    CrmExportConnector,
    DryRunConnector,
    RestTaskConnector,
    SmtpConnector,
    WebhookConnector,
    build_connectors,
    load_connectors_config,
    parse_connectors_config,
    resolve_reference,
)
from nextmove.execution.connectors.config import CrmExportSettings

EXAMPLE = """
exception_owner: revops
default: shadow
actions:
  sales_outreach: crm_tasks
  digital_program: nurture_mail
  service_conversation: cs_tasks
connectors:
  crm_tasks:
    type: crm_export
    crm: salesforce
    path: exports/salesforce_tasks.csv
    priority: high
    rate_limit: {per_minute: 600}
  cs_tasks:
    type: rest_task
    url: https://crm.example.com/api/tasks
    secret: env:CRM_SECRET
    headers: {Authorization: env:CRM_TOKEN}
  partner_hook:
    type: webhook
    url: https://hooks.example.com/nextmove
    secret: env:HOOK_SECRET
    retry: {max_attempts: 8, base_seconds: 5, max_seconds: 900}
  nurture_mail:
    type: smtp
    host: smtp.example.com
    port: 587
    security: starttls
    username: nextmove
    password: env:SMTP_PASSWORD
    from_address: growth@example.com
    subject: "{{ action_label }} for {{ account_id }}"
    rate_limit: {per_second: 5, burst: 10}
  team_chat:
    type: chat
    url: env:SLACK_WEBHOOK_URL
  shadow:
    type: dry_run
    path: dry_run.jsonl
"""

ENVIRON = {
    "CRM_SECRET": "c",
    "CRM_TOKEN": "Bearer t",
    "HOOK_SECRET": "h",
    "SMTP_PASSWORD": "p",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/X",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connectors.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> tuple[str, ...]:
    with pytest.raises(ConnectorConfigInvalid) as raised:
        load_connectors_config(write(tmp_path, text))
    return raised.value.problems


def test_a_full_file_builds_every_connector_with_its_rules(tmp_path: Path) -> None:
    built = load_connectors(write(tmp_path, EXAMPLE), environ=ENVIRON)
    try:
        kinds = {name: type(connector) for name, connector in built.connectors.items()}
        assert kinds == {
            "crm_tasks": CrmExportConnector,
            "cs_tasks": RestTaskConnector,
            "partner_hook": WebhookConnector,
            "nurture_mail": SmtpConnector,
            "team_chat": ChatConnector,
            "shadow": DryRunConnector,
        }
        assert built.connector_for("sales_outreach") == "crm_tasks"
        assert built.connector_for("anything_else") == "shadow"
        assert built.exception_owner == "revops"
        assert built.policy_for("partner_hook") == RetryPolicy(
            max_attempts=8, base_delay=timedelta(seconds=5), max_delay=timedelta(seconds=900)
        )
        assert built.policy_for("crm_tasks") == RetryPolicy()
        assert built.limits == {
            "crm_tasks": RateLimit(per_second=10.0, burst=600),
            "nurture_mail": RateLimit(per_second=5.0, burst=10),
        }
    finally:
        built.close()


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = load_connectors_config(write(tmp_path, EXAMPLE))
    crm = config.connectors["crm_tasks"]
    assert isinstance(crm, CrmExportSettings)
    assert config.base_dir / crm.path == tmp_path / "exports" / "salesforce_tasks.csv"


def test_an_action_without_connector_or_default_is_a_configuration_error(tmp_path: Path) -> None:
    text = "connectors:\n  shadow: {type: dry_run}\nactions:\n  sales_outreach: shadow\n"
    built = load_connectors(write(tmp_path, text), environ={})
    with pytest.raises(ConfigurationError, match="no connector for action 'digital_program'"):
        built.connector_for("digital_program")


def test_every_problem_is_reported_with_its_field(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
default: nowhere
actions:
  sales_outreach: crm_taks
connectors:
  crm_tasks:
    type: crm_export
    crm: pipedrive
  hook:
    type: webhook
    urll: https://x.example
  mail:
    type: smtp
    host: smtp.example.com
    from_address: not-an-address
    subject: "{{ account_id "
  limited:
    type: dry_run
    rate_limit: {per_second: 1, per_minute: 60}
  odd:
    type: fax
""",
    )
    joined = "\n".join(problems)
    assert "connectors.crm_tasks.crm: Input should be 'salesforce' or 'hubspot'" in joined
    assert "connectors.crm_tasks.path: Field required" in joined
    assert "connectors.hook.urll: Extra inputs are not permitted" in joined
    assert "connectors.hook.url: Field required" in joined
    assert "connectors.mail.from_address: String should match pattern" in joined
    assert "connectors.mail.subject: not a valid template" in joined
    assert "connectors.limited.rate_limit: give exactly one of per_second" in joined
    assert "connectors.odd.type: unknown connector type 'fax' (expected one of: chat," in joined
    assert "actions.sales_outreach: names connector 'crm_taks', which is not declared" in joined
    assert "default: names connector 'nowhere', which is not declared" in joined
    assert len(problems) == 10


def test_a_connector_without_a_type_says_so(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "connectors:\n  hook: {url: https://x.example}\n")
    assert problem.startswith("connectors.hook.type: missing (expected one of:")


def test_unknown_top_level_keys_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "connectors: {shadow: {type: dry_run}}\nroutes: {}\n")
    assert problems == ("routes: Extra inputs are not permitted",)
    assert problems_of(tmp_path, "") == ("connectors: Field required",)


def test_invalid_yaml_and_a_missing_file_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigInvalid, match="not valid YAML"):
        load_connectors_config(write(tmp_path, "connectors: [unclosed\n"))
    with pytest.raises(ConnectorConfigInvalid, match="cannot read"):
        load_connectors_config(tmp_path / "missing.yaml")


def test_a_missing_secret_names_the_field_and_the_variable(tmp_path: Path) -> None:
    config = load_connectors_config(write(tmp_path, EXAMPLE))
    environ = {k: v for k, v in ENVIRON.items() if k != "SMTP_PASSWORD"}
    with pytest.raises(ConnectorConfigInvalid) as raised:
        build_connectors(config, environ=environ)
    assert raised.value.problems == (
        "connectors.nurture_mail.password: environment variable SMTP_PASSWORD is not set",
    )


def test_a_url_must_be_http_after_resolution(tmp_path: Path) -> None:
    config = parse_connectors_config(
        {"connectors": {"chat": {"type": "chat", "url": "env:SLACK"}}},
        source="inline",
        base_dir=tmp_path,
    )
    with pytest.raises(ConnectorConfigInvalid, match=r"connectors\.chat\.url: expected an http"):
        build_connectors(config, environ={"SLACK": "ftp://files.example"})


def test_references_resolve_only_with_the_env_prefix() -> None:
    environ = {"TOKEN": "abc"}
    assert resolve_reference("env:TOKEN", environ=environ, field="f") == "abc"
    assert resolve_reference("plain-value", environ=environ, field="f") == "plain-value"
    with pytest.raises(ConnectorConfigInvalid, match="f: 'env:' must be followed"):
        resolve_reference("env:", environ=environ, field="f")

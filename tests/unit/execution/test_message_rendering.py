"""What connectors render from an item: emails, chat messages, keys and documents."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from execution_items import outbox_item

from nextmove.execution import (
    NewAction,
    PermanentSendError,
    Receipt,
    RetryableSendError,
    idempotency_key,
)
from nextmove.execution.connectors import (
    ChatConnector,
    DryRunConnector,
    SmtpConnector,
    TextTemplate,
    WebhookConnector,
    action_document,
    document_body,
    message_id,
)


def test_idempotency_keys_are_deterministic_and_distinct_per_connector() -> None:
    key = idempotency_key("decision:42", "crm")
    assert key == idempotency_key("decision:42", "crm")
    assert key != idempotency_key("decision:42", "chat")
    assert key != idempotency_key("decision:43", "crm")
    assert key.startswith("nm-") and len(key) == 43
    action = NewAction(account_id="a", action="x", connector="crm", payload={}, decision_id=42)
    assert action.key() == key


def test_the_document_body_is_canonical_json() -> None:
    item = outbox_item(payload={"b": 1, "a": [1, 2]})
    body = document_body(action_document(item))
    assert body == document_body(action_document(outbox_item(payload={"a": [1, 2], "b": 1})))
    assert json.loads(body)["payload"] == {"a": [1, 2], "b": 1}
    compact = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    assert body == compact.encode() and body.startswith(b'{"account_id":"acct-42"')


def test_an_email_is_the_same_message_on_every_send() -> None:
    mail = SmtpConnector(
        name="mail",
        host="127.0.0.1",
        port=25,
        from_address="growth@vendor.example",
        to="team@vendor.example",
    )
    first = mail.message(outbox_item(attempts=1))
    second = mail.message(outbox_item(attempts=4))
    assert first.as_bytes() == second.as_bytes()
    assert first["Message-ID"] == message_id("nm-aaaa", "vendor.example")
    assert first["To"] == "team@vendor.example"  # the connector's default recipient
    assert first["Date"] == "Mon, 02 Nov 2026 23:30:00 +0000"


def test_payload_recipients_override_the_default() -> None:
    mail = SmtpConnector(
        name="mail", host="h", port=25, from_address="a@b.example", to="team@b.example"
    )
    message = mail.message(outbox_item(payload={"to": ["x@c.example", "y@c.example"]}))
    assert message["To"] == "x@c.example, y@c.example"
    with pytest.raises(PermanentSendError, match="no valid recipient"):
        mail.message(outbox_item(payload={"to": "not an address"}))


def test_chat_text_comes_from_its_template() -> None:
    chat = ChatConnector(
        name="chat",
        url="https://hooks.example/x",
        text=TextTemplate("{{ assignee }}: call {{ account_id }}", field="text"),
    )
    message = chat.message(outbox_item())
    chat.close()
    assert message["text"] == "005OWNER: call acct-42"


def test_a_template_cannot_reach_outside_the_sandbox() -> None:
    template = TextTemplate("{{ payload.__class__.__mro__ }}", field="body")
    with pytest.raises(PermanentSendError, match="body template failed"):
        template.render(outbox_item())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, None),
        (204, None),
        (301, PermanentSendError),
        (400, PermanentSendError),
        (403, PermanentSendError),
        (408, RetryableSendError),
        (425, RetryableSendError),
        (429, RetryableSendError),
        (500, RetryableSendError),
        (504, RetryableSendError),
    ],
)
def test_http_statuses_are_classified(status: int, error: type[Exception] | None) -> None:
    hook = WebhookConnector(
        name="hook",
        url="https://hooks.example/x",
        transport=httpx.MockTransport(lambda request: httpx.Response(status)),
    )
    if error is None:
        assert hook.send(outbox_item()).details["status"] == status
    else:
        with pytest.raises(error, match=f"HTTP {status}"):
            hook.send(outbox_item())
    hook.close()


def test_dry_run_records_what_would_be_sent(tmp_path: Path) -> None:
    path = tmp_path / "dry" / "run.jsonl"
    dry = DryRunConnector(name="shadow", path=path)
    receipt = dry.send(outbox_item())
    dry.send(outbox_item(idempotency_key="nm-bbbb"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["document"]["idempotency_key"] for line in lines] == ["nm-aaaa", "nm-bbbb"]
    assert lines[0]["connector"] == "shadow"
    assert lines[0]["document"] == json.loads(document_body(action_document(outbox_item())))
    assert receipt == Receipt(details={"dry_run": True, "file": str(path)})
    assert DryRunConnector(name="shadow").send(outbox_item()).details["dry_run"] is True

"""Webhook, REST task and chat connectors against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from execution_support import Receiver, Reply, free_port

from nextmove.execution import OutboxItem, OutboxStatus, PermanentSendError, RetryableSendError
from nextmove.execution.connectors import (
    SIGNATURE_HEADER,
    ChatConnector,
    RestTaskConnector,
    WebhookConnector,
    action_document,
    document_body,
)

SECRET = "s3cret-shared-with-the-receiver"


def item(**changes: object) -> OutboxItem:
    values: dict[str, object] = {
        "outbox_id": 7,
        "decision_id": 42,
        "run_id": 3,
        "account_id": "acct-42",
        "action": "sales_outreach",
        "product_id": "prod-analytics-pro",
        "connector": "hook",
        "assignee": "owner-ana",
        "routing_reason": "account owner owner-ana",
        "idempotency_key": "nm-0123456789abcdef",
        "payload": {"expected_value": 1250.5, "reasons": ["asked for pricing"]},
        "status": OutboxStatus.SENDING,
        "attempts": 1,
        "next_attempt_at": None,
        "last_error": None,
        "receipt": None,
        "exception_id": None,
        "created_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        "claimed_at": None,
        "sent_at": None,
    }
    values.update(changes)
    return OutboxItem.model_validate(values)


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_posts_the_document_keyed_and_signed(receiver: Receiver) -> None:
    hook = WebhookConnector(
        name="hook", url=receiver.url, secret=SECRET, headers={"X-Tenant": "acme"}
    )
    receipt = hook.send(item())
    hook.close()

    (request,) = receiver.requests
    assert request.path == "/hooks/nextmove"
    assert request.headers["Idempotency-Key"] == "nm-0123456789abcdef"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers[SIGNATURE_HEADER] == expected_signature(request.body)
    assert request.body == document_body(action_document(item()))
    document = request.json()
    assert document["account_id"] == "acct-42" and document["decision_id"] == 42
    assert document["payload"] == {"expected_value": 1250.5, "reasons": ["asked for pricing"]}
    assert receipt.reference == "task-1" and receipt.details["status"] == 200


def test_a_resent_item_is_byte_for_byte_the_same_request(receiver: Receiver) -> None:
    hook = WebhookConnector(name="hook", url=receiver.url, secret=SECRET)
    hook.send(item(attempts=1))
    hook.send(item(attempts=2, status=OutboxStatus.SENDING))
    hook.close()
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers[SIGNATURE_HEADER] == second.headers[SIGNATURE_HEADER]


def test_a_tampered_body_does_not_match_the_signature(receiver: Receiver) -> None:
    hook = WebhookConnector(name="hook", url=receiver.url, secret=SECRET)
    hook.send(item())
    hook.close()
    (request,) = receiver.requests
    tampered = request.body.replace(b"acct-42", b"acct-43")
    assert request.headers[SIGNATURE_HEADER] != expected_signature(tampered)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_errors_and_throttling_are_retryable(receiver: Receiver, status: int) -> None:
    receiver.answer(Reply(status=status, body=b'{"error": "busy"}'))
    hook = WebhookConnector(name="hook", url=receiver.url)
    with pytest.raises(RetryableSendError, match=f"HTTP {status}"):
        hook.send(item())
    hook.close()


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_client_errors_are_permanent(receiver: Receiver, status: int) -> None:
    receiver.answer(Reply(status=status, body=b'{"error": "no such owner"}'))
    hook = WebhookConnector(name="hook", url=receiver.url)
    with pytest.raises(PermanentSendError, match=f"HTTP {status}: .*no such owner"):
        hook.send(item())
    hook.close()


def test_a_slow_receiver_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Reply(delay=1.0))
    hook = WebhookConnector(name="hook", url=receiver.url, timeout_seconds=0.2)
    with pytest.raises(RetryableSendError, match="no answer .* within 0.2s"):
        hook.send(item())
    hook.close()


def test_an_unreachable_receiver_is_retryable() -> None:
    hook = WebhookConnector(name="hook", url=f"http://127.0.0.1:{free_port()}/secret-path")
    with pytest.raises(RetryableSendError, match="could not reach") as raised:
        hook.send(item())
    hook.close()
    assert "secret-path" not in str(raised.value)  # URL paths may hold credentials


def test_rest_task_creates_a_task_document(receiver: Receiver) -> None:
    receiver.answer(Reply(status=201, body=b'{"id": 9001}'))
    crm = RestTaskConnector(name="crm", url=receiver.url, secret=SECRET)
    receipt = crm.send(item(payload={"contact_id": "003ABC", "crm_account_id": "001XYZ"}))
    crm.close()
    (request,) = receiver.requests
    assert request.headers[SIGNATURE_HEADER] == expected_signature(request.body)
    body = request.json()
    assert body["idempotency_key"] == "nm-0123456789abcdef"
    task = body["task"]
    assert task["subject"] == "Sales outreach: prod-analytics-pro"
    assert (task["owner"], task["account"], task["contact"]) == ("owner-ana", "001XYZ", "003ABC")
    assert task["due_date"] == "2026-11-04" and task["priority"] == "normal"
    assert receipt.reference == "9001"


def test_chat_posts_a_slack_compatible_message(receiver: Receiver) -> None:
    chat = ChatConnector(name="chat", url=receiver.url)
    chat.send(item())
    chat.close()
    (request,) = receiver.requests
    message = json.loads(request.body)
    assert set(message) == {"text", "blocks"}
    assert "*Sales outreach* for account `acct-42`" in message["text"]
    assert "owner-ana" in message["text"]
    assert message["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": message["text"]},
    }
    assert "nm-0123456789abcdef" in message["blocks"][1]["elements"][0]["text"]


def test_a_chat_webhook_that_is_gone_is_permanent(receiver: Receiver) -> None:
    receiver.answer(Reply(status=404, body=b"no_service"))
    chat = ChatConnector(name="chat", url=receiver.url)
    with pytest.raises(PermanentSendError, match="no_service"):
        chat.send(item())
    chat.close()

"""Email through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from execution_support import free_port

from nextmove.execution import OutboxItem, OutboxStatus, PermanentSendError, RetryableSendError
from nextmove.execution.connectors import SmtpConnector, TextTemplate, message_id


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what it accepts; refuses as told."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    refuse_recipient: str | None = None
    data_reply: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_recipient and address == self.refuse_recipient:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def item(**changes: object) -> OutboxItem:
    values: dict[str, object] = {
        "outbox_id": 1,
        "decision_id": 5,
        "run_id": 1,
        "account_id": "acct-7",
        "action": "digital_program",
        "product_id": "prod-engage-email",
        "connector": "mail",
        "assignee": None,
        "routing_reason": None,
        "idempotency_key": "nm-feedface",
        "payload": {"to": "buyer@acct7.example", "first_name": "Rosa"},
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


def connector(port: int) -> SmtpConnector:
    return SmtpConnector(
        name="mail",
        host="127.0.0.1",
        port=port,
        from_address="growth@vendor.example",
        subject=TextTemplate("{{ payload.first_name }}, meet {{ product_id }}", field="subject"),
        body=TextTemplate(
            "Hello {{ payload.first_name }},\nyour team at {{ account_id }} may like this.",
            field="body",
        ),
        timeout_seconds=5,
    )


def test_the_email_is_rendered_and_delivered_with_a_stable_message_id(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    receipt = connector(port).send(item())

    ((recipients, message),) = mailbox.messages
    assert recipients == ["buyer@acct7.example"]
    assert message["Subject"] == "Rosa, meet prod-engage-email"
    assert message["From"] == "growth@vendor.example"
    assert message["Message-ID"] == message_id("nm-feedface", "vendor.example")
    assert message["X-Nextmove-Idempotency-Key"] == "nm-feedface"
    assert message["Date"] == "Mon, 02 Nov 2026 09:30:00 +0000"
    body = str(message.get_payload()).replace("\r\n", "\n")
    assert "Hello Rosa,\nyour team at acct-7 may like this." in body
    assert receipt.reference == message["Message-ID"]


def test_a_resent_item_is_the_same_message(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    mail = connector(port)
    mail.send(item(attempts=1))
    mail.send(item(attempts=2))
    (_, first), (_, second) = mailbox.messages
    assert first.as_bytes() == second.as_bytes()


def test_a_refused_recipient_is_permanent(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    mailbox.refuse_recipient = "buyer@acct7.example"
    with pytest.raises(PermanentSendError, match="refused every recipient"):
        connector(port).send(item())
    assert mailbox.messages == []


def test_a_temporary_refusal_is_retryable(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    mailbox.data_reply = "451 4.3.0 try again later"
    with pytest.raises(RetryableSendError, match="451"):
        connector(port).send(item())


def test_a_server_that_is_down_is_retryable() -> None:
    with pytest.raises(RetryableSendError, match="could not talk"):
        connector(free_port()).send(item())


def test_an_item_without_a_recipient_is_permanent(smtp_server: tuple[Mailbox, int]) -> None:
    _, port = smtp_server
    with pytest.raises(PermanentSendError, match="no valid recipient"):
        connector(port).send(item(payload={"first_name": "Rosa"}))


def test_a_template_naming_a_missing_field_is_permanent(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    with pytest.raises(PermanentSendError, match="subject template failed"):
        connector(port).send(item(payload={"to": "buyer@acct7.example"}))
    assert mailbox.messages == []

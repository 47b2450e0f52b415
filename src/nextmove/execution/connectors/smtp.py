"""Email over SMTP: one message per item, rendered from Jinja2 templates.

The ``Message-ID`` derives from the idempotency key and the ``Date`` from the time the
item was enqueued, so a re-sent item is the same message and mail systems that
de-duplicate by Message-ID drop the repeat. Recipients come from the payload's ``to``
(an address or a list), else the connector's default ``to``. SMTP 4xx replies,
dropped connections and timeouts are retried; 5xx replies are permanent.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from nextmove.execution.connectors.templates import TextTemplate
from nextmove.execution.errors import PermanentSendError, RetryableSendError
from nextmove.execution.model import OutboxItem, Receipt

__all__ = ["DEFAULT_EMAIL_BODY", "DEFAULT_EMAIL_SUBJECT", "SmtpConnector", "message_id"]

Security = Literal["none", "starttls", "ssl"]

DEFAULT_EMAIL_SUBJECT = "{{ action_label }}{% if product_id %}: {{ product_id }}{% endif %}"
DEFAULT_EMAIL_BODY = (
    "{{ action_label }} for account {{ account_id }}"
    "{% if product_id %} about {{ product_id }}{% endif %}.\n"
)


def message_id(key: str, domain: str) -> str:
    """Return the stable Message-ID of the item with idempotency ``key``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class SmtpConnector:
    """Sends one email per item through an SMTP server (a new session per send)."""

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        from_address: str,
        to: str | None = None,
        subject: TextTemplate | None = None,
        body: TextTemplate | None = None,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._name = name
        self._host = host
        self._port = port
        self._from = from_address
        self._to = to
        self._subject = subject or TextTemplate(DEFAULT_EMAIL_SUBJECT, field="subject")
        self._body = body or TextTemplate(DEFAULT_EMAIL_BODY, field="body")
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout_seconds
        self._domain = from_address.rpartition("@")[2] or "nextmove.invalid"

    @property
    def name(self) -> str:
        return self._name

    def message(self, item: OutboxItem) -> EmailMessage:
        """Return the email sent for ``item``."""
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = ", ".join(self._recipients(item))
        message["Subject"] = self._subject.render(item).strip()
        message["Date"] = format_datetime(item.created_at)
        message["Message-ID"] = message_id(item.idempotency_key, self._domain)
        message["X-Nextmove-Idempotency-Key"] = item.idempotency_key
        message.set_content(self._body.render(item))
        return message

    def send(self, item: OutboxItem) -> Receipt:
        """Hand the message to the SMTP server; return its Message-ID."""
        message = self.message(item)
        try:
            with self._session() as smtp:
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(
                min(codes), f"{self._where} refused every recipient: {exc.recipients}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            said = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            raise _by_code(exc.smtp_code, f"{self._where} answered {exc.smtp_code} {said}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentSendError(f"{self._where} does not support {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableSendError(f"could not talk to {self._where}: {exc!r}") from exc
        details = {"message_id": message["Message-ID"], "refused": sorted(refused)}
        return Receipt(reference=str(message["Message-ID"]), details=details)

    def close(self) -> None:
        return None

    @property
    def _where(self) -> str:
        return f"SMTP server {self._host}:{self._port}"

    def _recipients(self, item: OutboxItem) -> list[str]:
        given = item.payload.get("to", self._to)
        found = [given] if isinstance(given, str) else given
        if (
            not isinstance(found, list)
            or not found
            or not all(isinstance(address, str) and "@" in address for address in found)
        ):
            raise PermanentSendError(
                f"no valid recipient for {item.action} on {item.account_id}: "
                "put 'to' in the payload or set the connector's 'to'"
            )
        return [str(address) for address in found]

    def _session(self) -> smtplib.SMTP:
        if self._security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            if self._security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _by_code(code: int, message: str) -> RetryableSendError | PermanentSendError:
    return RetryableSendError(message) if 400 <= code < 500 else PermanentSendError(message)

"""E-mail over SMTP, behind the e-mail port: the local stack's mail server (and any relay a deployment has)."""

from __future__ import annotations

import secrets
import smtplib
from email.utils import make_msgid

from ..domain.errors import ServiceUnavailable
from ..domain.outbound import Attachment, EmailRejected
from .local_outbound import build_email


class SmtpEmailSender:
    """Implements :class:`~chalicelib.domain.outbound.EmailSender`. A permanent refusal of the recipient (5xx)
    raises EmailRejected, so the address is suppressed; anything passing (connection, 4xx) is retried."""

    def __init__(self, host: str, port: int, sender: str = "no-reply@antecedentes.local", timeout: float = 10.0
                 ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> str:
        if "@" not in to or "\n" in to or "\r" in to:
            raise ValueError("invalid e-mail address")
        message = build_email(self.sender, to, subject, body, attachments)
        message_id = make_msgid(idstring=secrets.token_hex(4), domain=self.sender.rpartition("@")[2] or None)
        message["Message-ID"] = message_id
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message, from_addr=self.sender, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as error:
            code = next(iter(error.recipients.values()))[0] if error.recipients else 0
            if 500 <= code < 600:
                raise EmailRejected(f"the mail server refused the recipient ({code})") from None
            raise ServiceUnavailable("The mail server did not accept the message now; it will be retried.",
                                     code="email_unavailable") from None
        except (smtplib.SMTPException, OSError):
            raise ServiceUnavailable("The mail server did not answer; the message will be retried.",
                                     code="email_unavailable") from None
        return message_id.strip("<>")

"""E-mail over SMTP, behind the e-mail port: the local stack's mail server (and any relay a deployment has)."""

from __future__ import annotations

import secrets
import smtplib
import threading
from email.message import EmailMessage
from email.utils import make_msgid

from ..domain.errors import ServiceUnavailable
from ..domain.outbound import Attachment, EmailRejected
from .local_outbound import build_email


class SmtpEmailSender:
    """Implements :class:`~chalicelib.domain.outbound.EmailSender`. A permanent refusal of the recipient (5xx)
    raises EmailRejected, so the address is suppressed; anything passing (connection, 4xx) is retried. Each thread
    keeps its SMTP session open between messages."""

    def __init__(self, host: str, port: int, sender: str = "no-reply@antecedentes.local", timeout: float = 10.0
                 ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self._local = threading.local()

    def _transmit(self, message: EmailMessage, to: str) -> None:
        session: smtplib.SMTP | None = getattr(self._local, "session", None)
        if session is not None:
            try:
                session.send_message(message, from_addr=self.sender, to_addrs=[to])
                return
            except (smtplib.SMTPServerDisconnected, OSError):
                self._local.session = None  # the server closed an idle session: open a new one
        session = self._local.session = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            session.send_message(message, from_addr=self.sender, to_addrs=[to])
        except (smtplib.SMTPServerDisconnected, OSError):
            self._local.session = None
            raise

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> str:
        if "@" not in to or "\n" in to or "\r" in to:
            raise ValueError("invalid e-mail address")
        message = build_email(self.sender, to, subject, body, attachments)
        message_id = make_msgid(idstring=secrets.token_hex(4), domain=self.sender.rpartition("@")[2] or None)
        message["Message-ID"] = message_id
        try:
            self._transmit(message, to)
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

"""Outbound message ports: e-mail (SES in the cloud) and SMS (SNS), each answering a message id."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

Attachment = tuple[str, bytes, str]
"""(file name, content, MIME type), e.g. ("certificado.pdf", pdf, "application/pdf")."""


class EmailSender(Protocol):
    def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> str:
        """Send a plain-text message with attachments; returns the provider's message id."""
        ...


class SmsSender(Protocol):
    def send(self, phone_e164: str, text: str) -> str:
        """Send a text message to a number in E.164 form (+51987654321); returns the message id."""
        ...


class EmailRejected(Exception):
    """The receiving side refused the address for good (unknown mailbox, a hard bounce): do not retry it."""


class EmailSuppressions(Protocol):
    """Addresses no more e-mail goes to: hard bounces and complaints (SES notifications, SMTP refusals)."""

    def is_suppressed(self, address: str) -> bool: ...
    def suppress(self, address: str, reason: str, at: datetime) -> None: ...


def address_key(address: str) -> str:
    """How a suppressed address is stored: a hash of its normalised form, so the list holds no addresses."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


class ChatChannel(Protocol):
    """A channel a person talks to us through, able to reach them (Telegram is one adapter)."""

    def send_message(self, chat_id: str, text: str) -> Any: ...
    def send_document(self, chat_id: str, filename: str, data: bytes, caption: str) -> Any: ...

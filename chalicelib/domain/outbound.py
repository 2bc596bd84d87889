"""Outbound message ports: e-mail (SES in the cloud) and SMS (SNS), each answering a message id."""

from __future__ import annotations

from typing import Protocol

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

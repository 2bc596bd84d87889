"""Embedded defaults for outbound messages: e-mails and SMS written to a local outbox folder, never sent."""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from ..domain.outbound import Attachment

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _message_id() -> str:
    # Sortable by time, unique across processes: the folder reads as a log.
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def build_email(sender: str, to: str, subject: str, body: str, attachments: list[Attachment]) -> EmailMessage:
    """The MIME message both the local outbox and SES send (one place builds it, so both agree)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    for filename, data, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return message


class FileEmailSender:
    """Writes each e-mail as an .eml file (any mail client opens it) under ``folder``."""

    def __init__(self, folder: Path, sender: str = "no-reply@antecedentes.local") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> str:
        if "@" not in to or "\n" in to:
            raise ValueError("invalid e-mail address")
        message_id = _message_id()
        message = build_email(self.sender, to, subject, body, attachments)
        message["Message-ID"] = f"<{message_id}@antecedentes.local>"
        _write_atomically(self.folder / f"{message_id}.eml", message.as_bytes())
        return message_id


class FileSmsSender:
    """Writes each SMS as a small JSON file under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, phone_e164: str, text: str) -> str:
        if not _E164.fullmatch(phone_e164):
            raise ValueError("the phone number must be in E.164 form, e.g. +51987654321")
        message_id = _message_id()
        record = {"id": message_id, "to": phone_e164, "text": text}
        _write_atomically(self.folder / f"{message_id}.json", json.dumps(record, ensure_ascii=False).encode())
        return message_id

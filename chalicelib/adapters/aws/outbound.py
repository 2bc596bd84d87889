"""E-mail through Amazon SES and SMS through Amazon SNS, behind the outbound ports."""

from __future__ import annotations

import re
from typing import Any

from ...domain.outbound import Attachment
from ..local_outbound import build_email
from .clients import client

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class SesEmailSender:
    """Implements :class:`~chalicelib.domain.outbound.EmailSender`; the sender address must be verified in SES."""

    def __init__(self, sender: str, region: str, ses: Any = None, configuration_set: str | None = None) -> None:
        self.sender = sender
        self.region = region
        self._ses = ses
        self.configuration_set = configuration_set

    def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> str:
        if "@" not in to or "\n" in to:
            raise ValueError("invalid e-mail address")
        # Raw MIME: the only SES call that carries attachments; the local outbox builds the same message.
        message = build_email(self.sender, to, subject, body, attachments)
        ses = self._ses if self._ses is not None else client("ses", self.region)
        params: dict[str, Any] = {"Source": self.sender, "Destinations": [to],
                                  "RawMessage": {"Data": message.as_bytes()}}
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        message_id: str = ses.send_raw_email(**params)["MessageId"]
        return message_id


class SnsSmsSender:
    """Implements :class:`~chalicelib.domain.outbound.SmsSender`: transactional SMS straight to a number."""

    def __init__(self, region: str, sender_id: str = "", sns: Any = None) -> None:
        self.region = region
        self.sender_id = sender_id
        self._sns = sns

    def send(self, phone_e164: str, text: str) -> str:
        if not _E164.fullmatch(phone_e164):
            raise ValueError("the phone number must be in E.164 form, e.g. +51987654321")
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        sns = self._sns if self._sns is not None else client("sns", self.region)
        message_id: str = sns.publish(PhoneNumber=phone_e164, Message=text, MessageAttributes=attributes)["MessageId"]
        return message_id

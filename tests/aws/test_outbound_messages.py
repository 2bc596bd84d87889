"""E-mail through SES and SMS through SNS (moto in-process), and their local outbox defaults."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from chalicelib.adapters.aws.clients import client
from chalicelib.adapters.aws.outbound import SesEmailSender, SnsSmsSender
from chalicelib.adapters.local_outbound import FileEmailSender, FileSmsSender

from .conftest import REGION

SENDER = "certificados@inpe.example.pe"
PDF = b"%PDF-1.7\n% a certificate\n"


def _ses_backend():  # type: ignore[no-untyped-def]
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][REGION]


def test_ses_sends_the_message_with_its_pdf_attachment(mocked_aws: None) -> None:
    client("ses", REGION).verify_email_identity(EmailAddress=SENDER)

    message_id = SesEmailSender(SENDER, REGION).send(
        "ciudadano@example.pe", "Su certificado", "Adjuntamos su certificado.",
        [("certificado.pdf", PDF, "application/pdf")])

    sent = _ses_backend().sent_messages
    assert len(sent) == 1 and sent[0].id == message_id
    assert "ciudadano@example.pe" in sent[0].destinations and sent[0].source == SENDER
    parsed = email.message_from_string(sent[0].raw_data, policy=email.policy.default)
    assert parsed["Subject"] == "Su certificado" and parsed["From"] == SENDER
    attachment = next(iter(parsed.iter_attachments()))
    assert attachment.get_filename() == "certificado.pdf" and attachment.get_content() == PDF


def test_ses_refuses_a_sender_that_is_not_verified(mocked_aws: None) -> None:
    with pytest.raises(Exception, match="not verified|MessageRejected"):
        SesEmailSender("stranger@example.pe", REGION).send("a@example.pe", "s", "b", [])
    assert _ses_backend().sent_messages == []


def test_sns_sends_a_transactional_sms_to_the_number(mocked_aws: None) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    message_id = SnsSmsSender(REGION, sender_id="INPE").send("+51987654321", "Su cita es mañana a las 9:00.")

    assert sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages[message_id] == (
        "+51987654321", "Su cita es mañana a las 9:00.")


@pytest.mark.parametrize("number", ["987654321", "+0123", "51 987 654 321", "+51987654321\n"])
def test_sms_to_a_number_not_in_e164_form_is_refused_before_any_call(number: str) -> None:
    class NoCalls:
        def publish(self, **kwargs: object) -> dict[str, str]:
            raise AssertionError("must not be called")

    with pytest.raises(ValueError, match="E.164"):
        SnsSmsSender(REGION, sns=NoCalls()).send(number, "x")


def test_local_email_outbox_writes_a_message_any_mail_client_opens(tmp_path: Path) -> None:
    message_id = FileEmailSender(tmp_path).send("ciudadano@example.pe", "Su certificado", "Hola",
                                                [("certificado.pdf", PDF, "application/pdf")])

    written = tmp_path / f"{message_id}.eml"
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ciudadano@example.pe" and parsed["Subject"] == "Su certificado"
    assert next(iter(parsed.iter_attachments())).get_content() == PDF


def test_local_sms_outbox_writes_one_file_per_message(tmp_path: Path) -> None:
    sender = FileSmsSender(tmp_path)
    first = sender.send("+51987654321", "uno")
    second = sender.send("+51987654321", "dos")

    assert first != second
    assert json.loads((tmp_path / f"{second}.json").read_text()) == {"id": second, "to": "+51987654321",
                                                                       "text": "dos"}

"""E-mail notices through the e-mail port: each status change in the request's language, the receipt, the
certificate attached, a tracking link; bounces and complaints stop the mail; the chat is not told twice."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import free_port
from tests.factories import ANA, applicant, proof, request_body
from tests.integration.conftest import Api


def _mails(folder: Path, to: str) -> list[Any]:
    parsed = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    return [m for m in parsed if m["To"] == to]


def _paid_with_email(api: Api, user: str, email: str, language: str = "es") -> dict[str, Any]:
    created = api.post("/v1/certificate-requests", request_body(applicant(email=email), language=language),
                       user=user).json_body
    ordered = api.post(f"/v1/certificate-requests/{created['request_id']}/identity", proof(ANA), user=user).json_body
    payment = ordered["payment"]
    answer = api.webhook({"payment_id": f"PG-{user[-4:]}", "order_code": payment["order_code"], "amount": "37.70",
                          "currency": "PEN"})
    assert answer.status_code == 200, answer.body
    return ordered


def test_every_status_change_is_mailed_with_the_receipt_the_tracking_link_and_the_certificate(api):
    request = _paid_with_email(api, "telegram:8201", "ana.mail@example.org")
    api.run_worker()
    mails = _mails(api.c.settings.outbox_dir / "email", "ana.mail@example.org")
    subjects = [str(m["Subject"]) for m in mails]
    number = request["number"]
    assert subjects == [f"Solicitud {number} registrada — Certificado de Antecedentes Judiciales",
                        f"Solicitud {number}: orden de pago {request['payment']['order_code']}",
                        f"Solicitud {number}: comprobante de pago",
                        f"Su Certificado de Antecedentes Judiciales (solicitud {number})"]
    tracking = f"{api.c.settings.public_base_url}/track/{request['request_id']}"
    assert all(tracking in m.get_body(("plain",)).get_content() for m in mails)
    ordered = mails[1].get_body(("plain",)).get_content()
    assert "Ana Lucía Quispe Mamani" in ordered and "S/ 37.70" in ordered
    receipt = mails[2].get_body(("plain",)).get_content()
    assert "Operación: PG-8201" in receipt and "Monto: S/ 37.70" in receipt
    (attachment,) = list(mails[3].iter_attachments())
    assert attachment.get_filename() == f"certificado-{number}.pdf"
    assert attachment.get_payload(decode=True).startswith(b"%PDF-")


def test_mail_is_in_the_requests_language(api):
    _paid_with_email(api, "telegram:8202", "ana.en@example.org", language="en")
    api.run_worker()
    subjects = [str(m["Subject"]) for m in _mails(api.c.settings.outbox_dir / "email", "ana.en@example.org")]
    assert subjects[0].endswith("registered — Criminal-record certificate") and "payment receipt" in subjects[2]


def test_no_mail_without_an_address_and_one_mail_per_event_on_redelivery(api):
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import event_from_image
    from chalicelib.handlers import dispatch

    _paid_with_email(api, "telegram:8203", "once@example.org")
    api.paid(user="telegram:8204")  # no e-mail given
    api.run_worker()
    folder = api.c.settings.outbox_dir / "email"
    before = len(list(folder.glob("*.eml")))
    for item in m.OutboxModel.scan():
        dispatch(event_from_image(item.serialize()), api.c)  # the stream delivers everything again
    assert len(list(folder.glob("*.eml"))) == before
    assert len(_mails(folder, "once@example.org")) == 4


@pytest.fixture
def smtp(api):  # type: ignore[no-untyped-def]
    """The local stack's mail server (real SMTP) behind the e-mail port."""
    from chalicelib.adapters.smtp_outbound import SmtpEmailSender
    from infrastructure.local.mailserver import MailServer

    server = MailServer(api.c.settings.data_dir / "mail", free_port(), free_port()).start()
    api.c.email = SmtpEmailSender("127.0.0.1", server.smtp_port)
    yield server
    server.stop()


def test_mail_reaches_the_local_smtp_server_and_a_hard_bounce_stops_further_mail(api, smtp):
    from chalicelib.adapters.email_suppressions import DynamoEmailSuppressions

    _paid_with_email(api, "telegram:8205", "reader@example.org")
    _paid_with_email(api, "telegram:8206", "bounce@example.org")
    api.run_worker()
    received = smtp.mailbox.messages("reader@example.org")
    assert len(received) == 4 and received[0]["attachments"][0]["filename"].endswith(".pdf")
    assert smtp.mailbox.messages("bounce@example.org") == []
    assert DynamoEmailSuppressions().is_suppressed("Bounce@Example.org")
    # A suppressed address is not even tried again (the mail server would refuse it once more).
    from chalicelib.services.notifications import notify_email

    request = api.c.store.requests_of_owner("telegram:8206", 1)[0]
    from chalicelib.domain.requests import Event

    sent = notify_email(Event("evt-after-bounce", "request.issued", request.request_id, api.c.clock.now()),
                        store=api.c.store, storage=api.c.storage, email=api.c.email,
                        suppressions=DynamoEmailSuppressions(), public_base_url="http://x", clock=api.c.clock)
    assert sent is False


def test_ses_bounces_and_complaints_delivered_by_sns_stop_mail_to_those_addresses(api):
    import app
    from chalicelib.adapters.email_suppressions import DynamoEmailSuppressions

    bounce = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
        {"emailAddress": "gone@example.org"}]}}
    transient = {"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [
        {"emailAddress": "full@example.org"}]}}
    complaint = {"eventType": "Complaint", "complaint": {"complainedRecipients": [
        {"emailAddress": "angry@example.org"}]}}
    with Client(app.app) as client:
        for message in (bounce, transient, complaint, "not json"):
            event = client.events.generate_sns_event(message=json.dumps(message) if isinstance(message, dict)
                                                     else message)
            client.lambda_.invoke("email_feedback", event)
    suppressions = DynamoEmailSuppressions()
    assert suppressions.is_suppressed("gone@example.org") and suppressions.is_suppressed("angry@example.org")
    assert not suppressions.is_suppressed("full@example.org")


def test_what_the_person_did_in_their_chat_is_not_pushed_back_to_it_but_is_mailed(bot_api):
    """A voucher given in the chat is answered there at once: no second, near-identical "paid" message."""
    api, bot = bot_api
    user = "telegram:8207"
    created = api.post("/v1/certificate-requests", request_body(applicant(email="voucher@example.org")),
                       user=user).json_body
    ordered = api.post(f"/v1/certificate-requests/{created['request_id']}/identity", proof(ANA), user=user).json_body
    from datetime import date
    from decimal import Decimal

    api.c.provider.record_agent_payment("77708207", date(2026, 11, 20), "BN-77708207",
                                        ordered["payment"]["order_code"], Decimal("37.70"), "PEN")
    answer = api.post(f"/v1/certificate-requests/{created['request_id']}/voucher",
                      {"operation_number": "77708207", "date": "2026-11-20"}, user=user)
    assert answer.json_body["receipt"]["operation"] == "BN-77708207"
    api.run_worker()
    texts = bot.texts("8207")
    assert not any("Pago recibido" in t for t in texts)  # the chat answered the voucher itself
    assert any("está listo" in t for t in texts)  # the certificate is still pushed
    subjects = [str(m["Subject"]) for m in _mails(api.c.settings.outbox_dir / "email", "voucher@example.org")]
    assert any("comprobante de pago" in s for s in subjects)


def test_the_tracking_page_shows_number_status_and_money_but_nothing_personal(api):
    request = _paid_with_email(api, "telegram:8208", "track@example.org")
    page = api.client.http.get(f"/track/{request['request_id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    body = page.body.decode()
    assert request["number"] in body and "Pago aplicado: S/ 37.70" in body
    for personal in ("Quispe", "45678912", "8912", "track@example.org", "1990"):
        assert personal not in body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    data = api.client.http.get(f"/track/{request['request_id']}", headers={"Accept": "application/json"}).json_body
    assert data["status"] in ("paid", "approved", "issued") and "applicant" not in data
    assert api.client.http.get("/track/" + "Z" * 22).status_code == 404

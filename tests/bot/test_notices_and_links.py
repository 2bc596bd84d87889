"""What reaches the chat after the conversation: the receipt and the certificate, refunds, revocation and its free
replacement, chat verification of a REGISTRA certificate, deep links; and how few steps the clean path takes.

The API's notices come from the worker of the package's stack, which sends them to one local Bot API server;
these tests talk to the bot through that same server (the `botapi` fixture below), as `make run` does."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.texts import ntext, text
from tests.bot.harness import ChatUser, buttons
from tests.bot.steps import api_requests, birth_date_typed, order_code, to_payment_order, wait_for_status
from tests.factories import ANA, CARLOS, issue_date_typed, proof, request_body


@pytest.fixture
def botapi(api_stack: dict[str, Any]) -> Any:
    return api_stack["push_botapi"]


def _operator(role: str) -> dict[str, str]:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from chalicelib.settings import load_settings

    settings = load_settings()
    token = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience).issue(
        f"bot-tests-{role}", [role])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


class Counted:
    """A person whose every interaction is counted: each message, button press and action on the pay page."""

    def __init__(self, user: ChatUser) -> None:
        self.user = user
        self.count = 0

    def send(self, typed: str) -> list[dict[str, Any]]:
        self.count += 1
        return self.user.send(typed)

    def press(self, label: str) -> list[dict[str, Any]]:
        self.count += 1
        return self.user.press(label)

    def on_pay_page(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.count += 1
        answer = httpx.request(method, url, timeout=30, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer


def test_a_dni_holder_gets_the_pdf_in_twelve_interactions_with_the_receipt_in_the_chat(person, tmp_path: Path):
    """Counted from /start to the PDF in the chat, the two actions on the payment page included."""
    who = Counted(person)
    who.send("/start")
    who.press(text("button.accept", "es"))
    who.press(text("button.peruvian", "es"))
    for typed in (ANA["document_number"], ANA["given_names"], ANA["first_surname"], ANA["second_surname"],
                  birth_date_typed(ANA)):
        who.send(typed)
    who.press(text("button.confirm", "es"))
    order = who.send(issue_date_typed(ANA))[-1]
    pay_url = order["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert order_code(order) in who.on_pay_page("GET", pay_url).text  # opening the pay link
    who.on_pay_page("POST", pay_url, data={"method": "online"})  # "Pagar en línea"

    receipt = person.wait_for_text("Pago recibido", timeout=60)
    certificate = person.wait_for(lambda m: (m.get("document") or {}).get("file_name", "").endswith(".pdf"),
                                  timeout=60)
    assert who.count == 12
    number = re.search(r"N\.° (\S+):", order["text"]).group(1)
    assert re.search(rf"solicitud {number}: S/ 37\.70, operación PG-[0-9a-f]+, \d\d/\d\d/\d{{4}} \d\d:\d\d",
                     receipt["text"])
    pdf = person.http.get(f"/file/{certificate['document']['file_id']}").content
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    printed = subprocess.run(["pdftotext", str(tmp_path / "certificate.pdf"), "-"], capture_output=True,
                             text=True).stdout
    assert "Ana Lucía Quispe Mamani" in printed.replace("\n", " ") or "ANA LUCÍA QUISPE MAMANI" in printed.upper()


def test_a_second_payment_is_told_at_once_refunded_through_the_simulator_and_each_step_pushed(person, api_stack):
    from infrastructure.local.payment_simulator import pay_online

    order = to_payment_order(person)[-1]
    code = order_code(order)
    assert pay_online(code, "37.70", "PEN", api_base=api_stack["api_base_url"])[0] == 200
    status, second = pay_online(code, "37.70", "PEN", api_base=api_stack["api_base_url"])
    assert status == 409 and second["error"]["code"] == "order_already_paid"
    payment_id = second["error"]["details"]["payment_id"]
    due = person.wait_for_text("no podemos aplicarlo", timeout=60)
    assert payment_id in due["text"] and "ya estaba pagada" in due["text"]
    # The first payment's own notices (its receipt, then the certificate) come on their own, in any order with the
    # refund notice: all in before /estado, or one of them would be taken for its answer.
    person.wait_for_text("Pago recibido", timeout=60)
    person.wait_for(lambda m: (m.get("document") or {}).get("file_name", "").endswith(".pdf"), timeout=60)
    assert text("status.refund.due", "es", amount="S/ 37.70", operation=payment_id, date="")[:40] in \
        person.send("/estado")[0]["text"]

    sent = httpx.post(f"{api_stack['api_base_url']}/v1/admin/refunds/local/{payment_id}", headers=_operator("admin"),
                      timeout=30)
    assert sent.status_code == 200 and sent.json()["state"] == "requested", sent.text
    person.wait_for_text("Enviamos a la pasarela de pagos la devolución", timeout=60)
    person.wait_for_text("Se completó la devolución", timeout=60)  # the simulator's signed refund webhook
    request = api_requests(api_stack["api_base_url"], person)[0]
    assert request["refunds"][0]["state"] == "refunded"
    assert "Ya se le devolvió" in person.send("/estado")[0]["text"]


def _issued(person: ChatUser, api_stack: dict[str, Any]) -> dict[str, Any]:
    from infrastructure.local.payment_simulator import pay_online

    order = to_payment_order(person)[-1]
    pay_online(order_code(order), "37.70", "PEN", api_base=api_stack["api_base_url"])
    assert wait_for_status(api_stack["api_base_url"], person, {"issued"}, seconds=60) == "issued"
    return max(api_requests(api_stack["api_base_url"], person), key=lambda r: r["created_at"])


def test_status_after_revocation_tells_the_truth_and_our_error_is_replaced_free(person, api_stack):
    request = _issued(person, api_stack)
    answer = httpx.post(f"{api_stack['api_base_url']}/v1/admin/documents/{request['document_id']}/revoke",
                        json={"reason": "issued_in_error"}, headers=_operator("reviewer"), timeout=30)
    assert answer.status_code == 200
    notice = person.wait_for_text("fue revocado", timeout=60)
    assert "/estado" in notice["text"] and "sin costo" in notice["text"]
    status = person.send("/estado")[0]
    assert text("status.issued.revoked", "es") in status["text"] and "ya no tiene valor" in status["text"]
    assert buttons(status) == [text("button.replacement", "es")]  # no PDF of a revoked certificate
    made = person.press(text("button.replacement", "es"))[0]
    assert made["text"].startswith("Listo: la solicitud N.° <b>") and request["number"] in made["text"]
    new_pdf = person.wait_for(lambda m: (m.get("document") or {}).get("file_name", "").endswith(".pdf")
                              and request["number"] not in m["document"]["file_name"], timeout=60)
    assert new_pdf["caption"].startswith("Su Certificado de Antecedentes Judiciales")
    assert person.send("/estado")[0]["text"].startswith(text("status.summary", "es", number="")[:12])


def test_a_revocation_that_was_not_our_error_points_to_a_new_request(person, api_stack):
    request = _issued(person, api_stack)
    httpx.post(f"{api_stack['api_base_url']}/v1/admin/documents/{request['document_id']}/revoke",
               json={"reason": "court_order"}, headers=_operator("reviewer"), timeout=30)
    person.wait_for_text("fue revocado", timeout=60)
    status = person.send("/estado")[0]
    assert text("status.next.new_request", "es") in status["text"] and buttons(status) == []


@pytest.fixture(scope="module")
def registra_pdf(api_stack: dict[str, Any]) -> bytes:
    """A REGISTRA certificate: Carlos's record confirmed by a reviewer."""
    from infrastructure.local.payment_simulator import pay_online

    base = api_stack["api_base_url"]
    headers = {"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": "telegram:6000013"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        rid = api.post("/v1/certificate-requests", json=request_body(CARLOS)).json()["request_id"]
        payment = api.post(f"/v1/certificate-requests/{rid}/identity", json=proof(CARLOS)).json()["payment"]
        pay_online(payment["order_code"], payment["amount"], payment["currency"], api_base=base)
        deadline = time.monotonic() + 60
        while api.get(f"/v1/certificate-requests/{rid}").json()["status"] != "in_review":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        decided = httpx.post(f"{base}/v1/admin/review-queue/{rid}/candidates/SIP-0001",
                             json={"decision": "confirmed"}, headers=_operator("reviewer"), timeout=30)
        assert decided.status_code == 200, decided.text
        while api.get(f"/v1/certificate-requests/{rid}").json()["status"] != "issued":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        return api.get(f"/v1/certificate-requests/{rid}/document", headers={"Accept": "application/pdf"}).content


def test_a_photo_of_a_registra_certificates_qr_states_the_printed_result_and_the_number_of_cases(
        person, registra_pdf, tmp_path: Path):
    source = tmp_path / "registra.pdf"
    source.write_bytes(registra_pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(source), str(tmp_path / "page")], check=True)
    replies = person.upload("photo", (tmp_path / "page.png").read_bytes(), "photo.png", "image/png")
    answer = replies[-1]["text"]
    assert answer.startswith(text("verify.qr.valid", "es"))
    assert ntext("verify.result.cases", 1, "es", result="REGISTRA ANTECEDENTES JUDICIALES") in answer
    assert "Hurto" not in answer  # the offences stay on the holder's PDF
    # A doctored paper saying NO REGISTRA under this genuine QR is caught: the chat says what the original says.
    assert "NO REGISTRA" not in answer and text("verify.compare", "es") in answer


def test_deep_links_resume_the_persons_own_request_and_open_a_verification(person, make_user, api_stack,
                                                                          registra_pdf):
    order = to_payment_order(person)[-1]
    request = api_requests(api_stack["api_base_url"], person)[0]
    resumed = person.send(f"/start r_{request['request_id']}")
    assert order_code(order) in resumed[-1]["text"] and "Orden de pago" in resumed[-1]["text"]
    stranger = make_user()
    assert [m["text"] for m in stranger.send(f"/start r_{request['request_id']}")] == [
        text("deeplink.unknown", "es")]
    assert [m["text"] for m in stranger.send("/start r_not-a-request")] == [text("deeplink.unknown", "es")]

    document_id = _document_id_of(registra_pdf, api_stack)
    opened = stranger.send(f"/start v_{document_id}")[-1]["text"]
    assert opened.startswith(text("verify.qr.valid", "es")) and "REGISTRA ANTECEDENTES JUDICIALES" in opened
    unknown = stranger.send(f"/start v_{'Z' * 22}")[-1]["text"]
    assert unknown == text("verify.qr.unknown", "es")


def _document_id_of(pdf: bytes, api_stack: dict[str, Any]) -> str:
    answer = httpx.post(f"{api_stack['api_base_url']}/v1/verify", content=pdf,
                        headers={"Content-Type": "application/pdf"}, timeout=30).json()
    assert answer["verdict"] == "authentic"
    listed = httpx.get(f"{api_stack['api_base_url']}/v1/certificate-requests",
                       headers={"Authorization": "Bearer local-dev-channel-key",
                                "X-Channel-User": "telegram:6000013"}, timeout=30).json()["items"]
    return str(next(r["document_id"] for r in listed if r["document_id"]))


def test_a_request_with_an_email_ends_with_its_messages_in_the_local_mail_server(person, api_stack):
    from infrastructure.local.payment_simulator import pay_online
    from tests.bot.steps import to_summary

    to_summary(person)
    person.press(text("button.add_email", "es"))
    person.send("ana.chat@example.org")
    person.press(text("button.confirm", "es"))
    order = person.send(issue_date_typed(ANA))[-1]
    pay_online(order_code(order), "37.70", "PEN", api_base=api_stack["api_base_url"])
    deadline = time.monotonic() + 60
    while True:
        mail = httpx.get(f"{api_stack['mail_url']}/api/messages", params={"to": "ana.chat@example.org"}).json()
        if len(mail["messages"]) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    subjects = sorted(m["subject"] for m in mail["messages"])
    assert len(subjects) == 4, json.dumps(subjects)
    certificate = next(m for m in mail["messages"] if m["attachments"])
    assert certificate["attachments"][0]["content_type"] == "application/pdf"
    assert "/track/" in certificate["body"]

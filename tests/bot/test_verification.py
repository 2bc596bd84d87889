"""Checking documents in the chat: a PDF sent to the bot, or a photo of its QR (decoded by the bot)."""

from __future__ import annotations

import io
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
import pytest
import qrcode

from bot.texts import text
from tests.bot.harness import ChatUser, Container, Delivery
from tests.factories import JOSE, proof, request_body


@pytest.fixture(scope="module")
def issued_pdf(api_stack) -> bytes:
    """A certificate the API issued (requested, confirmed and paid through the API itself)."""
    from infrastructure.local.payment_simulator import pay_online

    base = api_stack["api_base_url"]
    headers = {"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": "telegram:6000001"}
    person = {**JOSE, "given_names": "María Fernanda", "first_surname": "Ñañez", "second_surname": "Güémez",
              "document_number": "47001234", "birth_date": "1998-09-05"}
    with httpx.Client(base_url=base, headers=headers, timeout=20) as api:
        created = api.post("/v1/certificate-requests", json=request_body(person)).json()
        rid = created["request_id"]
        ordered = api.post(f"/v1/certificate-requests/{rid}/identity",
                           json=proof(person)).json()
        payment = ordered["payment"]
        pay_online(payment["order_code"], payment["amount"], payment["currency"], api_base=base)
        deadline = time.monotonic() + 30
        while api.get(f"/v1/certificate-requests/{rid}").json()["status"] != "issued":
            if time.monotonic() > deadline:
                pytest.skip("this API does not issue certificates yet")
            time.sleep(0.2)
        answer = api.get(f"/v1/certificate-requests/{rid}/document")
    assert answer.content.startswith(b"%PDF")
    return answer.content


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_issued_certificate_sent_as_pdf_is_reported_authentic_and_current_with_its_result(person, issued_pdf):
    replies = person.upload("document", issued_pdf, "certificado.pdf", "application/pdf")
    assert replies[-1]["text"].startswith(text("verify.pdf.valid", "es", issuer="Instituto Nacional Penitenciario"))
    assert "CERTIFICADO" in replies[-1]["text"].upper()
    assert text("verify.result", "es", result="NO REGISTRA ANTECEDENTES JUDICIALES") in replies[-1]["text"]


def test_a_certificate_changed_after_signing_is_reported_altered(person, issued_pdf):
    tampered = issued_pdf.replace(b"/Producer", b"/Pr0ducer", 1) if b"/Producer" in issued_pdf \
        else issued_pdf[:2000] + bytes([issued_pdf[2000] ^ 1]) + issued_pdf[2001:]
    replies = person.upload("document", tampered, "certificado.pdf", "application/pdf")
    assert replies[-1]["text"] in (text("verify.pdf.altered", "es"), text("verify.pdf.not_ours", "es"))


def test_a_pdf_that_is_not_ours_is_reported_so(make_user):
    person = make_user(language_code="en")
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
          b"trailer<</Root 1 0 R>>\n%%EOF\n"
    replies = person.upload("document", pdf, "other.pdf", "application/pdf")
    assert replies[-1]["text"] == text("verify.pdf.not_ours", "en")


def test_a_photo_of_the_certificates_qr_is_decoded_by_the_bot_and_reported_current(person, issued_pdf, tmp_path):
    source = tmp_path / "certificate.pdf"
    source.write_bytes(issued_pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(source), str(tmp_path / "page")],
                   check=True)
    replies = person.upload("photo", (tmp_path / "page.png").read_bytes(), "photo.png", "image/png")
    assert replies[-1]["text"].startswith(text("verify.qr.valid", "es"))


def test_a_forged_qr_is_reported_not_authentic(person, api_stack):
    forged = _png(qrcode.make(f"{api_stack['api_base_url']}/v/AAAAAAAAAAAAAAAAAAAAAA#1234567890123456"))
    replies = person.upload("photo", forged, "qr.png", "image/png")
    assert [m["text"] for m in replies if m.get("text")] == [text("verify.qr.invalid", "es")]


def test_a_forged_qr_naming_a_genuine_revoked_document_gets_one_answer_and_nothing_about_it(person, issued_pdf,
                                                                                           api_stack):
    """The forger borrowed a real certificate's link: the answer must not lend it the real document's data."""
    import subprocess
    import tempfile
    from pathlib import Path

    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "c.pdf").write_bytes(issued_pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", f"{folder}/c.pdf", f"{folder}/p"],
                       check=True)
        (genuine,) = [r.text for r in zxingcpp.read_barcodes(Image.open(f"{folder}/p.png"))]
    forged = _png(qrcode.make(genuine.split("#")[0] + "#forged.seal.value"))
    replies = person.upload("photo", forged, "qr.png", "image/png")
    assert [m["text"] for m in replies if m.get("text")] == [text("verify.qr.invalid", "es")]


def test_a_genuine_qr_re_pointed_to_another_site_is_refused_and_the_site_named(person, api_stack, issued_pdf,
                                                                                tmp_path):
    import zxingcpp
    from PIL import Image

    source = tmp_path / "certificate.pdf"
    source.write_bytes(issued_pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(source), str(tmp_path / "page")],
                   check=True)
    (genuine,) = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    moved = genuine.replace(api_stack["api_base_url"], "https://verifica-inpe.pe.example", 1)
    replies = person.upload("photo", _png(qrcode.make(moved)), "qr.png", "image/png")
    assert replies[-1]["text"] == text("verify.qr.foreign_url", "es", site="verifica-inpe.pe.example")


def test_a_photo_without_a_qr_asks_for_a_better_photo(person):
    from PIL import Image

    replies = person.upload("photo", _png(Image.new("RGB", (200, 200), "white")), "blank.png", "image/png")
    assert replies[-1]["text"] == text("verify.qr.not_found", "es")


def test_a_file_that_is_not_a_pdf_gets_instructions(person):
    replies = person.upload("document", b"hello", "notes.txt", "text/plain")
    assert replies[-1]["text"] == text("verify.not_pdf", "es")


def test_an_api_without_the_verification_route_degrades_to_a_polite_message(botapi, bot_settings, new_user_id):
    """Before /v1/verify existed, API Gateway (and `chalice local`) answered 403 with no error code."""
    from dataclasses import replace

    class NoRoute(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"message": "Missing Authentication Token"}'
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    stub = ThreadingHTTPServer(("127.0.0.1", 0), NoRoute)
    Thread(target=stub.serve_forever, daemon=True).start()
    container = Container(replace(bot_settings, api_base_url=f"http://127.0.0.1:{stub.server_address[1]}"))
    delivery = Delivery(botapi, container)
    person = ChatUser(botapi, new_user_id(), deliver=delivery)
    try:
        replies = person.upload("document", b"%PDF-1.4\n%%EOF\n", "x.pdf", "application/pdf")
        assert replies[-1]["text"] == text("verify.unavailable", "es")
        qr = _png(qrcode.make("https://verifica.example/v/abc"))
        assert person.upload("photo", qr, "qr.png", "image/png")[-1]["text"] == text("verify.unavailable", "es")
    finally:
        person.close()
        delivery.close()
        container.close()
        stub.shutdown()
        stub.server_close()

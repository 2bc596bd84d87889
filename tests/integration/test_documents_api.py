"""Issued certificates: the signed PDF, verification by id, QR and upload, and revocation."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.factories import CARLOS


@pytest.fixture
def settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Each test's local PKI with its OCSP, CRL and TSA services running, as `make run` has them: the
    certificates are signed at PAdES B-LT."""
    from dataclasses import replace

    from chalicelib.adapters.documents import ensure_local_pki
    from infrastructure.local.pki_services import serve
    from tests.conftest import free_port

    port = free_port()
    pki = ensure_local_pki(settings.pki_dir, f"http://127.0.0.1:{port}")
    server = serve(port, pki)
    yield replace(settings, timestamp_url=pki.timestamp_url)
    server.shutdown()
    server.server_close()


@pytest.fixture
def issued(api):  # type: ignore[no-untyped-def]
    """A request paid, checked and issued through the worker, as the cloud would do it."""
    request = api.paid()
    api.run_worker()
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "issued", status
    return status


def _pdf(api, status, user="telegram:1001"):  # type: ignore[no-untyped-def]
    answer = api.get(f"/v1/certificate-requests/{status['request_id']}/document",
                     headers={**api.channel_headers(user), "Accept": "application/pdf"})
    assert answer.status_code == 200, answer.body
    return answer.body


def _verify(api, document_id):  # type: ignore[no-untyped-def]
    return api.client.http.get(f"/v/{document_id}", headers={"Accept": "application/json"})


def test_owner_downloads_the_signed_pdf(api, issued):
    pdf = _pdf(api, issued)
    assert pdf.startswith(b"%PDF-") and b"/ByteRange" in pdf
    assert api.c.store.get_document(issued["document_id"]).sha256 == hashlib.sha256(pdf).hexdigest()


def test_someone_else_cannot_download_the_pdf(api, issued):
    answer = api.get(f"/v1/certificate-requests/{issued['request_id']}/document", user="telegram:intruder")
    assert answer.status_code == 404


def test_pdf_is_not_available_before_issue(api):
    request = api.awaiting_payment()
    answer = api.get(f"/v1/certificate-requests/{request['request_id']}/document")
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "not_issued"


def test_issuing_twice_yields_one_document(api, issued):
    from chalicelib.services.documents import issue_certificate

    c = api.c
    again = issue_certificate(issued["request_id"], store=c.store, storage=c.storage, producer=c.producer(),
                              clock=c.clock, policy=c.issue_policy)
    assert again.document_id == issued["document_id"]
    files = list((c.settings.documents_dir / "certificates").glob(f"{issued['document_id']}-*.pdf"))
    assert len(files) == 1
    history = api.get(f"/v1/certificate-requests/{issued['request_id']}").json_body["history"]
    assert [h["status"] for h in history].count("issued") == 1


def test_verification_json_says_valid_with_masked_data(api, issued):
    answer = _verify(api, issued["document_id"])
    body = answer.json_body
    assert answer.status_code == 200 and body["status"] == "valid"
    assert body["document"]["holder_name"] == "Ana Lucía Quispe Mamani"
    assert body["document"]["document_number"] == "****8912"
    assert body["document"]["result"] == "NO REGISTRA ANTECEDENTES JUDICIALES"
    assert "45678912" not in json.dumps(body)


def test_verification_page_is_html_in_spanish_and_english(api, issued):
    answer = api.client.http.get(f"/v/{issued['document_id']}", headers={"Accept": "text/html"})
    page = answer.body.decode()
    assert "Documento auténtico y vigente" in page and "Authentic and current" in page
    assert "****8912" in page and "45678912" not in page


def test_unknown_and_malformed_ids_look_the_same(api):
    unknown = _verify(api, "A" * 22)
    malformed = _verify(api, "not-an-id!")
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.json_body == malformed.json_body == {"status": "unknown"}


def test_verification_is_one_key_lookup(api, issued):
    from bench.dynamo_calls import counting_dynamodb_calls

    with counting_dynamodb_calls() as calls:
        _verify(api, issued["document_id"])
    assert dict(calls) == {"GetItem": 1}


def test_expired_when_the_clock_passes_validity(api, issued, clock):
    clock.advance(days=91)
    assert _verify(api, issued["document_id"]).json_body["status"] == "expired"


def test_revocation_shows_at_once_and_is_audited(api, issued):
    headers = api.operator_headers("reviewer", subject="reviewer-rev")
    answer = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke",
                      {"reason": "issued_in_error", "note": "wrong person"}, headers=headers)
    assert answer.status_code == 200
    body = _verify(api, issued["document_id"]).json_body
    assert body["status"] == "revoked" and body["revocation_reason"] == "issued_in_error"
    assert body["revoked_at"]
    entries = api.get(f"/v1/admin/audit?record={issued['document_id']}",
                      headers=api.operator_headers("auditor")).json_body["items"]
    assert ("document.revoke", "reviewer-rev") in [(e["action"], e["actor"]) for e in entries
                                                   if e["target"] == issued["document_id"]]
    again = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "other"},
                     headers=headers)
    assert again.json_body["error"]["code"] == "already_revoked"


def test_revocation_needs_the_reviewer_role_and_a_reason(api, issued):
    denied = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "other"},
                      headers=api.operator_headers("officer"))
    assert denied.status_code == 403
    bad = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "because"},
                   headers=api.operator_headers("reviewer"))
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "reason"
    assert _verify(api, issued["document_id"]).json_body["status"] == "valid"


def _upload(api, data: bytes):  # type: ignore[no-untyped-def]
    return api.client.http.post("/v1/verify", body=data, headers={"Content-Type": "application/pdf"})


def test_upload_of_the_issued_pdf_is_authentic(api, issued):
    answer = _upload(api, _pdf(api, issued))
    assert answer.json_body["verdict"] == "authentic" and answer.json_body["status"] == "valid"


def test_upload_with_one_byte_changed_is_altered(api, issued):
    pdf = bytearray(_pdf(api, issued))
    index = pdf.index(b"ANTECEDENTES") if b"ANTECEDENTES" in pdf else len(pdf) // 3
    pdf[index] = pdf[index] ^ 0x01
    assert _upload(api, bytes(pdf)).json_body["verdict"] == "altered"


def test_upload_of_an_unsigned_pdf_is_not_ours(api):
    from chalicelib.adapters.documents import render_pdf
    from tests.factories_documents import make_content

    answer = _upload(api, render_pdf(make_content(), "https://example.invalid/v/x"))
    assert answer.json_body["verdict"] == "not_ours"


def test_upload_limits_give_clear_errors(api):
    not_pdf = _upload(api, b"hello")
    assert not_pdf.status_code == 400 and not_pdf.json_body["error"]["code"] == "not_a_pdf"
    huge = _upload(api, b"%PDF-" + b"0" * (5 * 1024 * 1024 + 1))
    assert huge.status_code == 413


def test_revoked_document_keeps_verifying_as_revoked_by_upload_and_qr(api, issued):
    pdf = _pdf(api, issued)
    api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "wrong_data"},
             headers=api.operator_headers("reviewer"))
    uploaded = _upload(api, pdf).json_body
    assert uploaded["verdict"] == "authentic" and uploaded["status"] == "revoked"


def test_published_keys_and_ca(api, issued):
    jwks = api.client.http.get("/.well-known/jwks.json").json_body
    assert jwks["keys"][0]["kid"] and jwks["keys"][0]["crv"] == "P-256"
    ca = api.client.http.get("/.well-known/ca.pem").body
    assert b"BEGIN CERTIFICATE" in (ca if isinstance(ca, bytes) else ca.encode())


def test_pdfsig_says_valid_and_trusted_with_the_published_ca(api, issued, tmp_path: Path):
    pdf_path = tmp_path / "c.pdf"
    pdf_path.write_bytes(_pdf(api, issued))
    ca = api.client.http.get("/.well-known/ca.pem").body
    (tmp_path / "ca.pem").write_bytes(ca if isinstance(ca, bytes) else ca.encode())
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i",
                    str(tmp_path / "ca.pem")], check=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf_path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in out and "Certificate is Trusted" in out


def test_qr_in_the_pdf_leads_to_a_valid_verification_and_verifies_offline(api, issued, tmp_path: Path):
    import zxingcpp
    from PIL import Image

    from chalicelib.adapters.documents import verify_qr_text
    from chalicelib.adapters.documents.seal import load_roots

    pdf_path = tmp_path / "c.pdf"
    pdf_path.write_bytes(_pdf(api, issued))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_path), str(tmp_path / "page")],
                   check=True)
    texts = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    assert len(texts) == 1
    url = texts[0].split("#")[0]
    assert url == f"{api.c.settings.public_base_url}/v/{issued['document_id']}"
    assert _verify(api, url.rsplit("/", 1)[1]).json_body["status"] == "valid"
    jwks = api.client.http.get("/.well-known/jwks.json").json_body
    pem = api.client.http.get("/.well-known/ca.pem").body
    roots = load_roots(pem if isinstance(pem, bytes) else pem.encode())
    origin = api.c.settings.public_base_url
    assert verify_qr_text(texts[0], jwks, api.c.clock.now(), roots=roots, expected_origin=origin).valid
    online = api.client.http.post("/v1/verify", body=json.dumps({"qr_text": texts[0]}).encode(),
                                  headers={"Content-Type": "application/json"}).json_body
    assert online["offline_check"] == "valid" and online["status"] == "valid"
    head, digits = texts[0].split("#")
    edited = f"{head}#{digits[:-30]}{'1' * 30}"
    assert not verify_qr_text(edited, jwks, api.c.clock.now(), roots=roots, expected_origin=origin).valid


def test_certificate_with_confirmed_record_prints_the_cases(api, tmp_path: Path):
    request = api.paid(CARLOS, user="telegram:3001")
    api.run_worker()
    api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0001", {"decision": "confirmed"},
             headers=api.operator_headers("reviewer"))
    api.run_worker()
    status = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:3001").json_body
    assert status["status"] == "issued"
    pdf_path = tmp_path / "r.pdf"
    pdf_path.write_bytes(_pdf(api, status, user="telegram:3001"))
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True).stdout
    assert "REGISTRA ANTECEDENTES JUDICIALES" in text and "NO REGISTRA" not in text
    assert "00456-2015-0-1801-JR-PE-03" in text and "Hurto agravado" in text


def _qr_text(api, issued, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    import zxingcpp
    from PIL import Image

    pdf_path = tmp_path / "q.pdf"
    pdf_path.write_bytes(_pdf(api, issued))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_path), str(tmp_path / "q")], check=True)
    (text,) = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "q.png"))]
    return text


def test_a_revocation_reaches_the_signed_status_list_the_qr_points_to(api, issued, tmp_path: Path):
    from chalicelib.adapters.documents.seal import load_roots, verify_qr_text
    from chalicelib.adapters.documents.status_token import read_token

    text = _qr_text(api, issued, tmp_path)
    jwks = api.client.http.get("/.well-known/jwks.json").json_body
    pem = api.client.http.get("/.well-known/ca.pem").body
    roots = load_roots(pem if isinstance(pem, bytes) else pem.encode())
    sealed = verify_qr_text(text, jwks, api.c.clock.now(), roots=roots, expected_origin=api.c.settings.public_base_url)
    assert sealed.valid and sealed.data is not None and sealed.data.status is not None
    entry = sealed.data.status
    path = f"/.well-known/status/INPE/{entry.list_id}"

    def status_now() -> int:
        answer = api.client.http.get(path)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/statuslist+jwt"
        assert answer.headers["Cache-Control"] == "public, max-age=300"
        body = answer.body if isinstance(answer.body, str) else answer.body.decode()
        return read_token(body, jwks=jwks, roots=roots, now=api.c.clock.now()).status(entry.index)

    assert status_now() == 0
    revoked = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "identity_fraud"},
                       headers=api.operator_headers("reviewer"))
    assert revoked.status_code == 200, revoked.body
    assert status_now() == 1  # revoked: what an offline verifier with a fresh list sees


@pytest.mark.parametrize("path", ["/.well-known/status/XX/1", "/.well-known/status/INPE/0",
                                  "/.well-known/status/INPE/abc", "/.well-known/status/INPE/999999999"])
def test_unknown_status_lists_are_404(api, path: str):
    answer = api.client.http.get(path)
    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"


def test_a_genuine_qr_re_pointed_to_a_look_alike_site_is_refused_and_the_site_named(api, issued, tmp_path: Path):
    text = _qr_text(api, issued, tmp_path)
    origin = api.c.settings.public_base_url
    moved = text.replace(origin, "https://verifica-inpe.gob.pe.example", 1)
    answer = api.client.http.post("/v1/verify", body=json.dumps({"qr_text": moved}).encode(),
                                  headers={"Content-Type": "application/json"}).json_body
    assert answer == {"offline_check": "invalid", "offline_reason": "foreign_url",
                      "points_to": "verifica-inpe.gob.pe.example", "status": "unknown"}


def test_the_uploaded_certificate_is_long_term_signed(api, issued):
    from chalicelib.adapters.documents import validate_pdf

    pdf = _pdf(api, issued)
    check = validate_pdf(pdf, [api.c.pki().ca_cert_pem])
    assert (check.signature_valid, check.level) == (True, "B-LT")
    assert _upload(api, pdf).json_body["verdict"] == "authentic"

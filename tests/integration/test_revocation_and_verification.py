"""After revocation the request tells the truth and a free replacement exists when INPE erred; public
verification states the printed result, never the offences, and takes the PDF upload its page promises."""

from __future__ import annotations

import json
import re
import secrets

import pytest

from tests.factories import CARLOS


@pytest.fixture
def issued(api):  # type: ignore[no-untyped-def]
    def make(person=None, user="telegram:8301"):  # type: ignore[no-untyped-def]
        request = api.paid(person, user=user)
        api.run_worker()
        status = api.get(f"/v1/certificate-requests/{request['request_id']}", user=user).json_body
        assert status["status"] == "issued", status
        return status

    return make


def _revoke(api, document_id: str, reason: str):  # type: ignore[no-untyped-def]
    answer = api.client.http.post(f"/v1/admin/documents/{document_id}/revoke",
                                  body=json.dumps({"reason": reason}).encode(),
                                  headers=api.operator_headers("reviewer"))
    assert answer.status_code == 200, answer.body


def test_status_after_revocation_says_revoked_and_the_pdf_is_no_longer_handed_out(api, issued):
    status = issued(user="telegram:8301")
    _revoke(api, status["document_id"], "identity_fraud")
    view = api.get(f"/v1/certificate-requests/{status['request_id']}", user="telegram:8301").json_body
    assert view["document"]["status"] == "revoked" and view["document"]["revocation_reason"] == "identity_fraud"
    assert view["document"]["free_replacement"] is False
    pdf = api.get(f"/v1/certificate-requests/{status['request_id']}/document", user="telegram:8301")
    assert pdf.status_code == 409 and pdf.json_body["error"]["code"] == "document_revoked"
    refused = api.post(f"/v1/certificate-requests/{status['request_id']}/replacement", {}, user="telegram:8301")
    assert refused.status_code == 400 and refused.json_body["error"]["code"] == "replacement_not_allowed"


def test_a_certificate_revoked_by_our_error_is_replaced_free_once(api, issued):
    status = issued(user="telegram:8302")
    _revoke(api, status["document_id"], "issued_in_error")
    view = api.get(f"/v1/certificate-requests/{status['request_id']}", user="telegram:8302").json_body
    assert view["document"]["free_replacement"] is True
    made = api.post(f"/v1/certificate-requests/{status['request_id']}/replacement", {}, user="telegram:8302")
    assert made.status_code == 201
    fresh = made.json_body
    assert fresh["status"] == "paid" and fresh["receipt"]["waived"] is True
    assert fresh["receipt"]["replaces"] == status["number"] and fresh["number"] != status["number"]
    again = api.post(f"/v1/certificate-requests/{status['request_id']}/replacement", {}, user="telegram:8302")
    assert again.status_code == 200 and again.json_body["request_id"] == fresh["request_id"]
    assert api.post(f"/v1/certificate-requests/{status['request_id']}/replacement", {},
                    user="telegram:someone-else").status_code == 404
    api.run_worker()
    replaced = api.get(f"/v1/certificate-requests/{fresh['request_id']}", user="telegram:8302").json_body
    assert replaced["status"] == "issued" and replaced["document"]["status"] == "valid"
    assert replaced["document_id"] != status["document_id"]


def test_the_revocation_notice_points_to_the_path_that_exists(api, issued):
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import event_from_image
    from chalicelib.services.notifications import compose, push_text

    for reason, key in (("wrong_data", "revoked.free"), ("court_order", "revoked")):
        status = issued(user=f"telegram:83{secrets.randbelow(90) + 10}")
        _revoke(api, status["document_id"], reason)
        event = next(event_from_image(e.serialize()) for e in m.OutboxModel.scan()
                     if e.name == "document.revoked" and e.aggregate_id == status["document_id"])
        notice = compose(event, api.c.store)
        assert notice is not None and notice.key == key and notice.chat
        text = push_text(f"push.{key}", "es", **notice.values)
        assert ("/estado" in text) if key == "revoked.free" else ("/start" in text)


def test_the_public_page_of_a_registra_certificate_shows_the_result_and_count_not_the_offences(api, issued):
    request = api.paid(CARLOS, user="telegram:8310")
    api.run_worker()
    api.client.http.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0001",
                         body=json.dumps({"decision": "confirmed"}).encode(),
                         headers=api.operator_headers("reviewer"))
    api.run_worker()
    status = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:8310").json_body
    assert status["status"] == "issued" and status["result"] == "REGISTRA ANTECEDENTES JUDICIALES"
    data = api.client.http.get(f"/v/{status['document_id']}", headers={"Accept": "application/json"}).json_body
    assert data["document"]["result"] == "REGISTRA ANTECEDENTES JUDICIALES"
    assert data["document"]["cases_count"] == 1 and "cases" not in data["document"]
    page = api.client.http.get(f"/v/{status['document_id']}", headers={"Accept": "text/html"}).body.decode()
    assert re.search(r"<h1 class=\"verdict ok\" id=\"verdict\" data-status=\"valid\">", page)
    assert "REGISTRA ANTECEDENTES JUDICIALES — 1 caso" in page
    assert "Hurto agravado" not in page and "00456-2015" not in page and "Hurto" not in json.dumps(data)


def test_a_forged_qr_gets_one_answer_and_nothing_about_the_genuine_document(api, issued):
    status = issued(user="telegram:8311")
    _revoke(api, status["document_id"], "other")
    forged = f"{api.c.settings.public_base_url}/v/{status['document_id']}#forged.seal.value"
    answer = api.client.http.post("/v1/verify", body=json.dumps({"qr_text": forged}).encode(),
                                  headers={"Content-Type": "application/json"}).json_body
    assert answer == {"offline_check": "invalid", "offline_reason": answer["offline_reason"], "status": "unknown"}


def _form(pdf: bytes, boundary: str = "XyZ123boundary") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + pdf + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_verification_page_has_the_upload_form_its_printed_text_promises(api, issued):
    status = issued(user="telegram:8312")
    page = api.client.http.get(f"/v/{status['document_id']}", headers={"Accept": "text/html"})
    html = page.body.decode()
    assert '<form method="post" action="check" enctype="multipart/form-data">' in html
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    pdf = api.get(f"/v1/certificate-requests/{status['request_id']}/document",
                  headers={**api.channel_headers("telegram:8312"), "Accept": "application/pdf"}).body
    assert pdf.startswith(b"%PDF-")
    body, content_type = _form(pdf)
    result = api.client.http.post("/v/check", body=body, headers={"Content-Type": content_type})
    assert result.status_code == 200, result.body.decode()[-700:]
    text = result.body.decode()
    assert 'id="verdict" data-status="authentic"' in text and 'data-status="valid"' in text
    tampered = pdf[:3000] + bytes([pdf[3000] ^ 1]) + pdf[3001:]
    body, content_type = _form(tampered)
    text = api.client.http.post("/v/check", body=body, headers={"Content-Type": content_type}).body.decode()
    assert 'data-status="altered"' in text or 'data-status="not_ours"' in text
    body, content_type = _form(b"hello, not a pdf")
    refused = api.client.http.post("/v/check", body=body, headers={"Content-Type": content_type})
    assert refused.status_code == 400 and "no es un PDF" in refused.body.decode()
    assert api.client.http.get("/v/check").status_code == 200

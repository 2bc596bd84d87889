"""The partner API (issue 14, item 7): Migraciones' machine credentials, its requests for the foreigners it
identified (one or a batch), payment by its agreement, its requests and PDFs only, and every action audited.
On DynamoDB Local, through the app's real HTTP handling."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.domain.partners import SCOPE_READ, SCOPE_REQUEST
from tests.factories import LUIS_CE
from tests.integration.conftest import Api

pytestmark = pytest.mark.usefixtures("fresh_partner_quotas")

WAIVED, PAYING = "migraciones", "consulado"
SECRET, OLD_SECRET, PAYING_SECRET = "migraciones-secret-new-0001", "migraciones-secret-old-0001", "consulado-secret-01"
PTP_PERSON = {"nationality": "VEN", "document_type": "PTP", "document_number": "123456789",
              "given_names": "María Gabriela", "first_surname": "Rondón", "second_surname": "Páez",
              "birth_date": "1995-06-18"}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Two partners: Migraciones with a fee waiver, mid-rotation (two secrets valid), and one paying the fee."""
    return replace(settings, partners={
        WAIVED: {"secrets": [SECRET, OLD_SECRET], "fee_waived": True},
        PAYING: {"secrets": [PAYING_SECRET], "fee_waived": False, "scopes": [SCOPE_REQUEST, SCOPE_READ]}})


def token(api: Api, client_id: str = WAIVED, secret: str = SECRET, scope: str | None = None,
          basic: bool = True) -> Any:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    else:
        form.update(client_id=client_id, client_secret=secret)
    return api.client.http.post("/oauth2/token", headers=headers, body=urlencode(form).encode())


def bearer(api: Api, client_id: str = WAIVED, secret: str = SECRET, scope: str | None = None,
           key: str | None = None) -> dict[str, str]:
    answer = token(api, client_id, secret, scope)
    assert answer.status_code == 200, answer.body
    return {"Authorization": f"Bearer {answer.json_body['access_token']}", "Content-Type": "application/json",
            **({"Idempotency-Key": key} if key else {})}


def item(person: dict[str, Any] | None = None, reference: str = "MIG-2026-0001") -> dict[str, Any]:
    return {"applicant": person or LUIS_CE, "partner_reference": reference, "language": "es"}


def assert_error(answer: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.body
    error = answer.json_body["error"]
    assert error["code"] == code and error["request_id"] == answer.headers["X-Request-Id"], error
    if field is not None:
        assert error.get("field") == field, error
    return dict(error)


# --- credentials ----------------------------------------------------------------------------------------------

def test_client_credentials_give_a_scoped_token_by_basic_or_form(api: Api) -> None:
    answer = token(api)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json_body["token_type"] == "Bearer" and answer.json_body["expires_in"] == 3600
    assert answer.json_body["scope"] == "certificates/read certificates/request"
    narrowed = token(api, scope=SCOPE_READ, basic=False)
    assert narrowed.status_code == 200 and narrowed.json_body["scope"] == SCOPE_READ


def test_during_a_rotation_both_secrets_are_valid_and_nothing_else(api: Api) -> None:
    assert token(api, secret=OLD_SECRET).status_code == 200
    assert token(api, secret=SECRET).status_code == 200
    for client_id, secret in ((WAIVED, "wrong-secret-wrong"), (WAIVED, SECRET[:-1]), ("nobody", SECRET),
                              (PAYING, SECRET), (WAIVED, "")):
        error = assert_error(token(api, client_id, secret, basic=bool(secret)), 401, "invalid_client")
        assert "secret" in error["message"]


def test_a_token_request_that_is_not_client_credentials_or_asks_too_much_is_refused(api: Api) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    issued_before = len(api.c.audit.entries_for_target(WAIVED, 1000))
    wrong_grant = api.client.http.post("/oauth2/token", headers=headers,
                                       body=b"grant_type=password&client_id=migraciones&client_secret=x")
    assert_error(wrong_grant, 422, "unsupported_grant_type", "grant_type")
    assert_error(token(api, scope="certificates/request admin/everything"), 422, "invalid_scope", "scope")
    garbled = api.client.http.post("/oauth2/token", headers={**headers, "Authorization": "Basic ***"},
                                   body=b"grant_type=client_credentials")
    assert_error(garbled, 401, "invalid_client")
    # A refused client gets no token (and no "token issued" entry); a granted one is audited.
    assert len(api.c.audit.entries_for_target(WAIVED, 1000)) == issued_before
    assert token(api).status_code == 200
    assert len(api.c.audit.entries_for_target(WAIVED, 1000)) == issued_before + 1


def test_wrong_scope_expired_token_and_the_other_kind_of_token_are_each_refused(api: Api) -> None:
    read_only = bearer(api, scope=SCOPE_READ, key="k-scope")
    answer = api.post("/v1/partner/certificate-requests", item(), headers=read_only)
    assert_error(answer, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    request_only = bearer(api, scope=SCOPE_REQUEST)
    assert_error(api.get("/v1/partner/certificate-requests/" + "r" * 22, headers=request_only), 403,
                 "insufficient_scope")

    partners = api.c.partners
    expired = partners.issue(partners.partners[WAIVED], ttl_seconds=-120)
    answer = api.get("/v1/partner/certificate-requests/" + "r" * 22,
                     headers={"Authorization": f"Bearer {expired}"})
    assert_error(answer, 401, "token_expired")
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]

    # An operator's token on a partner route, and a partner's on an operator route.
    operator = api.operator_headers("admin")
    assert_error(api.get("/v1/partner/certificate-requests/" + "r" * 22, headers=operator), 401, "invalid_token")
    assert_error(api.get("/v1/admin/audit?day=2026-11-20", headers=bearer(api)), 401, "invalid_token")
    # A channel key is no partner credential either.
    assert_error(api.get("/v1/partner/certificate-requests/" + "r" * 22, headers=api.channel_headers()), 401,
                 "invalid_token")
    # A forged token: a partner's claims signed with another key.
    import jwt

    claims = jwt.decode(bearer(api)["Authorization"][7:], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-issuers-key-not-the-issuers-key", algorithm="HS256")
    assert_error(api.get("/v1/partner/certificate-requests/" + "r" * 22,
                         headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")


# --- requests -------------------------------------------------------------------------------------------------

def test_a_waived_request_goes_from_the_partners_identification_to_an_issued_pdf(api: Api) -> None:
    headers = bearer(api, key="mig-0001")
    answer = api.post("/v1/partner/certificate-requests", item(), headers=headers)
    assert answer.status_code == 201, answer.body
    created = answer.json_body
    assert answer.headers["Location"] == f"/v1/partner/certificate-requests/{created['request_id']}"
    assert created["status"] == "paid" and created["identity_proof"] == f"partner:{WAIVED}"
    assert created["receipt"]["waived"] is True and created["payment"] is None
    assert created["partner_reference"] == "MIG-2026-0001"
    assert created["applicant"]["document_number"] != LUIS_CE["document_number"]  # masked

    api.run_worker()  # record check -> issue, as the stream consumer does
    status = api.get(f"/v1/partner/certificate-requests/{created['request_id']}", headers=headers)
    assert status.status_code == 200 and status.json_body["status"] == "issued", status.body
    pdf = api.client.http.get(f"/v1/partner/certificate-requests/{created['request_id']}/pdf",
                              headers={**headers, "Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.body.startswith(b"%PDF-") and b"/ByteRange" in pdf.body
    document_id = status.json_body["document_id"]
    assert api.c.store.get_document(document_id).sha256 == hashlib.sha256(pdf.body).hexdigest()
    verdict = api.client.http.get(f"/v/{document_id}", headers={"Accept": "application/json"})
    assert verdict.json_body["status"] == "valid"

    actions = [(e.actor, e.role, e.action) for e in api.c.audit.entries_for_target(created["request_id"], 20)]
    assert (f"partner:{WAIVED}", "partner", "partner.request_created") in actions
    assert (f"partner:{WAIVED}", "partner", "partner.request_read") in actions
    assert (f"partner:{WAIVED}", "partner", "partner.document_fetched") in actions


def test_a_partner_without_a_waiver_gets_the_normal_payment_order(api: Api) -> None:
    headers = bearer(api, PAYING, PAYING_SECRET, key="cons-1")
    answer = api.post("/v1/partner/certificate-requests", item(PTP_PERSON, "C-77"), headers=headers)
    assert answer.status_code == 201, answer.body
    payment = answer.json_body["payment"]
    assert answer.json_body["status"] == "awaiting_payment"
    assert payment["amount"] == "37.70" and payment["currency"] == "PEN" and payment["status"] == "open"
    paid = api.webhook({"payment_id": "PAY-PARTNER-1", "order_code": payment["order_code"],
                        "amount": payment["amount"], "currency": payment["currency"]})
    assert paid.status_code == 200, paid.body
    status = api.get(f"/v1/partner/certificate-requests/{answer.json_body['request_id']}", headers=headers)
    assert status.json_body["status"] == "paid"


def test_the_same_idempotency_key_makes_one_request_another_body_is_refused_and_the_key_is_required(
        api: Api) -> None:
    headers = bearer(api, key="mig-dup")
    first = api.post("/v1/partner/certificate-requests", item(), headers=headers)
    again = api.post("/v1/partner/certificate-requests", item(), headers={**bearer(api), "Idempotency-Key": "mig-dup"})
    assert first.status_code == 201 and again.json_body["request_id"] == first.json_body["request_id"]
    other = api.post("/v1/partner/certificate-requests", item(reference="MIG-OTHER"), headers=headers)
    assert_error(other, 422, "idempotency_key_reused", "Idempotency-Key")
    assert_error(api.post("/v1/partner/certificate-requests", item(), headers=bearer(api)), 422,
                 "missing_idempotency_key", "Idempotency-Key")
    # Another partner's same key is its own.
    theirs = api.post("/v1/partner/certificate-requests", item(),
                      headers=bearer(api, PAYING, PAYING_SECRET, key="mig-dup"))
    assert theirs.status_code == 201 and theirs.json_body["request_id"] != first.json_body["request_id"]


def test_a_partner_reads_only_its_own_requests(api: Api) -> None:
    mine = api.post("/v1/partner/certificate-requests", item(), headers=bearer(api, key="own-1")).json_body
    theirs = bearer(api, PAYING, PAYING_SECRET)
    assert_error(api.get(f"/v1/partner/certificate-requests/{mine['request_id']}", headers=theirs), 404,
                 "not_found")
    assert_error(api.client.http.get(f"/v1/partner/certificate-requests/{mine['request_id']}/pdf",
                                     headers={**theirs, "Accept": "application/pdf"}), 404, "not_found")
    # A citizen's request is no partner's either, and a partner's no channel user's.
    citizen = api.created()
    assert_error(api.get(f"/v1/partner/certificate-requests/{citizen['request_id']}", headers=bearer(api)), 404,
                 "not_found")
    assert api.get(f"/v1/certificate-requests/{mine['request_id']}").status_code == 404
    # Not issued yet: no PDF.
    not_issued = api.client.http.get(f"/v1/partner/certificate-requests/{mine['request_id']}/pdf",
                                     headers={**bearer(api), "Accept": "application/pdf"})
    assert not_issued.status_code == 400 and not_issued.json_body["error"]["code"] == "not_issued"


def test_bad_partner_bodies_name_their_field(api: Api) -> None:
    headers = bearer(api, key="bad-1")
    peruvian = {**LUIS_CE, "nationality": "PER", "document_type": "DNI", "document_number": "45678912"}
    cases = [({**item(), "extra": 1}, "extra", "unknown_field"),
             ({"applicant": LUIS_CE, "partner_reference": ""}, "partner_reference", None),
             (item(peruvian), "applicant.document_type", "not_a_foreign_document"),
             (item({**LUIS_CE, "birth_date": "2999-01-01"}), "applicant.birth_date", None),
             (item({k: v for k, v in LUIS_CE.items() if k != "first_surname"}), "applicant.first_surname",
              "missing_field")]
    for n, (body, field, code) in enumerate(cases):
        answer = api.post("/v1/partner/certificate-requests", body, headers={**headers, "Idempotency-Key": f"b{n}"})
        assert answer.status_code in (400, 422), answer.body
        error = answer.json_body["error"]
        assert error["field"] == field and (code is None or error["code"] == code), error
        assert LUIS_CE["document_number"] not in answer.body.decode()  # personal data never echoed


# --- batches --------------------------------------------------------------------------------------------------

def test_a_batch_is_answered_by_position_and_is_idempotent(api: Api) -> None:
    people = [item(LUIS_CE, "B-1"), item(PTP_PERSON, "B-2"), item(LUIS_CE, "B-3")]
    headers = bearer(api, key="batch-1")
    answer = api.post("/v1/partner/certificate-request-batches", {"items": people}, headers=headers)
    assert answer.status_code == 201, answer.body
    items = answer.json_body["items"]
    assert [i["index"] for i in items] == [0, 1, 2] and all(i["created"] for i in items)
    assert [i["request"]["partner_reference"] for i in items] == ["B-1", "B-2", "B-3"]
    assert len({i["request"]["request_id"] for i in items}) == 3
    replay = api.post("/v1/partner/certificate-request-batches", {"items": people},
                      headers={**bearer(api), "Idempotency-Key": "batch-1"})
    assert [i["request"]["request_id"] for i in replay.json_body["items"]] == \
        [i["request"]["request_id"] for i in items]
    batch_entries = [e for i in items for e in api.c.audit.entries_for_target(i["request"]["request_id"], 5)
                     if e.action == "partner.request_created"]
    assert len(batch_entries) == 3 and all(e.details.get("batch") == "batch-1" for e in batch_entries)


def test_a_batch_with_one_bad_item_makes_nothing_and_names_every_fault(api: Api) -> None:
    counter = f"certificate-{api.c.clock.now().year}"  # the request numbers' sequence
    before = api.c.store.next_number(counter)
    bad = [item(LUIS_CE, "OK-1"), item({**LUIS_CE, "document_type": "XX"}, "BAD-2"), {"applicant": LUIS_CE}]
    answer = api.post("/v1/partner/certificate-request-batches", {"items": bad}, headers=bearer(api, key="bb-1"))
    error = assert_error(answer, 422, "invalid_batch", "items[1].applicant.document_type")
    faults = error["details"]["items"]
    assert {f["index"] for f in faults} == {1, 2}
    assert any(f["index"] == 2 and f["field"] == "partner_reference" for f in faults)
    assert api.c.store.next_number(counter) == before + 1  # no request numbered in between: nothing was made
    # Too many, or none.
    too_many = {"items": [item(LUIS_CE, f"M-{n}") for n in range(51)]}
    assert api.post("/v1/partner/certificate-request-batches", too_many,
                    headers=bearer(api, key="bb-2")).status_code == 422
    assert api.post("/v1/partner/certificate-request-batches", {"items": []},
                    headers=bearer(api, key="bb-3")).status_code == 422
    assert json.loads(answer.body)["error"]["message"].endswith("Nothing was created.")


# --- quotas ---------------------------------------------------------------------------------------------------

def test_a_partner_over_its_quota_gets_429_with_retry_after_and_others_are_untouched(api: Api) -> None:
    api.c.partners.partners[WAIVED] = replace(api.c.partners.partners[WAIVED], per_minute=3, per_day=1000)
    headers = bearer(api)
    url = "/v1/partner/certificate-requests/" + "q" * 22
    assert [api.get(url, headers=headers).status_code for _ in range(3)] == [404, 404, 404]
    over = api.get(url, headers=headers)
    error = assert_error(over, 429, "quota_exceeded")
    assert error["details"]["window"] == "minute" and error["details"]["limit"] == 3
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert api.get(url, headers=bearer(api, PAYING, PAYING_SECRET)).status_code == 404  # its own quota
    api.c.clock.advance(seconds=61)  # the next minute
    assert api.get(url, headers=headers).status_code == 404


def test_the_daily_quota_holds_across_minutes(api: Api) -> None:
    api.c.partners.partners[PAYING] = replace(api.c.partners.partners[PAYING], per_minute=100, per_day=2)
    headers = bearer(api, PAYING, PAYING_SECRET)
    url = "/v1/partner/certificate-requests/" + "d" * 22
    assert api.get(url, headers=headers).status_code == 404
    api.c.clock.advance(seconds=120)
    assert api.get(url, headers=headers).status_code == 404
    api.c.clock.advance(seconds=120)
    error = assert_error(api.get(url, headers=headers), 429, "quota_exceeded")
    assert error["details"]["window"] == "day"


def test_the_quota_is_one_count_for_every_process_that_serves_the_api(api: Api) -> None:
    """Two limiters stand for two API processes (or Lambda containers) on the same tables: a per-process count
    would let each take the whole quota; the shared one lets 5 calls through in all, even when 20 race for them."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.adapters.dynamo_partners import DynamoQuotaWindows
    from chalicelib.services.partner_quota import QuotaExceeded, QuotaLimiter

    settings = api.c.settings
    processes = [QuotaLimiter(DynamoQuotaWindows(settings.aws_region, settings.dynamodb_endpoint)) for _ in range(2)]
    partner = replace(api.c.partners.partners[WAIVED], per_minute=5, per_day=1000)
    now = api.c.clock.now()

    def call(n: int) -> bool:
        try:
            processes[n % 2].take(partner, now)
            return True
        except QuotaExceeded:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        passed = list(pool.map(call, range(20)))
    assert sum(passed) == 5


def test_a_refusal_by_one_window_counts_nothing_in_the_other(api: Api) -> None:
    from chalicelib.adapters import dynamo_models as m

    api.c.partners.partners[PAYING] = replace(api.c.partners.partners[PAYING], per_minute=100, per_day=2)
    headers = bearer(api, PAYING, PAYING_SECRET)
    url = "/v1/partner/certificate-requests/" + "w" * 22
    assert [api.get(url, headers=headers).status_code for _ in range(2)] == [404, 404]
    assert_error(api.get(url, headers=headers), 429, "quota_exceeded")
    epoch = int(api.c.clock.now().timestamp())
    minute = m.PartnerQuotaModel.get(f"{PAYING}#minute#{epoch - epoch % 60}", consistent_read=True)
    assert int(minute.calls) == 2  # the refused third call took nothing from the minute either


def test_each_request_of_a_batch_counts_against_the_quota(api: Api) -> None:
    api.c.partners.partners[WAIVED] = replace(api.c.partners.partners[WAIVED], per_minute=6, per_day=1000)
    batch = {"items": [item(LUIS_CE, f"Q-{n}") for n in range(4)]}
    first = api.post("/v1/partner/certificate-request-batches", batch, headers=bearer(api, key="qb-1"))
    assert first.status_code == 201, first.body
    again = {"items": [item(LUIS_CE, f"R-{n}") for n in range(3)]}  # 4 taken; 3 more do not fit in 6
    error = assert_error(api.post("/v1/partner/certificate-request-batches", again,
                                  headers=bearer(api, key="qb-2")), 429, "quota_exceeded")
    assert error["details"]["window"] == "minute"
    api.c.clock.advance(seconds=61)
    too_big = {"items": [item(LUIS_CE, f"S-{n}") for n in range(7)]}  # never fits, whatever the wait
    assert_error(api.post("/v1/partner/certificate-request-batches", too_big, headers=bearer(api, key="qb-3")),
                 422, "over_quota", "items")
    # The same Idempotency-Key once the minute has passed: a 429 was a "not now", so the retry runs (and the
    # refused batch had created nothing).
    retried = api.post("/v1/partner/certificate-request-batches", again, headers=bearer(api, key="qb-2"))
    assert retried.status_code == 201 and all(a["created"] for a in retried.json_body["items"])

"""The HTTP contract every route shares: one error shape (the framework's errors too), the standard headers, a
request id in X-Request-Id and in the logs, and hostile input refused before use with its own error code."""

from __future__ import annotations

import io
import json
import logging

from chalicelib import logs
from chalicelib.domain.payments import sign_webhook
from chalicelib.settings import DEV_WEBHOOK_SECRET
from tests.factories import request_body


def _shape(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.body
    error = answer.json_body["error"]
    assert error["code"] == code
    assert set(error) <= {"code", "message", "field", "request_id", "details"}
    assert error["message"]
    assert error["request_id"] == answer.headers["X-Request-Id"]
    return dict(error)


def test_framework_errors_come_in_the_one_shape(api):
    _shape(api.client.http.request("DELETE", "/health", headers={}), 405, "method_not_allowed")
    wrong_type = api.post("/v1/certificate-requests", raw=b"x",
                          headers={**api.channel_headers(), "Content-Type": "text/plain"})
    assert _shape(wrong_type, 415, "unsupported_media_type")["field"] == "Content-Type"


def test_every_answer_has_a_request_id_and_errors_repeat_it(api):
    ok = api.client.http.get("/health")
    assert len(ok.headers["X-Request-Id"]) >= 16
    other = api.client.http.get("/health")
    assert other.headers["X-Request-Id"] != ok.headers["X-Request-Id"]


def test_the_request_id_of_a_refused_request_is_the_one_in_the_logs(api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("api")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        answer = api.post("/v1/certificate-requests", {"terms_accepted": False})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    rid = _shape(answer, 422, "terms_not_accepted")["request_id"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line.get("request_id") == rid and line["message"] == "request refused" for line in lines)


def test_401_says_how_to_authenticate_and_201_where_the_resource_is(api):
    missing = api.client.http.get("/v1/certificate-requests/abc", headers={})
    _shape(missing, 401, "unauthenticated")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer realm=")
    forged = api.get("/v1/certificate-requests/abc", headers={"Authorization": "Bearer not-a-key",
                                                               "X-Channel-User": "telegram:1"})
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    created = api.post("/v1/certificate-requests", request_body())
    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/certificate-requests/{created.json_body['request_id']}"


def test_json_nested_thousands_deep_is_refused_before_parsing(api):
    deep = b"[" * 5000 + b"]" * 5000
    _shape(api.post("/v1/certificate-requests", raw=deep), 400, "too_deep")
    inside_a_string = json.dumps({"terms_accepted": False, "x": "[" * 5000}).encode()
    # Brackets inside a string are text, not nesting: this body is read (and refused for what it says).
    assert api.post("/v1/certificate-requests", raw=inside_a_string).json_body["error"]["code"] != "too_deep"


def test_a_csv_that_is_not_utf8_is_refused_naming_the_file(api):
    headers = {**api.operator_headers("admin"), "Content-Type": "text/csv"}
    answer = api.client.http.post("/v1/admin/registries/identity/jobs", headers=headers,
                                  body=b"dni,name\n12345678,Jos\xe9\n")
    assert _shape(answer, 422, "not_utf8")["field"] == "file"
    court = {**api.operator_headers("court"), "Content-Type": "text/csv"}
    answer = api.client.http.post("/v1/court/measures/import", headers=court, body=b"\xff\xfe\x00garbage")
    assert _shape(answer, 422, "not_utf8")["field"] == "file"


def test_a_signature_header_with_non_ascii_characters_is_a_bad_signature_not_a_crash(api):
    body = json.dumps({"payment_id": "P", "order_code": "O", "amount": "1", "currency": "PEN"}).encode()
    good = sign_webhook(DEV_WEBHOOK_SECRET, 1_700_000_000, body)
    for header in (good.replace("v1=", "v1=é"), "t=１２３,v1=ab", "t=99999999999999999999999,v1=ab"):
        answer = api.client.http.post("/v1/webhooks/payments/local", body=body,
                                      headers={"Content-Type": "application/json", "X-Signature": header})
        assert answer.status_code == 401, header
        assert answer.json_body["error"]["code"] == "bad_signature"


def test_a_path_parameter_far_longer_than_any_id_is_not_found(api):
    _shape(api.get("/v1/certificate-requests/" + "a" * 5000), 404, "not_found")


def test_a_number_in_other_digits_is_refused_naming_the_parameter(api):
    answer = api.client.http.get("/v1/admin/review-queue?limit=%EF%BC%95", headers=api.operator_headers("reviewer"))
    assert _shape(answer, 422, "invalid_field")["field"] == "limit"


def test_cors_only_on_the_public_read_endpoints(api):
    browser = {"Origin": "https://verifier.example.org", "Accept": "application/json"}
    for path in ("/.well-known/jwks.json", "/.well-known/ca.pem", "/v/" + "A" * 22):
        answer = api.client.http.get(path, headers=browser)
        assert answer.headers["Access-Control-Allow-Origin"] == "*", path
        assert "X-Request-Id" in answer.headers["Access-Control-Expose-Headers"]
    verdict = api.client.http.get("/v/" + "A" * 22, headers=browser)
    assert verdict.status_code == 404 and verdict.headers["Vary"] == "Accept"
    channel = api.get("/v1/certificate-requests/" + "A" * 22, headers={**api.channel_headers(), **browser})
    webhook = api.client.http.post("/v1/webhooks/payments/local", body=b"{}",
                                   headers={"Content-Type": "application/json", **browser})
    console = api.client.http.get("/console/login", headers=browser)
    for answer in (channel, webhook, console, api.client.http.get("/health", headers=browser)):
        assert not any(name.lower().startswith("access-control-") for name in answer.headers)


def test_during_a_channel_key_rotation_both_keys_work_and_then_only_the_new_one(api):
    import dataclasses

    from chalicelib.settings import DEV_CHANNEL_KEY

    settings = api.c.settings
    created = api.created()
    path = f"/v1/certificate-requests/{created['request_id']}"
    new = {**api.channel_headers(), "Authorization": "Bearer rotated-key"}
    try:
        api.c.settings = dataclasses.replace(settings, channel_keys={"telegram": "rotated-key"},
                                             previous_channel_keys={"telegram": DEV_CHANNEL_KEY})
        assert api.get(path, headers=new).status_code == 200
        assert api.get(path).status_code == 200  # the previous key, still valid during the rollover
        api.c.settings = dataclasses.replace(settings, channel_keys={"telegram": "rotated-key"})
        assert api.get(path, headers=new).status_code == 200
        assert _shape(api.get(path), 401, "invalid_channel_key")
    finally:
        api.c.settings = settings

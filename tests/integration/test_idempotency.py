"""Idempotency-Key on every unsafe POST a client may retry: the same key and body answer the first answer again
(nothing is done twice), the same key with another body is a 422, and the key is the caller's own."""

from __future__ import annotations

from tests.factories import request_body
from tests.integration.control_support import measure_body, person


def _court(api, key: str, **extra: str) -> dict[str, str]:
    return {**api.operator_headers("court", subject="judge-idem"), "Idempotency-Key": key, **extra}


def test_a_retried_court_measure_is_created_once_and_answered_again(api):
    body = measure_body(person())
    first = api.post("/v1/court/measures", body, headers=_court(api, "measure-1"))
    again = api.post("/v1/court/measures", body, headers=_court(api, "measure-1"))
    assert first.status_code == 201, first.body
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json_body == first.json_body
    assert again.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    fresh = api.post("/v1/court/measures", measure_body(person()), headers=_court(api, "measure-2"))
    assert fresh.status_code == 201 and fresh.json_body["measure_id"] != first.json_body["measure_id"]


def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(api):
    first = api.post("/v1/court/measures", measure_body(person()), headers=_court(api, "measure-3"))
    assert first.status_code == 201, first.body
    other = api.post("/v1/court/measures", measure_body(person()), headers=_court(api, "measure-3"))
    assert other.status_code == 422
    assert other.json_body["error"]["code"] == "idempotency_key_reused"
    assert other.json_body["error"]["field"] == "Idempotency-Key"
    created = api.post("/v1/certificate-requests", request_body(),
                       headers=api.channel_headers(**{"Idempotency-Key": "req-1"}))
    changed = api.post("/v1/certificate-requests", {**request_body(), "language": "en"},
                       headers=api.channel_headers(**{"Idempotency-Key": "req-1"}))
    assert created.status_code == 201 and changed.status_code == 422


def test_a_key_is_the_callers_own(api):
    """Another operator with the same key runs its own call: no one reads an answer back with a guessed key."""
    body = measure_body(person())
    mine = api.post("/v1/court/measures", body, headers=_court(api, "shared-key"))
    theirs_headers = {**api.operator_headers("court", subject="judge-other"), "Idempotency-Key": "shared-key"}
    theirs = api.post("/v1/court/measures", measure_body(person()), headers=theirs_headers)
    assert mine.status_code == 201 and theirs.status_code == 201
    assert theirs.json_body["measure_id"] != mine.json_body["measure_id"]


def test_a_retried_import_runs_once(api):
    csv = b"dni,given_names\n"  # refused by the importer for its columns, but answered once and then replayed
    headers = {**api.operator_headers("admin"), "Content-Type": "text/csv", "Idempotency-Key": "import-1"}
    first = api.client.http.post("/v1/admin/registries/identity/jobs", headers=headers, body=csv)
    again = api.client.http.post("/v1/admin/registries/identity/jobs", headers=headers, body=csv)
    assert first.status_code < 500
    assert again.status_code == first.status_code and again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_that_is_not_printable_ascii_is_refused_naming_the_header(api):
    for key in ("x" * 129, "ключ"):
        answer = api.post("/v1/court/measures", measure_body(person()), headers=_court(api, key))
        assert answer.status_code == 422
        assert answer.json_body["error"]["field"] == "Idempotency-Key"

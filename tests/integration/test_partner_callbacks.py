"""Signed partner callbacks (issue 14, item 7): a partner's request changing status is POSTed to its callback URL,
signed as the payment provider's webhooks are; a redelivered event sends one callback; a receiver that is down gets
every try, then the callback waits in the dead-letter list an administrator reads and resends. Real HTTP receivers
on 127.0.0.1, DynamoDB Local, the real outbox worker."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.domain.payments import BadSignature, verify_webhook_signature
from tests.conftest import free_port
from tests.factories import LUIS_CE
from tests.integration.conftest import Api

pytestmark = pytest.mark.usefixtures("fresh_partner_quotas")

SECRET, CALLBACK_SECRET = "migraciones-secret-0001", "migraciones-callback-secret"


class Receiver:
    """A partner's callback endpoint: it checks every signature and keeps what it accepted."""

    def __init__(self, port: int) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify_webhook_signature(CALLBACK_SECRET, self.headers["X-Signature"], body, time.time(), 300)
                except BadSignature:
                    outer.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                parsed = json.loads(body)
                assert parsed["event_id"] == self.headers["X-Event-Id"]
                outer.received.append(parsed)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, port):  # type: ignore[no-untyped-def]
    partner = {"secrets": [SECRET], "fee_waived": True, "callback_url": f"http://127.0.0.1:{port}/callbacks",
               "callback_secret": CALLBACK_SECRET}
    return replace(settings, partners={"migraciones": partner}, partner_callback_attempts=3,
                   partner_callback_backoff_seconds=0.01)


def submit(api: Api, key: str, reference: str = "MIG-CB-1") -> dict[str, Any]:
    partners = api.c.partners
    token = partners.issue(partners.partners["migraciones"])
    answer = api.post("/v1/partner/certificate-requests",
                      {"applicant": LUIS_CE, "partner_reference": reference},
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                               "Idempotency-Key": key})
    assert answer.status_code == 201, answer.body
    return dict(answer.json_body)


def test_each_status_change_reaches_the_partner_signed_and_once(api: Api, port: int) -> None:
    receiver = Receiver(port)
    try:
        created = submit(api, "cb-1")
        api.run_worker()
        mine = [r for r in receiver.received if r["request"]["request_id"] == created["request_id"]]
        assert [r["type"] for r in mine] == ["request.paid", "request.issued"], mine
        issued = mine[-1]["request"]
        assert issued["status"] == "issued" and issued["partner_reference"] == "MIG-CB-1"
        assert issued["pdf_url"].endswith(f"/v1/partner/certificate-requests/{created['request_id']}/pdf")
        assert LUIS_CE["document_number"] not in json.dumps(mine) and "Luis" not in json.dumps(mine)
        assert receiver.refused == 0

        # The same events delivered again (the stream redelivers): no second callback.
        from datetime import datetime

        from chalicelib.adapters.dynamo_models import OutboxModel
        from chalicelib.domain.requests import Event
        from chalicelib.handlers import NOTICES, dispatch

        events = [Event(e.event_id, e.name, e.aggregate_id, datetime.fromisoformat(e.occurred_at), e.data)
                  for e in OutboxModel.query(created["request_id"])
                  if e.name in ("request.paid", "request.issued")]
        assert len(events) == 2
        for event in events:
            dispatch(event, api.c, NOTICES)
        assert len([r for r in receiver.received if r["request"]["request_id"] == created["request_id"]]) == 2
    finally:
        receiver.stop()


def _retry_until_settled(api: Api) -> None:
    """The scheduled retry job, run as its minute ticks pass."""
    from chalicelib.handlers.partner_callbacks import retry

    for _ in range(5):
        api.c.clock.advance(seconds=60)
        retry(api.c)


def _held(api: Api, request_id: str) -> list[Any]:
    return [h for h in api.c.held_callbacks.due("9999", 500) if h.request_id == request_id]


def test_a_receiver_that_is_down_gets_every_try_then_a_dead_letter_an_admin_resends(api: Api, port: int) -> None:
    created = submit(api, "cb-down")  # nothing listens on the port
    api.run_worker()
    # The notices consumer tried once and went on: the callbacks wait, held, for the retry job.
    held = _held(api, created["request_id"])
    assert {h.event_name for h in held} == {"request.paid", "request.issued"}
    assert all(h.attempts == 1 and h.last_error.startswith("unreachable") for h in held)
    _retry_until_settled(api)
    assert _held(api, created["request_id"]) == []
    admin = api.operator_headers("admin")
    listed = api.get("/v1/admin/partner-callbacks/dead?limit=200", headers=admin)
    assert listed.status_code == 200, listed.body
    dead = [d for d in listed.json_body["items"] if d["request_id"] == created["request_id"]]
    assert {d["type"] for d in dead} == {"request.paid", "request.issued"}
    assert all(d["attempts"] == 3 and d["last_error"].startswith("unreachable") for d in dead)
    assert api.get("/v1/admin/partner-callbacks/dead", headers=api.operator_headers("reviewer")).status_code == 403

    # Still down: the resend fails and the letter stays.
    first = dead[0]["event_id"]
    failed = api.post(f"/v1/admin/partner-callbacks/dead/{first}/resend", {}, headers=admin)
    assert failed.status_code == 503 and failed.json_body["error"]["code"] == "callback_failed"

    receiver = Receiver(port)  # the partner is back
    try:
        for letter in dead:
            answer = api.post(f"/v1/admin/partner-callbacks/dead/{letter['event_id']}/resend", {},
                              headers={**admin, "Idempotency-Key": f"resend-{letter['event_id']}"})
            assert answer.status_code == 200 and answer.json_body["delivered"] is True, answer.body
        assert sorted(r["event_id"] for r in receiver.received) == sorted(d["event_id"] for d in dead)
        assert receiver.refused == 0
        after = api.get("/v1/admin/partner-callbacks/dead?limit=200", headers=admin).json_body["items"]
        assert not [d for d in after if d["request_id"] == created["request_id"]]  # nothing lost, nothing left
        assert api.post(f"/v1/admin/partner-callbacks/dead/{first}/resend", {}, headers=admin).status_code == 404
    finally:
        receiver.stop()
    resent = [e for e in api.c.audit.entries_for_target(created["request_id"], 20)
              if e.action == "partner.callback_resent"]
    assert [e.details["delivered"] for e in resent].count(True) == 2


def test_a_partner_back_between_tries_gets_the_held_callbacks_once_and_nothing_is_dead(api: Api, port: int) -> None:
    from chalicelib.handlers.partner_callbacks import retry

    created = submit(api, "cb-back")  # down at first
    api.run_worker()
    held = _held(api, created["request_id"])
    assert len(held) == 2
    # Another runner of the job has just claimed one: this run leaves it alone (never sent twice).
    api.c.clock.advance(seconds=60)
    assert api.c.held_callbacks.claim(held[0], (api.c.clock.now() + timedelta(minutes=5)).isoformat())
    receiver = Receiver(port)  # the partner is back
    try:
        assert retry(api.c) == {"delivered": 1, "held": 0, "dead": 0}
        assert retry(api.c) == {"delivered": 0, "held": 0, "dead": 0}  # the claimed one is not due yet
        api.c.clock.advance(minutes=6)  # its runner died: the lease ran out, so it is tried again
        assert retry(api.c) == {"delivered": 1, "held": 0, "dead": 0}
        mine = [r for r in receiver.received if r["request"]["request_id"] == created["request_id"]]
        assert sorted(r["type"] for r in mine) == ["request.issued", "request.paid"] and receiver.refused == 0
    finally:
        receiver.stop()
    assert _held(api, created["request_id"]) == []
    dead = api.get("/v1/admin/partner-callbacks/dead?limit=200", headers=api.operator_headers("admin"))
    assert not [d for d in dead.json_body["items"] if d["request_id"] == created["request_id"]]


def test_a_held_callback_whose_partner_lost_its_url_is_dead_lettered_not_lost(api: Api, port: int) -> None:
    from chalicelib.handlers.partner_callbacks import retry

    created = submit(api, "cb-gone")  # down at first
    api.run_worker()
    assert len(_held(api, created["request_id"])) == 2
    partners = api.c.partners.partners
    partners["migraciones"] = replace(partners["migraciones"], callback_url=None)  # the agreement changed
    api.c.clock.advance(seconds=60)
    assert retry(api.c)["dead"] >= 2
    assert _held(api, created["request_id"]) == []
    dead = api.get("/v1/admin/partner-callbacks/dead?limit=200", headers=api.operator_headers("admin")).json_body
    mine = [d for d in dead["items"] if d["request_id"] == created["request_id"]]
    assert {d["type"] for d in mine} == {"request.paid", "request.issued"}
    assert all(d["last_error"] == "no_callback_url" for d in mine)


def test_the_dead_letter_list_pages_with_signed_cursors(api: Api, port: int) -> None:
    from chalicelib.domain.partners import DeadCallback

    for n in range(5):
        api.c.dead_callbacks.add(DeadCallback(f"page-{n:02d}-{port}", "migraciones", "r" * 22, "request.paid", "{}",
                                              3, "unreachable:URLError", "2026-11-20T10:00:00+00:00"))
    admin = api.operator_headers("admin")
    seen: list[str] = []
    url = "/v1/admin/partner-callbacks/dead?limit=2"
    while True:
        page = api.get(url, headers=admin).json_body
        seen.extend(d["event_id"] for d in page["items"])
        if not page["next_cursor"]:
            break
        url = f"/v1/admin/partner-callbacks/dead?limit=2&cursor={page['next_cursor']}"
    assert [s for s in seen if s.endswith(f"-{port}")] == [f"page-{n:02d}-{port}" for n in range(5)]
    assert len(seen) == len(set(seen))
    forged = api.get("/v1/admin/partner-callbacks/dead?cursor=abc.def", headers=admin)
    assert forged.status_code == 422 and forged.json_body["error"]["field"] == "cursor"


def test_end_to_end_credentials_a_batch_signed_callbacks_and_the_pdfs(api: Api, port: int) -> None:
    """The onboarding path: a token from the client credentials, a batch, the callbacks of its issued
    certificates received with valid signatures, and each PDF fetched from the URL the callback gave."""
    import base64
    import hashlib
    from urllib.parse import urlsplit

    from tests.integration.test_partner_api import PTP_PERSON

    receiver = Receiver(port)
    try:
        basic = base64.b64encode(f"migraciones:{SECRET}".encode()).decode()
        granted = api.client.http.post("/oauth2/token", body=b"grant_type=client_credentials", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"})
        headers = {"Authorization": f"Bearer {granted.json_body['access_token']}",
                   "Content-Type": "application/json", "Idempotency-Key": f"e2e-{port}"}
        batch = api.post("/v1/partner/certificate-request-batches", {"items": [
            {"applicant": LUIS_CE, "partner_reference": "E2E-1"},
            {"applicant": PTP_PERSON, "partner_reference": "E2E-2"}]}, headers=headers)
        assert batch.status_code == 201, batch.body
        ids = [i["request"]["request_id"] for i in batch.json_body["items"]]
        api.run_worker()
        issued = {r["request"]["request_id"]: r["request"] for r in receiver.received if r["type"] == "request.issued"}
        assert set(ids) <= set(issued) and receiver.refused == 0
        for request_id in ids:
            pdf = api.client.http.get(urlsplit(issued[request_id]["pdf_url"]).path,
                                      headers={**headers, "Accept": "application/pdf"})
            assert pdf.status_code == 200 and pdf.body.startswith(b"%PDF-")
            document = api.c.store.get_document(issued[request_id]["document_id"])
            assert document.sha256 == hashlib.sha256(pdf.body).hexdigest()
    finally:
        receiver.stop()

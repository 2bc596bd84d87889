"""Receipts and refunds: a payment applied gives a receipt; one that cannot be applied is recorded on its request,
listed for an operator, sent through the provider port and confirmed by the provider's signed webhook."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.domain.payments import sign_webhook
from chalicelib.settings import DEV_WEBHOOK_SECRET


class ProviderRefunds:
    """The provider's refund endpoint over real HTTP: records each refund asked for, once per payment."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.ids: dict[str, str] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                assert self.headers.get("X-Signature", "").startswith("t=")
                provider.asked.append(body)
                refund_id = provider.ids.setdefault(body["payment_id"], f"RF-{len(provider.ids) + 1}")
                data = json.dumps({"refund_id": refund_id}).encode()
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/refunds"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def refunds(api):  # type: ignore[no-untyped-def]
    from chalicelib.adapters.local_payments import LocalPaymentProvider

    provider = ProviderRefunds()
    api.c.provider = LocalPaymentProvider(api.c.settings.payment_pay_url_template, refund_url=provider.url,
                                          secret=DEV_WEBHOOK_SECRET)
    yield provider
    provider.server.shutdown()


def _late_payment(api, user: str) -> tuple[dict[str, Any], str]:  # type: ignore[no-untyped-def]
    """A request whose order was paid twice: the second payment cannot be applied."""
    request = api.paid(user=user)
    payment_id = f"PAY-TWICE-{request['number']}"
    answer = api.webhook({"payment_id": payment_id, "order_code": request["payment"]["order_code"],
                          "amount": "37.70", "currency": "PEN"})
    assert answer.status_code == 409 and answer.json_body["error"]["code"] == "order_already_paid"
    return request, payment_id


def _refund_webhook(api, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    return api.client.http.post("/v1/webhooks/refunds/local", body=body, headers={
        "Content-Type": "application/json", "X-Signature": sign_webhook(DEV_WEBHOOK_SECRET, int(time.time()), body)})


def test_an_applied_payment_gives_the_citizen_a_receipt(api):
    request = api.paid(user="telegram:8101")
    receipt = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:8101").json_body["receipt"]
    assert receipt["amount"] == "37.70" and receipt["currency"] == "PEN"
    assert receipt["operation"] == f"PAY-{request['number']}" and receipt["paid_at"]


def test_a_second_payment_is_recorded_on_the_request_so_its_status_tells_the_truth(api):
    request, payment_id = _late_payment(api, "telegram:8102")
    view = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:8102").json_body
    assert [(r["operation"], r["state"], r["reason"]) for r in view["refunds"]] == [
        (payment_id, "due", "order_already_paid")]
    assert view["receipt"]["operation"] == f"PAY-{request['number']}"  # the first payment is still the applied one


def test_a_payment_after_the_order_expired_is_owed_back_and_the_expired_request_says_so(api):
    from chalicelib.services.certificate_requests import expire_unpaid_orders

    request = api.awaiting_payment(user="telegram:8103")
    api.c.clock.advance(hours=25)
    try:
        assert expire_unpaid_orders(store=api.c.store, clock=api.c.clock) >= 1
        answer = api.webhook({"payment_id": "PAY-LATE-8103", "order_code": request["payment"]["order_code"],
                              "amount": "37.70", "currency": "PEN"})
    finally:
        api.c.clock.advance(hours=-25)
    assert answer.json_body["error"]["code"] == "order_expired"
    view = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:8103").json_body
    assert view["status"] == "expired"
    assert view["refunds"][0]["state"] == "due" and view["refunds"][0]["reason"] == "order_expired"


def test_refunds_are_listed_for_an_operator_and_only_for_one(api):
    request, payment_id = _late_payment(api, "telegram:8104")
    listed = api.client.http.get("/v1/admin/refunds", headers=api.operator_headers("admin")).json_body["items"]
    mine = [r for r in listed if r["payment_id"] == payment_id]
    assert mine and mine[0]["state"] == "due" and mine[0]["amount"] == "37.70"
    assert "applicant" not in json.dumps(mine[0])
    assert api.client.http.get("/v1/admin/refunds", headers=api.operator_headers("reviewer")).status_code == 403
    assert api.client.http.get("/v1/admin/refunds").status_code == 401


def test_an_operator_sends_a_refund_through_the_provider_and_the_provider_confirms_it(api, refunds):
    request, payment_id = _late_payment(api, "telegram:8105")
    sent = api.client.http.post(f"/v1/admin/refunds/local/{payment_id}", headers=api.operator_headers("admin"))
    assert sent.status_code == 200 and sent.json_body["state"] == "requested"
    refund_id = sent.json_body["refund_id"]
    # Pressing again neither asks the provider twice nor changes the refund.
    again = api.client.http.post(f"/v1/admin/refunds/local/{payment_id}", headers=api.operator_headers("admin"))
    assert again.json_body["refund_id"] == refund_id and len(refunds.asked) == 1
    assert refunds.asked[0]["payment_id"] == payment_id and refunds.asked[0]["amount"] == "37.70"
    assert api.client.http.post(f"/v1/admin/refunds/local/{payment_id}",
                                headers=api.operator_headers("auditor")).status_code == 403

    confirmed = _refund_webhook(api, {"refund_id": refund_id, "payment_id": payment_id, "status": "refunded"})
    assert confirmed.status_code == 200 and confirmed.json_body["state"] == "refunded"
    view = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:8105").json_body
    assert view["refunds"][0]["state"] == "refunded"
    listed = api.client.http.get("/v1/admin/refunds", headers=api.operator_headers("admin")).json_body["items"]
    assert payment_id not in [r["payment_id"] for r in listed]
    # By the payment: the session's tests share the audit table, and one day of it holds thousands of entries.
    audit = api.c.audit.entries_for_target(f"local#{payment_id}", 50)
    assert any(e.action == "refund.send" for e in audit)


def test_a_forged_or_unknown_refund_confirmation_changes_nothing(api, refunds):
    _, payment_id = _late_payment(api, "telegram:8106")
    api.client.http.post(f"/v1/admin/refunds/local/{payment_id}", headers=api.operator_headers("admin"))
    body = json.dumps({"refund_id": "RF-1", "payment_id": payment_id, "status": "refunded"}).encode()
    forged = api.client.http.post("/v1/webhooks/refunds/local", body=body, headers={
        "Content-Type": "application/json", "X-Signature": sign_webhook("not-the-secret", int(time.time()), body)})
    assert forged.status_code == 401
    unknown = _refund_webhook(api, {"refund_id": "RF-999", "payment_id": payment_id, "status": "refunded"})
    assert unknown.status_code == 404
    assert api.c.store.get_payment("local", payment_id).refund_state == "requested"


def test_each_step_of_a_refund_reaches_the_citizen_once(api, refunds):
    from chalicelib.services.notifications import compose

    request, payment_id = _late_payment(api, "telegram:8107")
    sent = api.client.http.post(f"/v1/admin/refunds/local/{payment_id}", headers=api.operator_headers("admin"))
    _refund_webhook(api, {"refund_id": sent.json_body["refund_id"], "payment_id": payment_id, "status": "refunded"})
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import event_from_image

    events = [event_from_image(e.serialize()) for e in m.OutboxModel.scan()
              if e.aggregate_id == request["request_id"] and e.name.startswith("payment.")]
    notices = [compose(e, api.c.store) for e in events]
    assert sorted(n.key for n in notices) == ["refund_due", "refund_requested", "refunded"]
    assert all(n.chat and n.values["operation"] == payment_id and n.values["amount"] == "S/ 37.70"
               for n in notices)

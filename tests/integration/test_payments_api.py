"""The provider's signed webhook and the voucher path: applied once, or recorded for refund."""

from __future__ import annotations

import time

from chalicelib.domain.payments import sign_webhook
from chalicelib.settings import DEV_WEBHOOK_SECRET


def _payload(request, **changes):
    payment = request["payment"]
    return {"payment_id": f"PAY-{request['number']}", "order_code": payment["order_code"],
            "amount": payment["amount"], "currency": payment["currency"], **changes}


def test_signed_webhook_marks_the_request_paid(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request))
    assert answer.status_code == 200
    assert answer.json_body["disposition"] == "applied"
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "paid"
    assert status["payment"]["status"] == "paid"


def test_webhook_with_a_bad_signature_is_refused_and_changes_nothing(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request), secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json_body["error"]["code"] == "bad_signature"
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["status"] == "awaiting_payment"


def test_webhook_with_a_missing_signature_is_refused(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request), signature="garbage")
    assert answer.status_code == 401


def test_webhook_with_a_stale_timestamp_is_refused(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request), timestamp=int(time.time()) - 301)
    assert answer.status_code == 401
    assert answer.json_body["error"]["code"] == "stale_signature"


def test_webhook_body_changed_after_signing_is_refused(api):
    request = api.awaiting_payment()
    import json

    signed = json.dumps(_payload(request)).encode()
    header = sign_webhook(DEV_WEBHOOK_SECRET, int(time.time()), signed)
    tampered = json.dumps(_payload(request, amount="0.10")).encode()
    answer = api.client.http.post("/v1/webhooks/payments/local", body=tampered,
                                  headers={"Content-Type": "application/json", "X-Signature": header})
    assert answer.status_code == 401


def test_replayed_webhook_is_applied_once(api):
    request = api.awaiting_payment()
    first = api.webhook(_payload(request))
    second = api.webhook(_payload(request))
    assert first.status_code == second.status_code == 200
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert [h["status"] for h in status["history"]].count("paid") == 1


def test_wrong_amount_is_recorded_for_refund_not_applied(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request, amount="10.00", payment_id="PAY-WRONG-AMOUNT"))
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "amount_mismatch"
    assert answer.json_body["error"]["details"]["recorded_for_refund"] is True
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["status"] == "awaiting_payment"
    record = api.c.store.get_payment("local", "PAY-WRONG-AMOUNT")
    assert record.disposition == "refund_due" and record.reason == "amount_mismatch"


def test_wrong_currency_is_recorded_for_refund(api):
    request = api.awaiting_payment()
    answer = api.webhook(_payload(request, currency="USD", payment_id="PAY-USD"))
    assert answer.json_body["error"]["code"] == "amount_mismatch"


def test_unknown_order_is_recorded_for_refund(api):
    answer = api.webhook({"payment_id": "PAY-NOORDER", "order_code": "ZZZZZZZZZZ", "amount": "37.70",
                          "currency": "PEN"})
    assert answer.status_code == 404
    assert answer.json_body["error"]["code"] == "unknown_order"
    assert api.c.store.get_payment("local", "PAY-NOORDER").disposition == "refund_due"


def test_payment_for_an_expired_order_is_recorded_for_refund(api, clock):
    request = api.awaiting_payment()
    clock.advance(hours=25)
    answer = api.webhook(_payload(request, payment_id="PAY-LATE"))
    assert answer.status_code == 409
    assert answer.json_body["error"]["code"] == "order_expired"
    assert api.c.store.get_payment("local", "PAY-LATE").reason == "order_expired"


def test_second_payment_of_a_paid_order_is_recorded_for_refund(api):
    request = api.awaiting_payment()
    api.webhook(_payload(request))
    answer = api.webhook(_payload(request, payment_id="PAY-TWICE"))
    assert answer.json_body["error"]["code"] == "order_already_paid"


def test_webhook_missing_fields_name_them(api):
    answer = api.webhook({"order_code": "X"})
    assert answer.status_code == 422
    assert answer.json_body["error"]["field"] == "payment_id"


def test_webhook_for_unknown_provider_is_404(api):
    answer = api.client.http.post("/v1/webhooks/payments/nobody", body=b"{}",
                                  headers={"Content-Type": "application/json", "X-Signature": "t=1,v1=0"})
    assert answer.status_code == 404


def test_expiry_job_closes_unpaid_orders(api, clock):
    request = api.awaiting_payment()
    clock.advance(hours=24, minutes=1)
    event = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
    api.client.lambda_.invoke("expire_payment_orders", event)
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "expired" and status["payment"]["status"] == "expired"


def test_voucher_of_an_agent_payment_pays_the_request(api):
    from datetime import date
    from decimal import Decimal

    request = api.awaiting_payment()
    api.c.provider.record_agent_payment("55501234", date(2026, 11, 20), "BN-55501234",
                                        request["payment"]["order_code"], Decimal("37.70"), "PEN")
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/voucher",
                      {"operation_number": "55501234", "date": "2026-11-20"})
    assert answer.status_code == 200
    assert answer.json_body["status"] == "paid"


def test_unknown_voucher_is_refused_with_the_field(api):
    request = api.awaiting_payment()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/voucher",
                      {"operation_number": "99999999", "date": "2026-11-20"})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "voucher_not_found"
    bad = api.post(f"/v1/certificate-requests/{request['request_id']}/voucher",
                   {"operation_number": "12ab", "date": "2026-11-20"})
    assert bad.json_body["error"]["field"] == "operation_number"

"""Push messages from the system's events over the Bot API: sent once, in the citizen's language."""

from __future__ import annotations

import pytest

from tests.factories import request_body


def test_payment_and_issue_are_pushed_with_the_pdf(bot_api):
    api, bot = bot_api
    api.paid(user="telegram:4001")
    api.run_worker()
    methods = [m for m, _ in bot.to("4001")]
    assert methods == ["sendMessage", "sendDocument"]
    assert "Pago recibido" in bot.texts("4001")[0]
    document = bot.to("4001")[1][1]
    assert b"%PDF-" in document
    assert "está listo" in bot.texts("4001")[1]


def test_messages_are_in_the_requests_language(bot_api):
    api, bot = bot_api
    answer = api.post("/v1/certificate-requests", request_body(language="en"), user="telegram:4002")
    request_id = answer.json_body["request_id"]
    from tests.factories import ANA, proof

    ordered = api.post(f"/v1/certificate-requests/{request_id}/identity",
                       proof(ANA), user="telegram:4002").json_body
    api.webhook({"payment_id": "PAY-EN", "order_code": ordered["payment"]["order_code"], "amount": "37.70",
                 "currency": "PEN"})
    api.run_worker()
    assert "Payment received" in bot.texts("4002")[0]


def test_an_event_handled_twice_sends_one_message(bot_api):
    import app
    from chalicelib.adapters import dynamo_models as m
    from infrastructure.local.worker import _lambda_record

    api, bot = bot_api
    request = api.paid(user="telegram:4003")
    api.run_worker()
    sent = len(bot.calls)
    issued = next(e for e in m.OutboxModel.scan() if e.aggregate_id == request["request_id"]
                  and e.name == "request.issued")
    record = _lambda_record("arn:test", {"eventName": "INSERT", "dynamodb": {
        "NewImage": m.OutboxModel.get(issued.event_id).serialize(), "Keys": {}, "SequenceNumber": "1",
        "SizeBytes": 1, "StreamViewType": "NEW_IMAGE"}})
    app.handle_outbox({"Records": [record]}, None)
    assert len(bot.calls) == sent


def test_chat_outage_is_retried_and_the_message_is_not_lost(bot_api):
    from chalicelib.domain.errors import ServiceUnavailable
    from chalicelib.domain.requests import Event
    from chalicelib.services.notifications import notify

    api, bot = bot_api
    request = api.paid(user="telegram:4004")
    event = Event("evt-outage-1", "request.paid", request["request_id"], api.c.clock.now())
    bot.failures_left = 10
    with pytest.raises(ServiceUnavailable):
        notify(event, store=api.c.store, storage=api.c.storage, notifier=api.c.notifier())
    bot.failures_left = 0
    assert notify(event, store=api.c.store, storage=api.c.storage, notifier=api.c.notifier())
    assert len([t for t in bot.texts("4004") if "Pago recibido" in t]) == 1

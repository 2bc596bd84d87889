"""Push messages from the system's events over the Bot API: sent once, in the citizen's language."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from chalice.test import Client

from tests.factories import request_body
from tests.integration.conftest import Api


class BotApiRecorder:
    """A Bot API peer over real HTTP that records what it is asked to send (and can fail on demand)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.failures_left = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if recorder.failures_left > 0:
                    recorder.failures_left -= 1
                    self.send_response(502)
                    self.end_headers()
                    self.wfile.write(b'{"ok": false}')
                    return
                recorder.calls.append((self.path.rsplit("/", 1)[-1], body))
                answer = json.dumps({"ok": True, "result": {"message_id": len(recorder.calls)}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, chat_id: str) -> list[tuple[str, bytes]]:
        """The calls addressed to one chat: events other tests left in the shared stream go to other chats."""
        def chat_of(method: str, body: bytes) -> str:
            if method == "sendMessage":
                return str(json.loads(body)["chat_id"])
            return body.split(b'name="chat_id"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode()

        return [(m, b) for m, b in self.calls if chat_of(m, b) == chat_id]

    def texts(self, chat_id: str | None = None) -> list[str]:
        out = []
        for method, body in (self.to(chat_id) if chat_id else self.calls):
            if method == "sendMessage":
                out.append(json.loads(body)["text"])
            else:
                out.append(body.split(b'name="caption"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode())
        return out


@pytest.fixture
def chat(settings, clock):  # type: ignore[no-untyped-def]
    import app
    from chalicelib import bootstrap

    recorder = BotApiRecorder()
    c = bootstrap.build(dataclasses.replace(settings, telegram_bot_token="123:local",
                                            telegram_api_base_url=recorder.url), clock=clock)
    bootstrap.use(c)
    with Client(app.app) as client:
        yield Api(client, c), recorder
    recorder.server.shutdown()
    bootstrap.use(None)


def test_payment_and_issue_are_pushed_with_the_pdf(chat):
    api, bot = chat
    api.paid(user="telegram:4001")
    api.run_worker()
    methods = [m for m, _ in bot.to("4001")]
    assert methods == ["sendMessage", "sendDocument"]
    assert "Pago recibido" in bot.texts("4001")[0]
    document = bot.to("4001")[1][1]
    assert b"%PDF-" in document
    assert "está listo" in bot.texts("4001")[1]


def test_messages_are_in_the_requests_language(chat):
    api, bot = chat
    answer = api.post("/v1/certificate-requests", request_body(language="en"), user="telegram:4002")
    request_id = answer.json_body["request_id"]
    from tests.factories import ANA, proof

    ordered = api.post(f"/v1/certificate-requests/{request_id}/identity",
                       proof(ANA), user="telegram:4002").json_body
    api.webhook({"payment_id": "PAY-EN", "order_code": ordered["payment"]["order_code"], "amount": "37.70",
                 "currency": "PEN"})
    api.run_worker()
    assert "Payment received" in bot.texts("4002")[0]


def test_an_event_handled_twice_sends_one_message(chat):
    import app
    from chalicelib.adapters import dynamo_models as m
    from infrastructure.local.worker import _lambda_record

    api, bot = chat
    request = api.paid(user="telegram:4003")
    api.run_worker()
    sent = len(bot.calls)
    issued = next(e for e in m.OutboxModel.scan() if e.aggregate_id == request["request_id"]
                  and e.name == "request.issued")
    record = _lambda_record("arn:test", {"eventName": "INSERT", "dynamodb": {
        "NewImage": m.OutboxModel.get(issued.aggregate_id, issued.event_id).serialize(), "Keys": {},
        "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_IMAGE"}})
    app.handle_outbox({"Records": [record]}, None)
    assert len(bot.calls) == sent


def test_chat_outage_is_retried_and_the_message_is_not_lost(chat):
    from chalicelib.domain.errors import ServiceUnavailable
    from chalicelib.domain.requests import Event
    from chalicelib.services.notifications import notify

    api, bot = chat
    request = api.paid(user="telegram:4004")
    event = Event("evt-outage-1", "request.paid", request["request_id"], api.c.clock.now())
    bot.failures_left = 10
    with pytest.raises(ServiceUnavailable):
        notify(event, store=api.c.store, storage=api.c.storage, notifier=api.c.notifier())
    bot.failures_left = 0
    assert notify(event, store=api.c.store, storage=api.c.storage, notifier=api.c.notifier())
    assert len([t for t in bot.texts("4004") if "Pago recibido" in t]) == 1

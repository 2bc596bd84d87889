"""API fixtures: the Chalice app in-process (real HTTP handling, real DynamoDB Local) and the worker."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.payments import sign_webhook
from chalicelib.settings import DEV_CHANNEL_KEY, DEV_WEBHOOK_SECRET

_WORKERS: dict[str, Any] = {}


class Api:
    def __init__(self, client: Client, container: Any) -> None:
        self.client = client
        self.c = container

    def channel_headers(self, user: str = "telegram:1001", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {DEV_CHANNEL_KEY}", "X-Channel-User": user,
                "Content-Type": "application/json", **extra}

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None, user: str = "telegram:1001",
             headers: dict[str, str] | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        return self.client.http.post(path, headers=headers or self.channel_headers(user), body=data)

    def get(self, path: str, *, user: str = "telegram:1001", headers: dict[str, str] | None = None) -> Any:
        return self.client.http.get(path, headers=headers or self.channel_headers(user))

    def webhook(self, payload: dict[str, Any], *, secret: str = DEV_WEBHOOK_SECRET, timestamp: int | None = None,
                signature: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        header = signature or sign_webhook(secret, int(time.time()) if timestamp is None else timestamp, body)
        return self.client.http.post("/v1/webhooks/payments/local", body=body,
                                     headers={"Content-Type": "application/json", "X-Signature": header})

    def operator_headers(self, *roles: str, subject: str = "op-1", districts: tuple[str, ...] = ("*",),
                         courts: tuple[str, ...] = ("*",)) -> dict[str, str]:
        """A token of the local issuer; its scope covers every district and court unless the test narrows it."""
        token = self.c.tokens.issue(subject, roles, districts=districts, courts=courts)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def worker(self) -> Any:
        """The session's outbox worker (one per stream, so later tests do not replay earlier events). One lane:
        tests that draw from a seeded generator (officers' assignments) see the events in the order written;
        test_outbox_consumers.py runs it with several."""
        from chalicelib.adapters.dynamo_models import OUTBOX_TABLE
        from infrastructure.local.worker import StreamWorker, app_consumers

        table = self.c.settings.table_name(OUTBOX_TABLE)
        worker = _WORKERS.get(table)
        if worker is None:
            worker = StreamWorker(self.c.settings.dynamodb_endpoint, self.c.settings.aws_region, table,
                                  app_consumers(), self.c.settings.data_dir / "dead-letters.jsonl", lanes=1)
            _WORKERS[table] = worker
        return worker

    def run_worker(self) -> int:
        """Deliver what the outbox stream holds to app.handle_outbox and app.handle_notices, as the cloud and
        `make run` do."""
        worker = self.worker()
        total = 0
        while (count := worker.poll_once()) > 0:
            total += count
        return total

    # Steps of the happy path, for tests that start further along.
    def created(self, person: dict[str, Any] | None = None, user: str = "telegram:1001") -> dict[str, Any]:
        from tests.factories import request_body

        answer = self.post("/v1/certificate-requests", request_body(person), user=user)
        assert answer.status_code == 201, answer.body
        return dict(answer.json_body)

    def awaiting_payment(self, person: dict[str, Any] | None = None, user: str = "telegram:1001") -> dict[str, Any]:
        from tests.factories import ANA, proof

        person = person or ANA
        request = self.created(person, user)
        answer = self.post(f"/v1/certificate-requests/{request['request_id']}/identity",
                           proof(person), user=user)
        assert answer.status_code == 200, answer.body
        return dict(answer.json_body)

    def paid(self, person: dict[str, Any] | None = None, user: str = "telegram:1001") -> dict[str, Any]:
        request = self.awaiting_payment(person, user)
        payment = request["payment"]
        answer = self.webhook({"payment_id": f"PAY-{request['number']}", "order_code": payment["order_code"],
                               "amount": payment["amount"], "currency": payment["currency"]})
        assert answer.status_code == 200, answer.body
        return request


@pytest.fixture(scope="module")
def module_api(dynamodb_endpoint: str, table_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app and container for a whole module (the console's tests build their world once)."""
    import app
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import configure
    from chalicelib.services.time import FixedClock
    from chalicelib.settings import Settings
    from tests.conftest import TEST_NOW

    settings = Settings(dynamodb_endpoint=dynamodb_endpoint, table_prefix=table_prefix,
                        data_dir=tmp_path_factory.mktemp("module") / "data")
    configure(settings)
    c = bootstrap.build(settings, clock=FixedClock(TEST_NOW))
    bootstrap.use(c)
    with Client(app.app) as client:
        yield Api(client, c)
    bootstrap.use(None)


@pytest.fixture
def api(container: Any) -> Any:
    import app

    with Client(app.app) as client:
        yield Api(client, container)


@pytest.fixture
def fresh_partner_quotas(api: Any) -> Any:
    """Partners' quota windows start empty: the session's tables are shared and every test's clock stands at the
    same minute, so one test's calls would otherwise fill the next one's window."""
    from chalicelib.adapters.dynamo_models import PartnerQuotaModel

    with PartnerQuotaModel.batch_write() as batch:
        for item in PartnerQuotaModel.scan():
            batch.delete(item)
    return api


# --- virtual control: a district of the test's own, the chat notifier recorded --------------------------------

@pytest.fixture(autouse=True)
def _forget_control_districts() -> Any:
    """Take the districts a test made off the directory the daily jobs walk, so later tests' jobs skip them."""
    yield
    from tests.integration.control_support import forget_created_districts

    forget_created_districts()


@pytest.fixture
def district(api: Api) -> str:
    from tests.integration.control_support import new_district

    return new_district(api)


@pytest.fixture
def chat(api: Api, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.integration.control_support import record_chat

    return record_chat(api, monkeypatch)


@pytest.fixture
def bot_api(settings, clock):  # type: ignore[no-untyped-def]
    """The app with its chat channel pointed at a recording Bot API peer: (Api, recorder)."""
    import dataclasses

    import app
    from chalicelib import bootstrap
    from tests.integration.bot_api_recorder import BotApiRecorder

    recorder = BotApiRecorder()
    c = bootstrap.build(dataclasses.replace(settings, telegram_bot_token="123:local",
                                            telegram_api_base_url=recorder.url), clock=clock)
    bootstrap.use(c)
    with Client(app.app) as client:
        yield Api(client, c), recorder
    recorder.server.shutdown()
    bootstrap.use(None)

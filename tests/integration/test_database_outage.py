"""DynamoDB Local stopped mid-request: a clear 503, nothing half-written, and nothing lost after restart."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from infrastructure.local import dynamodb_local
from tests.conftest import free_port
from tests.factories import ANA, proof, request_body
from tests.integration.conftest import Api


@pytest.fixture
def outage(tmp_path, clock):  # type: ignore[no-untyped-def]
    """An API on its own DynamoDB Local (data on disk) that the test can stop and start again."""
    import app
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import configure, create_tables
    from chalicelib.settings import Settings
    from infrastructure.local.seed import seed

    port = free_port()
    db_dir = tmp_path / "db"
    state = {"process": dynamodb_local.start(port, db_dir)}
    settings = Settings(dynamodb_endpoint=f"http://127.0.0.1:{port}", table_prefix="o-", data_dir=tmp_path / "d")
    create_tables(settings)
    c = bootstrap.build(settings, clock=clock)
    seed(c)
    bootstrap.use(c)

    def stop() -> None:
        dynamodb_local.stop(state["process"])

    def start() -> None:
        state["process"] = dynamodb_local.start(port, db_dir)

    with Client(app.app) as client:
        yield Api(client, c), stop, start
    stop()
    bootstrap.use(None)
    configure(settings)


def test_health_is_503_when_the_database_is_unreachable(outage):
    api, stop, start = outage
    assert api.get("/health").status_code == 200
    stop()
    answer = api.get("/health")
    assert answer.status_code == 503
    assert answer.json_body["components"]["database"] == "unreachable"
    start()
    assert api.get("/health").status_code == 200


def test_database_down_gives_a_clear_503(outage):
    api, stop, start = outage
    stop()
    answer = api.post("/v1/certificate-requests", request_body())
    assert answer.status_code == 503
    assert answer.json_body["error"]["code"] == "database_unavailable"
    start()


def test_database_lost_mid_payment_leaves_no_half_written_state(outage, monkeypatch):
    from chalicelib.adapters.dynamo_store import DynamoTransaction

    api, stop, start = outage
    request = api.awaiting_payment()
    payment = request["payment"]
    payload = {"payment_id": "PAY-OUTAGE", "order_code": payment["order_code"], "amount": payment["amount"],
               "currency": payment["currency"]}
    real_commit = DynamoTransaction.commit

    def commit_after_losing_the_database(self):  # type: ignore[no-untyped-def]
        stop()  # every read of the webhook succeeded; the database goes away before the write
        return real_commit(self)

    monkeypatch.setattr(DynamoTransaction, "commit", commit_after_losing_the_database)
    answer = api.webhook(payload)
    assert answer.status_code == 503
    monkeypatch.setattr(DynamoTransaction, "commit", real_commit)
    start()

    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "awaiting_payment"
    assert status["payment"]["status"] == "open"
    assert api.c.store.get_payment("local", "PAY-OUTAGE") is None
    # The provider retries, as providers do: now it is applied, once.
    retried = api.webhook(payload)
    assert retried.status_code == 200 and retried.json_body["disposition"] == "applied"
    assert json.dumps(retried.json_body).count("PAY-OUTAGE") == 1


def test_identity_step_during_outage_is_retryable(outage):
    api, stop, start = outage
    request = api.created()
    stop()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity",
                      proof(ANA))
    assert answer.status_code == 503
    start()
    retried = api.post(f"/v1/certificate-requests/{request['request_id']}/identity",
                       proof(ANA))
    assert retried.json_body["status"] == "awaiting_payment"

"""Secrets that rotate without downtime (issue 14 item 8, issue 16 item 3), through the real API on DynamoDB
Local with the secrets in Secrets Manager (moto's server over HTTP): during a rollover the previous value still
verifies, a value this warm function has not read yet is picked up by reading the secrets again, and after the
rollover the old value is refused."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from chalicelib.adapters.aws.config import CloudConfig
from chalicelib.adapters.aws.secrets import SecretRefresher, secret_changes
from chalicelib.settings import DEV_CHANNEL_KEY, DEV_WEBHOOK_SECRET
from tests.aws.conftest import moto_server  # noqa: F401 - the session's moto server, a fixture

S1, S2, S3 = ("first-webhook-secret-" + "1" * 20, "second-webhook-secret-" + "2" * 20,
              "third-webhook-secret-" + "3" * 20)


@pytest.fixture
def secretsmanager(moto_server: str) -> Any:  # noqa: F811 - the fixture imported above
    import boto3

    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_server,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _cloud(api: Any, secretsmanager: Any, **arns: str) -> None:
    """The container as a warm Lambda has it: the secrets read once at cold start, read again on a refusal."""
    config = CloudConfig(region="us-east-1", payment_provider="local", **arns)
    c = api.c
    c.settings = dataclasses.replace(c.settings, **secret_changes(config, secretsmanager))
    c.refresh_secrets = SecretRefresher(config, min_interval=0, secretsmanager=secretsmanager)


def _payload(request: dict[str, Any]) -> dict[str, Any]:
    payment = request["payment"]
    return {"payment_id": f"PAY-{uuid.uuid4().hex[:10]}", "order_code": payment["order_code"],
            "amount": payment["amount"], "currency": payment["currency"]}


def test_a_webhook_signed_with_the_previous_secret_is_accepted_during_the_rollover_and_refused_after(
        api: Any, secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name=f"webhook-{uuid.uuid4()}", SecretString=S1)["ARN"]
    _cloud(api, secretsmanager, payment_webhook_secret_arn=arn)
    assert api.c.settings.payment_webhook_secrets == {"local": S1}
    assert api.webhook(_payload(api.awaiting_payment()), secret=DEV_WEBHOOK_SECRET).status_code == 401

    # The operator stores the new secret (S1 becomes AWSPREVIOUS); the provider switches when it is told.
    secretsmanager.put_secret_value(SecretId=arn, SecretString=S2)
    assert api.webhook(_payload(api.awaiting_payment()), secret=S1).status_code == 200  # not switched yet
    assert api.webhook(_payload(api.awaiting_payment()), secret=S2).status_code == 200  # read again, then accepted
    assert api.c.settings.previous_payment_webhook_secrets == {"local": S1}
    assert api.webhook(_payload(api.awaiting_payment()), secret=S1).status_code == 200  # both valid meanwhile

    # The next rollover ends S1's time, once this function has read the secrets again (the provider's first
    # call signed with S3 makes it; so would a cold start).
    secretsmanager.put_secret_value(SecretId=arn, SecretString=S3)
    assert api.webhook(_payload(api.awaiting_payment()), secret=S3).status_code == 200
    refused = api.webhook(_payload(request := api.awaiting_payment()), secret=S1)
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "bad_signature"
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["status"] == "awaiting_payment"
    assert api.webhook(_payload(api.awaiting_payment()), secret=S2).status_code == 200  # now the previous one


def test_a_channel_key_rotated_under_a_warm_function_is_accepted_at_once(api: Any, secretsmanager: Any) -> None:
    """The bot (cold-started after a rotation) presents the new key to an API function that read the old one."""
    arn = secretsmanager.create_secret(Name=f"channel-{uuid.uuid4()}", SecretString=DEV_CHANNEL_KEY)["ARN"]
    _cloud(api, secretsmanager, channel_key_secret_arn=arn)
    new_key = "N" * 48
    secretsmanager.put_secret_value(SecretId=arn, SecretString=new_key)
    headers = {**api.channel_headers(), "Authorization": f"Bearer {new_key}"}
    assert api.get("/v1/certificate-requests", headers=headers).status_code == 200
    assert api.get("/v1/certificate-requests").status_code == 200  # the old key: AWSPREVIOUS, still valid
    forged = {**api.channel_headers(), "Authorization": "Bearer " + "F" * 48}
    answer = api.get("/v1/certificate-requests", headers=forged)
    assert answer.status_code == 401 and answer.json_body["error"]["code"] == "invalid_channel_key"


def test_forged_credentials_read_the_secrets_at_most_once_per_interval(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name=f"channel-{uuid.uuid4()}", SecretString=DEV_CHANNEL_KEY)["ARN"]
    config = CloudConfig(region="us-east-1", channel_key_secret_arn=arn)
    now = [1000.0]
    refresher = SecretRefresher(config, min_interval=60, secretsmanager=secretsmanager, clock=lambda: now[0])
    from chalicelib.settings import Settings

    settings = Settings()
    assert refresher(settings) is None  # just read at cold start
    now[0] += 61
    assert refresher(settings) is not None
    assert refresher(settings) is None  # a second refusal right after: no read


def test_a_list_cursor_signed_before_the_links_key_rotated_still_pages_and_not_after_the_next(
        api: Any, secretsmanager: Any) -> None:
    from tests.integration.control_support import uuid_part

    arn = secretsmanager.create_secret(Name=f"links-{uuid.uuid4()}", SecretString="L1" * 24)["ARN"]
    _cloud(api, secretsmanager, console_link_secret_arn=arn)
    user = f"telegram:roll{uuid_part()}"
    for _ in range(3):
        api.created(user=user)
        api.c.clock.advance(seconds=1)

    def first_page_cursor() -> str:
        cursor: str = api.get("/v1/certificate-requests?limit=1", user=user).json_body["next_cursor"]
        return cursor

    def page(cursor: str) -> Any:
        return api.get(f"/v1/certificate-requests?limit=1&cursor={cursor}", user=user)

    old = first_page_cursor()
    secretsmanager.put_secret_value(SecretId=arn, SecretString="L2" * 24)  # the rotation's finishSecret
    assert api.c.reload_secrets()  # this function reads the secrets again (a cold start, or a refused credential)
    assert page(old).status_code == 200  # signed with the previous key: still pages
    newer = first_page_cursor()
    assert newer != old

    secretsmanager.put_secret_value(SecretId=arn, SecretString="L3" * 24)  # the next rotation
    assert page(newer).status_code == 200  # still valid before and after this function reads the secrets again
    assert api.c.reload_secrets()
    assert page(newer).status_code == 200
    refused = page(old)  # two keys ago
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_cursor"


def test_during_a_callback_secret_rollover_callbacks_carry_both_signatures(secretsmanager: Any) -> None:
    """The partners' settings (a secret) name the new callback secret and the previous one: a partner that has
    switched and one that has not both accept the callback; one with a secret neither of them refuses it."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chalicelib.adapters.auth import partners_from_settings
    from chalicelib.domain.payments import BadSignature, verify_webhook_signature
    from chalicelib.services.partner_callbacks import post_once

    old, new = "callback-secret-before-rollover", "callback-secret-after-the-rollover"
    arn = secretsmanager.create_secret(Name=f"partners-{uuid.uuid4()}", SecretString=json.dumps({"migraciones": {
        "callback_url": "set below", "callback_secret": new, "previous_callback_secret": old}}))["ARN"]
    settings = secret_changes(CloudConfig(region="us-east-1", partners_secret_arn=arn), secretsmanager)
    partner = partners_from_settings(settings["partners"])["migraciones"]
    assert (partner.callback_secret, partner.previous_callback_secret) == (new, old)
    verifying_with: list[str] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                verify_webhook_signature(verifying_with[0], self.headers["X-Signature"], body, time.time(), 300)
                self.send_response(204)
            except BadSignature:
                self.send_response(401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/callbacks"
    try:
        for secret, expected in ((old, None), (new, None), ("a-secret-of-neither-kind", "http_401")):
            verifying_with[:] = [secret]
            assert post_once(url, new, b'{"event_id": "e1"}', "e1", 5, previous_secret=old) == expected
        verifying_with[:] = [old]  # the rollover over (no previous secret any more): the old one is refused
        assert post_once(url, new, b'{"event_id": "e2"}', "e2", 5) == "http_401"
    finally:
        server.shutdown()
        server.server_close()

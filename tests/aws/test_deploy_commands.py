"""The deploy-time commands and the bot's Lambda entry: secrets fetched, webhook set, certificate chain stored."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.adapters.aws.clients import client
from infrastructure.cdk import set_webhook, signing_cert
from infrastructure.cdk.bot_lambda import load_secrets

from .conftest import REGION

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_bot_entry_fills_its_variables_from_secrets_manager(mocked_aws: None) -> None:
    secrets = client("secretsmanager", REGION)
    arn = {name: secrets.create_secret(Name=name, SecretString=f" {value}\n")["ARN"]
           for name, value in (("token", TOKEN), ("hook", "hook-secret"), ("channel", "channel-key"))}
    environ = {"TELEGRAM_BOT_TOKEN_SECRET_ARN": arn["token"], "TELEGRAM_WEBHOOK_SECRET_ARN": arn["hook"],
               "CHANNEL_KEY_SECRET_ARN": arn["channel"], "CHANNEL_KEY": "already-set-wins"}

    filled = load_secrets(environ, secrets)

    assert filled == ["TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"]
    assert environ["TELEGRAM_BOT_TOKEN"] == TOKEN and environ["TELEGRAM_WEBHOOK_SECRET"] == "hook-secret"
    assert environ["CHANNEL_KEY"] == "already-set-wins"


def test_bot_entry_reads_the_previous_webhook_secret_token_during_a_rollover(mocked_aws: None) -> None:
    secrets = client("secretsmanager", REGION)
    hook = secrets.create_secret(Name="hook", SecretString="first-secret-token")["ARN"]
    environ = {"TELEGRAM_WEBHOOK_SECRET_ARN": hook}
    load_secrets(environ, secrets)
    assert "TELEGRAM_WEBHOOK_SECRET_PREVIOUS" not in environ  # no rollover under way
    secrets.put_secret_value(SecretId=hook, SecretString="second-secret-token")
    environ = {"TELEGRAM_WEBHOOK_SECRET_ARN": hook}
    load_secrets(environ, secrets)
    assert environ["TELEGRAM_WEBHOOK_SECRET"] == "second-secret-token"
    assert environ["TELEGRAM_WEBHOOK_SECRET_PREVIOUS"] == "first-secret-token"


def test_bot_entry_without_secret_arns_makes_no_call() -> None:
    assert load_secrets({"TELEGRAM_BOT_TOKEN": "x"}, secretsmanager=object()) == []


def test_bot_entry_hands_over_to_the_webhook_handler() -> None:
    import bot.webhook
    from infrastructure.cdk import bot_lambda

    assert bot_lambda.handler is bot.webhook.handler


@pytest.fixture
def fake_telegram() -> Iterator[dict[str, Any]]:
    """A Bot API stand-in on 127.0.0.1 that records setWebhook and answers getWebhookInfo."""
    state: dict[str, Any] = {"calls": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            token, method = self.path.removeprefix("/bot").split("/", 1)
            state["calls"].append((token, method, body))
            if token != TOKEN:
                answer, status = {"ok": False, "description": "Unauthorized"}, 401
            elif method == "setWebhook":
                state["webhook"] = body
                answer, status = {"ok": True, "result": True}, 200
            else:
                answer = {"ok": True, "result": {"url": state.get("webhook", {}).get("url", ""),
                                                 "pending_update_count": 0}}
                status = 200
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_set_webhook_sends_the_function_url_and_the_secret_token(fake_telegram: dict[str, Any]) -> None:
    info = set_webhook.set_webhook(fake_telegram["url"], TOKEN, "https://abc.lambda-url.us-east-1.on.aws/",
                                   "s3cr3t-token")

    assert fake_telegram["webhook"] == {"url": "https://abc.lambda-url.us-east-1.on.aws/",
                                        "secret_token": "s3cr3t-token", "drop_pending_updates": False}
    assert info["url"] == "https://abc.lambda-url.us-east-1.on.aws/"


def test_set_webhook_also_sets_the_command_menu_in_both_languages(fake_telegram: dict[str, Any]) -> None:
    assert set_webhook.set_commands(fake_telegram["url"], TOKEN) == [None, "en"]
    menus = [body for _, method, body in fake_telegram["calls"] if method == "setMyCommands"]
    assert [m.get("language_code") for m in menus] == [None, "en"]
    assert [c["command"] for c in menus[0]["commands"]] == ["start", "estado", "control", "registrar", "ayuda",
                                                            "cancelar"]
    assert [c["command"] for c in menus[1]["commands"]] == ["start", "status", "control", "checkin", "help", "cancel"]
    assert menus[0]["commands"][0]["description"] == "Pedir un certificado"
    assert all(c["description"] for m in menus for c in m["commands"])


def test_set_webhook_reports_telegrams_refusal_without_the_token(fake_telegram: dict[str, Any]) -> None:
    wrong = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsXXX"
    with pytest.raises(SystemExit) as raised:
        set_webhook.set_webhook(fake_telegram["url"], wrong, "https://abc.lambda-url.us-east-1.on.aws/", "s")

    assert "Unauthorized" in str(raised.value) and wrong not in str(raised.value)


def test_set_webhook_refuses_a_plain_http_url(fake_telegram: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="https"):
        set_webhook.set_webhook(fake_telegram["url"], TOKEN, "http://example.org/", "s")
    assert fake_telegram["calls"] == []


def test_store_token_replaces_the_placeholder_once(mocked_aws: None) -> None:
    secrets = client("secretsmanager", REGION)
    arn = secrets.create_secret(Name="bot-token", SecretString="unset")["ARN"]

    assert set_webhook.store_token(secrets, arn, TOKEN) is True
    assert set_webhook.store_token(secrets, arn, TOKEN) is False
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == TOKEN
    with pytest.raises(SystemExit):
        set_webhook.store_token(secrets, arn, "not a token")


def test_rotating_the_webhook_secret_token_keeps_the_old_one_as_previous(mocked_aws: None) -> None:

    secrets = client("secretsmanager", REGION)
    arn = secrets.create_secret(Name="hook", SecretString="stack-generated-secret-token")["ARN"]
    new = set_webhook.rotate_secret_token(secrets, arn)
    assert new != "stack-generated-secret-token" and re.fullmatch(r"[A-Za-z0-9_-]{1,256}", new)  # Telegram's rule
    environ = {"TELEGRAM_WEBHOOK_SECRET_ARN": arn}
    load_secrets(environ, secrets)  # a bot function restarted after the rotation
    assert environ["TELEGRAM_WEBHOOK_SECRET"] == new
    assert environ["TELEGRAM_WEBHOOK_SECRET_PREVIOUS"] == "stack-generated-secret-token"


def test_recycle_sets_a_new_revision_on_every_function_of_the_stack() -> None:
    class Stack:
        def get_paginator(self, name: str) -> Any:
            assert name == "list_stack_resources"
            page = {"StackResourceSummaries": [
                {"ResourceType": "AWS::Lambda::Function", "PhysicalResourceId": "bot-fn"},
                {"ResourceType": "AWS::DynamoDB::Table", "PhysicalResourceId": "dev-outbox"},
                {"ResourceType": "AWS::Lambda::Function", "PhysicalResourceId": "worker-fn"}]}
            return type("P", (), {"paginate": staticmethod(lambda **kw: [page])})()

    class Lambda:
        updated: dict[str, dict[str, str]] = {}

        def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
            return {"Environment": {"Variables": {"STAGE": "dev"}}}

        def update_function_configuration(self, FunctionName: str, Environment: dict[str, Any]) -> None:  # noqa: N803
            self.updated[FunctionName] = Environment["Variables"]

    functions = Lambda()
    names = set_webhook.recycle_functions(Stack(), functions, "antecedentes-dev", "v2")

    assert names == ["bot-fn", "worker-fn"]
    assert functions.updated == {n: {"STAGE": "dev", "SECRETS_REVISION": "v2"} for n in names}


def test_development_chain_certifies_the_kms_key_and_passes_the_check(mocked_aws: None) -> None:
    kms = client("kms", REGION)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    public = signing_cert.kms_public_key(kms, key)

    chain = signing_cert.check_chain(signing_cert.development_chain(public, "dev"), public)

    assert len(chain) == 2 and chain[0].issuer == chain[1].subject
    usage = chain[0].extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_a_chain_for_another_key_is_refused(mocked_aws: None) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    mine = ec.generate_private_key(ec.SECP256R1()).public_key()

    with pytest.raises(SystemExit, match="does not certify"):
        signing_cert.check_chain(signing_cert.development_chain(other, "dev"), mine)


def test_csr_is_signed_by_the_kms_key_and_names_the_signer(mocked_aws: None) -> None:
    kms = client("kms", REGION)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    request = x509.load_pem_x509_csr(signing_cert.kms_csr(kms, key))

    assert request.is_signature_valid
    assert request.signature_hash_algorithm is not None
    assert isinstance(request.signature_hash_algorithm, hashes.SHA256)
    assert request.public_key().public_numbers() == signing_cert.kms_public_key(kms, key).public_numbers()
    assert "Firma de Documentos" in request.subject.rfc4514_string()

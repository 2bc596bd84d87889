"""Issue 16 item 3's last edges, asserted on the synthesised templates: a rotation schedule on every generated
secret (and a reason for each that an operator rotates), the rotation function's least privilege, and a usage plan
with its own API key, throttle and quota per channel, required on every channel route."""

from __future__ import annotations

import json
import re
from typing import Any

from infrastructure.cdk import secret_rotation
from infrastructure.cdk.channel_plans import channel_paths

from .conftest import Synthesised
from .test_stack import _as_list, _ref, _role_statements


def _secret_ids(synth: Synthesised) -> dict[str, str]:
    """Each secret's logical id without CDK's hash suffix -> the logical id."""
    return {re.sub(r"[0-9A-F]{8}$", "", k): k for k in synth.of_type("AWS::SecretsManager::Secret")}


def _schedules(synth: Synthesised) -> dict[str, dict[str, Any]]:
    """Rotated secret (logical id without suffix) -> its schedule's properties."""
    ids = {v: k for k, v in _secret_ids(synth).items()}
    return {ids[_ref(s["Properties"]["SecretId"]) or ""]: s["Properties"]
            for s in synth.of_type("AWS::SecretsManager::RotationSchedule").values()}


def test_every_generated_secret_rotates_on_a_schedule_by_kind(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        generated = {name for name, logical in _secret_ids(synth).items()
                     if "GenerateSecretString" in synth.resources[logical]["Properties"]}
        schedules = _schedules(synth)
        # The payment provider's and Telegram's webhook secrets are generated, but a third party holds them too.
        assert set(schedules) == generated - {"PaymentWebhookSecret", "TelegramWebhookSecret"}
        assert set(schedules) == {"ChannelKey", "ConsoleLinkSecret", "ChannelTelegramApiKeyValue"}
        days = {name: s["RotationRules"]["AutomaticallyAfterDays"] for name, s in schedules.items()}
        assert days == {"ChannelKey": 30, "ConsoleLinkSecret": 90, "ChannelTelegramApiKeyValue": 90}
        (function,) = [k for k in synth.of_type("AWS::Lambda::Function") if k.startswith("SecretRotation")]
        assert all(_ref(s["RotationLambdaARN"]) == function and s["RotateImmediatelyOnUpdate"] is False
                   for s in schedules.values())


def test_every_secret_without_a_schedule_has_a_stated_reason_and_the_stack_refuses_one_without() -> None:
    assert set(secret_rotation.OPERATOR_ROTATED) == {"bot_token", "payment_webhook", "webhook_token", "partners"}
    assert all(len(reason) > 40 for reason in secret_rotation.OPERATOR_ROTATED.values())

    class Stack:
        secrets = {"channel_key": object(), "something_new": object()}

    try:
        secret_rotation.add_secret_rotation(Stack())
    except ValueError as error:
        assert "something_new" in str(error)
    else:
        raise AssertionError("a secret with no rotation was accepted")


def test_the_rotation_function_is_ours_and_only_secrets_manager_may_invoke_it(dev: Synthesised) -> None:
    (logical, function) = next((k, f) for k, f in dev.of_type("AWS::Lambda::Function").items()
                               if k.startswith("SecretRotation"))
    props = function["Properties"]
    assert props["Handler"] == "handler.handler" and props["Runtime"] == "python3.12"
    assert props["TracingConfig"] == {"Mode": "Active"} and props["Timeout"] == 60
    (permission,) = [p["Properties"] for p in dev.of_type("AWS::Lambda::Permission").values()
                     if _ref(p["Properties"]["FunctionName"]) == logical]
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_rotation_function_may_touch_only_the_rotated_secrets_and_the_channel_plans(dev: Synthesised) -> None:
    statements = _role_statements(dev, "SecretRotationRole")
    secrets = [s for s in statements if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))]
    assert len(secrets) == 1
    assert sorted(_as_list(secrets[0]["Action"])) == sorted(secret_rotation.ROTATION_ACTIONS)
    names = {k: v for v, k in _secret_ids(dev).items()}
    assert {names[_ref(r) or ""] for r in _as_list(secrets[0]["Resource"])} == set(_schedules(dev))
    # No GetRandomPassword (it draws its own values), nothing on "*" but X-Ray's writes.
    assert all(r != "*" or set(_as_list(s["Action"])) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
               for s in statements for r in _as_list(s["Resource"]))
    api = [s for s in statements if any(a.startswith("apigateway:") for a in _as_list(s["Action"]))]
    plan = next(k for k in dev.of_type("AWS::ApiGateway::UsagePlan") if k.startswith("ChannelTelegram"))
    for statement in api:
        text = json.dumps(statement)
        # Every API Gateway right names the channel's plan: its keys, or keys tagged with it.
        assert plan in text, statement
    deletes = [s for s in api if s["Action"] == "apigateway:DELETE" and "/apikeys/*" in json.dumps(s["Resource"])]
    assert len(deletes) == 1 and "aws:ResourceTag/antecedentes:usage-plan" in deletes[0]["Condition"]["StringEquals"]


def test_each_channel_has_its_own_api_key_usage_plan_throttle_and_quota(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        plans = {k: p["Properties"] for k, p in synth.of_type("AWS::ApiGateway::UsagePlan").items()
                 if k.startswith("Channel")}
        assert list(plans) == ["ChannelTelegramUsagePlan"]
        plan = plans["ChannelTelegramUsagePlan"]
        assert plan["Throttle"] == {"RateLimit": 50, "BurstLimit": 100}
        assert plan["Quota"] == {"Limit": 1_000_000, "Period": "DAY"}
        assert plan["ApiStages"][0]["Stage"] == {"Ref": "RestAPI.Stage"}
        partner = next(p["Properties"] for k, p in synth.of_type("AWS::ApiGateway::UsagePlan").items()
                       if k.startswith("Partner"))
        assert partner["Throttle"]["RateLimit"] < plan["Throttle"]["RateLimit"]  # each within its own capacity
        (key,) = [k["Properties"] for n, k in synth.of_type("AWS::ApiGateway::ApiKey").items()
                  if n.startswith("ChannelTelegram")]
        # The value comes from its secret at deploy time; it is never written in the template.
        assert "resolve:secretsmanager" in json.dumps(key["Value"])
        (link,) = [k["Properties"] for n, k in synth.of_type("AWS::ApiGateway::UsagePlanKey").items()
                   if n.startswith("ChannelTelegram")]
        assert _ref(link["UsagePlanId"]) == "ChannelTelegramUsagePlan" and link["KeyType"] == "API_KEY"


def test_every_channel_route_requires_an_api_key_and_no_public_route_does(dev: Synthesised) -> None:
    body = dev.resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    required = {(path, method) for path, methods in body["paths"].items() for method, operation in methods.items()
                if isinstance(operation, dict) and {"api_key": []} in operation.get("security", [])}
    channel = {(p, m) for p, m in required if p.startswith(("/v1/certificate-requests", "/v1/control"))}
    assert ("/v1/certificate-requests", "post") in channel and ("/v1/control/check-ins", "post") in channel
    assert len(channel) >= 15
    assert required - channel == {(p, m) for p, m in required if p.startswith("/v1/partner/")}
    for public in ("/v1/verify", "/health", "/.well-known/jwks.json", "/v1/webhooks/payments/{provider}"):
        assert not any(p == public for p, _ in required), public


def test_the_bot_sends_its_channels_api_key_read_by_arn(dev: Synthesised) -> None:
    bot = next(f["Properties"] for f in dev.of_type("AWS::Lambda::Function").values()
               if f["Properties"]["Handler"] == "bot_lambda.handler")
    variables = bot["Environment"]["Variables"]
    assert _ref(variables["CHANNEL_API_KEY_SECRET_ARN"]) == _secret_ids(dev)["ChannelTelegramApiKeyValue"]
    assert "CHANNEL_API_KEY" not in variables


def test_channel_paths_reads_the_packaged_routes(dev: Synthesised, tmp_path: Any) -> None:
    sam = tmp_path / "sam.json"
    sam.write_text(json.dumps({"Resources": {"RestAPI": {"Properties": {"DefinitionBody": {"paths": {
        "/v1/control/enrolments": {"post": {}, "options": {}}, "/v1/verify": {"post": {}},
        "/v1/certificate-requests/{request_id}": {"get": {}, "x-amazon-apigateway-any-method": {}}}}}}}}))
    assert channel_paths(sam) == {"/v1/control/enrolments": ["post"],
                                  "/v1/certificate-requests/{request_id}": ["get"]}


def test_a_rotation_that_keeps_failing_raises_an_alarm(dev: Synthesised) -> None:
    (alarm,) = [a["Properties"] for k, a in dev.of_type("AWS::CloudWatch::Alarm").items()
                if k.startswith("SecretRotationErrorsAlarm")]
    assert alarm["MetricName"] == "Errors" and alarm["Period"] == 86400 and alarm["Threshold"] == 2
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["AlarmActions"]

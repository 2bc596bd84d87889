"""Usage plans per channel (issue 16 item 3): each channel that calls the API with a channel key (the Telegram bot
first; `-c channels=telegram,web` adds others) gets an API Gateway key and a usage plan of its own (rate, burst and
a daily quota), and the channel routes require an API key, so one client cannot use up another's capacity. The
partners have theirs (stack._partners).

The API key only names the plan (the channel key authenticates); its value is a generated secret that the channel
reads by ARN, and it rotates like the others: a new key joins the plan, the previous one stays valid until the next
rotation (infrastructure/rotation/handler.py, kind "api-key").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_secretsmanager as secretsmanager

from infrastructure.rotation.handler import API_KEY_KIND, KIND_TAG, PLAN_TAG

SECRET_PREFIX = "channel_api_key_"
# The channel routes, as chalicelib.api.openapi.CHANNEL says (that module needs pydantic, which the tools lack).
CHANNEL = re.compile(r"^/v1/(certificate-requests|control)(/|$)")
METHODS = ("get", "put", "post", "delete", "patch", "head")  # not OPTIONS: a preflight carries no API key


def channel_paths(sam_template: Path) -> dict[str, list[str]]:
    """The channel routes of the packaged API and their methods."""
    paths = json.loads(sam_template.read_text())["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    return {path: sorted(m for m in methods if m in METHODS) for path, methods in paths.items() if CHANNEL.match(path)}


def add_channel_usage_plans(stack: Any) -> None:
    o = stack.options
    rest_api = stack.chalice.get_resource("RestAPI")
    stack.channel_plans = {}
    for channel in o.channels:
        name = "".join(part.capitalize() for part in channel.split("-"))
        secret = secretsmanager.Secret(
            stack, f"Channel{name}ApiKeyValue", removal_policy=o.removal_policy,
            description=f"API Gateway key of the channel {channel} (names its usage plan; the channel key "
                        "authenticates)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48,
                                                                        exclude_punctuation=True))
        plan = apigateway.CfnUsagePlan(
            stack, f"Channel{name}UsagePlan", usage_plan_name=f"{stack.api_name}-channel-{channel}",
            description=f"Calls of the channel {channel}: its own throttle and daily quota",
            api_stages=[apigateway.CfnUsagePlan.ApiStageProperty(api_id=rest_api.ref,
                                                                  stage=cdk.Fn.ref("RestAPI.Stage"))],
            throttle=apigateway.CfnUsagePlan.ThrottleSettingsProperty(rate_limit=o.channel_rate,
                                                                      burst_limit=o.channel_burst),
            quota=apigateway.CfnUsagePlan.QuotaSettingsProperty(limit=o.channel_daily_quota, period="DAY"))
        key = apigateway.CfnApiKey(
            stack, f"Channel{name}ApiKey", enabled=True, name=f"{stack.api_name}-channel-{channel}",
            value=secret.secret_value.unsafe_unwrap(),  # a dynamic reference: resolved by CloudFormation
            tags=[cdk.CfnTag(key=PLAN_TAG, value=plan.ref)])  # the rotation may delete it once two newer exist
        apigateway.CfnUsagePlanKey(stack, f"Channel{name}UsagePlanKey", key_id=key.ref, key_type="API_KEY",
                                   usage_plan_id=plan.ref)
        # The rotation function finds the plan its new keys join through the secret's tags.
        cdk.Tags.of(secret).add(KIND_TAG, API_KEY_KIND)
        cdk.Tags.of(secret).add(PLAN_TAG, plan.ref)
        stack.secrets[f"{SECRET_PREFIX}{channel}"] = secret
        stack.channel_plans[channel] = plan
    # Every channel route requires an API key (Chalice's api_key_required, set here so the routes stay as they are).
    rest_api.add_property_override("DefinitionBody.securityDefinitions.api_key",
                                   {"type": "apiKey", "name": "x-api-key", "in": "header"})
    sam = Path(stack.chalice._sam_package_dir) / "sam.json"
    for path, methods in channel_paths(sam).items():
        for method in methods:
            rest_api.add_property_override(f"DefinitionBody.paths.{path}.{method}.security", [{"api_key": []}])
    # The bot is the Telegram channel: it reads its key by ARN at cold start (bot_lambda.py) and sends X-API-Key.
    if "telegram" in o.channels:
        secret = stack.secrets[f"{SECRET_PREFIX}telegram"]
        stack.bot.add_environment("CHANNEL_API_KEY_SECRET_ARN", secret.secret_arn)
        secret.grant_read(stack.bot)

"""Secrets Manager values and SSM parameters folded into the settings at cold start (never into logs)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ...settings import Settings
from .clients import client
from .config import CloudConfig

# What the infrastructure stores in a secret that an operator has yet to fill in (the bot token).
PLACEHOLDER = "unset"


def secret_value(arn: str, region: str, secretsmanager: Any = None) -> str:
    service = secretsmanager if secretsmanager is not None else client("secretsmanager", region)
    value: str = service.get_secret_value(SecretId=arn)["SecretString"]
    return value.strip()


def previous_secret_value(arn: str, region: str, secretsmanager: Any = None) -> str | None:
    """The secret's previous value (Secrets Manager's AWSPREVIOUS stage) while a rotation is under way, else None."""
    service = secretsmanager if secretsmanager is not None else client("secretsmanager", region)
    try:
        value: str = service.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"]
    except service.exceptions.ResourceNotFoundException:
        return None
    return value.strip() or None


def cloud_settings(settings: Settings, config: CloudConfig, *, secretsmanager: Any = None,
                   ssm: Any = None) -> Settings:
    """The settings with the cloud's secrets in place of the local development ones.

    One GetSecretValue per secret (not BatchGetSecretValue: that one cannot be limited to named secrets in
    IAM), each function being given only the ARNs it may read.
    """
    values = {name: secret_value(arn, config.region, secretsmanager) for name, arn in config.secret_arns.items()}
    changes: dict[str, Any] = {}
    if "channel_key" in values:
        changes["channel_keys"] = {config.channel_name: values["channel_key"]}
        # A rotation puts the new key in the secret: the previous one stays valid until the next rotation, so
        # the bot (which reads the secret at its own cold start) is never refused meanwhile (issue 14).
        previous = previous_secret_value(config.secret_arns["channel_key"], config.region, secretsmanager)
        if previous and previous != values["channel_key"]:
            changes["previous_channel_keys"] = {config.channel_name: previous}
    if "payment_webhook_secret" in values:
        changes["payment_webhook_secrets"] = {config.payment_provider: values["payment_webhook_secret"]}
    if "telegram_bot_token" in values:
        token = values["telegram_bot_token"]
        changes["telegram_bot_token"] = None if token in ("", PLACEHOLDER) else token
    if config.public_base_url_parameter:
        service = ssm if ssm is not None else client("ssm", config.region)
        url: str = service.get_parameter(Name=config.public_base_url_parameter)["Parameter"]["Value"]
        changes["public_base_url"] = url.strip().rstrip("/")
    return dataclasses.replace(settings, **changes) if changes else settings

"""The bot Lambda's entry point: puts its secrets from Secrets Manager into the environment, then runs bot.webhook.

The bot reads TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and CHANNEL_KEY from the environment; the
infrastructure gives it only the secrets' ARNs (values never sit in the function's configuration), so they
are fetched here once per cold start. This file is copied to the root of the bot's bundle.
"""

from __future__ import annotations

import os
from typing import Any

SECRET_ARNS = {
    "TELEGRAM_BOT_TOKEN": "TELEGRAM_BOT_TOKEN_SECRET_ARN",
    "TELEGRAM_WEBHOOK_SECRET": "TELEGRAM_WEBHOOK_SECRET_ARN",
    "CHANNEL_KEY": "CHANNEL_KEY_SECRET_ARN",
    "CHANNEL_API_KEY": "CHANNEL_API_KEY_SECRET_ARN",  # its usage plan's API key (issue 16)
}


def load_secrets(environ: Any = os.environ, secretsmanager: Any = None) -> list[str]:
    """Fill each variable whose ``*_SECRET_ARN`` is set and whose value is not; returns the names filled."""
    wanted = {name: environ[arn] for name, arn in SECRET_ARNS.items() if environ.get(arn) and not environ.get(name)}
    if not wanted:
        return []
    if secretsmanager is None:
        # botocore, not boto3: pynamodb already ships it in this bundle, boto3 would add weight for nothing.
        import botocore.session

        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        secretsmanager = botocore.session.get_session().create_client("secretsmanager", region_name=region)
    for name, arn in wanted.items():
        environ[name] = secretsmanager.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"].strip()
    # While the secret token rolls over (README, "Rotating secrets") Telegram may still send the previous one.
    if "TELEGRAM_WEBHOOK_SECRET" in wanted:
        try:
            previous = secretsmanager.get_secret_value(SecretId=wanted["TELEGRAM_WEBHOOK_SECRET"],
                                                       VersionStage="AWSPREVIOUS")["SecretString"].strip()
        except secretsmanager.exceptions.ResourceNotFoundException:
            previous = ""
        if previous and previous != environ["TELEGRAM_WEBHOOK_SECRET"]:
            environ["TELEGRAM_WEBHOOK_SECRET_PREVIOUS"] = previous
    return sorted(wanted)


load_secrets()

from bot.webhook import handler  # noqa: E402 - the secrets must be in place before the bot reads its settings

__all__ = ["handler", "load_secrets"]

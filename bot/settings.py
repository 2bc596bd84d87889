"""The bot's settings, read from the environment; the defaults are the local stack's."""

from __future__ import annotations

import os
from dataclasses import dataclass

# The only place the public Bot API host appears: everything else builds on TELEGRAM_API_BASE_URL.
DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org"
DEV_CHANNEL_KEY = "local-dev-channel-key"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class BotSettings:
    token: str = ""
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API_BASE_URL
    webhook_secret: str = ""
    previous_webhook_secret: str = ""  # valid beside webhook_secret while it rolls over
    api_base_url: str = "http://127.0.0.1:8000"
    channel_key: str = DEV_CHANNEL_KEY
    api_key: str = ""  # the channel's API Gateway key (its usage plan) in the cloud; none locally
    conversation_ttl_hours: float = 48.0
    table_prefix: str = "local-"
    dynamodb_endpoint: str | None = "http://127.0.0.1:8001"
    aws_region: str = "us-east-1"
    # Shown in the guide before a payment order exists; the order itself always comes from the API.
    certificate_fee: str = "37.70"
    api_timeout_seconds: float = 15.0

    @property
    def bot_api_url(self) -> str:
        """Base for PTB's `base_url`: PTB appends the token."""
        return f"{self.telegram_api_base_url.rstrip('/')}/bot"

    @property
    def bot_file_url(self) -> str:
        return f"{self.telegram_api_base_url.rstrip('/')}/file/bot"

    @property
    def conversations_table(self) -> str:
        return f"{self.table_prefix}bot-conversations"


def load_settings() -> BotSettings:
    defaults = BotSettings()
    endpoint = _env("DYNAMODB_ENDPOINT", defaults.dynamodb_endpoint or "")
    return BotSettings(
        token=_env("TELEGRAM_BOT_TOKEN", ""),
        telegram_api_base_url=_env("TELEGRAM_API_BASE_URL", defaults.telegram_api_base_url).rstrip("/"),
        webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET", ""),
        previous_webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET_PREVIOUS", ""),
        api_base_url=_env("API_BASE_URL", defaults.api_base_url).rstrip("/"),
        channel_key=_env("CHANNEL_KEY", defaults.channel_key),
        api_key=_env("CHANNEL_API_KEY", defaults.api_key),
        conversation_ttl_hours=float(_env("BOT_CONVERSATION_TTL_HOURS", str(defaults.conversation_ttl_hours))),
        table_prefix=_env("TABLE_PREFIX", defaults.table_prefix),
        dynamodb_endpoint=None if endpoint in ("", "aws") else endpoint,
        aws_region=_env("AWS_DEFAULT_REGION", defaults.aws_region),
        certificate_fee=_env("CERTIFICATE_FEE", defaults.certificate_fee),
        api_timeout_seconds=float(_env("BOT_API_TIMEOUT_SECONDS", str(defaults.api_timeout_seconds))),
    )

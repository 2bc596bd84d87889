"""Secrets Manager values and SSM parameters folded into the settings at cold start (never into logs)."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...settings import Settings, partners_setting
from .clients import client
from .config import CloudConfig

# What the infrastructure stores in a secret that an operator has yet to fill in (the bot token).
PLACEHOLDER = "unset"


def secret_value(arn: str, region: str, secretsmanager: Any = None) -> str:
    service = secretsmanager if secretsmanager is not None else client("secretsmanager", region)
    value: str = service.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
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
    IAM), each function being given only the ARNs it may read. A secret that verifies something (a channel key,
    the payment webhook's HMAC) is read twice: AWSCURRENT and AWSPREVIOUS, both valid during a rotation
    (infrastructure/rotation/handler.py); what the system signs uses AWSCURRENT only.
    """
    changes = secret_changes(config, secretsmanager)
    if config.public_base_url_parameter:
        service = ssm if ssm is not None else client("ssm", config.region)
        url: str = service.get_parameter(Name=config.public_base_url_parameter)["Parameter"]["Value"]
        changes["public_base_url"] = url.strip().rstrip("/")
    return dataclasses.replace(settings, **changes) if changes else settings


# The secrets that verify something: their AWSPREVIOUS value is read too (valid during a rollover).
ROLLED_OVER = frozenset({"channel_key", "payment_webhook_secret", "console_link_secret"})


def secret_changes(config: CloudConfig, secretsmanager: Any = None) -> dict[str, Any]:
    """The settings' fields that come from Secrets Manager, as they stand now. The reads run at once (a cold start
    waits for the slowest one, not for their sum; bench/secrets_cold_start.py)."""
    arns = config.secret_arns
    service = secretsmanager if secretsmanager is not None else client("secretsmanager", config.region)
    reads: dict[tuple[str, bool], Any] = {(name, False): secret_value for name in arns}
    reads.update({(name, True): previous_secret_value for name in arns if name in ROLLED_OVER})
    with ThreadPoolExecutor(max_workers=len(reads) or 1, thread_name_prefix="secrets") as pool:
        futures = {key: pool.submit(read, arns[key[0]], config.region, service) for key, read in reads.items()}
    values = {name: futures[(name, False)].result() for name in arns}

    def previous(name: str) -> str | None:
        found: str | None = futures[(name, True)].result()
        return found if found and found != values[name] else None

    changes: dict[str, Any] = {}
    if "channel_key" in values:
        changes["channel_keys"] = {config.channel_name: values["channel_key"]}
        # After a rotation the bot may still present the previous key (its warm functions read it before).
        old = previous("channel_key")
        changes["previous_channel_keys"] = {config.channel_name: old} if old else {}
    if "payment_webhook_secret" in values:
        changes["payment_webhook_secrets"] = {config.payment_provider: values["payment_webhook_secret"]}
        # The provider holds this one too: while the operator rolls it over, it may sign with either (README).
        old = previous("payment_webhook_secret")
        changes["previous_payment_webhook_secrets"] = {config.payment_provider: old} if old else {}
    if "telegram_bot_token" in values:
        token = values["telegram_bot_token"]
        changes["telegram_bot_token"] = None if token in ("", PLACEHOLDER) else token
    if "console_link_secret" in values:
        changes["console_link_secret"] = values["console_link_secret"]
        changes["previous_console_link_secret"] = previous("console_link_secret") or ""
    if "partners" in values:
        # Partners' settings (callback URLs and secrets, agreements, quotas) never sit in the configuration.
        raw = values["partners"]
        changes["partners"] = partners_setting("" if raw in ("", PLACEHOLDER) else raw, local=False)
    return changes


class SecretRefresher:
    """Reads the secrets again when a credential is refused, at most once per ``min_interval`` seconds: a client
    that picked up a rotated value before this warm function did is accepted within that interval, and a stream
    of forged credentials costs at most one read per interval."""

    def __init__(self, config: CloudConfig, min_interval: float = 60.0, secretsmanager: Any = None,
                 clock: Any = time.monotonic) -> None:
        self._config, self._interval, self._service, self._clock = config, min_interval, secretsmanager, clock
        self._last = clock()

    def __call__(self, settings: Settings) -> Settings | None:
        """The settings with the secrets read again, or None when they were read too recently."""
        now = self._clock()
        if now - self._last < self._interval:
            return None
        self._last = now
        return dataclasses.replace(settings, **secret_changes(self._config, self._service))

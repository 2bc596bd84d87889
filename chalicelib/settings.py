"""Every setting the system reads, from the environment, with the local stack's defaults."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

# Local-development defaults. They are documented in the README and are only safe on 127.0.0.1.
DEV_CHANNEL_KEY = "local-dev-channel-key"
DEV_WEBHOOK_SECRET = "local-dev-webhook-secret"
DEV_JWT_SECRET = "local-dev-operator-jwt-secret-change-me"
DEV_CONSOLE_SECRET = "local-dev-console-link-secret-change-me"
DEV_PARTNER_SECRET = "local-dev-partner-secret-migraciones"
DEV_PARTNER_CALLBACK_SECRET = "local-dev-partner-callback-secret"


# The local stack's one partner: Migraciones, with a fee waiver (its agreement) and no callback until configured.
DEV_PARTNERS: dict[str, Any] = {"migraciones": {"secrets": [DEV_PARTNER_SECRET], "fee_waived": True,
                                                "per_minute": 60, "per_day": 10000, "name": "Migraciones"}}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    aws_region: str = "us-east-1"
    dynamodb_endpoint: str | None = "http://127.0.0.1:8001"
    table_prefix: str = "local-"
    data_dir: Path = field(default_factory=lambda: _project_root() / ".local")
    public_base_url: str = "http://127.0.0.1:8000"
    # channel name -> key; "telegram" is the bot.
    channel_keys: dict[str, str] = field(default_factory=lambda: {"telegram": DEV_CHANNEL_KEY})
    # During a rotation the previous key of a channel stays valid beside the new one (issue 14).
    previous_channel_keys: dict[str, str] = field(default_factory=dict)
    payment_webhook_secrets: dict[str, str] = field(default_factory=lambda: {"local": DEV_WEBHOOK_SECRET})
    # During a rotation the provider may still sign with the previous secret: it verifies too, never signs.
    previous_payment_webhook_secrets: dict[str, str] = field(default_factory=dict)
    payment_webhook_tolerance_seconds: int = 300
    payment_pay_url_template: str = "http://127.0.0.1:8002/pay/{order_code}"
    certificate_fee: Decimal = Decimal("37.70")
    currency: str = "PEN"
    payment_order_ttl_hours: int = 24
    identity_max_attempts: int = 5
    match_name_threshold: float = 88.0
    match_exact_name_threshold: float = 97.0
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "local-operator-issuer"
    jwt_audience: str = "antecedentes-admin"
    max_body_bytes: int = 16 * 1024
    certificate_validity_days: int = 90
    timestamp_url: str | None = None
    telegram_bot_token: str | None = None
    checkin_location_max_age_seconds: int = 180
    warrant_name_threshold: float = 92.0
    attendance_validity_days: int = 365
    telegram_api_base_url: str = "https://api.telegram.org"
    # Virtual control's outbound e-mail (issue 6); locally the messages land in DATA_DIR/outbox/email.
    police_contact_email: str = "policia.contacto@cvp.local"
    court_mesa_partes_email: str = "mesadepartes@cvp.local"
    cvp_head_email: str = "encargado.cvp@cvp.local"
    registry_breaker_failures: int = 3
    registry_breaker_reset_seconds: int = 60
    # Certificate notices by e-mail (issue 13): an SMTP server when set (the local stack's), otherwise the
    # e-mail port's default (files locally, SES in the cloud); the bot's username makes t.me links.
    smtp_host: str | None = None
    smtp_port: int = 8025
    email_from: str = "no-reply@antecedentes.local"
    telegram_bot_username: str | None = None
    # The operators' console (issue 11): the key of the local signed links to photos and files, and how long one
    # slice of a job (a CSV import) may run before it hands on to the next.
    console_link_secret: str = DEV_CONSOLE_SECRET
    previous_console_link_secret: str = ""  # in the cloud, while the key rolls over: it still verifies cursors
    job_slice_seconds: float = 60.0
    # Partner systems (issue 14): client id -> its configuration (PARTNERS, JSON); their tokens' audience.
    partners: dict[str, Any] = field(default_factory=lambda: dict(DEV_PARTNERS))
    partner_token_audience: str = "antecedentes-partners"
    partner_token_ttl_seconds: int = 3600
    # Signed callbacks to partners: tries per status change, the first wait (doubled each try), each call's timeout.
    partner_callback_attempts: int = 4
    partner_callback_backoff_seconds: float = 1.0
    partner_callback_timeout_seconds: float = 5.0

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def outbox_dir(self) -> Path:
        """Where the local e-mail and SMS senders write what they would send."""
        return self.data_dir / "outbox"

    def table_name(self, short: str) -> str:
        return f"{self.table_prefix}{short}"


def _pairs(raw: str) -> dict[str, str]:
    """Parse "a=1,b=2" into a dict; used for per-channel and per-provider secrets."""
    result: dict[str, str] = {}
    for part in raw.split(","):
        if "=" in part:
            name, value = part.split("=", 1)
            result[name.strip()] = value.strip()
    return result


def load_settings() -> Settings:
    defaults = Settings()
    endpoint = _env("DYNAMODB_ENDPOINT", defaults.dynamodb_endpoint or "")
    return Settings(
        stage=_env("STAGE", defaults.stage),
        aws_region=_env("AWS_DEFAULT_REGION", defaults.aws_region),
        dynamodb_endpoint=None if endpoint in ("", "aws") else endpoint,
        table_prefix=_env("TABLE_PREFIX", defaults.table_prefix),
        data_dir=Path(_env("DATA_DIR", str(defaults.data_dir))).resolve(),
        public_base_url=_env("PUBLIC_BASE_URL", defaults.public_base_url).rstrip("/"),
        channel_keys=_pairs(_env("CHANNEL_KEYS", f"telegram={DEV_CHANNEL_KEY}")),
        previous_channel_keys=_pairs(os.environ.get("CHANNEL_KEYS_PREVIOUS") or ""),
        payment_webhook_secrets=_pairs(_env("PAYMENT_WEBHOOK_SECRETS", f"local={DEV_WEBHOOK_SECRET}")),
        previous_payment_webhook_secrets=_pairs(os.environ.get("PAYMENT_WEBHOOK_SECRETS_PREVIOUS") or ""),
        payment_webhook_tolerance_seconds=int(
            _env("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", str(defaults.payment_webhook_tolerance_seconds))
        ),
        payment_pay_url_template=_env("PAYMENT_PAY_URL_TEMPLATE", defaults.payment_pay_url_template),
        certificate_fee=Decimal(_env("CERTIFICATE_FEE", str(defaults.certificate_fee))),
        currency=_env("CURRENCY", defaults.currency),
        payment_order_ttl_hours=int(_env("PAYMENT_ORDER_TTL_HOURS", str(defaults.payment_order_ttl_hours))),
        identity_max_attempts=int(_env("IDENTITY_MAX_ATTEMPTS", str(defaults.identity_max_attempts))),
        match_name_threshold=float(_env("MATCH_NAME_THRESHOLD", str(defaults.match_name_threshold))),
        match_exact_name_threshold=float(
            _env("MATCH_EXACT_NAME_THRESHOLD", str(defaults.match_exact_name_threshold))
        ),
        jwt_secret=_env("JWT_SECRET", defaults.jwt_secret),
        jwt_issuer=_env("JWT_ISSUER", defaults.jwt_issuer),
        jwt_audience=_env("JWT_AUDIENCE", defaults.jwt_audience),
        max_body_bytes=int(_env("MAX_BODY_BYTES", str(defaults.max_body_bytes))),
        certificate_validity_days=int(
            _env("CERTIFICATE_VALIDITY_DAYS", str(defaults.certificate_validity_days))
        ),
        timestamp_url=os.environ.get("TIMESTAMP_URL") or None,
        telegram_bot_token=os.environ.get("TELEGRAM_BOT_TOKEN") or None,
        checkin_location_max_age_seconds=int(_env("CHECKIN_LOCATION_MAX_AGE_SECONDS",
                                                  str(defaults.checkin_location_max_age_seconds))),
        warrant_name_threshold=float(_env("WARRANT_NAME_THRESHOLD", str(defaults.warrant_name_threshold))),
        attendance_validity_days=int(_env("ATTENDANCE_VALIDITY_DAYS", str(defaults.attendance_validity_days))),
        telegram_api_base_url=_env("TELEGRAM_API_BASE_URL", defaults.telegram_api_base_url),
        police_contact_email=_env("POLICE_CONTACT_EMAIL", defaults.police_contact_email),
        court_mesa_partes_email=_env("COURT_MESA_PARTES_EMAIL", defaults.court_mesa_partes_email),
        cvp_head_email=_env("CVP_HEAD_EMAIL", defaults.cvp_head_email),
        registry_breaker_failures=int(_env("REGISTRY_BREAKER_FAILURES", str(defaults.registry_breaker_failures))),
        registry_breaker_reset_seconds=int(_env("REGISTRY_BREAKER_RESET_SECONDS",
                                                str(defaults.registry_breaker_reset_seconds))),
        smtp_host=os.environ.get("SMTP_HOST") or None,
        smtp_port=int(_env("SMTP_PORT", str(defaults.smtp_port))),
        email_from=_env("EMAIL_FROM", defaults.email_from),
        telegram_bot_username=os.environ.get("TELEGRAM_BOT_USERNAME") or None,
        console_link_secret=_env("CONSOLE_LINK_SECRET", defaults.console_link_secret),
        job_slice_seconds=float(_env("JOB_SLICE_SECONDS", str(defaults.job_slice_seconds))),
        partners=partners_setting(os.environ.get("PARTNERS") or "", local=_env("STAGE", defaults.stage) == "local"),
        partner_token_ttl_seconds=int(_env("PARTNER_TOKEN_TTL_SECONDS", str(defaults.partner_token_ttl_seconds))),
        partner_callback_attempts=int(_env("PARTNER_CALLBACK_ATTEMPTS", str(defaults.partner_callback_attempts))),
        partner_callback_backoff_seconds=float(_env("PARTNER_CALLBACK_BACKOFF_SECONDS",
                                                    str(defaults.partner_callback_backoff_seconds))),
        partner_callback_timeout_seconds=float(_env("PARTNER_CALLBACK_TIMEOUT_SECONDS",
                                                    str(defaults.partner_callback_timeout_seconds))),
    )


def partners_setting(raw: str, *, local: bool = True) -> dict[str, Any]:
    """PARTNERS (in the cloud, the partners' secret): a JSON object, client id -> {"secrets": [...], "scopes",
    "fee_waived", "callback_url", "callback_secret", "per_minute", "per_day"}; unset: the local stack's
    Migraciones, and no partner on any other stage (its development secret is public). In the cloud Cognito holds
    the client secrets: "secrets" []."""
    if not raw.strip():
        return dict(DEV_PARTNERS) if local else {}
    parsed = json.loads(raw)
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise ValueError("PARTNERS must be a JSON object of client id -> configuration object")
    return parsed

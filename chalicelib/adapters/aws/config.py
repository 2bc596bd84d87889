"""Which cloud adapters to use and how they are reached, read from the environment (the infrastructure sets it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    value = env.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _ids(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class CloudConfig:
    region: str = "us-east-1"
    # Documents: "s3" puts them in DOCUMENTS_BUCKET; anything else keeps the local folder.
    document_store: str = ""
    documents_bucket: str = ""
    documents_lock_days: int = 0  # S3 Object Lock retention of issued documents (0: none)
    # Signatures: "kms" signs PDFs with SIGNING_KEY_ID and seals QR codes with QR_KEY_ID.
    document_signer: str = ""
    signing_key_id: str = ""
    signing_cert_chain: str = ""  # PEM: the signer's certificate first, its CA last
    signing_cert_chain_parameter: str = ""  # or the SSM parameter that holds that PEM
    qr_key_id: str = ""
    qr_previous_key_ids: tuple[str, ...] = ()  # still published in the JWKS after a rotation
    qr_certificates: str = ""  # PEM: the QR keys' certificates from the document CA (x5c in the JWKS)
    # Operators: "cognito" verifies the user pool's JWTs instead of the local HS256 tokens.
    operator_auth: str = ""
    cognito_user_pool_id: str = ""
    cognito_app_client_id: str = ""
    cognito_jwks_url: str = ""
    cognito_issuer: str = ""
    cognito_token_uses: tuple[str, ...] = ("id", "access")
    cognito_hosted_ui: str = ""  # the hosted UI's base URL: operators sign in to the console there (with MFA)
    # Partners' app clients (client credentials): app client id -> partner client id (PARTNER_APP_CLIENTS,
    # "<app client id>=migraciones,...").
    partner_app_clients: dict[str, str] = field(default_factory=dict)
    # Outbound messages and face matching.
    email_sender: str = ""  # "ses"
    email_from: str = ""
    email_configuration_set: str = ""  # routes SES bounces and complaints to the feedback topic
    sms_sender: str = ""  # "sns"
    sms_sender_id: str = ""
    face_matcher: str = ""  # "rekognition"
    face_similarity_threshold: float = 90.0
    face_min_sharpness: float = 20.0
    face_min_brightness: float = 15.0
    # Secrets Manager ARNs whose values replace the local development secrets in the settings.
    channel_key_secret_arn: str = ""
    channel_name: str = "telegram"
    payment_webhook_secret_arn: str = ""
    payment_provider: str = "local"
    telegram_bot_token_secret_arn: str = ""
    # Issue 16: the key of the console's signed links and list cursors, and the partners' settings (JSON).
    console_link_secret_arn: str = ""
    partners_secret_arn: str = ""
    # SSM parameter holding the public base URL (the API's own URL is only known after it is created).
    public_base_url_parameter: str = ""

    @property
    def s3_documents(self) -> bool:
        return self.document_store == "s3"

    @property
    def kms_signer(self) -> bool:
        return self.document_signer == "kms"

    @property
    def cognito(self) -> bool:
        return self.operator_auth == "cognito"

    @property
    def cognito_issuer_url(self) -> str:
        return self.cognito_issuer or (
            f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}")

    @property
    def cognito_jwks(self) -> str:
        return self.cognito_jwks_url or f"{self.cognito_issuer_url}/.well-known/jwks.json"

    @property
    def secret_arns(self) -> dict[str, str]:
        named = {
            "channel_key": self.channel_key_secret_arn,
            "payment_webhook_secret": self.payment_webhook_secret_arn,
            "telegram_bot_token": self.telegram_bot_token_secret_arn,
            "console_link_secret": self.console_link_secret_arn,
            "partners": self.partners_secret_arn,
        }
        return {name: arn for name, arn in named.items() if arn}

    @property
    def anything(self) -> bool:
        """False on the local stack: then nothing is replaced and no AWS client is ever created."""
        return bool(self.s3_documents or self.kms_signer or self.cognito or self.email_sender or self.sms_sender
                    or self.face_matcher or self.secret_arns or self.public_base_url_parameter)

    def check(self) -> None:
        """Refuse a half-configured cloud: a missing id would otherwise fail on the first citizen's request."""
        missing = []
        if self.s3_documents and not self.documents_bucket:
            missing.append("DOCUMENTS_BUCKET")
        if self.kms_signer and not self.qr_key_id:
            missing.append("QR_KEY_ID")
        if self.kms_signer and not (self.signing_cert_chain or self.signing_cert_chain_parameter):
            missing.append("SIGNING_CERT_CHAIN or SIGNING_CERT_CHAIN_PARAMETER")
        if self.cognito and not (self.cognito_user_pool_id and self.cognito_app_client_id):
            missing.append("COGNITO_USER_POOL_ID and COGNITO_APP_CLIENT_ID")
        if self.email_sender == "ses" and not self.email_from:
            missing.append("EMAIL_FROM")
        if missing:
            raise RuntimeError(f"cloud adapters are half configured: set {', '.join(missing)}")


def load_cloud_config(env: Mapping[str, str] | None = None) -> CloudConfig:
    env = os.environ if env is None else env
    d = CloudConfig()
    return CloudConfig(
        region=_get(env, "AWS_REGION", _get(env, "AWS_DEFAULT_REGION", d.region)),
        document_store=_get(env, "DOCUMENT_STORE").lower(),
        documents_bucket=_get(env, "DOCUMENTS_BUCKET"),
        documents_lock_days=int(_get(env, "DOCUMENTS_LOCK_DAYS", "0") or 0),
        document_signer=_get(env, "DOCUMENT_SIGNER").lower(),
        signing_key_id=_get(env, "SIGNING_KEY_ID"),
        signing_cert_chain=_get(env, "SIGNING_CERT_CHAIN"),
        signing_cert_chain_parameter=_get(env, "SIGNING_CERT_CHAIN_PARAMETER"),
        qr_key_id=_get(env, "QR_KEY_ID"),
        qr_previous_key_ids=_ids(_get(env, "QR_PREVIOUS_KEY_IDS")),
        qr_certificates=_get(env, "QR_CERTIFICATES"),
        operator_auth=_get(env, "OPERATOR_AUTH").lower(),
        cognito_user_pool_id=_get(env, "COGNITO_USER_POOL_ID"),
        cognito_app_client_id=_get(env, "COGNITO_APP_CLIENT_ID"),
        cognito_jwks_url=_get(env, "COGNITO_JWKS_URL"),
        cognito_issuer=_get(env, "COGNITO_ISSUER"),
        partner_app_clients=dict(part.split("=", 1) for part in _get(env, "PARTNER_APP_CLIENTS").split(",")
                                 if "=" in part),
        cognito_token_uses=_ids(_get(env, "COGNITO_TOKEN_USES", ",".join(d.cognito_token_uses))),
        cognito_hosted_ui=_get(env, "COGNITO_HOSTED_UI"),
        email_sender=_get(env, "EMAIL_SENDER").lower(),
        email_from=_get(env, "EMAIL_FROM"),
        email_configuration_set=_get(env, "EMAIL_CONFIGURATION_SET"),
        sms_sender=_get(env, "SMS_SENDER").lower(),
        sms_sender_id=_get(env, "SMS_SENDER_ID"),
        face_matcher=_get(env, "FACE_MATCHER").lower(),
        face_similarity_threshold=float(_get(env, "FACE_SIMILARITY_THRESHOLD", str(d.face_similarity_threshold))),
        face_min_sharpness=float(_get(env, "FACE_MIN_SHARPNESS", str(d.face_min_sharpness))),
        face_min_brightness=float(_get(env, "FACE_MIN_BRIGHTNESS", str(d.face_min_brightness))),
        channel_key_secret_arn=_get(env, "CHANNEL_KEY_SECRET_ARN"),
        channel_name=_get(env, "CHANNEL_NAME", d.channel_name),
        payment_webhook_secret_arn=_get(env, "PAYMENT_WEBHOOK_SECRET_ARN"),
        payment_provider=_get(env, "PAYMENT_PROVIDER", d.payment_provider),
        telegram_bot_token_secret_arn=_get(env, "TELEGRAM_BOT_TOKEN_SECRET_ARN"),
        console_link_secret_arn=_get(env, "CONSOLE_LINK_SECRET_ARN"),
        partners_secret_arn=_get(env, "PARTNERS_SECRET_ARN"),
        public_base_url_parameter=_get(env, "PUBLIC_BASE_URL_PARAMETER"),
    )

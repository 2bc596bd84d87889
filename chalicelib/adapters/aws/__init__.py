"""Cloud adapters (S3, KMS, Cognito, Secrets Manager, SES, SNS, Rekognition), chosen by the environment.

``cloud_adapters(settings)`` is the one entry point the composition root calls: on the local stack no variable
asks for a cloud adapter, so it returns an empty choice at once without importing boto3; in Lambda the
infrastructure sets the variables. It builds objects only: the first AWS call happens when a request needs it,
except for the secrets, which are read here because the settings must hold them before the first request is
checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import CloudConfig, load_cloud_config

if TYPE_CHECKING:
    from ...settings import Settings

__all__ = ["CloudAdapters", "CloudConfig", "cloud_adapters", "load_cloud_config"]


@dataclass(frozen=True)
class CloudAdapters:
    """What the cloud replaces; None keeps the embedded default."""

    settings: Settings | None = None
    storage: Any = None
    pki: Callable[[], Any] | None = None
    producer: Callable[[Any], Any] | None = None
    tokens: Any = None
    email: Any = None
    sms: Any = None
    faces: Any = None
    accounts: Any = None  # the console's operators: Cognito's users
    media: Any = None  # short-lived links: S3 presigned URLs
    hosted_ui: Any = None  # the console's sign-in: Cognito's hosted UI
    partner_verifier: Any = None  # partners' access tokens (client credentials) from the same pool
    refresh_secrets: Any = None  # settings -> settings with the secrets read again (rate-limited), or None


def cloud_adapters(settings: Settings, config: CloudConfig | None = None) -> CloudAdapters:
    config = config or load_cloud_config()
    if not config.anything:
        return CloudAdapters()
    config.check()
    chosen: dict[str, Any] = {}
    if config.secret_arns or config.public_base_url_parameter:
        from .secrets import SecretRefresher, cloud_settings

        settings = cloud_settings(settings, config)
        chosen["settings"] = settings
        if config.secret_arns:
            chosen["refresh_secrets"] = SecretRefresher(config)
    if config.s3_documents:
        from ..media_links import S3MediaLinks
        from .s3 import S3DocumentStorage

        chosen["storage"] = S3DocumentStorage(config.documents_bucket, config.region,
                                              lock_days=config.documents_lock_days)
        chosen["media"] = S3MediaLinks(chosen["storage"])
    if config.kms_signer:
        from .kms import KmsPki, LazyProducer, kms_pipeline

        pki = KmsPki(config)
        timestamp_url = settings.timestamp_url
        producer = LazyProducer(lambda: kms_pipeline(pki, timestamp_url))
        chosen["pki"] = lambda: pki
        chosen["producer"] = lambda _keys: producer
    if config.cognito:
        from .cognito import CognitoPartnerVerifier, CognitoTokenVerifier

        chosen["tokens"] = CognitoTokenVerifier(config.cognito_issuer_url, config.cognito_app_client_id,
                                                config.cognito_jwks, token_uses=config.cognito_token_uses)
        # Partners' access tokens: the same pool and keys, another audience (each partner's app client).
        chosen["partner_verifier"] = CognitoPartnerVerifier(chosen["tokens"], config.partner_app_clients)
        from .cognito_accounts import CognitoOperatorAccounts

        chosen["accounts"] = CognitoOperatorAccounts(config.cognito_user_pool_id, config.region)
        if config.cognito_hosted_ui:
            from .cognito_hosted import CognitoHostedUi

            chosen["hosted_ui"] = CognitoHostedUi(config.cognito_hosted_ui, config.cognito_app_client_id,
                                                  f"{settings.public_base_url}/console/auth/callback")
    if config.email_sender == "ses":
        from .outbound import SesEmailSender

        chosen["email"] = SesEmailSender(config.email_from, config.region,
                                         configuration_set=config.email_configuration_set or None)
    if config.sms_sender == "sns":
        from .outbound import SnsSmsSender

        chosen["sms"] = SnsSmsSender(config.region, config.sms_sender_id)
    if config.face_matcher == "rekognition":
        from .rekognition import RekognitionFaceMatcher

        chosen["faces"] = RekognitionFaceMatcher(config.region, config.face_similarity_threshold,
                                                 min_sharpness=config.face_min_sharpness,
                                                 min_brightness=config.face_min_brightness)
    return CloudAdapters(**chosen)

"""Cloud adapters (S3, KMS, Cognito, Secrets Manager, SES, SNS, Rekognition), chosen by the environment.

``apply_cloud_adapters(container)`` is the one entry point: on the local stack no variable asks for a cloud
adapter, so it returns at once without importing boto3; in Lambda the infrastructure sets the variables.
"""

from __future__ import annotations

from typing import Any

from .config import CloudConfig, load_cloud_config

__all__ = ["CloudConfig", "apply_cloud_adapters", "load_cloud_config"]


def apply_cloud_adapters(container: Any, config: CloudConfig | None = None) -> None:
    """Replace the container's embedded defaults with the cloud adapters the environment names.

    Builds objects only: the first AWS call happens when a request needs it, except for the secrets, which
    are read here because the settings must hold them before the first request is checked.
    """
    config = config or load_cloud_config()
    if not config.anything:
        return
    config.check()
    if config.secret_arns or config.public_base_url_parameter:
        from .secrets import cloud_settings

        container.settings = cloud_settings(container.settings, config)
    if config.s3_documents:
        from .s3 import S3DocumentStorage

        container.storage = S3DocumentStorage(config.documents_bucket, config.region)
    if config.kms_signer:
        from .kms import KmsPki, LazyProducer, kms_pipeline

        if not (hasattr(container, "_pki") and hasattr(container, "_producer")):
            # Without these slots the container would quietly make local keys in /tmp and sign with them.
            raise RuntimeError("the container has no _pki/_producer slots for the KMS signer")
        pki = KmsPki(config)
        timestamp_url = container.settings.timestamp_url
        # The container's pki() and producer() return these once set (they only build the local ones when
        # empty), so jwks(), the published CA and document issuing all use KMS.
        container._pki = pki
        container._producer = LazyProducer(lambda: kms_pipeline(pki, timestamp_url))
    if config.cognito:
        from .cognito import CognitoTokenVerifier

        container.tokens = CognitoTokenVerifier(config.cognito_issuer_url, config.cognito_app_client_id,
                                                config.cognito_jwks, token_uses=config.cognito_token_uses)
    _apply_optional(container, config)


def _apply_optional(container: Any, config: CloudConfig) -> None:
    """Outbound messages and face matching, for containers that have a slot for them (``email``, ``sms``,
    ``_face_matcher``); a container without the slot has no use case that needs it yet."""
    if config.email_sender == "ses" and hasattr(container, "email"):
        from .outbound import SesEmailSender

        container.email = SesEmailSender(config.email_from, config.region,
                                         configuration_set=config.email_configuration_set or None)
    if config.sms_sender == "sns" and hasattr(container, "sms"):
        from .outbound import SnsSmsSender

        container.sms = SnsSmsSender(config.region, config.sms_sender_id)
    if config.face_matcher == "rekognition":
        from .rekognition import RekognitionFaceMatcher

        matcher = RekognitionFaceMatcher(config.region, config.face_similarity_threshold,
                                         min_sharpness=config.face_min_sharpness,
                                         min_brightness=config.face_min_brightness)
        # The container's face_matcher() returns _face_matcher once set (the embedded default otherwise).
        for slot in ("_face_matcher", "faces"):
            if hasattr(container, slot):
                setattr(container, slot, matcher)

"""cloud_adapters: the environment picks the cloud adapters, the composition root wires them; without it the
embedded defaults stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib.adapters.aws import CloudAdapters, cloud_adapters, load_cloud_config
from chalicelib.adapters.aws.clients import client
from chalicelib.adapters.documents.pki import key_id
from chalicelib.settings import Settings

from .conftest import REGION
from .test_kms_documents import content, issue_chain, new_kms_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cloud(mocked_aws: None) -> dict[str, Any]:
    """What the infrastructure creates, in moto, and the environment it gives the worker function."""
    kms, secrets, ssm = client("kms", REGION), client("secretsmanager", REGION), client("ssm", REGION)
    client("s3", REGION).create_bucket(Bucket="documents-test")
    signing_key, qr_key = new_kms_key(kms), new_kms_key(kms)
    from chalicelib.adapters.aws.kms import kms_public_key

    chain, ca, _ = issue_chain(kms_public_key(signing_key, REGION))
    ssm.put_parameter(Name="/antecedentes/test/signing-cert-chain", Value=chain, Type="String")
    ssm.put_parameter(Name="/antecedentes/test/public-base-url", Value="https://api.example.pe/api/",
                      Type="String")
    arn = {name: secrets.create_secret(Name=name, SecretString=value)["ARN"]
           for name, value in (("channel", "cloud-channel-key"), ("webhook", "cloud-webhook-secret"),
                               ("bot", "123456:cloud-bot-token"))}
    env = {
        "AWS_REGION": REGION, "DOCUMENT_STORE": "s3", "DOCUMENTS_BUCKET": "documents-test",
        "DOCUMENT_SIGNER": "kms", "SIGNING_KEY_ID": signing_key, "QR_KEY_ID": qr_key,
        "SIGNING_CERT_CHAIN_PARAMETER": "/antecedentes/test/signing-cert-chain",
        "OPERATOR_AUTH": "cognito", "COGNITO_USER_POOL_ID": "us-east-1_pool", "COGNITO_APP_CLIENT_ID": "app-client",
        "CHANNEL_KEY_SECRET_ARN": arn["channel"], "PAYMENT_WEBHOOK_SECRET_ARN": arn["webhook"],
        "TELEGRAM_BOT_TOKEN_SECRET_ARN": arn["bot"],
        "PUBLIC_BASE_URL_PARAMETER": "/antecedentes/test/public-base-url",
        "EMAIL_SENDER": "ses", "EMAIL_FROM": "no-reply@example.pe", "SMS_SENDER": "sns",
        "FACE_MATCHER": "rekognition", "FACE_SIMILARITY_THRESHOLD": "92.5",
    }
    return {"env": env, "ca": ca, "qr_key": qr_key, "secrets": arn}


def built(tmp_path: Path, env: dict[str, str]) -> Any:
    """The container the composition root builds for that environment."""
    from chalicelib import bootstrap

    settings = Settings(data_dir=tmp_path / "data")
    return bootstrap.build(settings, cloud=cloud_adapters(settings, load_cloud_config(env)))


@pytest.fixture(autouse=True)
def _local_models_after() -> Any:
    from chalicelib.adapters import dynamo_models

    yield
    dynamo_models.configure(Settings())  # leave the models as the local defaults have them


def test_cloud_environment_replaces_storage_tokens_keys_and_secrets(cloud: dict[str, Any], tmp_path: Path) -> None:
    from chalicelib.adapters.aws.cognito import CognitoTokenVerifier
    from chalicelib.adapters.aws.kms import kms_public_key
    from chalicelib.adapters.aws.outbound import SesEmailSender, SnsSmsSender
    from chalicelib.adapters.aws.rekognition import RekognitionFaceMatcher
    from chalicelib.adapters.aws.s3 import S3DocumentStorage

    c = built(tmp_path, cloud["env"])

    assert c.settings.channel_keys == {"telegram": "cloud-channel-key"}
    assert c.settings.payment_webhook_secrets == {"local": "cloud-webhook-secret"}
    assert c.settings.telegram_bot_token == "123456:cloud-bot-token"
    assert c.settings.public_base_url == "https://api.example.pe/api"
    assert isinstance(c.storage, S3DocumentStorage) and c.storage.bucket == "documents-test"
    assert isinstance(c.tokens, CognitoTokenVerifier)
    assert c.tokens.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
    assert c.tokens.jwks_url == f"{c.tokens.issuer}/.well-known/jwks.json"
    assert [k["kid"] for k in c.jwks()["keys"]] == [key_id(kms_public_key(cloud["qr_key"], REGION))]
    assert c.pki().ca_cert_pem == cloud["ca"].public_bytes(serialization.Encoding.PEM)
    assert isinstance(c.email, SesEmailSender) and c.email.sender == "no-reply@example.pe"
    assert isinstance(c.sms, SnsSmsSender)
    assert isinstance(c.faces, RekognitionFaceMatcher) and c.faces.threshold == 92.5
    assert c.checkin_ports().faces is c.faces  # the check-in compares faces with the cloud engine
    pdf = c.producer().produce(content())
    assert pdf.startswith(b"%PDF") and b"/ByteRange" in pdf
    c.storage.put("certificates/x.pdf", pdf)
    assert c.storage.get("certificates/x.pdf") == pdf


def test_every_e_mail_goes_through_the_configuration_set_of_bounces_and_complaints(cloud: dict[str, Any]) -> None:
    from chalicelib.adapters.aws.outbound import SesEmailSender

    config = load_cloud_config({**cloud["env"], "EMAIL_CONFIGURATION_SET": "antecedentes-dev"})
    chosen = cloud_adapters(Settings(), config)
    assert isinstance(chosen.email, SesEmailSender) and chosen.email.configuration_set == "antecedentes-dev"


def test_a_rotated_channel_key_keeps_the_previous_one_valid(cloud: dict[str, Any], tmp_path: Path) -> None:
    assert built(tmp_path, cloud["env"]).settings.previous_channel_keys == {}
    client("secretsmanager", REGION).put_secret_value(SecretId=cloud["secrets"]["channel"],
                                                      SecretString="rotated-channel-key")
    c = built(tmp_path, cloud["env"])
    assert c.settings.channel_keys == {"telegram": "rotated-channel-key"}
    assert c.settings.previous_channel_keys == {"telegram": "cloud-channel-key"}


def test_bot_token_placeholder_means_no_token(cloud: dict[str, Any], tmp_path: Path) -> None:
    client("secretsmanager", REGION).put_secret_value(SecretId=cloud["secrets"]["bot"], SecretString="unset")

    c = built(tmp_path, cloud["env"])

    assert c.settings.telegram_bot_token is None
    assert c.notifier() is None


def test_local_environment_keeps_the_embedded_defaults(tmp_path: Path) -> None:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from chalicelib.adapters.local_outbound import FileEmailSender
    from chalicelib.adapters.storage import LocalFileStorage

    assert cloud_adapters(Settings(), load_cloud_config({})) == CloudAdapters()
    c = built(tmp_path, {})
    assert isinstance(c.storage, LocalFileStorage) and isinstance(c.tokens, LocalTokenVerifier)
    assert isinstance(c.email, FileEmailSender)


def test_local_environment_never_imports_boto3() -> None:
    code = ("import sys; from chalicelib.adapters.aws import cloud_adapters\n"
            "from chalicelib.settings import Settings\n"
            "cloud_adapters(Settings()); print('boto3' in sys.modules, 'botocore' in sys.modules)")
    cloud_variables = ("DOCUMENT_STORE", "DOCUMENT_SIGNER", "OPERATOR_AUTH", "EMAIL_SENDER", "SMS_SENDER",
                       "FACE_MATCHER", "PUBLIC_BASE_URL_PARAMETER")
    env = {k: v for k, v in os.environ.items() if k not in cloud_variables and not k.endswith("_SECRET_ARN")}
    env["PYTHONPATH"] = str(ROOT)

    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                            check=True)

    assert answer.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(("env", "missing"), [
    ({"DOCUMENT_STORE": "s3"}, "DOCUMENTS_BUCKET"),
    ({"DOCUMENT_SIGNER": "kms", "SIGNING_CERT_CHAIN": "pem"}, "QR_KEY_ID"),
    ({"OPERATOR_AUTH": "cognito", "COGNITO_USER_POOL_ID": "p"}, "COGNITO_APP_CLIENT_ID"),
])
def test_half_configured_cloud_is_refused_at_start(env: dict[str, str], missing: str) -> None:
    with pytest.raises(RuntimeError, match=missing):
        cloud_adapters(Settings(), load_cloud_config(env))


def test_partners_and_the_console_link_secret_come_from_secrets_manager(cloud: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    """Issue 16: the partners' settings (callback secrets among them) and the key of links and list cursors are
    read by ARN at cold start, never from the function's configuration; a secret still unset means no partner."""
    secrets = client("secretsmanager", REGION)
    partners = {"migraciones": {"fee_waived": True, "callback_url": "https://mig.example.pe/cb",
                                "callback_secret": "cloud-callback-secret-of-migraciones"}}
    partners_arn = secrets.create_secret(Name="partners", SecretString=json.dumps(partners))["ARN"]
    link_arn = secrets.create_secret(Name="links", SecretString="L" * 48)["ARN"]
    env = {**cloud["env"], "PARTNERS_SECRET_ARN": partners_arn, "CONSOLE_LINK_SECRET_ARN": link_arn}
    c = built(tmp_path, env)
    assert c.settings.console_link_secret == "L" * 48
    partner = c.partners.partners["migraciones"]
    assert partner.callback_secret == "cloud-callback-secret-of-migraciones" and partner.fee_waived
    assert partner.secrets == ()  # Cognito holds the client secrets in the cloud
    secrets.put_secret_value(SecretId=partners_arn, SecretString="unset")
    assert built(tmp_path, env).settings.partners == {}
    secrets.put_secret_value(SecretId=partners_arn, SecretString="[1, 2]")
    with pytest.raises(ValueError, match="PARTNERS must be a JSON object"):
        built(tmp_path, env)

"""Operator tokens from a Cognito user pool (moto server): real pool tokens, the pool's JWKS over HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.aws.cognito import CognitoTokenVerifier
from chalicelib.domain.errors import Unauthenticated

from .conftest import REGION

PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture(scope="module")
def pool(moto_server: str) -> dict[str, Any]:
    """A pool with the operator roles as groups, an app client and a reviewer who is also an auditor."""
    import boto3

    server_endpoint = moto_server
    idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=moto_server, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    pool_id = idp.create_user_pool(PoolName=f"operators-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="admin", ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in ("reviewer", "auditor", "some-federation-group"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    idp.admin_create_user(UserPoolId=pool_id, Username="maria", TemporaryPassword=PASSWORD,
                          MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="maria", Password=PASSWORD, Permanent=True)
    for group in ("reviewer", "auditor", "some-federation-group"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="maria", GroupName=group)
    tokens = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "maria", "PASSWORD": PASSWORD})["AuthenticationResult"]
    subject = next(a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username="maria")["UserAttributes"]
                   if a["Name"] == "sub")
    return {"pool_id": pool_id, "client_id": client_id, "tokens": tokens, "sub": subject,
            "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
            "jwks_url": f"{server_endpoint}/{pool_id}/.well-known/jwks.json"}


def verifier_for(pool: dict[str, Any], **changes: Any) -> CognitoTokenVerifier:
    arguments = {"issuer": pool["issuer"], "client_id": pool["client_id"], "jwks_url": pool["jwks_url"], **changes}
    return CognitoTokenVerifier(**arguments)


@pytest.mark.parametrize("kind", ["IdToken", "AccessToken"])
def test_pool_token_gives_the_operator_with_the_groups_that_are_roles(pool: dict[str, Any], kind: str) -> None:
    operator = verifier_for(pool).verify(pool["tokens"][kind])

    assert operator.subject == pool["sub"]
    assert operator.roles == frozenset({"reviewer", "auditor"})  # the federation group is not a role


def test_token_of_another_app_client_is_refused(pool: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated) as raised:
        verifier_for(pool, client_id="another-client").verify(pool["tokens"]["IdToken"])
    assert raised.value.code == "invalid_token"


def test_token_of_another_pool_is_refused(pool: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        verifier_for(pool, issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_other").verify(
            pool["tokens"]["AccessToken"])


def test_token_use_not_allowed_is_refused(pool: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        verifier_for(pool, token_uses=("access",)).verify(pool["tokens"]["IdToken"])


def test_tampered_payload_is_refused(pool: dict[str, Any]) -> None:
    header, payload, signature = pool["tokens"]["IdToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    with pytest.raises(Unauthenticated):
        verifier_for(pool).verify(f"{header}.{forged}.{signature}")


def test_jwks_is_fetched_once_for_many_tokens(pool: dict[str, Any]) -> None:
    from chalicelib.adapters.aws.cognito import fetch_jwks

    calls: list[str] = []

    def counting_fetch(url: str) -> dict[str, Any]:
        calls.append(url)
        return fetch_jwks(url)

    verifier = verifier_for(pool, fetch=counting_fetch)
    for _ in range(3):
        verifier.verify(pool["tokens"]["IdToken"])
        verifier.verify(pool["tokens"]["AccessToken"])

    assert calls == [pool["jwks_url"]]


# --- with a key of our own, for the cases moto's pool cannot produce -------------------------------

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(kid: str = "k1") -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}


def _token(kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "op-1", "iss": ISSUER, "token_use": "access", "client_id": "app", "exp": now + 600,
            "iat": now, "cognito:groups": ["admin"], **claims}
    return jwt.encode(body, KEY, algorithm="RS256", headers={"kid": kid})


def test_expired_token_is_refused_as_expired() -> None:
    verifier = CognitoTokenVerifier(ISSUER, "app", "unused", fetch=lambda url: _jwks(), leeway_seconds=0)

    with pytest.raises(Unauthenticated) as raised:
        verifier.verify(_token(exp=int(time.time()) - 5))
    assert raised.value.code == "token_expired"


def test_hs256_token_is_refused_even_with_a_known_kid() -> None:
    verifier = CognitoTokenVerifier(ISSUER, "app", "unused", fetch=lambda url: _jwks())
    claims = {"sub": "x", "iss": ISSUER, "token_use": "access", "client_id": "app", "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256", headers={"kid": "k1"})

    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_unknown_kid_refetches_once_then_waits_before_asking_again() -> None:
    now = [1000.0]
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return _jwks("k2" if len(fetched) > 1 else "k1")  # the pool rotated to k2 after the first fetch

    verifier = CognitoTokenVerifier(ISSUER, "app", "jwks", fetch=fetch, refetch_after=300, clock=lambda: now[0])
    assert verifier.verify(_token("k1")).roles == frozenset({"admin"})
    now[0] += 400
    assert verifier.verify(_token("k2")).subject == "op-1"  # unknown kid: one refetch finds the new key
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            verifier.verify(_token("forged-kid"))

    assert len(fetched) == 2  # forged kids within the interval cause no further requests


def test_jwks_outage_is_a_service_error_not_a_login_failure() -> None:
    from chalicelib.domain.errors import ServiceUnavailable

    def down(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    with pytest.raises(ServiceUnavailable):
        CognitoTokenVerifier(ISSUER, "app", "jwks", fetch=down).verify(_token())

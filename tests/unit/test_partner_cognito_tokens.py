"""Partners' access tokens from the Cognito pool (client credentials): the app client names the partner, the scope
claim carries the resource server's scopes; tokens of the pool for anything else are refused. Signed here with an
RSA key whose JWKS the verifier fetches through its injected fetcher (the pool's own flow is Cognito's)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.auth import PartnerTokens, partners_from_settings
from chalicelib.adapters.aws.cognito import CognitoPartnerVerifier, CognitoTokenVerifier
from chalicelib.domain.errors import Unauthenticated

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(_url: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}


def _token(**claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "app-client-mig", "client_id": "app-client-mig", "token_use": "access",
            "scope": "certificates/request certificates/read", "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(body, KEY, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def tokens() -> PartnerTokens:
    pool = CognitoTokenVerifier(ISSUER, "operators-app-client", "https://example.invalid/jwks", fetch=_jwks)
    verifier = CognitoPartnerVerifier(pool, {"app-client-mig": "migraciones"})
    partners = partners_from_settings({"migraciones": {"secrets": ["x" * 16]}})
    return PartnerTokens(partners, "unused-local-secret-of-32-bytes-at-least", "local", "partners", verifier=verifier)


def test_a_partners_pool_token_names_the_partner_and_its_scopes(tokens: PartnerTokens) -> None:
    caller = tokens.verify(_token())
    assert caller.client_id == "migraciones"
    assert caller.scopes == {"certificates/request", "certificates/read"}


@pytest.mark.parametrize("claims", [{"client_id": "operators-app-client"}, {"token_use": "id"}, {"scope": None},
                                    {"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}])
def test_other_tokens_of_the_pool_or_of_another_are_refused(tokens: PartnerTokens, claims: dict[str, Any]) -> None:
    token = _token(**{k: v for k, v in claims.items() if v is not None})
    if claims.get("scope", "") is None:
        token = jwt.encode({**jwt.decode(token, options={"verify_signature": False}), "scope": 5}, KEY,
                           algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated) as raised:
        tokens.verify(token)
    assert raised.value.code == "invalid_token"


def test_an_expired_pool_token_is_refused_as_expired(tokens: PartnerTokens) -> None:
    with pytest.raises(Unauthenticated) as raised:
        tokens.verify(_token(exp=int(time.time()) - 3600))
    assert raised.value.code == "token_expired"


def test_a_local_token_is_no_pool_token(tokens: PartnerTokens) -> None:
    with pytest.raises(Unauthenticated):
        tokens.verify(tokens.issue(tokens.partners["migraciones"]))


def test_partners_come_from_partners_and_the_development_one_only_on_the_local_stack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.settings import DEV_PARTNER_SECRET, load_settings

    monkeypatch.delenv("PARTNERS", raising=False)
    monkeypatch.setenv("STAGE", "local")
    assert load_settings().partners["migraciones"]["secrets"] == [DEV_PARTNER_SECRET]
    monkeypatch.setenv("STAGE", "prod")
    assert load_settings().partners == {}
    monkeypatch.setenv("PARTNERS", json.dumps({"migraciones": {"secrets": [], "callback_url": "https://m.example"}}))
    cloud = PartnerTokens(partners_from_settings(load_settings().partners), "k", "i", "a")
    with pytest.raises(Unauthenticated):  # no secret here: only Cognito's tokens
        cloud.authenticate("migraciones", "")
    monkeypatch.setenv("PARTNERS", json.dumps({"migraciones": {"secrets": ["short"]}}))
    with pytest.raises(ValueError, match="16 or more"):
        partners_from_settings(load_settings().partners)

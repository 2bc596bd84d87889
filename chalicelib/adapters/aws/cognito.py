"""Operator and partner tokens from an Amazon Cognito user pool: signature, issuer, client, use and expiry; groups
are roles, a partner's app client names it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import jwt

from ...domain.errors import ServiceUnavailable, Unauthenticated
from ...domain.operators import Operator, Role
from ...domain.partners import PartnerCaller

JwksFetcher = Callable[[str], dict[str, Any]]


def fetch_jwks(url: str) -> dict[str, Any]:
    """GET the pool's public keys (a small JSON document served by Cognito)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=3) as answer:  # noqa: S310 - the URL comes from settings
        document: dict[str, Any] = json.loads(answer.read())
    return document


def _invalid() -> Unauthenticated:
    return Unauthenticated("The token is not valid.", code="invalid_token")


class CognitoTokenVerifier:
    """Same interface as :class:`~chalicelib.adapters.auth.LocalTokenVerifier`: ``verify(token) -> Operator``.

    The keys are fetched once and cached for the life of the process; a token signed with a key not yet
    seen (Cognito rotated its keys) triggers one refetch, at most every ``refetch_after`` seconds, so a
    stream of forged ``kid`` values cannot turn into a stream of requests to Cognito.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        jwks_url: str,
        *,
        token_uses: Iterable[str] = ("id", "access"),
        fetch: JwksFetcher = fetch_jwks,
        leeway_seconds: int = 30,
        refetch_after: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.jwks_url = jwks_url
        self.token_uses = frozenset(token_uses)
        self._fetch = fetch
        self._leeway = leeway_seconds
        self._refetch_after = refetch_after
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _load_keys(self) -> None:
        try:
            document = self._fetch(self.jwks_url)
        except (OSError, ValueError):
            raise ServiceUnavailable("The operator sign-in service did not answer.",
                                     code="auth_unavailable") from None
        keys = {}
        for jwk in document.get("keys", []):
            if isinstance(jwk, dict) and jwk.get("kid") and jwk.get("kty") == "RSA":
                try:
                    keys[str(jwk["kid"])] = jwt.PyJWK(jwk, algorithm="RS256").key
                except jwt.PyJWTError:
                    continue  # one unusable key must not hide the others
        self._keys = keys
        self._fetched_at = self._clock()

    def _key(self, kid: str) -> Any:
        with self._lock:
            if kid not in self._keys and (
                self._fetched_at is None or self._clock() - self._fetched_at >= self._refetch_after
            ):
                self._load_keys()
            return self._keys.get(kid)

    def verify(self, token: str) -> Operator:
        claims = self.claims(token)
        use = claims.get("token_use")
        if use not in self.token_uses:
            raise _invalid()
        audience = claims.get("aud") if use == "id" else claims.get("client_id")
        if audience != self.client_id:
            raise _invalid()
        return _operator(claims)

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a token this pool signed (key, issuer, expiry checked); the caller checks the rest."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid() from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise _invalid()
        key = self._key(kid)
        if key is None:
            raise _invalid()
        try:
            # The audience is checked below: ID tokens carry it in "aud", access tokens in "client_id".
            claims = jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer, leeway=self._leeway,
                                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError:
            raise _invalid() from None
        return dict(claims)


class CognitoPartnerVerifier:
    """Partners' access tokens from the pool's client-credentials flow: the app client id names the partner
    (``app_clients``: app client id -> partner client id), ``scope`` carries the resource server's scopes
    (``certificates/request``, ``certificates/read``: the same strings as the local issuer's)."""

    def __init__(self, pool: CognitoTokenVerifier, app_clients: dict[str, str]) -> None:
        self.pool = pool
        self.app_clients = dict(app_clients)

    def verify(self, token: str) -> PartnerCaller:
        claims = self.pool.claims(token)
        partner = self.app_clients.get(str(claims.get("client_id", "")))
        scope = claims.get("scope")
        if claims.get("token_use") != "access" or partner is None or not isinstance(scope, str):
            raise _invalid()
        return PartnerCaller(partner, frozenset(scope.split()))


def _operator(claims: dict[str, Any]) -> Operator:
    groups = claims.get("cognito:groups", [])
    if not isinstance(groups, list):
        raise _invalid()
    # Only the groups that are roles count: a pool may hold other groups (e.g. federated providers').
    known = {role.value for role in Role}
    # The scope comes from the user's custom attributes (in ID tokens; a pre-token-generation trigger may
    # copy them into access tokens): comma-separated district codes and court codes, "*" for all.
    return Operator(subject=str(claims["sub"]), roles=frozenset(str(g) for g in groups if g in known),
                    districts=_listed(claims.get("custom:districts")), courts=_listed(claims.get("custom:courts")))


def _listed(value: object) -> frozenset[str]:
    if not isinstance(value, str):
        return frozenset()
    return frozenset(part.strip().upper() for part in value.split(",") if part.strip())

"""Status List Tokens (IETF OAuth Token Status List, JWT form): signed by the issuer's QR seal key.

A verifier that fetched or was given one checks it offline like a QR: the key comes from the JWKS and must be
certified by the document root for the same issuer. ``iat`` says how old the list is; ``exp`` bounds how long a
copy may be relied on; ``ttl`` is how often a verifier with a connection should refresh it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509

from chalicelib.adapters.documents.seal import _certified_key, _find_key
from chalicelib.domain import status_list
from chalicelib.domain.documents import ISSUERS

TOKEN_TYPE = "statuslist+jwt"
TTL = timedelta(minutes=5)
VALIDITY = timedelta(days=7)  # a list older than this is not relied on


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def status_list_uri(base_url: str, issuer: str, list_id: int) -> str:
    return f"{base_url.rstrip('/')}/.well-known/status/{issuer}/{list_id}"


def make_token(*, issuer: str, list_id: int, entries: Mapping[int, int], uri: str, now: datetime, kid: str,
               sign_raw: Any) -> str:
    """A compact JWS of the list; ``sign_raw`` returns a 64-byte r||s ES256 signature (local key or KMS)."""
    header = {"alg": "ES256", "kid": kid, "typ": TOKEN_TYPE}
    claims = {
        "sub": uri, "iss": issuer, "iat": int(now.timestamp()), "exp": int((now + VALIDITY).timestamp()),
        "ttl": int(TTL.total_seconds()),
        "status_list": {"bits": status_list.BITS, "lst": _b64url(status_list.encode(entries))},
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    return f"{signing_input}.{_b64url(sign_raw(signing_input.encode('ascii')))}"


def sign_status_list(sealer: Any, base_url: str) -> Any:
    """A ``sign_list`` for the status-list use case: the issuer's QR sealer signs the token."""

    def sign(*, issuer: str, list_id: int, entries: Mapping[int, int], now: datetime) -> str:
        return make_token(issuer=issuer, list_id=list_id, entries=entries,
                          uri=status_list_uri(base_url, issuer, list_id), now=now, kid=sealer.kid,
                          sign_raw=sealer.sign_raw)

    return sign


@dataclass(frozen=True, slots=True)
class StatusList:
    """A verified status list."""

    uri: str
    issuer: str
    issued_at: datetime
    expires_at: datetime
    compressed: bytes

    def status(self, index: int) -> int:
        return status_list.status_at(self.compressed, index)

    def age(self, now: datetime) -> timedelta:
        return now - self.issued_at


class StatusListError(ValueError):
    """A status list that cannot be relied on (forged, for another list, expired or malformed)."""


def read_token(token: str, *, jwks: Mapping[str, Any], roots: Sequence[x509.Certificate], now: datetime
               ) -> StatusList:
    """Verify a Status List Token offline; raises :class:`StatusListError` with the reason."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise StatusListError("not a status list token") from exc
    if header.get("typ") != TOKEN_TYPE or header.get("alg") != "ES256":
        raise StatusListError("not a status list token")
    jwk = _find_key(jwks, str(header.get("kid")))
    issued = unverified.get("iat")
    issuer = ISSUERS.get(str(unverified.get("iss")))
    if jwk is None or not isinstance(issued, int) or issuer is None:
        raise StatusListError("unknown signing key")
    certified = _certified_key(jwk, roots, datetime.fromtimestamp(issued, UTC))
    if certified is None or certified[1] != issuer.name:
        raise StatusListError("the list's key is not certified for its issuer")
    try:
        claims = jwt.decode(token, key=jwt.PyJWK(dict(jwk), algorithm="ES256"), algorithms=["ES256"],
                            options={"require": ["iat", "exp", "sub"], "verify_exp": False,
                                     "verify_iat": False})  # age and expiry are judged below, at ``now``
    except jwt.InvalidSignatureError as exc:
        raise StatusListError("bad signature") from exc
    except jwt.PyJWTError as exc:
        raise StatusListError(f"not a usable status list ({exc})") from exc
    if now.timestamp() >= claims["exp"]:
        raise StatusListError("the status list has expired; fetch a new one")
    body = claims.get("status_list")
    if not isinstance(body, dict) or body.get("bits") != status_list.BITS or not isinstance(body.get("lst"), str):
        raise StatusListError("malformed status list")
    try:
        compressed = base64.urlsafe_b64decode(body["lst"] + "=" * (-len(body["lst"]) % 4))
    except ValueError as exc:
        raise StatusListError("malformed status list") from exc
    return StatusList(uri=str(claims["sub"]), issuer=issuer.code,
                      issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                      expires_at=datetime.fromtimestamp(claims["exp"], UTC), compressed=compressed)

"""The signed QR payload: verification URL + '#' + compact JWS (ES256) of the document's essential data.

The data sits in the URL fragment, which browsers never send to the server, so a
phone camera simply opens the verification page while an offline verifier checks
the signature with the published keys (JWKS) and no network.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chalicelib.domain.documents import SealedData

TOKEN_TYPE = "inpe-doc+jws"
ALGORITHM = "ES256"

REASON_OK = "ok"
REASON_MALFORMED = "malformed"
REASON_UNKNOWN_KEY = "unknown_key"
REASON_BAD_SIGNATURE = "bad_signature"
REASON_EXPIRED = "expired"
REASON_ID_MISMATCH = "id_mismatch"
REASON_FOREIGN_URL = "foreign_url"

RawSign = Callable[[bytes], bytes]
"""Signs bytes with ECDSA P-256 / SHA-256 and returns the 64-byte r||s signature."""

_ID_IN_PATH = re.compile(r"/v/([^/?#]+)/?$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def der_to_raw_signature(der: bytes, size: int = 32) -> bytes:
    """ECDSA signature from DER (what KMS and OpenSSL return) to JWS's fixed-width r||s."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def local_es256_signer(key: ec.EllipticCurvePrivateKey) -> RawSign:
    """A :data:`RawSign` backed by a key in memory (a KMS-backed one replaces it in the cloud)."""

    def sign(data: bytes) -> bytes:
        return der_to_raw_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))

    return sign


class LocalQrSealer:
    """Implements :class:`~chalicelib.domain.documents.QrSealer` with any raw ES256 signing function."""

    def __init__(self, kid: str, sign: RawSign) -> None:
        header = {"alg": ALGORITHM, "kid": kid, "typ": TOKEN_TYPE}
        self._header = _b64url(json.dumps(header, separators=(",", ":")).encode("ascii"))
        self._sign = sign

    def seal(self, data: SealedData) -> str:
        if not data.verification_url or "#" in data.verification_url:
            raise ValueError("a verification URL without fragment is required")
        payload = json.dumps(data.to_claims(), separators=(",", ":"), ensure_ascii=False)
        signing_input = f"{self._header}.{_b64url(payload.encode('utf-8'))}"
        signature = self._sign(signing_input.encode("ascii"))
        if len(signature) != 64:
            raise ValueError("the signing function must return a raw 64-byte r||s signature")
        return f"{data.verification_url}#{signing_input}.{_b64url(signature)}"


@dataclass(frozen=True, slots=True)
class SealVerification:
    """Outcome of an offline QR check. ``reason`` is one of the stable ``REASON_*`` codes."""

    valid: bool
    reason: str
    data: SealedData | None = None
    url: str | None = None


def _find_key(jwks: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    keys = jwks.get("keys", [])
    if not isinstance(keys, list):
        return None
    for key in keys:
        if isinstance(key, Mapping) and key.get("kid") == kid:
            return key
    return None


def verify_qr_text(
    text: str,
    jwks: Mapping[str, Any],
    now: datetime,
    *,
    expected_url_prefix: str | None = None,
) -> SealVerification:
    """Check a scanned QR text offline against the published keys.

    Reasons, in the order they are checked: ``malformed`` (not URL#JWS of our type),
    ``unknown_key`` (kid not in the JWKS), ``bad_signature``, ``foreign_url`` (only
    when ``expected_url_prefix`` is given and the URL does not start with it),
    ``id_mismatch`` (the URL's ``/v/{id}`` is not the signed id), ``expired``
    (``now`` is past the signed end of validity; the data is still returned), ``ok``.
    """
    url, separator, token = text.strip().partition("#")
    if not separator or token.count(".") != 2:
        return SealVerification(False, REASON_MALFORMED)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return SealVerification(False, REASON_MALFORMED)
    kid = header.get("kid")
    if header.get("typ") != TOKEN_TYPE or header.get("alg") != ALGORITHM or not isinstance(kid, str):
        return SealVerification(False, REASON_MALFORMED)
    jwk = _find_key(jwks, kid)
    if jwk is None:
        return SealVerification(False, REASON_UNKNOWN_KEY)
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM)
    except jwt.PyJWTError:
        return SealVerification(False, REASON_UNKNOWN_KEY)  # a published key we cannot use
    try:
        decoded = jwt.PyJWS().decode_complete(token, key=key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        return SealVerification(False, REASON_BAD_SIGNATURE)
    except jwt.PyJWTError:
        return SealVerification(False, REASON_MALFORMED)
    try:
        claims = json.loads(decoded["payload"])
        if not isinstance(claims, dict):
            raise ValueError("claims are not an object")
        data = SealedData.from_claims(claims, verification_url=url)
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return SealVerification(False, REASON_MALFORMED)
    if expected_url_prefix is not None and not url.startswith(expected_url_prefix):
        return SealVerification(False, REASON_FOREIGN_URL, data, url)
    match = _ID_IN_PATH.search(url)
    if match is None or match.group(1) != data.document_id:
        return SealVerification(False, REASON_ID_MISMATCH, data, url)
    if now >= data.valid_until:
        return SealVerification(False, REASON_EXPIRED, data, url)
    return SealVerification(True, REASON_OK, data, url)

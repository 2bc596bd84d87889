"""The signed QR payload: verification URL + '#' + a COSE_Sign1 (ES256) of the document's CWT claims, in digits.

The data sits in the URL fragment, which browsers never send to the server, so a phone camera simply opens
the verification page, while an offline verifier checks the signature with the published keys (JWKS) and no
network. The COSE structure is written as one decimal number: digits are QR's densest mode (3.3 bits each,
against 8 for a byte), which is what brings the symbol from version 15 down (see ``bench/qr_decoding.py``).
The verification URL is the COSE external data, so the signature also covers the site and the document id.

Trust: each JWK carries its certificate (``x5c``), issued by the same root as the PDF signatures; a key not
certified by a trusted root, for another issuer, or outside its validity is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from chalicelib.domain.documents import ISSUERS, SealedData

COSE_SIGN1_TAG = 18
COSE_ALG, COSE_KID, ES256 = 1, 4, -7

REASON_OK = "ok"
REASON_MALFORMED = "malformed"
REASON_UNKNOWN_KEY = "unknown_key"
REASON_UNTRUSTED_KEY = "untrusted_key"
REASON_BAD_SIGNATURE = "bad_signature"
REASON_EXPIRED = "expired"
REASON_ID_MISMATCH = "id_mismatch"
REASON_FOREIGN_URL = "foreign_url"

RawSign = Callable[[bytes], bytes]
"""Signs bytes with ECDSA P-256 / SHA-256 and returns the 64-byte r||s signature."""

_ID_IN_PATH = re.compile(r"^/v/([A-Za-z0-9_\-]{16,64})$")
MAX_DIGITS = 2000  # a version-25 QR's worth; anything longer is not ours


def der_to_raw_signature(der: bytes, size: int = 32) -> bytes:
    """ECDSA signature from DER (what KMS and OpenSSL return) to COSE's and JWS's fixed-width r||s."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def local_es256_signer(key: ec.EllipticCurvePrivateKey) -> RawSign:
    """A :data:`RawSign` backed by a key in memory (a KMS-backed one replaces it in the cloud)."""

    def sign(data: bytes) -> bytes:
        return der_to_raw_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))

    return sign


def bytes_to_digits(data: bytes) -> str:
    """Bytes as one decimal number (the first byte must not be 0: a COSE_Sign1 tag starts with 0xD2)."""
    if not data or data[0] == 0:
        raise ValueError("the data must start with a non-zero byte")
    return str(int.from_bytes(data, "big"))


def digits_to_bytes(digits: str) -> bytes:
    value = int(digits)
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4 Sig_structure for COSE_Sign1."""
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class LocalQrSealer:
    """Implements :class:`~chalicelib.domain.documents.QrSealer` with any raw ES256 signing function."""

    def __init__(self, kid: str, sign: RawSign) -> None:
        self.kid = kid
        self._protected = cbor2.dumps({COSE_ALG: ES256, COSE_KID: kid.encode("ascii")})
        self._sign = sign

    def sign_raw(self, data: bytes) -> bytes:
        signature = self._sign(data)
        if len(signature) != 64:
            raise ValueError("the signing function must return a raw 64-byte r||s signature")
        return signature

    def seal(self, data: SealedData) -> str:
        url = data.verification_url
        if not url or "#" in url:
            raise ValueError("a verification URL without fragment is required")
        payload = cbor2.dumps(data.to_claims())
        signature = self.sign_raw(sig_structure(self._protected, url.encode("utf-8"), payload))
        message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [self._protected, {}, payload, signature]))
        return f"{url}#{bytes_to_digits(message)}"


@dataclass(frozen=True, slots=True)
class SealVerification:
    """Outcome of an offline QR check. ``reason`` is one of the stable ``REASON_*`` codes.

    ``signer`` is the certified organisation of the seal key; ``url`` the verification URL the QR points to.
    """

    valid: bool
    reason: str
    data: SealedData | None = None
    url: str | None = None
    signer: str | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    url: str
    protected: bytes
    kid: str
    payload: bytes
    signature: bytes


def _parse(text: str) -> _Token | None:
    url, separator, digits = text.strip().partition("#")
    if not separator or not digits.isdigit() or len(digits) > MAX_DIGITS or not url.startswith(("https://", "http://")):
        return None
    try:
        message = cbor2.loads(digits_to_bytes(digits))
        if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
            return None
        protected, unprotected, payload, signature = message.value
        header = cbor2.loads(protected)
    except (ValueError, TypeError, cbor2.CBORDecodeError):
        return None
    if not (isinstance(protected, bytes) and isinstance(unprotected, dict) and isinstance(payload, bytes)
            and isinstance(signature, bytes) and len(signature) == 64 and isinstance(header, dict)):
        return None
    kid = header.get(COSE_KID)
    if header.get(COSE_ALG) != ES256 or not isinstance(kid, bytes):
        return None
    try:
        return _Token(url, protected, kid.decode("ascii"), payload, signature)
    except UnicodeDecodeError:
        return None


def _find_key(jwks: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    keys = jwks.get("keys", [])
    if not isinstance(keys, list):
        return None
    for key in keys:
        if isinstance(key, Mapping) and key.get("kid") == kid:
            return key
    return None


def load_roots(pem: bytes | Sequence[bytes]) -> list[x509.Certificate]:
    blobs = [pem] if isinstance(pem, bytes) else list(pem)
    return [certificate for blob in blobs for certificate in x509.load_pem_x509_certificates(blob)]


def _certified_key(jwk: Mapping[str, Any], roots: Sequence[x509.Certificate], at: datetime
                   ) -> tuple[ec.EllipticCurvePublicKey, str] | None:
    """The JWK's key and its certified organisation when ``x5c[0]`` certifies it, was issued by one of
    ``roots`` and was valid at ``at``; otherwise None."""
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        return None
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
        public = certificate.public_key()
        x = int.from_bytes(base64.urlsafe_b64decode(str(jwk["x"]) + "=="), "big")
        y = int.from_bytes(base64.urlsafe_b64decode(str(jwk["y"]) + "=="), "big")
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        return None
    if (public.public_numbers().x, public.public_numbers().y) != (x, y):
        return None
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        return None
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            return None
    except x509.ExtensionNotFound:
        return None
    for root in roots:
        if certificate.issuer != root.subject:
            continue
        try:
            certificate.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        names = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return public, str(names[0].value) if names else ""
    return None


def verify_qr_text(
    text: str,
    jwks: Mapping[str, Any],
    now: datetime,
    *,
    roots: Sequence[x509.Certificate],
    expected_origin: str | None,
) -> SealVerification:
    """Check a scanned QR text offline against the published keys, anchored in ``roots``.

    Reasons, in the order they are checked: ``malformed`` (not URL#digits of a COSE_Sign1 of ours),
    ``foreign_url`` (the URL's origin is not ``expected_origin``; the site it points to is returned),
    ``unknown_key`` (kid not in the JWKS), ``untrusted_key`` (the key's certificate does not chain to a root,
    was not valid when the document was sealed, or names another organisation than the ``iss`` claim),
    ``bad_signature``, ``id_mismatch`` (no ``/v/{id}`` path), ``expired`` (the data is still returned), ``ok``.
    ``expected_origin=None`` skips the origin check (only for tools that report it themselves).
    """
    token = _parse(text)
    if token is None:
        return SealVerification(False, REASON_MALFORMED)
    if expected_origin is not None and origin_of(token.url) != origin_of(expected_origin):
        return SealVerification(False, REASON_FOREIGN_URL, url=token.url)
    jwk = _find_key(jwks, token.kid)
    if jwk is None:
        return SealVerification(False, REASON_UNKNOWN_KEY, url=token.url)
    try:
        claims = cbor2.loads(token.payload)
        if not isinstance(claims, dict):
            raise ValueError("claims are not a map")
        match = _ID_IN_PATH.match(urlsplit(token.url).path)
        data = SealedData.from_claims(claims, match.group(1) if match else "", verification_url=token.url)
    except (ValueError, cbor2.CBORDecodeError):
        return SealVerification(False, REASON_MALFORMED, url=token.url)
    certified = _certified_key(jwk, roots, data.issued_at)
    issuer = ISSUERS.get(data.issuer)
    if certified is None or issuer is None or certified[1] != issuer.name:
        return SealVerification(False, REASON_UNTRUSTED_KEY, url=token.url)
    public, organisation = certified
    r, s = int.from_bytes(token.signature[:32], "big"), int.from_bytes(token.signature[32:], "big")
    try:
        public.verify(encode_dss_signature(r, s),
                      sig_structure(token.protected, token.url.encode("utf-8"), token.payload),
                      ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return SealVerification(False, REASON_BAD_SIGNATURE, url=token.url)
    if not data.document_id:
        return SealVerification(False, REASON_ID_MISMATCH, data, token.url, organisation)
    if now >= data.valid_until:
        return SealVerification(False, REASON_EXPIRED, data, token.url, organisation)
    return SealVerification(True, REASON_OK, data, token.url, organisation)

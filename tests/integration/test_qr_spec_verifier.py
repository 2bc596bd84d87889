"""A verifier written only from docs/qr-format.md, with libraries the service does not use to seal (`cwt` for
COSE, `joserfc` for the JWKS and the status-list JWS, `cryptography` for the certificate): it verifies an issued
certificate's QR, refuses it under another URL, and reads the revocation from the signed status list."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.integration.test_documents_api import _qr_text, issued  # noqa: F401  (the fixture)

ORGANISATIONS = {"INPE": "Instituto Nacional Penitenciario", "PJ": "Poder Judicial del Perú"}


def _key(jwks: dict[str, Any], kid: str, ca_pem: bytes, iss: str, at: int) -> dict[str, Any]:
    """Section 4: the JWK with this kid, certified by the root for the issuer, valid at ``at``."""
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    certificate = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    from joserfc.jwk import ECKey

    public = ECKey.import_key(jwk).as_dict(private=False)
    numbers = certificate.public_key().public_numbers()  # type: ignore[union-attr]
    assert base64.urlsafe_b64decode(public["x"] + "==") == numbers.x.to_bytes(32, "big")
    assert base64.urlsafe_b64decode(public["y"] + "==") == numbers.y.to_bytes(32, "big")
    moment = datetime.fromtimestamp(at, UTC)
    assert certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc
    organisation = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert organisation == ORGANISATIONS[iss]
    return jwk


def verify(text: str, jwks: dict[str, Any], ca_pem: bytes, origin: str, now: int) -> dict[Any, Any]:
    """Section 6, steps 1 to 5: the claims of a valid, unexpired QR; an exception otherwise."""
    import cwt

    url, _, digits = text.partition("#")
    assert url.startswith(origin + "/v/") and digits.isdigit() and len(digits) <= 2000
    number = int(digits)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    assert raw[0] == 0xD2
    message = cbor2.loads(raw)
    protected = cbor2.loads(message.value[0])
    assert protected[1] == -7
    unverified = cbor2.loads(message.value[2])
    jwk = _key(jwks, protected[4].decode("ascii"), ca_pem, unverified[1], unverified[6])
    key = cwt.COSEKey.from_jwk({k: jwk[k] for k in ("kty", "crv", "x", "y", "kid", "alg")})
    claims = cbor2.loads(cwt.COSE.new().decode(raw, key, external_aad=url.encode("utf-8")))
    assert claims[6] <= now < claims[4]
    return dict(claims)


def status(token: str, jwks: dict[str, Any], ca_pem: bytes, iss: str, index: int, now: int) -> int:
    """Section 5: the entry ``index`` of a status list token."""
    from joserfc import jwt
    from joserfc.jwk import ECKey
    from joserfc.jws import extract_compact

    header = extract_compact(token.encode()).protected  # read before the key is known: it names the kid
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
    jwk = _key(jwks, header["kid"], ca_pem, iss, now)
    decoded = jwt.decode(token, ECKey.import_key(jwk), algorithms=["ES256"])
    claims = decoded.claims
    assert claims["iss"] == iss and claims["iat"] <= now < claims["exp"]
    assert claims["status_list"]["bits"] == 2
    packed = zlib.decompress(base64.urlsafe_b64decode(claims["status_list"]["lst"] + "=="))
    return (packed[index // 4] >> (2 * (index % 4))) & 0b11


def test_a_verifier_from_the_spec_alone_verifies_an_issued_certificate(api, issued, tmp_path: Path):  # noqa: F811
    text = _qr_text(api, issued, tmp_path)
    jwks = api.client.http.get("/.well-known/jwks.json").json_body
    pem = api.client.http.get("/.well-known/ca.pem").body
    ca_pem = pem if isinstance(pem, bytes) else pem.encode()
    origin = api.c.settings.public_base_url
    now = int(api.c.clock.now().timestamp())

    claims = verify(text, jwks, ca_pem, origin, now)
    assert claims[1] == "INPE" and claims[-1] == "C"
    assert claims[-4] in ("N", "R")
    assert text.partition("#")[0].endswith("/v/" + issued["document_id"])

    # The same seal under another URL (another document id) does not verify.
    url, _, digits = text.partition("#")
    import cwt

    with pytest.raises(cwt.VerifyError):
        verify(url[:-1] + ("A" if url[-1] != "A" else "B") + "#" + digits, jwks, ca_pem, origin, now)

    # Revocation, offline: the entry of claim -6 in the issuer's signed status list.
    list_id, index = claims[-6]

    def entry() -> int:
        body = api.client.http.get(f"/.well-known/status/INPE/{list_id}").body
        return status(body if isinstance(body, str) else body.decode(), jwks, ca_pem, "INPE", index, now)

    assert entry() == 0
    revoked = api.post(f"/v1/admin/documents/{issued['document_id']}/revoke", {"reason": "identity_fraud"},
                       headers=api.operator_headers("reviewer"))
    assert revoked.status_code == 200, revoked.body
    assert entry() == 1

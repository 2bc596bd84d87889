"""The signed QR payload: sealing, DER/raw signatures and every offline verification outcome."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chalicelib.adapters.documents.pki import key_id, public_jwk
from chalicelib.adapters.documents.seal import (
    REASON_BAD_SIGNATURE,
    REASON_EXPIRED,
    REASON_FOREIGN_URL,
    REASON_ID_MISMATCH,
    REASON_MALFORMED,
    REASON_OK,
    REASON_UNKNOWN_KEY,
    TOKEN_TYPE,
    LocalQrSealer,
    der_to_raw_signature,
    local_es256_signer,
    verify_qr_text,
)
from chalicelib.domain.documents import SealedData
from tests.factories_documents import DOCUMENT_ID, ISSUED, VERIFY_BASE, make_content

NOW = ISSUED + timedelta(days=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal(sealer: LocalQrSealer, **changes: object) -> str:
    return sealer.seal(SealedData.from_content(make_content(**changes)))


def test_der_to_raw_gives_64_bytes_that_encode_back_to_the_same_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.sign(b"data", ec.ECDSA(hashes.SHA256()))
    raw = der_to_raw_signature(der)
    assert len(raw) == 64
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert encode_dss_signature(r, s) == der


def test_der_to_raw_pads_short_integers_to_fixed_width() -> None:
    raw = der_to_raw_signature(encode_dss_signature(1, 2))
    assert raw == bytes(31) + b"\x01" + bytes(31) + b"\x02"


def test_seal_is_the_url_with_a_compact_jws_in_the_fragment(sealer: LocalQrSealer) -> None:
    text = _seal(sealer)
    url, _, token = text.partition("#")
    assert url == VERIFY_BASE + DOCUMENT_ID
    header, payload, signature = token.split(".")
    assert json.loads(_unb64(header)) == {
        "alg": "ES256",
        "kid": sealer_kid(sealer),
        "typ": TOKEN_TYPE,
    }
    assert json.loads(_unb64(payload))["id"] == DOCUMENT_ID
    assert len(_unb64(signature)) == 64


def sealer_kid(sealer: LocalQrSealer) -> str:
    url, _, token = _seal(sealer).partition("#")
    return str(json.loads(_unb64(token.split(".")[0]))["kid"])


def test_genuine_seal_verifies_offline_with_the_decoded_data(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    result = verify_qr_text(_seal(sealer, holder_name="Nguyễn Thị Minh"), jwks, NOW)
    assert result.valid
    assert result.reason == REASON_OK
    assert result.data is not None
    assert result.data.holder_name == "Nguyễn Thị Minh"
    assert result.data.masked_document_number == "****5678"
    assert result.data.valid_until == ISSUED + timedelta(days=90)


def test_edited_payload_fails_with_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    url, _, token = _seal(sealer).partition("#")
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["rc"] = "N" if claims["rc"] == "R" else "R"  # flip the result
    forged = f"{url}#{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    result = verify_qr_text(forged, jwks, NOW)
    assert (result.valid, result.reason, result.data) == (False, REASON_BAD_SIGNATURE, None)


def test_edited_signature_fails_with_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    text = _seal(sealer)
    head, signature = text.rsplit(".", 1)
    raw = bytearray(_unb64(signature))
    raw[10] ^= 0x01
    result = verify_qr_text(f"{head}.{_b64(bytes(raw))}", jwks, NOW)
    assert result.reason == REASON_BAD_SIGNATURE


def test_seal_from_another_key_is_unknown_key(jwks: dict[str, object]) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    text = LocalQrSealer(key_id(other.public_key()), local_es256_signer(other)).seal(
        SealedData.from_content(make_content())
    )
    assert verify_qr_text(text, jwks, NOW).reason == REASON_UNKNOWN_KEY


def test_same_kid_with_another_key_is_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    impostor = LocalQrSealer(sealer_kid(sealer), local_es256_signer(other))
    text = impostor.seal(SealedData.from_content(make_content()))
    assert verify_qr_text(text, jwks, NOW).reason == REASON_BAD_SIGNATURE


def test_url_pointing_to_another_document_is_id_mismatch(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    text = _seal(sealer).replace(f"/v/{DOCUMENT_ID}#", "/v/SomeOtherDocumentId00#")
    result = verify_qr_text(text, jwks, NOW)
    assert (result.valid, result.reason) == (False, REASON_ID_MISMATCH)
    assert result.data is not None and result.data.document_id == DOCUMENT_ID


def test_url_without_document_path_is_id_mismatch(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    text = "https://verifica.inpe.gob.pe/#" + _seal(sealer).partition("#")[2]
    assert verify_qr_text(text, jwks, NOW).reason == REASON_ID_MISMATCH


def test_expired_when_the_clock_is_past_the_validity(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    text = _seal(sealer)
    end = ISSUED + timedelta(days=90)
    assert verify_qr_text(text, jwks, end - timedelta(seconds=1)).valid
    result = verify_qr_text(text, jwks, end)
    assert (result.valid, result.reason) == (False, REASON_EXPIRED)
    assert result.data is not None  # the reader still sees what the document said


def test_foreign_url_only_when_a_base_url_is_required(sealer: LocalQrSealer, jwks: dict[str, object]) -> None:
    text = _seal(sealer).replace("https://verifica.inpe.gob.pe", "https://inpe-verifica.example")
    assert verify_qr_text(text, jwks, NOW).valid  # the signature does not cover the host
    result = verify_qr_text(text, jwks, NOW, expected_url_prefix="https://verifica.inpe.gob.pe/")
    assert result.reason == REASON_FOREIGN_URL


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://verifica.inpe.gob.pe/v/abc",  # no fragment
        "https://verifica.inpe.gob.pe/v/abc#not-a-jws",
        "https://verifica.inpe.gob.pe/v/abc#a.b.c",  # not base64 JSON
        "https://verifica.inpe.gob.pe/v/abc#" + _b64(b'{"alg":"ES256"}') + ".e30.AAAA",  # no kid
        "https://verifica.inpe.gob.pe/v/abc#" + _b64(b"[1]") + ".e30.AAAA",  # header not an object
        "WIFI:S:cafe;T:WPA;P:secret;;",  # some other QR code
    ],
)
def test_malformed_texts_are_reported_as_malformed(text: str, jwks: dict[str, object]) -> None:
    result = verify_qr_text(text, jwks, NOW)
    assert (result.valid, result.reason, result.data) == (False, REASON_MALFORMED, None)


def test_wrong_token_type_is_malformed(qr_key: ec.EllipticCurvePrivateKey, jwks: dict[str, object]) -> None:
    header = _b64(json.dumps({"alg": "ES256", "kid": key_id(qr_key.public_key()), "typ": "JWT"}).encode())
    payload = _b64(json.dumps(SealedData.from_content(make_content()).to_claims()).encode())
    signature = _b64(local_es256_signer(qr_key)(f"{header}.{payload}".encode()))
    text = f"{VERIFY_BASE}{DOCUMENT_ID}#{header}.{payload}.{signature}"
    assert verify_qr_text(text, jwks, NOW).reason == REASON_MALFORMED


def test_signed_but_unreadable_claims_are_malformed(
    qr_key: ec.EllipticCurvePrivateKey, sealer: LocalQrSealer, jwks: dict[str, object]
) -> None:
    header = _seal(sealer).partition("#")[2].split(".")[0]
    payload = _b64(b'{"id": "x"}')  # validly signed, but not our claims
    signature = _b64(local_es256_signer(qr_key)(f"{header}.{payload}".encode()))
    text = f"{VERIFY_BASE}x#{header}.{payload}.{signature}"
    assert verify_qr_text(text, jwks, NOW).reason == REASON_MALFORMED


def test_jwks_without_keys_list_means_unknown_key(sealer: LocalQrSealer) -> None:
    assert verify_qr_text(_seal(sealer), {"keys": "nope"}, NOW).reason == REASON_UNKNOWN_KEY
    assert verify_qr_text(_seal(sealer), {}, NOW).reason == REASON_UNKNOWN_KEY


def test_sealer_refuses_a_der_signing_function(qr_key: ec.EllipticCurvePrivateKey) -> None:
    def der_sign(data: bytes) -> bytes:
        return qr_key.sign(data, ec.ECDSA(hashes.SHA256()))

    sealer = LocalQrSealer("kid", der_sign)
    with pytest.raises(ValueError, match="64-byte"):
        sealer.seal(SealedData.from_content(make_content()))


def test_sealer_requires_a_verification_url(sealer: LocalQrSealer) -> None:
    data = SealedData.from_content(make_content())
    with pytest.raises(ValueError, match="verification URL"):
        sealer.seal(SealedData(**{**_fields(data), "verification_url": ""}))


def _fields(data: SealedData) -> dict[str, object]:
    return {name: getattr(data, name) for name in data.__slots__}  # type: ignore[attr-defined]


def test_jwks_entry_has_the_published_fields(qr_key: ec.EllipticCurvePrivateKey) -> None:
    jwk = public_jwk(qr_key.public_key())
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert (jwk["alg"], jwk["use"]) == ("ES256", "sig")
    assert len(jwk["kid"]) == 16
    assert jwk["kid"] == key_id(qr_key.public_key())

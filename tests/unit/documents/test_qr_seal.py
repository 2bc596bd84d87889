"""The signed QR payload (COSE_Sign1 of CWT claims, in digits): sealing, and every offline verification outcome,
including keys not anchored in the root, issuers that do not match their key, and re-pointed URLs."""

from __future__ import annotations

from datetime import datetime, timedelta

import cbor2
import pytest
from conftest import ORIGIN, Root, make_root
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chalicelib.adapters.documents.pki import key_id, public_jwk
from chalicelib.adapters.documents.seal import (
    COSE_SIGN1_TAG,
    REASON_BAD_SIGNATURE,
    REASON_EXPIRED,
    REASON_FOREIGN_URL,
    REASON_ID_MISMATCH,
    REASON_MALFORMED,
    REASON_OK,
    REASON_UNKNOWN_KEY,
    REASON_UNTRUSTED_KEY,
    LocalQrSealer,
    SealVerification,
    bytes_to_digits,
    der_to_raw_signature,
    digits_to_bytes,
    local_es256_signer,
    verify_qr_text,
)
from chalicelib.domain.documents import ISSUER_JUDICIARY, KIND_ATTENDANCE, SealedData, StatusRef
from tests.factories_documents import DOCUMENT_ID, ISSUED, VERIFY_BASE, make_content

NOW = ISSUED + timedelta(days=1)


def _seal(sealer: LocalQrSealer, **changes: object) -> str:
    return sealer.seal(SealedData.from_content(make_content(**changes)))


def _verify(text: str, jwks: dict[str, object], root: Root, now: datetime = NOW,
            origin: str | None = ORIGIN) -> SealVerification:
    return verify_qr_text(text, jwks, now, roots=[root.certificate], expected_origin=origin)


def _message(text: str) -> list[object]:
    tag = cbor2.loads(digits_to_bytes(text.partition("#")[2]))
    assert tag.tag == COSE_SIGN1_TAG
    return list(tag.value)


def _rebuild(text: str, parts: list[object]) -> str:
    return f"{text.partition('#')[0]}#{bytes_to_digits(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, parts)))}"


def test_der_to_raw_gives_64_bytes_that_encode_back_to_the_same_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.sign(b"data", ec.ECDSA(hashes.SHA256()))
    raw = der_to_raw_signature(der)
    assert len(raw) == 64
    assert encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")) == der


def test_seal_is_the_url_then_a_cose_sign1_written_as_digits(sealer: LocalQrSealer) -> None:
    text = _seal(sealer)
    url, _, digits = text.partition("#")
    assert url == VERIFY_BASE + DOCUMENT_ID
    assert digits.isdigit()
    protected, unprotected, payload, signature = _message(text)
    assert cbor2.loads(protected) == {1: -7, 4: sealer.kid.encode()}  # ES256 and the key id
    assert unprotected == {} and len(signature) == 64  # type: ignore[arg-type]
    assert cbor2.loads(payload)[1] == "INPE"  # type: ignore[arg-type]


def test_genuine_seal_verifies_offline_with_the_decoded_data(sealer: LocalQrSealer, jwks: dict[str, object],
                                                            root: Root) -> None:
    result = _verify(_seal(sealer, holder_name="Nguyễn Thị Minh", status=StatusRef(1, 99)), jwks, root)
    assert (result.valid, result.reason) == (True, REASON_OK)
    data = result.data
    assert (data.holder_name, data.masked_document_number, data.document_id) == ("Nguyễn Thị Minh", "****5678",
                                                                                DOCUMENT_ID)
    assert data.status == StatusRef(1, 99) and data.issuer == "INPE"
    assert result.signer == "Instituto Nacional Penitenciario"


def test_the_judiciarys_documents_verify_with_the_judiciarys_key(judiciary_sealer: LocalQrSealer,
                                                                 jwks: dict[str, object], root: Root) -> None:
    result = _verify(_seal(judiciary_sealer, kind=KIND_ATTENDANCE), jwks, root)
    assert result.valid and result.data.issuer == ISSUER_JUDICIARY
    assert result.signer == "Poder Judicial del Perú"


def test_a_document_sealed_by_another_issuers_key_is_untrusted(sealer: LocalQrSealer, jwks: dict[str, object],
                                                               root: Root) -> None:
    """INPE's key claiming to seal a judiciary document (iss PJ): the key is not certified for that issuer."""
    assert _verify(_seal(sealer, kind=KIND_ATTENDANCE), jwks, root).reason == REASON_UNTRUSTED_KEY


def test_edited_claims_fail_with_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object], root: Root) -> None:
    text = _seal(sealer)
    parts = _message(text)
    claims = cbor2.loads(parts[2])  # type: ignore[arg-type]
    claims[-4] = "R"  # "registra antecedentes"
    parts[2] = cbor2.dumps(claims)
    assert _verify(_rebuild(text, parts), jwks, root).reason == REASON_BAD_SIGNATURE


def test_edited_signature_fails_with_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object], root: Root) -> None:
    text = _seal(sealer)
    parts = _message(text)
    signature = bytearray(parts[3])  # type: ignore[arg-type]
    signature[10] ^= 1
    parts[3] = bytes(signature)
    assert _verify(_rebuild(text, parts), jwks, root).reason == REASON_BAD_SIGNATURE


def test_a_qr_re_pointed_to_a_look_alike_site_is_refused_and_names_the_site(
        sealer: LocalQrSealer, jwks: dict[str, object], root: Root) -> None:
    text = _seal(sealer).replace("https://verifica.inpe.gob.pe", "https://verifica-inpe.gob.pe.example")
    result = _verify(text, jwks, root)
    assert (result.valid, result.reason) == (False, REASON_FOREIGN_URL)
    assert result.url.startswith("https://verifica-inpe.gob.pe.example/")
    # Even a verifier that does not know the service's address catches it: the URL is signed.
    assert _verify(text, jwks, root, origin=None).reason == REASON_BAD_SIGNATURE


def test_url_pointing_to_another_document_fails_the_signature(sealer: LocalQrSealer, jwks: dict[str, object],
                                                             root: Root) -> None:
    text = _seal(sealer).replace(f"/v/{DOCUMENT_ID}#", "/v/SomeOtherDocumentId00#")
    assert _verify(text, jwks, root).reason == REASON_BAD_SIGNATURE


def test_a_sealed_url_without_a_document_path_is_id_mismatch(sealer: LocalQrSealer, jwks: dict[str, object],
                                                              root: Root) -> None:
    text = _seal(sealer, verification_url=f"{ORIGIN}/x/{DOCUMENT_ID}")
    assert _verify(text, jwks, root).reason == REASON_ID_MISMATCH


def test_a_key_from_the_jwks_not_certified_by_the_root_is_untrusted(
        sealer: LocalQrSealer, qr_key: ec.EllipticCurvePrivateKey, root: Root) -> None:
    """A forged JWKS (say, served by a look-alike site) with our kid and a certificate from another root."""
    forger = make_root()
    forged_jwks = {"keys": [public_jwk(qr_key.public_key(), (forger.certify(qr_key),), "INPE")]}
    assert _verify(_seal(sealer), forged_jwks, root).reason == REASON_UNTRUSTED_KEY
    bare = {"keys": [public_jwk(qr_key.public_key())]}  # no x5c at all
    assert _verify(_seal(sealer), bare, root).reason == REASON_UNTRUSTED_KEY


def test_a_forged_key_certified_by_another_root_fails_even_with_its_own_jwks(root: Root) -> None:
    forger, key = make_root(), ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [public_jwk(key.public_key(), (forger.certify(key),), "INPE")]}
    text = LocalQrSealer(key_id(key.public_key()), local_es256_signer(key)).seal(
        SealedData.from_content(make_content()))
    assert _verify(text, jwks, root).reason == REASON_UNTRUSTED_KEY


def test_a_jwk_whose_certificate_is_for_another_key_is_untrusted(
        sealer: LocalQrSealer, qr_key: ec.EllipticCurvePrivateKey, root: Root) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [public_jwk(qr_key.public_key(), (root.certify(other),), "INPE")]}
    assert _verify(_seal(sealer), jwks, root).reason == REASON_UNTRUSTED_KEY


def test_seal_from_a_key_not_in_the_jwks_is_unknown_key(jwks: dict[str, object], root: Root) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    text = LocalQrSealer(key_id(other.public_key()), local_es256_signer(other)).seal(
        SealedData.from_content(make_content()))
    assert _verify(text, jwks, root).reason == REASON_UNKNOWN_KEY


def test_same_kid_with_another_key_is_bad_signature(sealer: LocalQrSealer, jwks: dict[str, object], root: Root) -> None:
    impostor = LocalQrSealer(sealer.kid, local_es256_signer(ec.generate_private_key(ec.SECP256R1())))
    text = impostor.seal(SealedData.from_content(make_content()))
    assert _verify(text, jwks, root).reason == REASON_BAD_SIGNATURE


def test_expired_when_the_clock_is_past_the_validity(sealer: LocalQrSealer, jwks: dict[str, object],
                                                     root: Root) -> None:
    text = _seal(sealer)
    end = ISSUED + timedelta(days=90)
    assert _verify(text, jwks, root, now=end - timedelta(seconds=1)).valid
    result = _verify(text, jwks, root, now=end)
    assert (result.valid, result.reason) == (False, REASON_EXPIRED)
    assert result.data is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://verifica.inpe.gob.pe/v/abc",  # no fragment
        "https://verifica.inpe.gob.pe/v/abc#not-digits",
        "https://verifica.inpe.gob.pe/v/abc#1234567890123",  # digits, but not CBOR of ours
        "https://verifica.inpe.gob.pe/v/abc#" + "9" * 2500,  # far too long
        "https://verifica.inpe.gob.pe/v/abc#" + bytes_to_digits(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""]))),
        "WIFI:S:cafe;T:WPA;P:secret;;",  # some other QR code
    ],
)
def test_malformed_texts_are_reported_as_malformed(text: str, jwks: dict[str, object], root: Root) -> None:
    result = _verify(text, jwks, root)
    assert (result.valid, result.reason, result.data) == (False, REASON_MALFORMED, None)


def test_signed_but_unreadable_claims_are_malformed(qr_key: ec.EllipticCurvePrivateKey, sealer: LocalQrSealer,
                                                     jwks: dict[str, object], root: Root) -> None:
    from chalicelib.adapters.documents.seal import sig_structure

    text = _seal(sealer)
    parts = _message(text)
    parts[2] = cbor2.dumps({"id": "x"})  # validly signed below, but not our claims
    parts[3] = local_es256_signer(qr_key)(sig_structure(parts[0], text.partition("#")[0].encode(), parts[2]))  # type: ignore[arg-type]
    assert _verify(_rebuild(text, parts), jwks, root).reason == REASON_MALFORMED


def test_jwks_without_keys_list_means_unknown_key(sealer: LocalQrSealer, root: Root) -> None:
    assert _verify(_seal(sealer), {"keys": "nope"}, root).reason == REASON_UNKNOWN_KEY
    assert _verify(_seal(sealer), {}, root).reason == REASON_UNKNOWN_KEY


def test_sealer_refuses_a_der_signing_function(qr_key: ec.EllipticCurvePrivateKey) -> None:
    sealer = LocalQrSealer("kid", lambda data: qr_key.sign(data, ec.ECDSA(hashes.SHA256())))
    with pytest.raises(ValueError, match="64-byte"):
        sealer.seal(SealedData.from_content(make_content()))


def test_sealer_requires_a_verification_url(sealer: LocalQrSealer) -> None:
    data = SealedData.from_content(make_content())
    with pytest.raises(ValueError, match="verification URL"):
        sealer.seal(SealedData(**{name: getattr(data, name) for name in data.__slots__} | {"verification_url": ""}))


def test_jwks_entry_has_the_published_fields_and_its_certificate(qr_key: ec.EllipticCurvePrivateKey,
                                                                 root: Root) -> None:
    jwk = public_jwk(qr_key.public_key(), (root.certify(qr_key),), "INPE")
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"], jwk["iss"]) == ("EC", "P-256", "ES256", "sig", "INPE")
    assert jwk["kid"] == key_id(qr_key.public_key()) and len(jwk["kid"]) == 8
    assert len(jwk["x5c"]) == 1


def test_an_independent_cose_library_verifies_the_seal(sealer: LocalQrSealer,
                                                       qr_key: ec.EllipticCurvePrivateKey) -> None:
    """`cwt` (a separate COSE implementation) accepts the QR's signature with the published key, given the URL
    as external data, and refuses it for another URL."""
    import cwt
    from cwt import COSE, COSEKey

    text = _seal(sealer)
    url = text.partition("#")[0]
    jwk = public_jwk(qr_key.public_key())
    key = COSEKey.from_jwk({k: jwk[k] for k in ("kty", "crv", "x", "y", "kid", "alg")})
    payload = COSE.new().decode(digits_to_bytes(text.partition("#")[2]), key, external_aad=url.encode())
    assert cbor2.loads(payload)[1] == "INPE"
    with pytest.raises(cwt.VerifyError):
        COSE.new().decode(digits_to_bytes(text.partition("#")[2]), key, external_aad=b"https://evil.example/v/x")

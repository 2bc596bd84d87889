"""Signatures with AWS KMS: PAdES PDFs and sealed QR codes signed by keys that never leave KMS.

KMS ``Sign`` with an ECC_NIST_P256 key and ``ECDSA_SHA_256`` returns a DER signature, which is what CMS
(pyHanko's :class:`CallbackSigner`) wants; the QR seal (a JWS) wants the fixed-width r||s form instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ...domain.errors import ServiceUnavailable
from .clients import client
from .config import CloudConfig

# KMS signs at most 4096 bytes given as RAW; pyHanko's signed attributes and the QR signing input are far below.
RAW_MESSAGE_LIMIT = 4096
SIGNING_ALGORITHM = "ECDSA_SHA_256"
KEY_SPEC = "ECC_NIST_P256"


def kms_der_signer(key_id: str, region: str, kms: Any = None) -> Callable[[bytes], bytes]:
    """A ``DerSign`` for :class:`CallbackSigner`: KMS hashes and signs the bytes (MessageType RAW).

    RAW, not DIGEST: the message is small, and a simulator that mishandles DIGEST (moto hashes the digest
    again) would otherwise hide a broken signature until someone else's validator saw it.
    """

    def sign(data: bytes) -> bytes:
        if len(data) > RAW_MESSAGE_LIMIT:
            raise ValueError("message too long for a RAW KMS signature")
        service = kms if kms is not None else client("kms", region)
        answer = service.sign(KeyId=key_id, Message=data, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM)
        signature: bytes = answer["Signature"]
        return signature

    return sign


def kms_raw_signer(key_id: str, region: str, kms: Any = None) -> Callable[[bytes], bytes]:
    """A ``RawSign`` for the QR sealer: the KMS signature as JWS's 64-byte r||s."""
    from ..documents.seal import der_to_raw_signature

    der_sign = kms_der_signer(key_id, region, kms)

    def sign(data: bytes) -> bytes:
        return der_to_raw_signature(der_sign(data))

    return sign


def kms_public_key(key_id: str, region: str, kms: Any = None) -> ec.EllipticCurvePublicKey:
    service = kms if kms is not None else client("kms", region)
    answer = service.get_public_key(KeyId=key_id)
    # KeySpec, or the older CustomerMasterKeySpec that KMS still sends (and moto sends alone).
    spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")
    key = serialization.load_der_public_key(answer["PublicKey"])
    if (spec != KEY_SPEC or answer.get("KeyUsage") != "SIGN_VERIFY" or not isinstance(key, ec.EllipticCurvePublicKey)
            or not isinstance(key.curve, ec.SECP256R1)):
        raise ValueError(f"KMS key {key_id} must be {KEY_SPEC} with usage SIGN_VERIFY")
    return key


def _same_key(a: ec.EllipticCurvePublicKey, b: ec.EllipticCurvePublicKey) -> bool:
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(der, spki) == b.public_bytes(der, spki)


class KmsPki:
    """What the API publishes and verifies against, when the keys live in KMS.

    The same attributes the local PKI offers to the verification routes (``signer_certificate``,
    ``ca_cert_pem``, ``qr_kid``, ``jwks()``); each is fetched on first use, so building the container
    makes no network call.
    """

    def __init__(self, config: CloudConfig, kms: Any = None, ssm: Any = None) -> None:
        self.config = config
        self._kms = kms
        self._ssm = ssm
        self._lock = threading.Lock()

    @property
    def kms(self) -> Any:
        if self._kms is None:
            self._kms = client("kms", self.config.region)
        return self._kms

    def _chain_pem(self) -> str:
        if self.config.signing_cert_chain:
            return self.config.signing_cert_chain
        ssm = self._ssm if self._ssm is not None else client("ssm", self.config.region)
        value: str = ssm.get_parameter(Name=self.config.signing_cert_chain_parameter)["Parameter"]["Value"]
        return value

    @cached_property
    def chain(self) -> list[x509.Certificate]:
        """The signer's certificate first, then its issuers up to the root."""
        with self._lock:
            pem = self._chain_pem()
            try:
                certificates = x509.load_pem_x509_certificates(pem.encode("ascii"))
            except ValueError:
                raise ServiceUnavailable(
                    "The document-signing certificate is not configured yet.", code="signing_not_configured"
                ) from None
            return certificates

    @property
    def signer_certificate(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self.chain[-1]

    @property
    def ca_cert_pem(self) -> bytes:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    @cached_property
    def _qr_public_keys(self) -> list[ec.EllipticCurvePublicKey]:
        ids = [self.config.qr_key_id, *self.config.qr_previous_key_ids]
        return [kms_public_key(key_id, self.config.region, self.kms) for key_id in ids]

    @property
    def qr_kid(self) -> str:
        from ..documents.pki import key_id

        return key_id(self._qr_public_keys[0])

    def _qr_certificates(self) -> dict[str, x509.Certificate]:
        """QR seal keys' certificates by kid, from QR_CERTIFICATES (PEM, any order): what anchors them in the
        document root for offline verifiers. Keys without one are published bare (and refused offline)."""
        from ..documents.pki import key_id

        pem = self.config.qr_certificates
        found: dict[str, x509.Certificate] = {}
        for certificate in x509.load_pem_x509_certificates(pem.encode("ascii")) if pem else []:
            public = certificate.public_key()
            if isinstance(public, ec.EllipticCurvePublicKey):
                found[key_id(public)] = certificate
        return found

    def signer_common_names(self) -> set[str]:
        names = self.signer_certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return {str(names[0].value)} if names else set()

    def jwks(self) -> dict[str, Any]:
        """The current QR key and the previous ones, so QR codes sealed before a rotation still verify."""
        from ...domain.documents import ISSUER_INPE
        from ..documents.pki import key_id, public_jwk

        certificates = self._qr_certificates()
        keys = []
        for key in self._qr_public_keys:
            certificate = certificates.get(key_id(key))
            keys.append(public_jwk(key, (certificate,) if certificate else (), ISSUER_INPE))
        return {"keys": keys}

    def check_signer(self) -> None:
        """The certificate must certify the KMS key: otherwise every signed PDF would fail validation."""
        if not self.config.signing_key_id:
            raise RuntimeError("SIGNING_KEY_ID is not set: this function cannot sign documents")
        public = kms_public_key(self.config.signing_key_id, self.config.region, self.kms)
        certified = self.signer_certificate.public_key()
        if not isinstance(certified, ec.EllipticCurvePublicKey) or not _same_key(public, certified):
            raise RuntimeError("the signing certificate does not certify the KMS signing key")


def kms_pipeline(pki: KmsPki, timestamp_url: str | None = None) -> Any:
    """The document pipeline (render, seal, sign) with both signatures made by KMS: INPE's documents, at
    PAdES B-LT when an accredited TSA is configured (the validation data comes from the chain's AIA/CRL
    addresses). The judiciary's documents need their own KMS keys and certificate, which this stack does
    not define yet: until then they are refused rather than signed as INPE."""
    from ...domain.documents import ISSUER_INPE, ISSUERS
    from ..documents.pipeline import DocumentPipeline, IssuerTools
    from ..documents.seal import LocalQrSealer
    from ..documents.signing import CallbackSigner, PadesPdfSigner, RevocationInfo

    pki.check_signer()
    config = pki.config
    signer = CallbackSigner(kms_der_signer(config.signing_key_id, config.region, pki.kms),
                            pki.signer_certificate, chain=pki.chain[1:])
    sealer = LocalQrSealer(pki.qr_kid, kms_raw_signer(config.qr_key_id, config.region, pki.kms))
    pdf_signer = PadesPdfSigner(signer, timestamp_url=timestamp_url, revocation=RevocationInfo([pki.ca_certificate]),
                                field_name=ISSUERS[ISSUER_INPE].signature_field)
    return DocumentPipeline(None, {ISSUER_INPE: IssuerTools(pdf_signer, sealer)})


class LazyProducer:
    """Builds the pipeline on first use: pyHanko costs about 0.2 s to import, and most calls never sign."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._pipeline: Any = None
        self._lock = threading.Lock()

    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    self._pipeline = self._build()
        return self._pipeline

    def produce(self, content: Any) -> bytes:
        pdf: bytes = self.pipeline.produce(content)
        return pdf

    def produce_with_qr(self, content: Any) -> Any:
        return self.pipeline.produce_with_qr(content)

    async def async_produce(self, content: Any) -> bytes:
        pdf: bytes = await self.pipeline.async_produce(content)
        return pdf

    def sealer(self, issuer: str) -> Any:
        return self.pipeline.sealer(issuer)

    def warm_up(self) -> None:
        self.pipeline.warm_up()

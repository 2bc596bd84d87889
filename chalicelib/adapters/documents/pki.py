"""Local development PKI: a root CA, the document-signing certificate and the QR seal key, kept as files."""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_COMMON_NAME = "INPE Local Development Root CA"
SIGNER_COMMON_NAME = "Instituto Nacional Penitenciario - Firma de Documentos (LOCAL)"
ORGANIZATION = "Instituto Nacional Penitenciario"
CA_VALIDITY = dt.timedelta(days=3652)
SIGNER_VALIDITY = dt.timedelta(days=730)
RENEW_BEFORE = dt.timedelta(days=30)  # a signer certificate this close to expiry is reissued

CA_KEY_FILE = "ca.key.pem"
CA_CERT_FILE = "ca.cert.pem"
SIGNER_KEY_FILE = "signer.key.pem"
SIGNER_CERT_FILE = "signer.cert.pem"
QR_KEY_FILE = "qr-seal.key.pem"
JWKS_FILE = "qr-seal.jwks.json"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """RFC 7517 JWK of a P-256 public key, with ``kid``, ``alg`` and ``use``."""
    numbers = public_key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    return {**jwk, "kid": key_id(public_key), "alg": "ES256", "use": "sig"}


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """First 16 characters of the RFC 7638 JWK thumbprint (short: it travels in every QR)."""
    numbers = public_key.public_numbers()
    canonical = json.dumps(
        {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:16]


@dataclass(frozen=True)
class LocalPki:
    """The loaded keys and certificates, and where they live."""

    directory: Path
    ca_certificate: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey
    signer_certificate: x509.Certificate
    qr_key: ec.EllipticCurvePrivateKey

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def ca_key_path(self) -> Path:
        return self.directory / CA_KEY_FILE

    @property
    def signer_key_path(self) -> Path:
        return self.directory / SIGNER_KEY_FILE

    @property
    def signer_cert_path(self) -> Path:
        return self.directory / SIGNER_CERT_FILE

    @property
    def qr_key_path(self) -> Path:
        return self.directory / QR_KEY_FILE

    @property
    def jwks_path(self) -> Path:
        return self.directory / JWKS_FILE

    @property
    def ca_cert_pem(self) -> bytes:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def qr_kid(self) -> str:
        return key_id(self.qr_key.public_key())

    def jwks(self) -> dict[str, Any]:
        """The published QR verification keys (only the current one for a local PKI)."""
        return {"keys": [public_jwk(self.qr_key.public_key())]}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _make_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name(CA_COMMON_NAME)
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_signer_certificate(
    key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> x509.Certificate:
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_COMMON_NAME))
        .issuer_name(ca.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SIGNER_VALIDITY, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: pyHanko's validator requires it by default
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write atomically; private files are created 0600 so the key is never readable by others."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o644)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.chmod(temporary, 0o600 if private else 0o644)  # umask could have narrowed or kept bits
    os.replace(temporary, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name} is not an EC private key")
    return key


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise first-time creation between processes sharing the directory."""
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_local_pki(directory: Path) -> LocalPki:
    """Load the local PKI from ``directory``, creating whatever is missing (idempotent)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(directory):
        ca_key_path = directory / CA_KEY_FILE
        ca_cert_path = directory / CA_CERT_FILE
        if ca_key_path.exists() and ca_cert_path.exists():
            ca_key = _load_key(ca_key_path)
            ca = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        else:
            ca_key = _new_key()
            ca = _make_ca(ca_key)
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_cert_path, ca.public_bytes(serialization.Encoding.PEM), private=False)
            # A new CA invalidates any signer certificate left from an older one.
            (directory / SIGNER_CERT_FILE).unlink(missing_ok=True)

        signer_key_path = directory / SIGNER_KEY_FILE
        signer_cert_path = directory / SIGNER_CERT_FILE
        signer_cert = None
        if signer_key_path.exists() and signer_cert_path.exists():
            signer_key = _load_key(signer_key_path)
            signer_cert = x509.load_pem_x509_certificate(signer_cert_path.read_bytes())
            if signer_cert.not_valid_after_utc < _now() + RENEW_BEFORE:
                signer_cert = None
        if signer_cert is None:
            signer_key = _load_key(signer_key_path) if signer_key_path.exists() else _new_key()
            signer_cert = _make_signer_certificate(signer_key, ca_key, ca)
            _write(signer_key_path, _key_pem(signer_key), private=True)
            _write(signer_cert_path, signer_cert.public_bytes(serialization.Encoding.PEM), private=False)

        qr_key_path = directory / QR_KEY_FILE
        if qr_key_path.exists():
            qr_key = _load_key(qr_key_path)
        else:
            qr_key = _new_key()
            _write(qr_key_path, _key_pem(qr_key), private=True)

        pki = LocalPki(
            directory=directory,
            ca_certificate=ca,
            signer_key=signer_key,
            signer_certificate=signer_cert,
            qr_key=qr_key,
        )
        jwks = json.dumps(pki.jwks(), indent=2, sort_keys=True).encode("ascii") + b"\n"
        jwks_path = directory / JWKS_FILE
        if not jwks_path.exists() or jwks_path.read_bytes() != jwks:
            _write(jwks_path, jwks, private=False)
        return pki

"""Local test PKI: a root CA, each issuer's signing and QR-seal certificates, a TSA and an OCSP responder, as files.

The root certifies everything a verifier needs to anchor: the PDF signers, the QR seal keys (published in the
JWKS with their certificate in ``x5c``), the time-stamping authority and the OCSP responder. Leaf certificates
carry the addresses of the local PKI services (``infrastructure/local/pki_services.py``): OCSP and CA issuers in
the AIA extension, the CRL in the distribution points, so that signatures can embed validation data (PAdES B-LT).
In the cloud the signer and seal keys live in KMS and the certificates come from an accredited CA instead.
"""

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
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from chalicelib.domain.documents import ISSUER_INPE, ISSUERS

CA_COMMON_NAME = "Raíz de Prueba de Documentos Firmados (LOCAL)"
CA_ORGANIZATION = "Plataforma de Servicios en Línea - Infraestructura de Prueba"
SIGNER_COMMON_NAME = "Instituto Nacional Penitenciario - Firma de Documentos (LOCAL)"
ORGANIZATION = ISSUERS[ISSUER_INPE].name
DEFAULT_SERVICES_URL = "http://127.0.0.1:8003"
CA_VALIDITY = dt.timedelta(days=3652)
SIGNER_VALIDITY = dt.timedelta(days=730)
RENEW_BEFORE = dt.timedelta(days=30)  # a leaf certificate this close to expiry is reissued
# Test certificates start in the past, so that tests running on a fixed clock some days back (documents sealed
# "then") find their keys certified at that time. Only this development PKI does this.
BACKDATE_CA = dt.timedelta(days=400)
BACKDATE_LEAF = dt.timedelta(days=60)

CA_KEY_FILE = "ca.key.pem"
CA_CERT_FILE = "ca.cert.pem"
SIGNER_KEY_FILE = "signer.key.pem"
SIGNER_CERT_FILE = "signer.cert.pem"
QR_KEY_FILE = "qr-seal.key.pem"
QR_CERT_FILE = "qr-seal.cert.pem"
JWKS_FILE = "qr-seal.jwks.json"
SERVICES_FILE = "services.json"
REVOKED_FILE = "revoked.json"
RETIRED_DIR = "retired"

# The QR seal certificate's extended key usage: a private OID arc would need registering; documentSigning
# (RFC 9336) says what the key is for and keeps it from being accepted for TLS or e-mail.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """First 8 characters of the RFC 7638 JWK thumbprint: short, as it travels in every QR."""
    numbers = public_key.public_numbers()
    canonical = json.dumps(
        {"crv": "P-256", "kty": "EC", "x": _b64url(numbers.x.to_bytes(32, "big")),
         "y": _b64url(numbers.y.to_bytes(32, "big"))},
        separators=(",", ":"), sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:8]


def public_jwk(public_key: ec.EllipticCurvePublicKey, chain: tuple[x509.Certificate, ...] = (),
               issuer: str | None = None) -> dict[str, Any]:
    """RFC 7517 JWK of a P-256 public key, with ``kid``, ``alg``, ``use`` and, when given, the ``x5c`` chain
    (the key's certificate first) that anchors it in the document PKI's root."""
    numbers = public_key.public_numbers()
    jwk: dict[str, Any] = {
        "kty": "EC", "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")), "y": _b64url(numbers.y.to_bytes(32, "big")),
        "kid": key_id(public_key), "alg": "ES256", "use": "sig",
    }
    if chain:
        jwk["x5c"] = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain]
    if issuer:
        jwk["iss"] = issuer
    return jwk


@dataclass(frozen=True)
class IssuerKeys:
    """One issuer's keys: the PDF signer and the QR seal, each with its certificate, and retired seal
    certificates whose keys still verify the QR codes sealed before a rotation."""

    code: str
    signer_key: ec.EllipticCurvePrivateKey
    signer_certificate: x509.Certificate
    qr_key: ec.EllipticCurvePrivateKey
    qr_certificate: x509.Certificate
    retired_qr_certificates: tuple[x509.Certificate, ...] = ()

    @property
    def qr_kid(self) -> str:
        return key_id(self.qr_key.public_key())

    def jwks_keys(self) -> list[dict[str, Any]]:
        current = public_jwk(self.qr_key.public_key(), (self.qr_certificate,), self.code)
        retired = []
        for certificate in self.retired_qr_certificates:
            public = certificate.public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)
            retired.append(public_jwk(public, (certificate,), self.code))
        return [current, *retired]


_JWKS_CACHE: dict[Path, tuple[int, dict[str, Any]]] = {}


@dataclass(frozen=True)
class LocalPki:
    """The loaded keys and certificates, and where they live."""

    directory: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_certificate: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    tsa_certificate: x509.Certificate
    ocsp_key: ec.EllipticCurvePrivateKey
    ocsp_certificate: x509.Certificate
    issuers: dict[str, IssuerKeys]
    services_url: str

    def issuer(self, code: str) -> IssuerKeys:
        return self.issuers[code]

    # The INPE issuer's keys, under the names the single-issuer code used.
    @property
    def signer_key(self) -> ec.EllipticCurvePrivateKey:
        return self.issuers[ISSUER_INPE].signer_key

    @property
    def signer_certificate(self) -> x509.Certificate:
        return self.issuers[ISSUER_INPE].signer_certificate

    @property
    def qr_key(self) -> ec.EllipticCurvePrivateKey:
        return self.issuers[ISSUER_INPE].qr_key

    @property
    def qr_kid(self) -> str:
        return self.issuers[ISSUER_INPE].qr_kid

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def signer_cert_path(self) -> Path:
        return self.directory / ISSUER_INPE / SIGNER_CERT_FILE

    @property
    def jwks_path(self) -> Path:
        return self.directory / JWKS_FILE

    @property
    def ca_cert_pem(self) -> bytes:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def timestamp_url(self) -> str:
        return f"{self.services_url}/tsa"

    def signer_common_names(self) -> set[str]:
        return {_common_name(keys.signer_certificate) for keys in self.issuers.values()}

    def jwks(self) -> dict[str, Any]:
        """The published QR verification keys of every issuer, current and retired: the JWKS file, which
        ``make rotate-keys`` rewrites while the API runs (so it is read again when it changes)."""
        try:
            stamp = self.jwks_path.stat().st_mtime_ns
        except FileNotFoundError:
            return self.current_jwks()
        cached = _JWKS_CACHE.get(self.jwks_path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, json.loads(self.jwks_path.read_text()))
            _JWKS_CACHE[self.jwks_path] = cached
        keys: dict[str, Any] = cached[1]
        return keys

    def current_jwks(self) -> dict[str, Any]:
        """The JWKS of the keys loaded in this object."""
        return {"keys": [key for keys in self.issuers.values() for key in keys.jwks_keys()]}

    def generation(self) -> int:
        """Changes when the keys are rotated (the modification time of the JWKS file)."""
        try:
            return self.jwks_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def revoked(self) -> dict[int, dt.datetime]:
        """Serial numbers revoked in this test PKI, with the revocation time."""
        return read_revoked(self.directory)


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _usage(*, signature: bool = False, non_repudiation: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature, content_commitment=non_repudiation, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False,
        decipher_only=False,
    )


def _make_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name(CA_COMMON_NAME, CA_ORGANIZATION)
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE_CA).not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    public: Any, subject: x509.Name, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, services_url: str,
    usage: x509.KeyUsage, purposes: list[x509.ObjectIdentifier], *, ocsp_no_check: bool = False,
    validity: dt.timedelta = SIGNER_VALIDITY,
) -> x509.Certificate:
    now = _now()
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - BACKDATE_LEAF, ca.not_valid_before_utc))
        .not_valid_after(min(now + validity, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(f"{services_url}/ocsp")),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(f"{services_url}/certs/ca.cer")),
        ]), critical=False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(f"{services_url}/crl/ca.crl")],
            relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
    )
    if purposes:
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=True)
    if ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _signer_certificate(key: ec.EllipticCurvePrivateKey, issuer: str, ca_key: ec.EllipticCurvePrivateKey,
                        ca: x509.Certificate, services_url: str) -> x509.Certificate:
    identity = ISSUERS[issuer]
    # Non-repudiation: pyHanko's validator requires it of document signers by default. No extended key usage:
    # NSS (pdfsig) checks signers as e-mail signers and refuses a certificate whose EKU lacks e-mail protection.
    return _leaf(key.public_key(), _name(f"{identity.name} - Firma (LOCAL)"[:64], identity.name),
                 ca_key, ca, services_url, _usage(signature=True, non_repudiation=True), [])


def _qr_certificate(key: ec.EllipticCurvePrivateKey, issuer: str, ca_key: ec.EllipticCurvePrivateKey,
                    ca: x509.Certificate, services_url: str) -> x509.Certificate:
    identity = ISSUERS[issuer]
    return _leaf(key.public_key(), _name(f"{identity.code} - Sello QR {key_id(key.public_key())} (LOCAL)",
                                         identity.name),
                 ca_key, ca, services_url, _usage(signature=True), [DOCUMENT_SIGNING])


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write atomically; private files are created 0600 so the key is never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.chmod(temporary, 0o600 if private else 0o644)  # umask could have narrowed or kept bits
    os.replace(temporary, path)


def _key_pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    return pem


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name} is not an EC private key")
    return key


def _load_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path.name} is not an RSA private key")
    return key


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise creation and rotation between processes sharing the directory."""
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _usable(certificate: x509.Certificate | None, ca: x509.Certificate, services_url: str) -> bool:
    """Issued by this CA, not about to expire, and pointing at the current PKI services."""
    if certificate is None or certificate.issuer != ca.subject:
        return False
    if certificate.not_valid_after_utc < _now() + RENEW_BEFORE:
        return False
    try:
        aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return False
    return any(str(d.access_location.value).startswith(services_url + "/") for d in aia)


def _load_cert(path: Path) -> x509.Certificate | None:
    return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None


def _ensure_pair(key_path: Path, cert_path: Path, make_key: Any, load_key: Any, issue: Any,
                 ca: x509.Certificate, services_url: str) -> tuple[Any, x509.Certificate]:
    key = load_key(key_path) if key_path.exists() else None
    certificate = _load_cert(cert_path) if key is not None else None
    if key is None:
        key = make_key()
        _write(key_path, _key_pem(key), private=True)
    if certificate is None or not _usable(certificate, ca, services_url) or (
            certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
            != key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)):
        certificate = issue(key)
        _write(cert_path, _cert_pem(certificate), private=False)
    return key, certificate


def _services_url(directory: Path, wanted: str | None) -> str:
    path = directory / SERVICES_FILE
    recorded = json.loads(path.read_text())["url"] if path.exists() else None
    url = (wanted or recorded or DEFAULT_SERVICES_URL).rstrip("/")
    if url != recorded:
        _write(path, json.dumps({"url": url}).encode(), private=False)
    return url


def ensure_local_pki(directory: Path, services_url: str | None = None) -> LocalPki:
    """Load the local PKI from ``directory``, creating whatever is missing (idempotent).

    ``services_url`` is where the PKI services answer (OCSP, CRL, TSA); leaf certificates naming another
    address are reissued with the same keys. Default: the address recorded last time, else port 8003.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(directory):
        url = _services_url(directory, services_url)
        ca_key_path, ca_cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
        if ca_key_path.exists() and ca_cert_path.exists():
            ca_key = _load_key(ca_key_path)
            ca = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        else:
            ca_key = _new_key()
            ca = _make_ca(ca_key)
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_cert_path, _cert_pem(ca), private=False)

        tsa_key, tsa_cert = _ensure_pair(
            directory / "tsa.key.pem", directory / "tsa.cert.pem",
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),  # pyHanko's test TSA: RSA
            _load_rsa_key,
            lambda key: _leaf(key.public_key(), _name("Autoridad de Sellado de Tiempo de Prueba (LOCAL)",
                                                      CA_ORGANIZATION),
                              ca_key, ca, url, _usage(signature=True, non_repudiation=True),
                              [ExtendedKeyUsageOID.TIME_STAMPING]),
            ca, url)
        ocsp_key, ocsp_cert = _ensure_pair(
            directory / "ocsp.key.pem", directory / "ocsp.cert.pem", _new_key, _load_key,
            lambda key: _leaf(key.public_key(), _name("Respondedor OCSP de Prueba (LOCAL)", CA_ORGANIZATION),
                              ca_key, ca, url, _usage(signature=True), [ExtendedKeyUsageOID.OCSP_SIGNING],
                              ocsp_no_check=True),
            ca, url)

        issuers: dict[str, IssuerKeys] = {}
        for code in ISSUERS:
            folder = directory / code
            folder.mkdir(exist_ok=True, mode=0o700)
            signer_key, signer_cert = _ensure_pair(
                folder / SIGNER_KEY_FILE, folder / SIGNER_CERT_FILE, _new_key, _load_key,
                lambda key, code=code: _signer_certificate(key, code, ca_key, ca, url), ca, url)  # type: ignore[misc]
            qr_key, qr_cert = _ensure_pair(
                folder / QR_KEY_FILE, folder / QR_CERT_FILE, _new_key, _load_key,
                lambda key, code=code: _qr_certificate(key, code, ca_key, ca, url), ca, url)  # type: ignore[misc]
            retired = tuple(
                certificate for path in sorted((folder / RETIRED_DIR).glob("qr-*.cert.pem"))
                if (certificate := _load_cert(path)) is not None and certificate.issuer == ca.subject
            )
            issuers[code] = IssuerKeys(code, signer_key, signer_cert, qr_key, qr_cert, retired)

        pki = LocalPki(directory=directory, ca_key=ca_key, ca_certificate=ca, tsa_key=tsa_key,
                       tsa_certificate=tsa_cert, ocsp_key=ocsp_key, ocsp_certificate=ocsp_cert, issuers=issuers,
                       services_url=url)
        jwks = json.dumps(pki.current_jwks(), indent=2, sort_keys=True).encode("ascii") + b"\n"
        if not pki.jwks_path.exists() or pki.jwks_path.read_bytes() != jwks:
            _write(pki.jwks_path, jwks, private=False)
        return pki


def rotate_keys(directory: Path, issuer: str | None = None) -> dict[str, tuple[str, str]]:
    """New QR seal and PDF signing keys for ``issuer`` (every issuer by default).

    The retired seal certificate stays published in the JWKS, so QR codes sealed before keep verifying; the
    retired signer certificate is not revoked, so PDFs signed before keep validating. Returns, per issuer,
    the old and the new QR key id.
    """
    directory = Path(directory)
    ensure_local_pki(directory)
    changed: dict[str, tuple[str, str]] = {}
    with _locked(directory):
        for code in [issuer] if issuer else list(ISSUERS):
            folder = directory / code
            old_qr = _load_key(folder / QR_KEY_FILE)
            old_cert = _load_cert(folder / QR_CERT_FILE)
            if old_cert is not None:
                _write(folder / RETIRED_DIR / f"qr-{key_id(old_qr.public_key())}.cert.pem", _cert_pem(old_cert),
                       private=False)
            signer_cert = _load_cert(folder / SIGNER_CERT_FILE)
            if signer_cert is not None:
                _write(folder / RETIRED_DIR / f"signer-{signer_cert.serial_number:x}.cert.pem",
                       _cert_pem(signer_cert), private=False)
            new_qr = _new_key()
            _write(folder / QR_KEY_FILE, _key_pem(new_qr), private=True)
            (folder / QR_CERT_FILE).unlink(missing_ok=True)
            _write(folder / SIGNER_KEY_FILE, _key_pem(_new_key()), private=True)
            (folder / SIGNER_CERT_FILE).unlink(missing_ok=True)
            changed[code] = (key_id(old_qr.public_key()), key_id(new_qr.public_key()))
    ensure_local_pki(directory)  # certifies the new keys and rewrites the JWKS
    return changed


def read_revoked(directory: Path) -> dict[int, dt.datetime]:
    path = Path(directory) / REVOKED_FILE
    if not path.exists():
        return {}
    return {int(serial, 16): dt.datetime.fromisoformat(at) for serial, at in json.loads(path.read_text()).items()}


def revoke_certificate(directory: Path, certificate: x509.Certificate, at: dt.datetime | None = None) -> None:
    """Mark a certificate revoked in the test PKI: its CRL and OCSP answers say so from now on."""
    directory = Path(directory)
    with _locked(directory):
        revoked = {f"{serial:x}": moment.isoformat() for serial, moment in read_revoked(directory).items()}
        revoked.setdefault(f"{certificate.serial_number:x}", (at or _now()).isoformat())
        _write(directory / REVOKED_FILE, json.dumps(revoked, indent=2).encode(), private=False)

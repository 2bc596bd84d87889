"""Documents signed by keys held in KMS (moto): a PDF that poppler validates, and a QR that verifies offline."""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.adapters.aws.clients import client
from chalicelib.adapters.aws.config import CloudConfig
from chalicelib.adapters.aws.kms import KmsPki, LazyProducer, kms_der_signer, kms_pipeline, kms_public_key
from chalicelib.adapters.documents.pki import key_id
from chalicelib.adapters.documents.seal import verify_qr_text
from chalicelib.domain.documents import KIND_CERTIFICATE, RESULT_NO_RECORD, DocumentContent

from .conftest import REGION

ISSUED = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "PE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Instituto Nacional Penitenciario"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signer, content_commitment=signer, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signer,
                         crl_sign=not signer, encipher_only=False, decipher_only=False)


def issue_chain(public_key: ec.EllipticCurvePublicKey, qr_keys: tuple[ec.EllipticCurvePublicKey, ...] = ()
                ) -> tuple[str, x509.Certificate, str]:
    """A test CA (its key in memory) certifies the KMS signing key (and the QR seal keys); returns the PEM chain,
    the CA and the QR keys' certificates (PEM). Valid from a month back: the sample documents are of 22/11/2026."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    ca = (x509.CertificateBuilder().subject_name(_name("Test Root CA")).issuer_name(_name("Test Root CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=400))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(signer=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(_name("Firma de Documentos (KMS)")).issuer_name(ca.subject)
              .public_key(public_key).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=40))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_usage(signer=True), critical=True)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (signer, ca)).decode()
    seals = [(x509.CertificateBuilder().subject_name(_name(f"Sello QR {index}")).issuer_name(ca.subject)
              .public_key(key).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=400))
              .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
              .sign(ca_key, hashes.SHA256())) for index, key in enumerate(qr_keys)]
    return pem, ca, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in seals).decode()


def new_kms_key(kms: Any, spec: str = "ECC_NIST_P256") -> str:
    key: str = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY", Description="test")["KeyMetadata"]["Arn"]
    return key


def content(document_id: str | None = None) -> DocumentContent:
    document_id = document_id or secrets.token_urlsafe(16)
    return DocumentContent(
        document_id=document_id, kind=KIND_CERTIFICATE, title="CERTIFICADO DE ANTECEDENTES JUDICIALES",
        number="CAJ-2026-0000042", holder_name="QUISPE MAMANI, JUAN CARLOS", document_type="DNI",
        document_number="12345678", result=RESULT_NO_RECORD, cases=(), issued_at=ISSUED,
        valid_until=ISSUED + dt.timedelta(days=90), verification_url=f"https://verifica.example.pe/v/{document_id}")


@pytest.fixture
def kms_setup(mocked_aws: None) -> tuple[CloudConfig, x509.Certificate]:
    kms = client("kms", REGION)
    signing_key, qr_key = new_kms_key(kms), new_kms_key(kms)
    chain, ca, seals = issue_chain(kms_public_key(signing_key, REGION), (kms_public_key(qr_key, REGION),))
    config = CloudConfig(region=REGION, document_signer="kms", signing_key_id=signing_key, qr_key_id=qr_key,
                         signing_cert_chain=chain, qr_certificates=seals)
    return config, ca


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def test_kms_signed_pdf_is_valid_for_pdfsig_and_trusted_with_the_ca(
        kms_setup: tuple[CloudConfig, x509.Certificate], tmp_path: Path) -> None:
    config, ca = kms_setup
    produced = kms_pipeline(KmsPki(config)).produce_with_qr(content())
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(produced.pdf)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    nss = tmp_path / "nss"
    nss.mkdir()
    assert run("certutil", "-N", "--empty-password", "-d", f"sql:{nss}").returncode == 0
    assert run("certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i",
               str(tmp_path / "ca.pem")).returncode == 0

    report = run("pdfsig", "-nssdir", f"sql:{nss}", str(pdf))

    assert "Signature is Valid" in report.stdout, report.stdout + report.stderr
    assert "Certificate is Trusted" in report.stdout, report.stdout


def test_a_byte_changed_in_the_kms_signed_pdf_breaks_the_signature(
        kms_setup: tuple[CloudConfig, x509.Certificate], tmp_path: Path) -> None:
    config, _ = kms_setup
    pdf = kms_pipeline(KmsPki(config)).produce(content())
    at = pdf.index(b"/Lang (es") + len(b"/Lang (e")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(pdf[:at] + b"t" + pdf[at + 1:])

    report = run("pdfsig", str(tampered))

    assert "Signature is Valid" not in report.stdout
    assert "Digest Mismatch" in report.stdout, report.stdout


def test_kms_sealed_qr_verifies_offline_with_the_jwks_built_from_kms(
        kms_setup: tuple[CloudConfig, x509.Certificate]) -> None:
    config, _ = kms_setup
    pki = KmsPki(config)
    document = content()
    produced = kms_pipeline(pki).produce_with_qr(document)

    jwks = pki.jwks()
    result = verify_qr_text(produced.qr_text, jwks, now=ISSUED + dt.timedelta(days=1), roots=[kms_setup[1]],
                            expected_origin="https://verifica.example.pe")

    assert result.valid and result.reason == "ok" and result.data is not None
    assert result.data.document_id == document.document_id
    qr_public = kms_public_key(config.qr_key_id, REGION)
    assert [key["kid"] for key in jwks["keys"]] == [key_id(qr_public)] == [pki.qr_kid]


def test_jwks_keeps_previous_qr_keys_so_older_codes_still_verify(
        kms_setup: tuple[CloudConfig, x509.Certificate]) -> None:
    config, _ = kms_setup
    old_pki = KmsPki(config)
    old_qr = kms_pipeline(old_pki).produce_with_qr(content()).qr_text
    rotated = replace(config, qr_key_id=new_kms_key(client("kms", REGION)), qr_previous_key_ids=(config.qr_key_id,))

    jwks = KmsPki(rotated).jwks()

    assert len(jwks["keys"]) == 2 and jwks["keys"][1]["kid"] == old_pki.qr_kid
    assert jwks["keys"][1]["x5c"]  # the retired key keeps its certificate
    assert verify_qr_text(old_qr, jwks, now=ISSUED, roots=[kms_setup[1]],
                          expected_origin="https://verifica.example.pe").valid


def test_the_pdf_signature_is_a_der_ecdsa_signature_made_with_raw_message_type(
        kms_setup: tuple[CloudConfig, x509.Certificate]) -> None:
    config, _ = kms_setup
    message = b"signed attributes"

    signature = kms_der_signer(config.signing_key_id, REGION)(message)

    kms_public_key(config.signing_key_id, REGION).verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_a_certificate_for_another_key_is_refused_before_anything_is_signed(
        kms_setup: tuple[CloudConfig, x509.Certificate]) -> None:
    config, _ = kms_setup
    foreign_chain, _, _ = issue_chain(ec.generate_private_key(ec.SECP256R1()).public_key())

    with pytest.raises(RuntimeError, match="does not certify"):
        kms_pipeline(KmsPki(replace(config, signing_cert_chain=foreign_chain)))


def test_a_key_of_the_wrong_spec_is_refused(mocked_aws: None) -> None:
    rsa_key = new_kms_key(client("kms", REGION), spec="RSA_2048")

    with pytest.raises(ValueError, match="ECC_NIST_P256"):
        kms_public_key(rsa_key, REGION)


def test_an_unconfigured_chain_reads_as_service_unavailable(mocked_aws: None) -> None:
    from chalicelib.domain.errors import ServiceUnavailable

    ssm = client("ssm", REGION)
    ssm.put_parameter(Name="/antecedentes/test/signing-cert-chain", Value="NOT CONFIGURED", Type="String")
    config = CloudConfig(region=REGION, document_signer="kms", qr_key_id="unused",
                         signing_cert_chain_parameter="/antecedentes/test/signing-cert-chain")

    with pytest.raises(ServiceUnavailable) as raised:
        _ = KmsPki(config).ca_cert_pem
    assert raised.value.code == "signing_not_configured"


def test_the_chain_is_read_from_its_ssm_parameter(kms_setup: tuple[CloudConfig, x509.Certificate]) -> None:
    config, ca = kms_setup
    client("ssm", REGION).put_parameter(Name="/antecedentes/test/chain", Value=config.signing_cert_chain,
                                        Type="String")
    pki = KmsPki(replace(config, signing_cert_chain="", signing_cert_chain_parameter="/antecedentes/test/chain"))

    assert pki.ca_cert_pem == ca.public_bytes(serialization.Encoding.PEM)
    assert pki.signer_certificate.public_key().public_numbers() == kms_public_key(
        config.signing_key_id, REGION).public_numbers()


def test_lazy_producer_builds_the_pipeline_once_on_first_use() -> None:
    built: list[int] = []

    class Pipeline:
        def produce(self, document: object) -> bytes:
            return b"%PDF"

    def build() -> Pipeline:
        built.append(1)
        return Pipeline()

    producer = LazyProducer(build)
    assert built == []
    assert producer.produce(object()) == b"%PDF" and producer.produce(object()) == b"%PDF"
    assert built == [1]

"""Produced documents checked with independent tools: poppler, NSS, qpdf, zxing-cpp, and pyHanko."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from cryptography import x509
from integ_doc_samples import ISSUED, case, make_content
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from chalicelib.adapters.documents import (
    LocalPdfSigner,
    ensure_local_pki,
    render_pdf,
    validate_pdf,
    verify_qr_text,
)
from chalicelib.adapters.documents.pipeline import DocumentPipeline, ProducedDocument
from chalicelib.adapters.documents.pki import (
    CA_COMMON_NAME,
    SIGNER_COMMON_NAME,
    LocalPki,
)
from chalicelib.domain.documents import KIND_ATTENDANCE, RESULT_ATTENDANCE

NAMES = ("Ñañez Güémez", "Nguyễn Thị Minh", "Ольга Петрова")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def produced(pipeline: DocumentPipeline) -> ProducedDocument:
    return pipeline.produce_with_qr(make_content(holder_name="HUAMÁN RODRÍGUEZ, MARÍA DEL PILAR"))


@pytest.fixture(scope="module")
def pdf_file(produced: ProducedDocument, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "certificate.pdf"
    path.write_bytes(produced.pdf)
    return path


@pytest.fixture(scope="module")
def nss_dir(pki: LocalPki, tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("nss")
    created = run("certutil", "-N", "--empty-password", "-d", f"sql:{directory}")
    assert created.returncode == 0, created.stderr
    added = run("certutil", "-A", "-d", f"sql:{directory}", "-n", "root", "-t", "CT,C,C", "-i", str(pki.ca_cert_path))
    assert added.returncode == 0, added.stderr
    return f"sql:{directory}"


def _tampered(pdf: bytes) -> bytes:
    """One byte changed inside the signed range: the language tag in the catalog."""
    at = pdf.index(b"/Lang (es") + len(b"/Lang (e")
    assert at < pdf.index(b"/ByteRange")  # before the signature value: inside the first signed range
    return pdf[:at] + b"t" + pdf[at + 1 :]


# --- local PKI ---------------------------------------------------------------------------


def test_local_pki_is_created_once_and_loaded_afterwards(tmp_path: Path) -> None:
    first = ensure_local_pki(tmp_path / "pki")
    files = {path.name: path.read_bytes() for path in (tmp_path / "pki").iterdir()}
    second = ensure_local_pki(tmp_path / "pki")
    assert {path.name: path.read_bytes() for path in (tmp_path / "pki").iterdir()} == files
    assert second.qr_kid == first.qr_kid
    assert second.signer_certificate == first.signer_certificate
    assert second.ca_cert_pem == first.ca_cert_pem


def test_signer_certificate_close_to_expiry_is_reissued_with_the_same_key(tmp_path: Path) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization

    first = ensure_local_pki(tmp_path / "pki")
    ca_key = serialization.load_pem_private_key(first.ca_key_path.read_bytes(), password=None)
    now = dt.datetime.now(dt.UTC)
    expiring = (
        x509.CertificateBuilder()
        .subject_name(first.signer_certificate.subject)
        .issuer_name(first.ca_certificate.subject)
        .public_key(first.signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=700))
        .not_valid_after(now + dt.timedelta(days=10))
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    first.signer_cert_path.write_bytes(expiring.public_bytes(serialization.Encoding.PEM))
    renewed = ensure_local_pki(tmp_path / "pki")
    assert renewed.signer_certificate.not_valid_after_utc > now + dt.timedelta(days=700)
    assert renewed.signer_certificate.public_key() == first.signer_key.public_key()


def test_private_keys_are_readable_by_the_owner_only(pki: LocalPki) -> None:
    for path in (pki.ca_key_path, pki.signer_key_path, pki.qr_key_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
    assert stat.S_IMODE(os.stat(pki.ca_cert_path).st_mode) == 0o644


def test_signing_certificate_is_issued_by_the_local_ca_for_signatures(pki: LocalPki) -> None:
    signer = pki.signer_certificate
    ca = pki.ca_certificate
    common_name = x509.oid.NameOID.COMMON_NAME
    assert signer.subject.get_attributes_for_oid(common_name)[0].value == SIGNER_COMMON_NAME
    assert ca.subject.get_attributes_for_oid(common_name)[0].value == CA_COMMON_NAME
    assert signer.issuer == ca.subject
    signer.verify_directly_issued_by(ca)
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    signer_days = (signer.not_valid_after_utc - signer.not_valid_before_utc).days
    ca_days = (ca.not_valid_after_utc - ca.not_valid_before_utc).days
    assert 729 <= signer_days <= 731
    assert 3651 <= ca_days <= 3653


def test_jwks_file_publishes_the_qr_key(pki: LocalPki) -> None:
    import json

    published = json.loads(pki.jwks_path.read_text())
    assert published == pki.jwks()
    (key,) = published["keys"]
    assert key["kid"] == pki.qr_kid and key["alg"] == "ES256" and key["use"] == "sig"
    assert "d" not in key  # never the private part


# --- signature ---------------------------------------------------------------------------


def test_pdfsig_reports_a_valid_signature_over_the_whole_document(pdf_file: Path) -> None:
    result = run("pdfsig", str(pdf_file))
    assert "Signature Validation: Signature is Valid." in result.stdout, result.stdout
    assert "Total document signed" in result.stdout
    assert "Signature Field Name: FirmaINPE" in result.stdout
    assert "ETSI.CAdES.detached" in result.stdout  # PAdES


def test_pdfsig_trusts_the_certificate_once_the_ca_is_in_nss(pdf_file: Path, nss_dir: str) -> None:
    result = run("pdfsig", "-nssdir", nss_dir, str(pdf_file))
    assert "Certificate Validation: Certificate is Trusted." in result.stdout, result.stdout


def test_one_changed_byte_breaks_the_signature(produced: ProducedDocument, pki: LocalPki, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_tampered(produced.pdf))
    result = run("pdfsig", str(tampered))
    assert "Signature Validation: Digest Mismatch." in result.stdout, result.stdout
    check = validate_pdf(tampered.read_bytes(), [pki.ca_cert_pem])
    assert check.signed and not check.signature_valid


def test_pyhanko_validation_accepts_the_genuine_document(produced: ProducedDocument, pki: LocalPki) -> None:
    check = validate_pdf(produced.pdf, [pki.ca_cert_pem])
    assert check.signed and check.signature_valid
    assert check.sha256 == hashlib.sha256(produced.pdf).hexdigest()
    assert check.signer_cn == SIGNER_COMMON_NAME


def test_another_ca_does_not_make_the_signature_trusted(produced: ProducedDocument, tmp_path: Path) -> None:
    stranger = ensure_local_pki(tmp_path / "other")
    check = validate_pdf(produced.pdf, [stranger.ca_cert_pem])
    assert check.signed and not check.signature_valid


def test_an_update_appended_after_signing_is_not_valid(produced: ProducedDocument, pki: LocalPki) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(produced.pdf))
    writer.root["/Lang"] = generic.TextStringObject("en-US")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    check = validate_pdf(out.getvalue(), [pki.ca_cert_pem])
    assert check.signed and not check.signature_valid


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.7\n1 0 obj\n<<", b"\x00" * 2048])
def test_unparsable_uploads_are_unsigned_without_raising(data: bytes, pki: LocalPki) -> None:
    check = validate_pdf(data, [pki.ca_cert_pem])
    assert (check.signed, check.signature_valid) == (False, False)
    assert check.sha256 == hashlib.sha256(data).hexdigest()


def test_an_unsigned_pdf_is_reported_unsigned(pki: LocalPki) -> None:
    check = validate_pdf(render_pdf(make_content()), [pki.ca_cert_pem])
    assert (check.signed, check.signature_valid) == (False, False)


def test_a_truncated_signed_pdf_is_not_valid(produced: ProducedDocument, pki: LocalPki) -> None:
    check = validate_pdf(produced.pdf[: len(produced.pdf) * 3 // 4], [pki.ca_cert_pem])
    assert not check.signature_valid


def test_timestamped_signature_carries_a_token(pki: LocalPki, timestamp_url: str, tmp_path: Path) -> None:
    signer = LocalPdfSigner(pki, timestamp_url=timestamp_url)
    pdf = signer.sign_pdf(render_pdf(make_content()))
    path = tmp_path / "timestamped.pdf"
    path.write_bytes(pdf)
    assert "Signature is Valid." in run("pdfsig", str(path)).stdout
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[], allow_fetching=False)
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid
    assert status.timestamp_validity is not None and status.timestamp_validity.intact


# --- content, QR and structure ------------------------------------------------------------


def test_qr_scanned_from_the_rendered_page_is_the_sealed_text(
    produced: ProducedDocument, pdf_file: Path, pki: LocalPki, tmp_path: Path
) -> None:
    rendered = run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_file), str(tmp_path / "page"))
    assert rendered.returncode == 0, rendered.stderr
    with Image.open(tmp_path / "page.png") as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    assert [code.text for code in found] == [produced.qr_text]
    result = verify_qr_text(found[0].text, pki.jwks(), ISSUED + timedelta(days=1))
    assert result.valid and result.data is not None
    assert result.data.holder_name == "HUAMÁN RODRÍGUEZ, MARÍA DEL PILAR"


def test_names_in_other_scripts_come_back_as_text(pipeline: DocumentPipeline, tmp_path: Path) -> None:
    for index, name in enumerate(NAMES):
        path = tmp_path / f"name-{index}.pdf"
        path.write_bytes(pipeline.produce(make_content(holder_name=name)))
        text = run("pdftotext", str(path), "-").stdout
        assert name in text


def test_printed_fields_are_in_the_text_layer(pdf_file: Path) -> None:
    text = run("pdftotext", str(pdf_file), "-").stdout
    for expected in (
        "INSTITUTO NACIONAL PENITENCIARIO",
        "Dirección de Registro Penitenciario",
        "CERTIFICADO DE ANTECEDENTES JUDICIALES",
        "CAJ-2026-0001234",
        "DNI 12345678",
        "NO REGISTRA ANTECEDENTES JUDICIALES",
        "22/11/2026 10:15 (hora de Perú)",
        "Válido hasta",
        "20/02/2027 10:15 (hora de Perú)",
        "Cómo verificar",
        "https://verifica.inpe.gob.pe/v/",
    ):
        assert expected in text, expected


def test_fonts_are_embedded_subsets(pdf_file: Path) -> None:
    fonts = run("pdffonts", str(pdf_file)).stdout.splitlines()[2:]
    assert len(fonts) == 2
    for line in fonts:
        assert "+DejaVuSans" in line and "CID TrueType" in line
        assert line.split()[-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, ToUnicode


def test_qpdf_finds_no_structural_errors(pdf_file: Path) -> None:
    result = run("qpdf", "--check", str(pdf_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_many_cases_continue_on_further_pages(pipeline: DocumentPipeline, pki: LocalPki, tmp_path: Path) -> None:
    content = make_content(result="REGISTRA ANTECEDENTES JUDICIALES", cases=tuple(case(i) for i in range(30)))
    path = tmp_path / "long.pdf"
    path.write_bytes(pipeline.produce(content))
    pages = int(
        next(line for line in run("pdfinfo", str(path)).stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )
    assert pages >= 2
    text = run("pdftotext", str(path), "-").stdout
    assert "00123-2020-0-1801-JR-PE-29" in text
    assert f"Página {pages} de {pages}" in text
    assert "Signature is Valid." in run("pdfsig", str(path)).stdout
    assert run("qpdf", "--check", str(path)).returncode == 0


def test_long_names_wrap_instead_of_overflowing(pipeline: DocumentPipeline, tmp_path: Path) -> None:
    name = "MARÍA DEL PILAR DE LOS ÁNGELES FERNÁNDEZ-GUTIÉRREZ DE LA TORRE Y ALCÁZAR DE SANTILLANA"
    path = tmp_path / "long-name.pdf"
    path.write_bytes(pipeline.produce(make_content(holder_name=name)))
    words = run("pdftotext", "-bbox", str(path), "-").stdout
    # every word of the page lies inside the page, left of the right margin
    right_edges = [float(part.split('"')[1]) for part in words.split("xMax=")[1:]]
    assert right_edges and max(right_edges) <= 595.28 - 47
    text = run("pdftotext", str(path), "-").stdout
    assert "SANTILLANA" in text and "MARÍA DEL PILAR" in text


def test_attendance_certificate_prints_its_extra_lines(pipeline: DocumentPipeline, tmp_path: Path) -> None:
    content = make_content(
        kind=KIND_ATTENDANCE,
        title="CONSTANCIA DE ANOTACIÓN DE ASISTENCIA",
        number="CAA-2026-0000042",
        result=RESULT_ATTENDANCE,
        extra_lines=(
            ("Expediente", "00123-2020-0-1801-JR-PE-01"),
            ("Próxima fecha de control", "22/12/2026"),
        ),
    )
    path = tmp_path / "attendance.pdf"
    path.write_bytes(pipeline.produce(content))
    text = run("pdftotext", str(path), "-").stdout
    for expected in ("CONSTANCIA DE ANOTACIÓN DE ASISTENCIA", "Próxima fecha de control", "22/12/2026"):
        assert expected in text


def test_verification_url_must_point_to_the_document(pipeline: DocumentPipeline) -> None:
    content = make_content(document_id="abc", verification_url="https://verifica.inpe.gob.pe/v/xyz")
    with pytest.raises(ValueError, match="/v/"):
        pipeline.produce(content)


def test_async_callers_produce_inside_their_event_loop(pipeline: DocumentPipeline, pki: LocalPki) -> None:
    async def handler() -> bytes:
        return await pipeline.async_produce(make_content())

    pdf = asyncio.run(handler())
    assert validate_pdf(pdf, [pki.ca_cert_pem]).signature_valid


def test_sync_signing_inside_a_running_loop_says_to_await(pipeline: DocumentPipeline) -> None:
    async def handler() -> None:
        pipeline.produce(make_content())

    with pytest.raises(RuntimeError, match="async_"):
        asyncio.run(handler())

"""Produced documents checked with independent tools: poppler (pdfsig with NSS), qpdf, zxing-cpp, and pyHanko,
against the local test PKI and its OCSP, CRL and time-stamping services."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from asn1crypto import cms
from conftest import make_nss, start_test_pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from integ_doc_samples import ISSUED, ORIGIN, case, make_content
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from chalicelib.adapters.documents import ensure_local_pki, local_pipeline, render_pdf, validate_pdf
from chalicelib.adapters.documents.pipeline import DocumentPipeline, ProducedDocument
from chalicelib.adapters.documents.pki import CA_COMMON_NAME, LocalPki, revoke_certificate, rotate_keys
from chalicelib.adapters.documents.seal import load_roots, verify_qr_text
from chalicelib.domain.documents import ISSUER_INPE, ISSUER_JUDICIARY, KIND_ATTENDANCE, RESULT_ATTENDANCE
from tests.conftest import free_port

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


def _tampered(pdf: bytes) -> bytes:
    """One byte changed inside the signed range: the language tag in the catalog."""
    at = pdf.index(b"/Lang (es") + len(b"/Lang (e")
    assert at < pdf.index(b"/ByteRange")  # before the signature value: inside the first signed range
    return pdf[:at] + b"t" + pdf[at + 1 :]


def _pdfsig(path: Path, nss_dir: str) -> str:
    return run("pdfsig", "-nssdir", nss_dir, str(path)).stdout


# --- local test PKI ------------------------------------------------------------------------


def test_local_pki_is_created_once_and_loaded_afterwards(tmp_path: Path) -> None:
    first = ensure_local_pki(tmp_path / "pki")
    files = {path: path.read_bytes() for path in (tmp_path / "pki").rglob("*") if path.is_file()}
    second = ensure_local_pki(tmp_path / "pki")
    assert {path: path.read_bytes() for path in (tmp_path / "pki").rglob("*") if path.is_file()} == files
    assert second.qr_kid == first.qr_kid and second.ca_cert_pem == first.ca_cert_pem
    assert second.signer_certificate == first.signer_certificate


def test_leaf_certificates_follow_the_services_address_and_keep_their_keys(tmp_path: Path) -> None:
    first = ensure_local_pki(tmp_path / "pki", "http://127.0.0.1:9101")
    moved = ensure_local_pki(tmp_path / "pki", "http://127.0.0.1:9102")
    aia = moved.signer_certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {str(d.access_location.value) for d in aia} == {"http://127.0.0.1:9102/ocsp",
                                                           "http://127.0.0.1:9102/certs/ca.cer"}
    assert moved.signer_certificate.public_key() == first.signer_key.public_key()
    assert moved.ca_cert_pem == first.ca_cert_pem


def test_private_keys_are_readable_by_the_owner_only(pki: LocalPki) -> None:
    keys = [path for path in pki.directory.rglob("*.key.pem")]
    assert len(keys) >= 7  # root, TSA, OCSP, and a signer and a seal key per issuer
    for path in keys:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
    assert stat.S_IMODE(os.stat(pki.ca_cert_path).st_mode) == 0o644


def test_each_issuer_has_its_own_signer_certified_with_its_validation_addresses(pki: LocalPki) -> None:
    ca = pki.ca_certificate
    assert ca.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == CA_COMMON_NAME
    organisations = set()
    for code in (ISSUER_INPE, ISSUER_JUDICIARY):
        signer = pki.issuer(code).signer_certificate
        signer.verify_directly_issued_by(ca)
        organisations.add(signer.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)[0].value)
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
        points = signer.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert str(points[0].full_name[0].value) == f"{pki.services_url}/crl/ca.crl"
        aia = signer.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert f"{pki.services_url}/ocsp" in {str(d.access_location.value) for d in aia}
    assert organisations == {"Instituto Nacional Penitenciario", "Poder Judicial del Perú"}


def test_jwks_publishes_each_issuers_seal_key_with_its_certificate(pki: LocalPki) -> None:
    published = json.loads(pki.jwks_path.read_text())
    assert published == pki.jwks()
    assert {key["iss"] for key in published["keys"]} == {ISSUER_INPE, ISSUER_JUDICIARY}
    for key in published["keys"]:
        assert "d" not in key and key["alg"] == "ES256" and len(key["x5c"]) == 1  # the root is not in it


# --- signatures: PAdES B-LT and B-LTA ---------------------------------------------------------


def test_pdfsig_reports_a_valid_trusted_pades_signature(pdf_file: Path, nss_dir: str) -> None:
    out = _pdfsig(pdf_file, nss_dir)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    assert "Signature Field Name: FirmaINPE" in out
    assert "ETSI.CAdES.detached" in out  # PAdES


def test_the_certificate_is_long_term_signed_and_validates_with_its_embedded_data_only(
        produced: ProducedDocument, pki: LocalPki) -> None:
    check = validate_pdf(produced.pdf, [pki.ca_cert_pem])
    assert (check.signed, check.signature_valid, check.level) == (True, True, "B-LT")
    assert check.signed_at is not None and check.signer_organisation == "Instituto Nacional Penitenciario"
    assert check.sha256 == hashlib.sha256(produced.pdf).hexdigest()
    reader = PdfFileReader(io.BytesIO(produced.pdf))
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2 and len(dss["/OCSPs"]) >= 2  # signer and TSA chains, and their OCSP answers


def test_the_root_is_not_embedded_in_the_signature(produced: ProducedDocument, pki: LocalPki) -> None:
    signature = PdfFileReader(io.BytesIO(produced.pdf)).embedded_signatures[0]
    certificates = signature.signed_data["certificates"]
    root_der = pki.ca_certificate.public_bytes(serialization.Encoding.DER)
    assert all(c.chosen.dump() != root_der for c in certificates)
    assert isinstance(signature.signed_data, cms.SignedData)


def test_the_daily_report_is_archived_at_b_lta(pipeline: DocumentPipeline, pki: LocalPki, nss_dir: str,
                                               tmp_path: Path) -> None:
    from test_report_layout import report_content

    pdf = pipeline.produce(report_content(rows=2))
    check = validate_pdf(pdf, [pki.ca_cert_pem])
    assert (check.signature_valid, check.level) == (True, "B-LTA")  # pyHanko's AdES LTA validation passed
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = _pdfsig(path, nss_dir)
    assert "Signature Field Name: FirmaPoderJudicial" in out
    assert out.count("Signature Validation: Signature is Valid.") == 1  # pdfsig 22 cannot check document timestamps


def test_after_the_signer_is_revoked_the_embedded_data_still_proves_the_signature(tmp_path: Path) -> None:
    live = start_test_pki(tmp_path / "pki")
    try:
        pdf = local_pipeline(live.pki, live.pki.timestamp_url).produce(make_content())
        revoke_certificate(live.pki.directory, live.pki.signer_certificate)
        check = validate_pdf(pdf, [live.pki.ca_cert_pem])
        assert (check.signature_valid, check.level) == (True, "B-LT")
        path = tmp_path / "signed-before-revocation.pdf"
        path.write_bytes(pdf)
        out = _pdfsig(path, make_nss(tmp_path, live.pki))
        assert "Signature Validation: Signature is Valid." in out
        # pdfsig (NSS) only asks OCSP about today: it reports the revocation, not the state at signing time.
        assert "Certificate has been Revoked." in out, out
        with pytest.raises(Exception, match="could not be validated"):  # a revoked key signs nothing new
            local_pipeline(live.pki, live.pki.timestamp_url).produce(make_content())
    finally:
        live.stop()


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subjects of the certificates pyhanko-certvalidator validates from now on, in order."""
    from pyhanko_certvalidator import CertificateValidator

    validations: list[str] = []
    validate = CertificateValidator.async_validate_usage

    async def counted(self: CertificateValidator, *args: object, **kwargs: object) -> object:
        validations.append(self._certificate.subject.human_friendly)
        return await validate(self, *args, **kwargs)

    monkeypatch.setattr(CertificateValidator, "async_validate_usage", counted)
    return validations


def test_the_signer_is_validated_once_per_validation_context_and_again_once_it_is_rebuilt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signer's own path is validated before its first signature and not before each (PadesPdfSigner); the
    documents signed meanwhile still carry the validation data, and a revocation stops signing at the rebuild."""
    live = start_test_pki(tmp_path / "pki")
    validations = _count_validations(monkeypatch)
    try:
        pipeline = local_pipeline(live.pki, live.pki.timestamp_url)
        documents = [pipeline.produce(make_content()) for _ in range(3)]
        signer_cn = live.pki.signer_certificate.subject.rfc4514_string().split("CN=")[1].split(",")[0]
        assert sum(signer_cn in v for v in validations) == 1  # three signatures, one validation of the signer
        assert sum("Sellado de Tiempo" in v for v in validations) == 1  # and one of the time-stamping authority
        for pdf in documents:
            check = validate_pdf(pdf, [live.pki.ca_cert_pem])
            assert (check.signature_valid, check.level) == (True, "B-LT")  # the DSS still has its OCSP answers
        revoke_certificate(live.pki.directory, live.pki.signer_certificate)
        signer = pipeline.tools(make_content()).signer
        assert signer.revocation is not None
        monkeypatch.setattr(signer.revocation, "_refresh", 0.0)  # the context's few minutes are up
        with pytest.raises(Exception, match="could not be validated"):
            pipeline.produce(make_content())
    finally:
        live.stop()


def test_threads_signing_in_turn_each_validate_the_signer_once(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's lanes sign on their own threads, each with its own validation context: a thread's signer is
    kept for it, not evicted when another thread builds its own."""
    from concurrent.futures import ThreadPoolExecutor

    live = start_test_pki(tmp_path / "pki")
    validations = _count_validations(monkeypatch)
    try:
        pipeline = local_pipeline(live.pki, live.pki.timestamp_url)
        lanes = [ThreadPoolExecutor(1), ThreadPoolExecutor(1)]
        for turn in range(6):  # lane 0, lane 1, lane 0... one document at a time
            pdf = lanes[turn % 2].submit(pipeline.produce, make_content()).result()
            assert validate_pdf(pdf, [live.pki.ca_cert_pem]).signature_valid
        for lane in lanes:
            lane.shutdown()
        assert sum("Firma" in v for v in validations) == 2  # once per thread, not once per document
    finally:
        live.stop()


def test_a_time_stamp_with_another_nonce_or_a_refusal_stops_the_signature(pki: LocalPki,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is handed on as the TSA sent it, after pyHanko's own checks of the answer (status and nonce)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from asn1crypto import tsp
    from pyhanko.sign.timestamps import TimestampRequestError

    from chalicelib.adapters.documents.signing import _ValidatedOnceTimeStamper

    stamper = _ValidatedOnceTimeStamper(pki.timestamp_url)
    digest = hashlib.sha256(b"document").digest()
    token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
    assert token["content_type"].native == "signed_data"
    asked = stamper.request_cms
    monkeypatch.setattr(stamper, "request_cms", lambda *a: (b"\x01" * 8, asked(*a)[1]))  # not the nonce sent
    with pytest.raises(TimestampRequestError, match="bad nonce"):
        asyncio.run(stamper.async_timestamp(digest, "sha256"))

    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["busy"]}).dump()
            body = bytes((0x30, len(status))) + status  # a TimeStampResp with no token
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        refused = _ValidatedOnceTimeStamper(f"http://127.0.0.1:{server.server_address[1]}/tsa")
        # pyHanko's own check stumbles on the missing token (asn1crypto's ValueError): named as the TSA's fault.
        with pytest.raises(TimestampRequestError, match="without a usable token"):
            asyncio.run(refused.async_timestamp(digest, "sha256"))
    finally:
        server.shutdown()
        server.server_close()


def test_a_time_stamping_authority_that_is_down_signs_nothing(pki: LocalPki) -> None:
    """No B-LT document without its time stamp: the error goes up, so the issuing event is retried."""
    from pyhanko.sign.timestamps import TimestampRequestError

    down = local_pipeline(pki, f"http://127.0.0.1:{free_port()}/tsa")
    with pytest.raises(TimestampRequestError, match="communication"):
        down.produce(make_content())


def test_the_time_stamp_attribute_is_the_der_pyhanko_would_write(produced: ProducedDocument) -> None:
    """The unsigned attributes are assembled from the token's bytes (CallbackSigner.unsigned_attrs): the same
    encoding as pyHanko's own asn1crypto values."""
    reader = PdfFileReader(io.BytesIO(produced.pdf))
    signer_info = reader.embedded_signatures[0].signer_info
    written = signer_info["unsigned_attrs"].dump()
    (attribute,) = signer_info["unsigned_attrs"]
    assert attribute["type"].native == "signature_time_stamp_token"
    (token,) = attribute["values"]
    rebuilt = cms.CMSAttributes([cms.CMSAttribute({"type": "signature_time_stamp_token",
                                                   "values": [cms.ContentInfo.load(token.dump())]})])
    assert rebuilt.retag("implicit", 1).dump(force=True) == written


def test_one_changed_byte_breaks_the_signature(produced: ProducedDocument, pki: LocalPki, nss_dir: str,
                                               tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_tampered(produced.pdf))
    assert "Signature Validation: Digest Mismatch." in _pdfsig(tampered, nss_dir)
    check = validate_pdf(tampered.read_bytes(), [pki.ca_cert_pem])
    assert check.signed and not check.signature_valid and check.reason == "digest_mismatch"


def test_another_root_does_not_make_the_signature_trusted(produced: ProducedDocument, tmp_path: Path) -> None:
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


def test_rotated_keys_sign_new_documents_and_old_ones_keep_verifying(tmp_path: Path) -> None:
    live = start_test_pki(tmp_path / "pki")
    try:
        before = local_pipeline(live.pki, live.pki.timestamp_url).produce_with_qr(make_content())
        changed = rotate_keys(live.pki.directory)
        rotated = ensure_local_pki(live.pki.directory)
        assert changed[ISSUER_INPE][0] != changed[ISSUER_INPE][1] == rotated.qr_kid
        after = local_pipeline(rotated, rotated.timestamp_url).produce_with_qr(make_content())
        roots = load_roots(rotated.ca_cert_pem)
        jwks = rotated.jwks()
        for document in (before, after):
            assert validate_pdf(document.pdf, [rotated.ca_cert_pem]).signature_valid
            assert verify_qr_text(document.qr_text, jwks, ISSUED, roots=roots, expected_origin=ORIGIN).valid
        kids = [PdfFileReader(io.BytesIO(d.pdf)).embedded_signatures[0].signer_cert.public_key.dump()
                for d in (before, after)]
        assert kids[0] != kids[1]  # a new signing key too
    finally:
        live.stop()


# --- content, QR and structure ------------------------------------------------------------


def test_qr_scanned_from_the_rendered_page_is_the_sealed_text(produced: ProducedDocument, pdf_file: Path,
                                                              pki: LocalPki, tmp_path: Path) -> None:
    rendered = run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_file), str(tmp_path / "page"))
    assert rendered.returncode == 0, rendered.stderr
    with Image.open(tmp_path / "page.png") as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    assert [code.text for code in found] == [produced.qr_text]
    result = verify_qr_text(found[0].text, pki.jwks(), ISSUED + timedelta(days=1),
                            roots=load_roots(pki.ca_cert_pem), expected_origin=ORIGIN)
    assert result.valid and result.data is not None
    assert result.data.holder_name == "HUAMÁN RODRÍGUEZ, MARÍA DEL PILAR"


def test_names_in_other_scripts_come_back_as_text(pipeline: DocumentPipeline, tmp_path: Path) -> None:
    for index, name in enumerate(NAMES):
        path = tmp_path / f"name-{index}.pdf"
        path.write_bytes(pipeline.produce(make_content(holder_name=name)))
        assert name in run("pdftotext", str(path), "-").stdout


def test_printed_fields_and_the_signature_block_are_in_the_text_layer(pdf_file: Path) -> None:
    text = run("pdftotext", str(pdf_file), "-").stdout
    for expected in ("INSTITUTO NACIONAL PENITENCIARIO", "Dirección de Registro Penitenciario",
                     "CERTIFICADO DE ANTECEDENTES JUDICIALES", "CAJ-2026-0001234", "DNI 12345678",
                     "NO REGISTRA ANTECEDENTES JUDICIALES", "Válido hasta", "(hora de Perú)", "Cómo verificar",
                     "https://verifica.inpe.gob.pe/v/",
                     "Firmado digitalmente por: Instituto Nacional Penitenciario", "Documento N.° CAJ-2026-0001234"):
        assert expected in text, expected


def test_the_signature_field_is_visible_over_the_signature_block(produced: ProducedDocument) -> None:
    reader = PdfFileReader(io.BytesIO(produced.pdf))
    (field,) = reader.root["/AcroForm"]["/Fields"]
    field = field.get_object()
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    assert x2 - x1 > 400 and y2 - y1 > 30  # the printed block, not a zero-size invisible field
    assert int(field["/F"]) & 4  # printed
    assert field["/T"] == "FirmaINPE"


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


def test_many_cases_continue_on_further_pages(pipeline: DocumentPipeline, nss_dir: str, tmp_path: Path) -> None:
    content = make_content(result="REGISTRA ANTECEDENTES JUDICIALES", cases=tuple(case(i) for i in range(30)))
    path = tmp_path / "long.pdf"
    path.write_bytes(pipeline.produce(content))
    info = run("pdfinfo", str(path)).stdout.splitlines()
    pages = int(next(line for line in info if line.startswith("Pages:")).split()[1])
    assert pages >= 2
    text = run("pdftotext", str(path), "-").stdout
    assert "00123-2020-0-1801-JR-PE-29" in text
    assert f"Página {pages} de {pages}" in text
    assert "Signature is Valid." in _pdfsig(path, nss_dir)
    assert run("qpdf", "--check", str(path)).returncode == 0


def test_long_names_wrap_instead_of_overflowing(pipeline: DocumentPipeline, tmp_path: Path) -> None:
    name = "MARÍA DEL PILAR DE LOS ÁNGELES FERNÁNDEZ-GUTIÉRREZ DE LA TORRE Y ALCÁZAR DE SANTILLANA"
    path = tmp_path / "long-name.pdf"
    path.write_bytes(pipeline.produce(make_content(holder_name=name)))
    words = run("pdftotext", "-bbox", str(path), "-").stdout
    right_edges = [float(part.split('"')[1]) for part in words.split("xMax=")[1:]]
    assert right_edges and max(right_edges) <= 595.28 - 47
    text = run("pdftotext", str(path), "-").stdout
    assert "SANTILLANA" in text and "MARÍA DEL PILAR" in text


def test_the_attendance_certificate_is_the_judiciarys(pipeline: DocumentPipeline, pki: LocalPki, nss_dir: str,
                                                      tmp_path: Path) -> None:
    content = make_content(kind=KIND_ATTENDANCE, title="CONSTANCIA DE ANOTACIÓN DE ASISTENCIA",
                           number="CVP-2026-000042", result=RESULT_ATTENDANCE,
                           extra_lines=(("Expediente", "00123-2020-0-1801-JR-PE-01"),
                                        ("Periodo de control", "Periodo 11 de 2026 (control del 22/11/2026)")))
    produced = pipeline.produce_with_qr(content)
    path = tmp_path / "attendance.pdf"
    path.write_bytes(produced.pdf)
    text = run("pdftotext", str(path), "-").stdout
    for expected in ("PODER JUDICIAL DEL PERÚ", "Control Virtual Penal", "CONSTANCIA DE ANOTACIÓN DE ASISTENCIA",
                     "Periodo 11 de 2026 (control del 22/11/2026)",
                     "Firmado digitalmente por: Poder Judicial del Perú"):
        assert expected in text, expected
    assert "INSTITUTO NACIONAL PENITENCIARIO" not in text and "INPE" not in text
    out = _pdfsig(path, nss_dir)
    assert "Signature Field Name: FirmaPoderJudicial" in out and "O=Poder Judicial del Perú" in out
    check = validate_pdf(produced.pdf, [pki.ca_cert_pem])
    assert check.signature_valid and check.signer_organisation == "Poder Judicial del Perú"
    result = verify_qr_text(produced.qr_text, pki.jwks(), ISSUED, roots=load_roots(pki.ca_cert_pem),
                            expected_origin=ORIGIN)
    assert result.valid and result.signer == "Poder Judicial del Perú"


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


@pytest.mark.timeout(300)
def test_documents_signed_at_once_on_several_threads_with_a_fresh_revocation_context_all_finish(
        tmp_path: Path) -> None:
    """Consumer lanes are threads, each signing on its own event loop: right after the revocation context is
    (re)built none of its answers is fetched yet, and several documents at once must each get theirs. A context
    shared between threads hung here (one loop awaiting a fetch another loop started)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from test_report_layout import report_content

    from chalicelib.adapters.documents import local_pipeline

    live = start_test_pki(tmp_path / "pki")
    try:
        fresh = local_pipeline(live.pki, timestamp_url=live.pki.timestamp_url)  # a new, empty context
        start = threading.Barrier(4, timeout=60)

        def sign(n: int) -> bytes:
            start.wait()
            return fresh.produce(report_content(rows=1 + n))

        pool = ThreadPoolExecutor(4)
        try:
            futures = [pool.submit(sign, n) for n in range(4)]
            pdfs = [f.result(timeout=60) for f in futures]  # a hang is a failure, not a stuck suite
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for pdf in pdfs:
            assert validate_pdf(pdf, [live.pki.ca_cert_pem]).signature_valid
    finally:
        live.stop()


def test_after_warm_up_the_first_document_imports_nothing(pki: LocalPki) -> None:
    """A container's start (warm_up) imports what the first document would otherwise import inside a citizen's wait
    (lxml for the XMP metadata, pyHanko's filters, cryptography's OpenSSL backend): in a fresh process, producing the
    first document after it loads no further module."""
    here = Path(__file__).resolve().parent
    script = f"""
import sys
sys.path[:0] = [{str(here.parents[2])!r}, {str(here)!r}]
from pathlib import Path
from chalicelib.adapters.documents import ensure_local_pki, local_pipeline
from integ_doc_samples import make_content
pki = ensure_local_pki(Path({str(pki.directory)!r}), {pki.services_url!r})
pipeline = local_pipeline(pki, timestamp_url=pki.timestamp_url)
content = make_content()
pipeline.warm_up()
before = set(sys.modules)
assert pipeline.produce(content).startswith(b"%PDF")
print(sorted(m for m in set(sys.modules) - before if not m.startswith("encodings.")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"

"""The offline verifier command, run as a separate process as a third party would: the seal, the issuer's status
list (given, fetched, stale or missing), the anchoring of keys in the root, re-pointed URLs and altered PDFs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from integ_doc_samples import ISSUED, ORIGIN, make_content

from chalicelib.adapters.documents.pipeline import DocumentPipeline, ProducedDocument
from chalicelib.adapters.documents.pki import LocalPki, public_jwk
from chalicelib.adapters.documents.status_token import sign_status_list
from chalicelib.domain.documents import (
    ISSUER_INPE,
    ISSUER_JUDICIARY,
    KIND_ATTENDANCE,
    STATUS_REVOKED,
    STATUS_SUPERSEDED,
    StatusRef,
)

ROOT = Path(__file__).resolve().parents[3]
NOW = ISSUED + timedelta(days=1)
ENTRY = StatusRef(1, 4321)


def verify(files: dict[str, Path], *args: str, now: object = NOW) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.adapters.documents.verify_cli", "--jwks", str(files["jwks"]),
         "--ca", str(files["ca"]), "--origin", ORIGIN, "--now", now.isoformat(), *args],  # type: ignore[attr-defined]
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
    )


@pytest.fixture(scope="module")
def produced(pipeline: DocumentPipeline) -> ProducedDocument:
    return pipeline.produce_with_qr(make_content(holder_name="Ñañez Güémez, Rosa", status=ENTRY))


@pytest.fixture(scope="module")
def files(produced: ProducedDocument, pki: LocalPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("cli")
    paths = {"pdf": directory / "document.pdf", "jwks": directory / "jwks.json", "ca": directory / "ca.pem",
             "directory": directory}
    paths["pdf"].write_bytes(produced.pdf)
    paths["jwks"].write_text(json.dumps(pki.jwks()))
    paths["ca"].write_bytes(pki.ca_cert_pem)
    return paths


def status_list(pipeline: DocumentPipeline, directory: Path, entries: dict[int, int], *, issuer: str = ISSUER_INPE,
                at: object = NOW, name: str = "status.jwt") -> Path:
    token = sign_status_list(pipeline.sealer(issuer), ORIGIN)(issuer=issuer, list_id=ENTRY.list_id, entries=entries,
                                                              now=at)
    path = directory / name
    path.write_text(token)
    return path


def test_genuine_pdf_with_a_fresh_status_list_is_valid_with_exit_code_0(
        files: dict[str, Path], pipeline: DocumentPipeline) -> None:
    fresh = status_list(pipeline, files["directory"], {ENTRY.index + 1: STATUS_REVOKED})  # another document's
    result = verify(files, "--pdf", str(files["pdf"]), "--status-list", str(fresh))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("pdf_signature: valid, PAdES B-LT, signed by Instituto Nacional Penitenciario")
    assert lines[1] == "valid"
    assert lines[2].startswith("status_list: given") and "(0 min old)" in lines[2]
    assert "holder_name: Ñañez Güémez, Rosa" in lines and "document_number: ****5678" in lines
    assert "issuer: INPE (Instituto Nacional Penitenciario)" in lines


def test_revoked_with_a_fresh_list_is_invalid(produced: ProducedDocument, files: dict[str, Path],
                                              pipeline: DocumentPipeline) -> None:
    revoked = status_list(pipeline, files["directory"], {ENTRY.index: STATUS_REVOKED}, name="revoked.jwt")
    result = verify(files, "--text", produced.qr_text, "--status-list", str(revoked))
    assert (result.returncode, result.stdout.splitlines()[0]) == (1, "invalid: revoked")


def test_superseded_with_a_fresh_list_is_invalid(produced: ProducedDocument, files: dict[str, Path],
                                                 pipeline: DocumentPipeline) -> None:
    superseded = status_list(pipeline, files["directory"], {ENTRY.index: STATUS_SUPERSEDED}, name="superseded.jwt")
    result = verify(files, "--text", produced.qr_text, "--status-list", str(superseded))
    assert (result.returncode, result.stdout.splitlines()[0]) == (1, "invalid: superseded")


def test_without_a_status_list_revocation_is_not_checked_with_exit_code_3(produced: ProducedDocument,
                                                                           files: dict[str, Path]) -> None:
    result = verify(files, "--text", produced.qr_text)
    assert result.returncode == 3
    assert result.stdout.splitlines()[:2] == ["valid (revocation not checked)",
                                              "status_list: no status list for this document was given"]


def test_a_stale_list_is_not_relied_on(produced: ProducedDocument, files: dict[str, Path],
                                       pipeline: DocumentPipeline) -> None:
    stale = status_list(pipeline, files["directory"], {ENTRY.index: STATUS_REVOKED}, name="stale.jwt")
    result = verify(files, "--text", produced.qr_text, "--status-list", str(stale), now=NOW + timedelta(days=8))
    assert result.returncode == 3
    assert "expired" in result.stdout.splitlines()[1]


def test_a_list_signed_by_another_issuer_is_not_relied_on(produced: ProducedDocument, files: dict[str, Path],
                                                          pipeline: DocumentPipeline) -> None:
    other = status_list(pipeline, files["directory"], {}, issuer=ISSUER_JUDICIARY, name="judiciary.jwt")
    assert verify(files, "--text", produced.qr_text, "--status-list", str(other)).returncode == 3


def test_a_forged_key_not_anchored_in_the_root_is_refused(pipeline: DocumentPipeline, files: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """Someone publishes their own JWKS with a key of their own, self-asserted as INPE's."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from chalicelib.adapters.documents.pki import key_id
    from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer
    from chalicelib.domain.documents import SealedData

    key = ec.generate_private_key(ec.SECP256R1())
    forged = LocalQrSealer(key_id(key.public_key()), local_es256_signer(key)).seal(
        SealedData.from_content(make_content()))
    jwks = tmp_path / "forged-jwks.json"
    jwks.write_text(json.dumps({"keys": [*json.loads(files["jwks"].read_text())["keys"],
                                         public_jwk(key.public_key(), (), "INPE")]}))
    result = verify({**files, "jwks": jwks}, "--text", forged)
    assert (result.returncode, result.stdout.splitlines()[0]) == (1, "invalid: untrusted_key")


def test_a_qr_re_pointed_to_another_host_names_that_host(produced: ProducedDocument, files: dict[str, Path]) -> None:
    moved = produced.qr_text.replace("verifica.inpe.gob.pe", "verifica-inpe.pe.example")
    result = verify(files, "--text", moved)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == ("invalid: foreign_url: this QR points to verifica-inpe.pe.example, "
                                             "not to verifica.inpe.gob.pe; do not open it")


def test_a_pdf_altered_inside_its_signed_bytes_is_invalid(produced: ProducedDocument, files: dict[str, Path]) -> None:
    pdf = produced.pdf
    at = pdf.index(b"/Lang (es") + len(b"/Lang (e")
    altered = files["directory"] / "altered.pdf"
    altered.write_bytes(pdf[:at] + b"t" + pdf[at + 1:])
    result = verify(files, "--pdf", str(altered))
    assert (result.returncode, result.stdout.splitlines()[0]) == (1, "invalid: pdf_signature (digest_mismatch)")


def test_the_judiciarys_attendance_certificate_verifies_with_its_own_list(
        pipeline: DocumentPipeline, files: dict[str, Path]) -> None:
    produced = pipeline.produce_with_qr(make_content(kind=KIND_ATTENDANCE, status=ENTRY))
    fresh = status_list(pipeline, files["directory"], {}, issuer=ISSUER_JUDICIARY, name="pj.jwt")
    result = verify(files, "--text", produced.qr_text, "--status-list", str(fresh))
    assert result.returncode == 0, result.stdout
    assert "issuer: PJ (Poder Judicial del Perú)" in result.stdout.splitlines()


def test_expired_document_is_invalid(produced: ProducedDocument, files: dict[str, Path]) -> None:
    result = verify(files, "--text", produced.qr_text, now=ISSUED + timedelta(days=91))
    assert (result.returncode, result.stdout.splitlines()[0]) == (1, "invalid: expired")


def test_image_without_qr_is_a_usage_error(files: dict[str, Path]) -> None:
    from PIL import Image

    blank = files["directory"] / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    result = verify(files, "--image", str(blank))
    assert result.returncode == 2
    assert "no QR code found" in result.stderr


def test_missing_arguments_are_a_usage_error(files: dict[str, Path]) -> None:
    assert verify(files).returncode == 2
    assert verify({**files, "jwks": files["directory"] / "missing.json"}, "--text", "x").returncode == 2

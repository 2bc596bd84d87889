"""The offline verifier command, run as a separate process as a third party would."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from integ_doc_samples import ISSUED, make_content

from chalicelib.adapters.documents.pipeline import DocumentPipeline, ProducedDocument
from chalicelib.adapters.documents.pki import LocalPki

ROOT = Path(__file__).resolve().parents[3]
NOW = (ISSUED + timedelta(days=1)).isoformat()


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.adapters.documents.verify_cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def produced(pipeline: DocumentPipeline) -> ProducedDocument:
    return pipeline.produce_with_qr(make_content(holder_name="Ñañez Güémez, Rosa"))


@pytest.fixture(scope="module")
def files(produced: ProducedDocument, pki: LocalPki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("cli")
    pdf = directory / "document.pdf"
    pdf.write_bytes(produced.pdf)
    jwks = directory / "jwks.json"
    jwks.write_text(json.dumps(pki.jwks()))
    return {"pdf": pdf, "jwks": jwks, "directory": directory}


def test_genuine_pdf_is_valid_with_exit_code_0(files: dict[str, Path]) -> None:
    result = verify("--jwks", str(files["jwks"]), "--pdf", str(files["pdf"]), "--now", NOW)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "valid"
    assert "holder_name: Ñañez Güémez, Rosa" in lines
    assert "document_number: ****5678" in lines


def test_genuine_text_is_valid(produced: ProducedDocument, files: dict[str, Path]) -> None:
    result = verify("--jwks", str(files["jwks"]), "--text", produced.qr_text, "--now", NOW)
    assert (result.returncode, result.stdout.splitlines()[0]) == (0, "valid")


def test_edited_qr_text_is_invalid_with_exit_code_1(produced: ProducedDocument, files: dict[str, Path]) -> None:
    url, _, token = produced.qr_text.partition("#")
    header, payload, signature = token.split(".")
    edited = f"{url}#{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    result = verify("--jwks", str(files["jwks"]), "--text", edited, "--now", NOW)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] in ("invalid: bad_signature", "invalid: malformed")


def test_expired_document_is_invalid(produced: ProducedDocument, files: dict[str, Path]) -> None:
    later = (ISSUED + timedelta(days=91)).isoformat()
    result = verify("--jwks", str(files["jwks"]), "--text", produced.qr_text, "--now", later)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "invalid: expired"


def test_image_without_qr_is_a_usage_error(files: dict[str, Path]) -> None:
    from PIL import Image

    blank = files["directory"] / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    result = verify("--jwks", str(files["jwks"]), "--image", str(blank))
    assert result.returncode == 2
    assert "no QR code found" in result.stderr


def test_missing_arguments_are_a_usage_error(files: dict[str, Path]) -> None:
    assert verify("--jwks", str(files["jwks"])).returncode == 2
    assert verify("--jwks", str(files["directory"] / "missing.json"), "--text", "x").returncode == 2

"""Offline verifier for document QR codes: checks the signed data against a JWKS file, no network.

    python -m chalicelib.adapters.documents.verify_cli --jwks keys.json \
        (--text "QRTEXT" | --image photo.png | --pdf document.pdf) [--base-url URL] [--now ISO]

Prints ``valid`` or ``invalid: <reason>`` and the decoded fields; exit code 0 when
valid, 1 when invalid, 2 on a usage error (bad arguments, unreadable files, no QR found).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.adapters.documents.seal import verify_qr_text

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the person running the command (reported with exit code 2)."""


def decode_image(path: Path) -> list[str]:
    """Texts of the QR codes found in an image file."""
    # Imported here: zxing-cpp and Pillow are development tools, not shipped to Lambda.
    import zxingcpp
    from PIL import Image

    try:
        with Image.open(path) as image:
            results = zxingcpp.read_barcodes(image.convert("L"))
    except OSError as exc:
        raise UsageError(f"cannot read image {path}: {exc}") from exc
    return [result.text for result in results if result.format == zxingcpp.BarcodeFormat.QRCode]


def decode_pdf(path: Path) -> list[str]:
    """Texts of the QR codes on page 1 of a PDF, rendered at 150 dpi with poppler's pdftoppm."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise UsageError("pdftoppm not found: install poppler-utils")
    with tempfile.TemporaryDirectory() as directory:
        stem = Path(directory) / "page"
        completed = subprocess.run(  # noqa: S603 - fixed program, arguments are not a shell string
            [pdftoppm, "-r", "150", "-png", "-singlefile", "-f", "1", "-l", "1", str(path), str(stem)],
            capture_output=True,
            check=False,
            timeout=60,
        )
        image = stem.with_suffix(".png")
        if completed.returncode != 0 or not image.exists():
            raise UsageError(f"cannot render {path} (pdftoppm exit code {completed.returncode})")
        return decode_image(image)


def _fields(data: Any) -> list[tuple[str, str]]:
    return [
        ("document_id", data.document_id),
        ("kind", data.kind),
        ("holder_name", data.holder_name),
        ("document_number", data.masked_document_number),
        ("result", data.result),
        ("issued_at", data.issued_at.isoformat()),
        ("valid_until", data.valid_until.isoformat()),
        ("verification_url", data.verification_url),
    ]


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--now is not an ISO 8601 date-time: {value}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.adapters.documents.verify_cli",
        description="Verify the signed QR code of an INPE document offline.",
    )
    parser.add_argument("--jwks", required=True, type=Path, help="JSON Web Key Set with the QR public keys")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text of the QR code")
    source.add_argument("--image", type=Path, help="a photo or scan containing the QR code")
    source.add_argument("--pdf", type=Path, help="a document; its first page is rendered and scanned")
    parser.add_argument("--base-url", help="only accept QR codes pointing under this URL")
    parser.add_argument("--now", help="check validity at this ISO 8601 time instead of now")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits with 2 on usage errors, 0 for --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE

    try:
        try:
            jwks = json.loads(args.jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read JWKS {args.jwks}: {exc}") from exc
        if not isinstance(jwks, dict):
            raise UsageError("the JWKS file must hold a JSON object with a 'keys' list")
        now = _parse_now(args.now)
        if args.text is not None:
            texts = [args.text]
        elif args.image is not None:
            texts = decode_image(args.image)
        else:
            texts = decode_pdf(args.pdf)
        if not texts:
            raise UsageError("no QR code found")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    # Several codes in one picture: the first valid one wins, else report the first.
    results = [verify_qr_text(text, jwks, now, expected_url_prefix=args.base_url) for text in texts]
    chosen = next((result for result in results if result.valid), results[0])
    print("valid" if chosen.valid else f"invalid: {chosen.reason}")
    if chosen.data is not None:
        for name, value in _fields(chosen.data):
            print(f"{name}: {value}")
    return EXIT_VALID if chosen.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())

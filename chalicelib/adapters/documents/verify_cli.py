"""Offline verifier for the signed documents: the QR's seal, its issuer's status list and, given a PDF, its
PAdES signature; no network unless asked to fetch the status list.

    python -m chalicelib.adapters.documents.verify_cli --jwks keys.json --ca ca.pem --origin https://SITE \
        (--text "QRTEXT" | --image photo.png | --pdf document.pdf) \
        [--status-list token.jwt ...] [--fetch-status] [--now ISO]

Prints ``valid``, ``valid (revocation not checked)`` or ``invalid: <reason>`` and what was checked. Exit
codes: 0 valid; 1 invalid (forged, re-pointed, altered, revoked, superseded, expired); 2 usage error;
3 the seal (and PDF) are valid but no usable status list said whether the document was revoked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.adapters.documents.seal import REASON_FOREIGN_URL, SealVerification, load_roots, verify_qr_text
from chalicelib.domain.status_list import STATUS_NAMES

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_NOT_CHECKED = 3


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
            capture_output=True, check=False, timeout=60,
        )
        image = stem.with_suffix(".png")
        if completed.returncode != 0 or not image.exists():
            raise UsageError(f"cannot render {path} (pdftoppm exit code {completed.returncode})")
        return decode_image(image)


def _fields(result: SealVerification) -> list[tuple[str, str]]:
    data = result.data
    assert data is not None
    fields = [("issuer", f"{data.issuer} ({result.signer})" if result.signer else data.issuer),
              ("document_id", data.document_id), ("kind", data.kind), ("holder_name", data.holder_name),
              ("document_number", data.masked_document_number), ("result", data.result),
              ("issued_at", data.issued_at.isoformat()), ("valid_until", data.valid_until.isoformat()),
              ("verification_url", data.verification_url)]
    if data.status is not None:
        fields.append(("status_entry", f"list {data.status.list_id}, index {data.status.index}"))
    return fields


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--now is not an ISO 8601 date-time: {value}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from exc


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the service's own https/http URL
            return str(response.read(1_000_000).decode("ascii"))
    except (OSError, UnicodeDecodeError):
        return None


def _status(result: SealVerification, args: argparse.Namespace, jwks: dict[str, Any], roots: list[Any],
            now: datetime) -> tuple[int | None, str]:
    """The document's entry in a usable status list and a sentence saying where the list came from."""
    from chalicelib.adapters.documents.status_token import StatusListError, read_token, status_list_uri

    data = result.data
    assert data is not None
    if data.status is None:
        return None, "this QR names no status list"
    uri = status_list_uri(args.origin, data.issuer, data.status.list_id)
    candidates = [(path.read_text(encoding="utf-8").strip(), f"given ({path})") for path in args.status_list]
    if args.fetch_status:
        fetched = _fetch(uri)
        candidates.append((fetched, f"fetched from {uri}") if fetched else ("", f"could not be fetched from {uri}"))
    problems = []
    for token, origin in candidates:
        try:
            found = read_token(token, jwks=jwks, roots=roots, now=now)
        except StatusListError as exc:
            problems.append(f"{origin}: {exc}")
            continue
        if found.uri != uri:
            continue  # another list (another issuer or number)
        age = int(found.age(now).total_seconds() // 60)
        return found.status(data.status.index), f"{origin}, issued {found.issued_at.isoformat()} ({age} min old)"
    return None, "; ".join(problems) or "no status list for this document was given"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.adapters.documents.verify_cli",
                                     description="Verify a document of INPE or the Poder Judicial offline.")
    parser.add_argument("--jwks", required=True, type=Path, help="JSON Web Key Set with the QR seal keys")
    parser.add_argument("--ca", required=True, type=Path, help="the document root certificate (PEM)")
    parser.add_argument("--origin", required=True, help="the verification service's own address")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text of the QR code")
    source.add_argument("--image", type=Path, help="a photo or scan containing the QR code")
    source.add_argument("--pdf", type=Path, help="a document: its signature is validated, its QR scanned")
    parser.add_argument("--status-list", type=Path, action="append", default=[], help="a status list token file")
    parser.add_argument("--fetch-status", action="store_true", help="fetch the status list from --origin")
    parser.add_argument("--now", help="check validity at this ISO 8601 time instead of now")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits with 2 on usage errors, 0 for --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE

    try:
        jwks = _read_json(args.jwks, "JWKS")
        if not isinstance(jwks, dict):
            raise UsageError("the JWKS file must hold a JSON object with a 'keys' list")
        try:
            roots = load_roots(args.ca.read_bytes())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the root certificate {args.ca}: {exc}") from exc
        if not urlsplit(args.origin).netloc:
            raise UsageError("--origin must be an address such as https://verifica.example.pe")
        now = _parse_now(args.now)
        pdf_check = None
        if args.pdf is not None:
            from chalicelib.adapters.documents.validation import validate_pdf

            try:
                pdf_check = validate_pdf(args.pdf.read_bytes(), [args.ca.read_bytes()], moment=now)
            except OSError as exc:
                raise UsageError(f"cannot read {args.pdf}: {exc}") from exc
        texts = [args.text] if args.text is not None else (
            decode_image(args.image) if args.image is not None else decode_pdf(args.pdf))
        if not texts:
            raise UsageError("no QR code found")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    if pdf_check is not None:
        if not pdf_check.signature_valid:
            print(f"invalid: pdf_signature ({pdf_check.reason or 'not signed by a trusted issuer'})")
            return EXIT_INVALID
        print(f"pdf_signature: valid, PAdES {pdf_check.level}, signed by {pdf_check.signer_organisation}"
              + (f" at {pdf_check.signed_at.isoformat()}" if pdf_check.signed_at else ""))
    # Several codes in one picture: the first valid one wins, else report the first.
    results = [verify_qr_text(text, jwks, now, roots=roots, expected_origin=args.origin) for text in texts]
    chosen = next((result for result in results if result.valid), results[0])
    if chosen.reason == REASON_FOREIGN_URL:
        print(f"invalid: foreign_url: this QR points to {urlsplit(chosen.url or '').netloc}, "
              f"not to {urlsplit(args.origin).netloc}; do not open it")
        return EXIT_INVALID
    if not chosen.valid:
        print(f"invalid: {chosen.reason}")
        if chosen.data is not None:
            for field, value in _fields(chosen):
                print(f"{field}: {value}")
        return EXIT_INVALID
    status, source_note = _status(chosen, args, jwks, roots, now)
    name: str | None = STATUS_NAMES.get(status, "unknown") if status is not None else None
    if name is None:
        print("valid (revocation not checked)")
    elif name == "valid":
        print("valid")
    else:
        print(f"invalid: {name}")
    print(f"status_list: {source_note}")
    for field, value in _fields(chosen):
        print(f"{field}: {value}")
    if name is None:
        return EXIT_NOT_CHECKED
    return EXIT_VALID if name == "valid" else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())

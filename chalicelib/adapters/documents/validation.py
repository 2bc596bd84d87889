"""Checks an uploaded PDF's signature against the published CA, offline, with pyHanko."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PdfCheck:
    """What an uploaded PDF's signature says. ``sha256`` is of the whole file as received.

    ``signature_valid`` means: one signature, cryptographically intact, covering the
    entire file, by a certificate that chains to one of the trusted roots. Whether
    the file is *the* document that was issued is for the caller to decide by
    comparing ``sha256`` with the stored hash.
    """

    signed: bool
    signature_valid: bool
    sha256: str
    signer_cn: str | None = None


def _load_roots(trust_roots_pem: list[bytes]) -> list[asn1_x509.Certificate]:
    roots = []
    for data in trust_roots_pem:
        for _type, _headers, der in pem.unarmor(data, multiple=True):
            roots.append(asn1_x509.Certificate.load(der))
    return roots


def validate_pdf(pdf: bytes, trust_roots_pem: list[bytes], *, moment: datetime | None = None) -> PdfCheck:
    """Validate the signature of ``pdf``; never raises for bad input (unparsable means unsigned).

    Trust comes only from ``trust_roots_pem``; nothing is fetched from the network.
    ``moment`` is the validation time (default: now).
    """
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - any parse failure of an untrusted upload means "not a signed PDF"
        logger.info("uploaded PDF could not be parsed", extra={"sha256": digest})
        return PdfCheck(signed=False, signature_valid=False, sha256=digest)
    if not signatures:
        return PdfCheck(signed=False, signature_valid=False, sha256=digest)
    signer_cn: str | None = None
    try:
        roots = _load_roots(trust_roots_pem)
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment)
        signature = signatures[0]
        status = validate_pdf_signature(signature, context)
        cert = status.signing_cert
        if cert is not None:
            signer_cn = cert.subject.native.get("common_name")
        valid = (
            len(signatures) == 1
            and status.intact
            and status.valid
            and status.trusted
            and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        )
    except Exception:  # noqa: BLE001 - a malformed signature is an invalid one, not a server error
        logger.info("signature of uploaded PDF could not be validated", extra={"sha256": digest})
        valid = False
    return PdfCheck(signed=True, signature_valid=bool(valid), sha256=digest, signer_cn=signer_cn)

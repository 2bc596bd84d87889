"""Checks a PDF's signature offline with pyHanko, against trusted roots and the validation data embedded in it.

A long-term signature (PAdES B-LT) is validated at the time its timestamp proves, with the certificates and
OCSP answers of its document security store and nothing fetched: so a document stays valid after its signer's
certificate expires or is revoked, as long as that happened after signing. B-LTA documents also pass pyHanko's
ETSI EN 319 102-1 long-term-availability validation (``ades_lta_validation``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import ModificationLevel, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

logger = logging.getLogger(__name__)

LEVEL_NONE = "none"


@dataclass(frozen=True, slots=True)
class PdfCheck:
    """What a PDF's signature says. ``sha256`` is of the whole file as received.

    ``signature_valid`` means: one signature, cryptographically intact, covering the whole file except
    validation data and document timestamps added after it, by a certificate that chains to one of the
    trusted roots and was not revoked when the signature's timestamp (or, without one, now) says it was made.
    ``level`` is the PAdES baseline level the file carries (``B-B``, ``B-T``, ``B-LT``, ``B-LTA``).
    Whether the file is *the* document that was issued is for the caller to decide by comparing ``sha256``.
    """

    signed: bool
    signature_valid: bool
    sha256: str
    signer_cn: str | None = None
    level: str = LEVEL_NONE
    signed_at: datetime | None = None
    signer_organisation: str | None = None
    reason: str = ""


def _load_roots(trust_roots_pem: list[bytes]) -> list[asn1_x509.Certificate]:
    roots = []
    for data in trust_roots_pem:
        for _type, _headers, der in pem.unarmor(data, multiple=True):
            roots.append(asn1_x509.Certificate.load(der))
    return roots


def _embedded_data(reader: PdfFileReader, roots: list[asn1_x509.Certificate]) -> dict[str, list[Any]]:
    """Certificates, OCSP answers and CRLs of the document security store (empty lists when there is none)."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        context = dss.as_validation_context({"trust_roots": roots, "allow_fetching": False})
    except Exception:  # noqa: BLE001 - no DSS (B-B, B-T) or a broken one: no embedded validation data
        return {"certs": [], "ocsps": [], "crls": []}
    return {"certs": list(dss.load_certs()), "ocsps": list(context.ocsps), "crls": list(context.crls)}


def _has_timestamp(signature: Any) -> bool:
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    return any(True for _ in extract_tst_data_iter(signature.signer_info, signed=False))


def _level(reader: PdfFileReader, signature: Any, embedded: dict[str, list[Any]]) -> str:
    if signature.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
        return LEVEL_NONE
    if not _has_timestamp(signature):
        return "B-B"
    if not embedded["ocsps"] and not embedded["crls"]:
        return "B-T"
    later = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") == "/DocTimeStamp"]
    return "B-LTA" if later else "B-LT"


def _lta_passed(signature: Any, roots: list[asn1_x509.Certificate]) -> bool:
    """pyHanko's AdES long-term-availability validation, with the embedded data only."""
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
    from pyhanko_certvalidator.registry import SimpleTrustManager

    rule = RevocationCheckingRule.CHECK_IF_DECLARED
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(roots),
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule))),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
    ))
    result = asyncio.run(ades.ades_lta_validation(signature, spec))
    return str(result.ades_subindic) == "AdESPassed.OK"


def validate_pdf(pdf: bytes, trust_roots_pem: list[bytes], *, moment: datetime | None = None) -> PdfCheck:
    """Validate the signature of ``pdf``; never raises for bad input (unparsable means unsigned).

    Trust comes only from ``trust_roots_pem`` and revocation data only from the file; nothing is fetched.
    ``moment`` is the validation time when the signature carries no timestamp (default: now).
    """
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") != "/DocTimeStamp"]
    except Exception:  # noqa: BLE001 - any parse failure of an untrusted upload means "not a signed PDF"
        logger.info("PDF could not be parsed", extra={"sha256": digest})
        return PdfCheck(signed=False, signature_valid=False, sha256=digest, reason="not_a_signed_pdf")
    if not signatures:
        return PdfCheck(signed=False, signature_valid=False, sha256=digest, reason="not_signed")
    signer_cn = organisation = None
    level, signed_at, reason = LEVEL_NONE, None, ""
    try:
        roots = _load_roots(trust_roots_pem)
        signature = signatures[0]
        embedded = _embedded_data(reader, roots)
        level = _level(reader, signature, embedded)
        local: dict[str, Any] = {"trust_roots": roots, "allow_fetching": False, "other_certs": embedded["certs"],
                                 "ocsps": embedded["ocsps"], "crls": embedded["crls"]}
        timestamp_context = ValidationContext(**local, revocation_mode="soft-fail")
        if level != "B-B":
            timestamp = validate_pdf_signature(signature, ValidationContext(**local, revocation_mode="soft-fail"),
                                               ts_validation_context=timestamp_context).timestamp_validity
            if timestamp is not None and timestamp.valid and timestamp.trusted:
                signed_at = timestamp.timestamp
        # Long-term signatures are judged at their proven signing time with the data they carry.
        revocation = "hard-fail" if level in ("B-LT", "B-LTA") else "soft-fail"
        context = ValidationContext(**local, revocation_mode=revocation, moment=signed_at or moment)
        status = validate_pdf_signature(signature, context, ts_validation_context=timestamp_context)
        cert = status.signing_cert
        if cert is not None:
            signer_cn = cert.subject.native.get("common_name")
            organisation = cert.subject.native.get("organization_name")
        covered = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level is not None
            and status.modification_level <= ModificationLevel.LTA_UPDATES)
        valid = bool(len(signatures) == 1 and status.intact and status.valid and status.trusted and covered
                     and status.docmdp_ok is not False)
        if valid and level == "B-LTA" and not _lta_passed(signature, roots):
            valid, reason = False, "archive_timestamp_invalid"
        if not valid and not reason:
            reason = "digest_mismatch" if not status.intact else (
                "untrusted_signer" if not status.trusted else "modified_after_signing")
    except Exception:  # noqa: BLE001 - a malformed signature is an invalid one, not a server error
        logger.info("signature of PDF could not be validated", extra={"sha256": digest}, exc_info=True)
        valid, reason = False, "signature_invalid"
    return PdfCheck(signed=True, signature_valid=valid, sha256=digest, signer_cn=signer_cn, level=level,
                    signed_at=signed_at, signer_organisation=organisation, reason=reason)

"""Issuing signed certificates from approved requests, and verifying them: by id, by QR text, by upload."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain.documents import (
    KIND_CERTIFICATE,
    CaseLine,
    DocumentContent,
    mask_document_number,
)
from ..domain.errors import DomainError, NotFound, PayloadTooLarge
from ..domain.issued import IssuedDocument, Verdict, parse_revocation
from ..domain.ports import AlreadyExists, AuditEntry, Clock, DocumentProducer, DocumentStorage, Store
from ..domain.requests import CertificateRequest, Result, Status

CERTIFICATE_TITLE = "CERTIFICADO DE ANTECEDENTES JUDICIALES"
DOCUMENT_TYPE_NAMES = {"DNI": "DNI", "CE": "Carné de Extranjería", "PTP": "PTP/CPP", "PASSPORT": "Pasaporte"}
_ID = re.compile(r"[A-Za-z0-9_\-]{16,64}")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class IssuePolicy:
    public_base_url: str
    validity: timedelta = timedelta(days=90)

    def verification_url(self, document_id: str) -> str:
        return f"{self.public_base_url}/v/{document_id}"


def _cases(request: CertificateRequest) -> tuple[dict[str, str], ...]:
    if request.result is not Result.HAS_RECORD:
        return ()
    return tuple(case for c in request.confirmed_candidates for case in c.cases)


def issue_certificate(request_id: str, *, store: Store, storage: DocumentStorage, producer: DocumentProducer,
                      clock: Clock, policy: IssuePolicy) -> IssuedDocument | None:
    """Handler of request.approved: one signed PDF per request, however often it runs."""
    request = store.get_request(request_id)
    if request is None or request.status is not Status.APPROVED or not request.document_id:
        return store.get_document(request.document_id) if request and request.document_id else None
    document_id = request.document_id
    existing = store.get_document(document_id)
    if existing is None:
        now = clock.now().replace(microsecond=0)
        applicant = request.applicant
        cases = _cases(request)
        assert request.result is not None
        content = DocumentContent(
            document_id=document_id, kind=KIND_CERTIFICATE, title=CERTIFICATE_TITLE, number=request.number,
            holder_name=applicant.full_name,
            document_type=DOCUMENT_TYPE_NAMES[applicant.document_type.value],
            document_number=applicant.document_number, result=request.result.value,
            cases=tuple(CaseLine(c.get("case_file", ""), c.get("court", ""), c.get("offence", ""),
                                 c.get("date", "")) for c in cases),
            issued_at=now, valid_until=now + policy.validity,
            verification_url=policy.verification_url(document_id), extra_lines=_proof_lines(request, store))
        pdf = producer.produce(content)
        sha256 = hashlib.sha256(pdf).hexdigest()
        # The file name carries the hash: a losing concurrent run leaves a spare file, never a mismatch.
        key = f"certificates/{document_id}-{sha256[:16]}.pdf"
        storage.put(key, pdf)
        document = IssuedDocument(
            document_id=document_id, kind=KIND_CERTIFICATE, title=CERTIFICATE_TITLE, number=request.number,
            owner=request.owner, source_id=request.request_id, holder_name=applicant.full_name,
            document_type=content.document_type,
            masked_document_number=mask_document_number(applicant.document_number),
            result=request.result.value, cases=cases, issued_at=now, valid_until=content.valid_until,
            sha256=sha256, storage_key=key)
    else:
        document = existing  # recorded by an earlier run that stopped before the request moved on
    issued, event = request.transition(Status.ISSUED, clock.now(), "issuer")
    event.data["document_id"] = document_id
    tx = store.transaction()
    if existing is None:
        tx.put_document(document)
    tx.put_request(issued)
    tx.add_event(event)
    try:
        tx.commit()
    except (AlreadyExists, DomainError):
        return store.get_document(document_id)  # another run issued it meanwhile
    return document


def _proof_lines(request: CertificateRequest, store: Store) -> tuple[tuple[str, str], ...]:
    """How the holder's identity was established, printed on the certificate (and what it replaces, if so)."""
    lines: list[tuple[str, str]] = []
    if request.identity_proof == "issue_date":
        registry = "Migraciones" if request.applicant.is_foreigner else "RENIEC"
        kind = DOCUMENT_TYPE_NAMES[request.applicant.document_type.value]
        lines.append(("Identidad verificada", f"Con {registry}: {kind} vigente y su fecha de emisión"))
    if request.replaces and (original := store.get_request(request.replaces)):
        lines.append(("Reemplaza al certificado", f"N.° {original.number}, revocado"))
    return tuple(lines)


def document_pdf(request_id: str, *, owner: str, store: Store, storage: DocumentStorage) -> bytes:
    request = store.get_request(request_id) if len(request_id) <= 64 else None
    if request is None or request.owner != owner:
        raise NotFound("No such certificate request.")
    document = store.get_document(request.document_id) if request.document_id else None
    if request.status is not Status.ISSUED or document is None:
        raise DomainError("The certificate is not issued yet.", code="not_issued")
    if document.revoked_at is not None:
        error = DomainError("This certificate was revoked and is no longer valid.", code="document_revoked",
                            details={"revoked_at": document.revoked_at.isoformat()})
        error.status = 409
        raise error
    pdf = storage.get(document.storage_key)
    if pdf is None:
        raise DomainError("The certificate file is missing; the team has been alerted.", code="document_missing")
    return pdf


def lookup(document_id: str, store: Store) -> IssuedDocument | None:
    """One key lookup; a malformed id is unknown without touching the database."""
    return store.get_document(document_id) if _ID.fullmatch(document_id or "") else None


def verification_view(document: IssuedDocument | None, now: datetime) -> dict[str, Any]:
    if document is None:
        return {"status": Verdict.UNKNOWN.value}
    view: dict[str, Any] = {
        "status": document.verdict(now).value,
        "document": {
            "kind": document.kind, "title": document.title, "number": document.number,
            "holder_name": document.holder_name, "document_type": document.document_type,
            # The result and how many cases; the cases themselves stay on the holder's PDF, not on a public page.
            "document_number": document.masked_document_number, "result": document.result,
            "cases_count": len(document.cases), "issued_at": document.issued_at.isoformat(),
            "valid_until": document.valid_until.isoformat(),
        },
    }
    if document.revoked_at is not None:
        view["revoked_at"] = document.revoked_at.isoformat()
        view["revocation_reason"] = document.revocation_reason.value if document.revocation_reason else None
    return view


def revoke(document_id: str, payload: Any, *, operator: Any, store: Store, clock: Clock) -> IssuedDocument:
    reason, note = parse_revocation(payload)
    document = lookup(document_id, store)
    if document is None:
        raise NotFound("No such document.")
    now = clock.now()
    revoked = document.revoke(now, reason)
    tx = store.transaction()
    tx.put_document(revoked)
    tx.add_audit(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="document.revoke", target=document_id,
                            details={"reason": reason.value, "note": note}))
    from ..domain.requests import Event, new_id

    tx.add_event(Event(new_id(), "document.revoked", document_id, now,
                       {"owner": document.owner, "reason": reason.value}))
    tx.commit()
    return revoked


def check_upload(pdf: bytes, *, store: Store, validate: Any, trust_roots: list[bytes], signer_cn: str,
                 clock: Clock) -> dict[str, Any]:
    """authentic: our signature, intact, and the exact file issued; altered: claims to be ours but is not
    that file; not_ours: no signature of ours at all."""
    if len(pdf) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"The PDF is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if not pdf.startswith(b"%PDF-"):
        raise DomainError("Expected a PDF file.", code="not_a_pdf", field="file")
    check = validate(pdf, trust_roots)
    document = store.document_by_hash(check.sha256) if check.signature_valid else None
    if document is not None:
        return {"verdict": "authentic", **verification_view(document, clock.now())}
    ours = check.signed and (check.signature_valid or check.signer_cn == signer_cn)
    return {"verdict": "altered" if ours else "not_ours", "status": Verdict.UNKNOWN.value,
            "signature_valid": check.signature_valid}


def check_qr_text(text: Any, *, store: Store, jwks: dict[str, Any], verify: Any, clock: Clock
                  ) -> dict[str, Any]:
    """The offline check of the QR's signed data, plus the registry's current word on the document."""
    if not isinstance(text, str) or not 1 <= len(text) <= 4096:
        raise DomainError("Expected the QR's text (at most 4096 characters).", code="invalid_field",
                          field="qr_text")
    now = clock.now()
    sealed = verify(text, jwks, now)
    if not sealed.valid:
        # A QR whose signed data fails is forged or damaged: one answer, and nothing about any genuine document
        # its link may point to (a forger could put a real certificate's link under a doctored paper).
        return {"offline_check": "invalid", "offline_reason": sealed.reason, "status": Verdict.UNKNOWN.value}
    document_id = sealed.data.document_id if sealed.data else text.split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    document = lookup(document_id, store)
    return {"offline_check": "valid", "offline_reason": sealed.reason, **verification_view(document, now)}


ATTENDANCE_TITLE = "CONSTANCIA DE ANOTACIÓN DE ASISTENCIA"


def issue_attendance(checkin_id: str, *, store: Store, control: Any, storage: DocumentStorage,
                     producer: DocumentProducer, clock: Clock, policy: IssuePolicy) -> IssuedDocument | None:
    """Handler of control.registered: the signed attendance certificate, one per registration."""
    from ..domain.documents import KIND_ATTENDANCE, RESULT_ATTENDANCE
    from .time import PERU

    checkin = control.get_checkin(checkin_id)
    if checkin is None or checkin.outcome != "registered" or not checkin.document_id:
        return None
    existing = store.get_document(checkin.document_id)
    if existing is not None:
        return existing
    measure = control.get_measure(checkin.measure_id)
    person = measure.person
    now = clock.now().replace(microsecond=0)
    number = f"CVP-{now.year}-{store.next_number(f'attendance-{now.year}'):06d}"
    registered_at = next((e["at"] for e in reversed(checkin.evidence) if e["step"] == "registered"), now.isoformat())
    extra = (("Expediente", measure.case_file), ("Órgano jurisdiccional", measure.court),
             ("Distrito judicial", measure.district), ("Periodo", checkin.window_key),
             ("Control registrado", datetime.fromisoformat(registered_at).astimezone(PERU).strftime(
                 "%d/%m/%Y %H:%M (hora de Perú)")))
    document_type = DOCUMENT_TYPE_NAMES.get(person.document_type or "", "Sin documento")
    content = DocumentContent(
        document_id=checkin.document_id, kind=KIND_ATTENDANCE, title=ATTENDANCE_TITLE, number=number,
        holder_name=person.full_name, document_type=document_type, document_number=person.document_number or "—",
        result=RESULT_ATTENDANCE, cases=(), issued_at=now, valid_until=now + policy.validity,
        verification_url=policy.verification_url(checkin.document_id), extra_lines=extra)
    pdf = producer.produce(content)
    sha256 = hashlib.sha256(pdf).hexdigest()
    key = f"attendance/{checkin.document_id}-{sha256[:16]}.pdf"
    storage.put(key, pdf)
    document = IssuedDocument(
        document_id=checkin.document_id, kind=KIND_ATTENDANCE, title=ATTENDANCE_TITLE, number=number,
        owner=checkin.owner, source_id=checkin.checkin_id, holder_name=person.full_name,
        document_type=document_type, masked_document_number=mask_document_number(person.document_number or "—"),
        result=RESULT_ATTENDANCE, cases=(), issued_at=now, valid_until=content.valid_until, sha256=sha256,
        storage_key=key)
    from ..domain.requests import Event, new_id

    tx = store.transaction()
    tx.put_document(document)
    tx.add_event(Event(new_id(), "control.attendance_issued", checkin.checkin_id, now,
                       {"owner": checkin.owner, "document_id": checkin.document_id,
                        "language": getattr(control.get_enrolment(checkin.owner), "language", "es")}))
    try:
        tx.commit()
    except AlreadyExists:
        return store.get_document(checkin.document_id)
    return document

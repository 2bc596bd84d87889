"""Issuing signed documents (certificates, attendance certificates, daily reports' content) and verifying them:
by id, by QR text, by upload; revocation and supersession, and the issuers' status lists."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain import status_list
from ..domain.control.calendar import PERU, Window
from ..domain.control.ports import Calendars, Checkins, Enrolments, Measures
from ..domain.documents import (
    ISSUERS,
    KIND_CERTIFICATE,
    STATUS_REVOKED,
    STATUS_SUPERSEDED,
    CaseLine,
    DocumentContent,
    ReportContent,
    ReportRow,
    SignedContent,
    StatusRef,
    issuer_of,
)
from ..domain.errors import DomainError, NotFound, PayloadTooLarge
from ..domain.indicators import ISSUED_FACT, issued_fact_data
from ..domain.issued import IssuedDocument, Verdict, parse_revocation
from ..domain.ports import AlreadyExists, AuditEntry, Clock, DocumentProducer, DocumentStorage, Store
from ..domain.requests import CertificateRequest, Result, Status
from .control.calendar import window_for

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


def allocate_status(store: Store, issuer: str) -> StatusRef:
    """The next entry of the issuer's status list, for a document about to be sealed."""
    return status_list.allocate(store.next_number(f"status-{issuer}"))


def issued_record(content: SignedContent, *, owner: str, source_id: str, sha256: str, storage_key: str,
                  document_type: str | None = None, masked_document_number: str | None = None,
                  cases: tuple[dict[str, str], ...] = ()) -> IssuedDocument:
    """What is kept of a signed document: what verification answers from, and its status-list entry."""
    return IssuedDocument(
        document_id=content.document_id, kind=content.kind, title=content.title, number=content.number,
        owner=owner, source_id=source_id, holder_name=content.holder_name,
        document_type=document_type if document_type is not None else getattr(content, "document_type", ""),
        masked_document_number=(masked_document_number if masked_document_number is not None
                                else content.sealed_reference),
        result=content.result, cases=cases, issued_at=content.issued_at, valid_until=content.valid_until,
        sha256=sha256, storage_key=storage_key, status=content.status)


def supersede(tx: Any, previous: IssuedDocument | None, *, by: str, at: datetime) -> None:
    """In ``tx``: ``previous`` is replaced by the document ``by`` (a new revision); its QR's status-list
    entry says superseded, and verification by id says so too."""
    if previous is None or previous.superseded_by is not None:
        return
    tx.put_document(previous.supersede(by, at))
    if previous.status is not None:
        tx.set_document_status(issuer_of(previous.kind).code, previous.status, STATUS_SUPERSEDED)


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
    return issue_approved(request, store=store, storage=storage, producer=producer, clock=clock, policy=policy)


def issue_approved(request: CertificateRequest, *, store: Store, storage: DocumentStorage,
                   producer: DocumentProducer, clock: Clock, policy: IssuePolicy, written: bool = True
                   ) -> IssuedDocument | None:
    """Sign, store and record the certificate of an approved request; the request becomes issued with its
    request.issued event in the same transaction. ``request`` may be an approval not yet ``written`` (the record
    check's clean case, whose new document id has no document yet): the transaction is conditional on the version
    it was read at, so of two concurrent runs one issues and the other finds the document."""
    assert request.status is Status.APPROVED and request.document_id
    document_id = request.document_id
    existing = store.get_document(document_id) if written else None
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
            verification_url=policy.verification_url(document_id), extra_lines=_proof_lines(request, store),
            status=allocate_status(store, issuer_of(KIND_CERTIFICATE).code))
        pdf = producer.produce(content)
        sha256 = hashlib.sha256(pdf).hexdigest()
        # The file name carries the hash: a losing concurrent run leaves a spare file, never a mismatch.
        key = f"certificates/{document_id}-{sha256[:16]}.pdf"
        storage.put(key, pdf)
        document = issued_record(content, owner=request.owner, source_id=request.request_id, sha256=sha256,
                                 storage_key=key, cases=cases)
    else:
        document = existing  # recorded by an earlier run that stopped before the request moved on
    issued, event = request.transition(Status.ISSUED, clock.now(), "issuer")
    event.data.update({"document_id": document_id, "storage_key": document.storage_key,
                       ISSUED_FACT: issued_fact_data(issued, event.occurred_at)})
    tx = store.transaction()
    if existing is None:
        tx.put_document(document)
    tx.put_request(issued)
    tx.add_event(event)
    try:
        tx.commit()
    except (AlreadyExists, DomainError):
        current = store.get_request(request.request_id)
        if current is not None and current.status is Status.ISSUED and current.document_id:
            return store.get_document(current.document_id)  # another run issued it meanwhile
        raise  # the request changed otherwise (a refund noted on it): the event is retried
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
    issuer = issuer_of(document.kind)
    view: dict[str, Any] = {
        "status": document.verdict(now).value,
        "issuer": {"code": issuer.code, "name": issuer.name},
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
    if document.superseded_by is not None:
        view["superseded_by"] = document.superseded_by
        view["superseded_at"] = document.superseded_at.isoformat() if document.superseded_at else None
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
    if document.status is not None:  # offline verifiers learn it from the issuer's status list
        tx.set_document_status(issuer_of(document.kind).code, document.status, STATUS_REVOKED)
    tx.commit()
    return revoked


def check_upload(pdf: bytes, *, store: Store, validate: Any, trust_roots: list[bytes], signer_cn: str | set[str],
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
    names = {signer_cn} if isinstance(signer_cn, str) else signer_cn
    ours = check.signed and (check.signature_valid or check.signer_cn in names)
    return {"verdict": "altered" if ours else "not_ours", "status": Verdict.UNKNOWN.value,
            "signature_valid": check.signature_valid}


def check_qr_text(text: Any, *, store: Store, jwks: dict[str, Any], verify: Any, clock: Clock,
                  roots: Any = (), origin: str | None = None) -> dict[str, Any]:
    """The offline check of the QR's signed data, plus the registry's current word on the document.

    A QR whose URL is not under ``origin`` (the service's own) is refused whatever it carries, with the site it
    points to, and no document is looked up for it."""
    if not isinstance(text, str) or not 1 <= len(text) <= 4096:
        raise DomainError("Expected the QR's text (at most 4096 characters).", code="invalid_field",
                          field="qr_text")
    now = clock.now()
    sealed = verify(text, jwks, now, roots=roots, expected_origin=origin)
    if sealed.reason == "foreign_url":
        from urllib.parse import urlsplit

        return {"offline_check": "invalid", "offline_reason": sealed.reason,
                "points_to": urlsplit(sealed.url or "").netloc, "status": Verdict.UNKNOWN.value}
    if not sealed.valid:
        # A QR whose signed data fails is forged or damaged: one answer, and nothing about any genuine document
        # its link may point to (a forger could put a real certificate's link under a doctored paper).
        return {"offline_check": "invalid", "offline_reason": sealed.reason, "status": Verdict.UNKNOWN.value}
    document_id = sealed.data.document_id if sealed.data else text.split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    document = lookup(document_id, store)
    return {"offline_check": "valid", "offline_reason": sealed.reason, **verification_view(document, now)}


def status_list_token(issuer: str, list_id: str, *, store: Store, sign_list: Any, clock: Clock) -> str:
    """The issuer's status list ``list_id``, signed now by ``sign_list(issuer=, list_id=, entries=, now=)``
    (the issuer's QR seal key); the entries that are not valid are read with one key lookup."""
    if issuer not in ISSUERS or not list_id.isdigit() or not 1 <= int(list_id) <= 100_000:
        raise NotFound("No such status list.")
    number = int(list_id)
    token: str = sign_list(issuer=issuer, list_id=number, entries=store.status_entries(issuer, number),
                           now=clock.now().replace(microsecond=0))
    return token


ATTENDANCE_TITLE = "CONSTANCIA DE ANOTACIÓN DE ASISTENCIA"


def _peru_time(moment: datetime) -> str:
    from .time import PERU

    return f"{moment.astimezone(PERU):%d/%m/%Y %H:%M} (hora de Perú)"


def _period_text(window: Window | None, window_key: str, registered_at: datetime) -> str:
    """The control period as a person reads it: its dates in the calendar, and the day of the check-in."""
    from .time import PERU

    day = f"{registered_at.astimezone(PERU):%d/%m/%Y}"
    if window is not None and window.key == window_key:
        return f"del {window.start:%d/%m/%Y} al {window.end:%d/%m/%Y} (control del {day})"
    return f"Control del {day}"


def issue_attendance(checkin_id: str, *, store: Store, checkins: Checkins, measures: Measures,
                     enrolments: Enrolments, calendars: Calendars, storage: DocumentStorage,
                     producer: DocumentProducer, clock: Clock, policy: IssuePolicy) -> IssuedDocument | None:
    """Handler of control.registered: the judiciary's signed attendance certificate, one per registration."""
    from ..domain.documents import KIND_ATTENDANCE, RESULT_ATTENDANCE

    checkin = checkins.get_checkin(checkin_id)
    if checkin is None or checkin.outcome != "registered" or not checkin.document_id:
        return None
    existing = store.get_document(checkin.document_id)
    if existing is not None:
        return existing
    measure = measures.get_measure(checkin.measure_id)
    if measure is None:
        return None
    person = measure.person
    now = clock.now().replace(microsecond=0)
    number = f"CVP-{now.year}-{store.next_number(f'attendance-{now.year}'):06d}"
    registered_at = datetime.fromisoformat(
        next((e["at"] for e in reversed(checkin.evidence) if e["step"] == "registered"), now.isoformat()))
    window = window_for(calendars, measure, registered_at.astimezone(PERU).date())
    extra = (("Expediente", measure.case_file), ("Órgano jurisdiccional", measure.court),
             ("Distrito judicial", measure.district),
             ("Periodo de control", _period_text(window, checkin.window_key, registered_at)),
             ("Asistencia registrada", _peru_time(registered_at)))
    document_type = DOCUMENT_TYPE_NAMES.get(person.document_type or "", "Sin documento")
    content = DocumentContent(
        document_id=checkin.document_id, kind=KIND_ATTENDANCE, title=ATTENDANCE_TITLE, number=number,
        holder_name=person.full_name, document_type=document_type, document_number=person.document_number or "—",
        result=RESULT_ATTENDANCE, cases=(), issued_at=now, valid_until=now + policy.validity,
        verification_url=policy.verification_url(checkin.document_id), extra_lines=extra,
        status=allocate_status(store, issuer_of(KIND_ATTENDANCE).code))
    pdf = producer.produce(content)
    sha256 = hashlib.sha256(pdf).hexdigest()
    key = f"attendance/{checkin.document_id}-{sha256[:16]}.pdf"
    storage.put(key, pdf)
    document = issued_record(content, owner=checkin.owner, source_id=checkin.checkin_id, sha256=sha256,
                             storage_key=key)
    from ..domain.requests import Event, new_id

    tx = store.transaction()
    tx.put_document(document)
    tx.add_event(Event(new_id(), "control.attendance_issued", checkin.checkin_id, now,
                       {"owner": checkin.owner, "document_id": checkin.document_id,
                        "language": getattr(enrolments.get_enrolment(checkin.owner), "language", "es")}))
    try:
        tx.commit()
    except AlreadyExists:
        return store.get_document(checkin.document_id)
    return document


INCIDENT_TYPE_NAMES = {
    "impersonation": "Identidad no validada (posible suplantación)",
    "out_of_area": "Fuera del área permitida",
    "warrant": "Posible orden de captura",
    "missed_checkin": "Control no realizado",
    "not_enrolled": "No empadronado en el plazo",
    "contingency": "Contingencia del sistema",
}
INCIDENT_STATUS_NAMES = {"open": "Abierta", "notified": "Comunicada", "closed": "Cerrada"}
REPORT_AUTHOR = "Sistema de Control Virtual Penal (reporte diario automático)"


def daily_report_content(*, document_id: str, title: str, number: str, district: str, day: Any, revision: int,
                         incidents: Any, result: str, issued_at: datetime, valid_until: datetime,
                         verification_url: str, store: Store, previous_number: str | None = None,
                         prepared_by: str = REPORT_AUTHOR) -> ReportContent:
    """The annex 4 report of a district's day: one row per incident (read through its attributes: ``created_at``,
    ``full_name``, ``identity_document``, ``case_file``, ``court``, ``type``, ``detail``, ``observations``,
    ``status``), in the order they happened, with its status-list entry."""
    rows = tuple(
        ReportRow(occurred_at=i.created_at, full_name=i.full_name, identity_document=i.identity_document,
                  case_file=i.case_file, court=i.court,
                  incident_type=INCIDENT_TYPE_NAMES.get(str(getattr(i.type, "value", i.type)), str(i.type)),
                  detail=i.detail, observations=i.observations or "—",
                  status=INCIDENT_STATUS_NAMES.get(str(i.status), str(i.status)))
        for i in sorted(incidents, key=lambda incident: incident.created_at))
    from ..domain.documents import KIND_REPORT

    return ReportContent(
        document_id=document_id, title=title, number=number, district=district, day=day, revision=revision,
        prepared_by=prepared_by, rows=rows, result=result, issued_at=issued_at, valid_until=valid_until,
        verification_url=verification_url, supersedes=previous_number,
        status=allocate_status(store, issuer_of(KIND_REPORT).code))

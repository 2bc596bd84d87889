"""The daily incident report (annex 4): a signed PDF and a CSV of a district's incidents of a day, stored,
recorded (with revisions when new incidents come), e-mailed to the CVP head, and downloadable."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ...domain.control.incidents import REPORT_TITLE, DailyReport, incidents_fingerprint, report_csv, report_result
from ...domain.control.people import parse_district
from ...domain.control.ports import Incidents, Markers, Officers, Reports, UnitOfWork
from ...domain.errors import ConcurrentUpdate, DomainError, NotFound, ValidationError
from ...domain.fanout import DAILY_REPORT_UNIT, DAILY_REPORTS, daily_reports_job_id
from ...domain.jobs import Job, Jobs
from ...domain.operators import Operator
from ...domain.outbound import EmailSender
from ...domain.ports import AlreadyExists, AuditLog, Clock, DocumentProducer, DocumentStorage, Store
from ...domain.requests import new_id
from .. import fanout
from ..documents import daily_report_content, issued_record, supersede
from .common import audit_entry, event, peru_today
from .incidents import parse_day

log = logging.getLogger(__name__)

REPORT_VALIDITY = timedelta(days=3650)  # a report is a record, not a permit: it stays verifiable for years


def _report_base(district: str, day: date, revision: int, document_id: str) -> str:
    return f"reports/{district.replace(' ', '_')}/{day.isoformat()}/r{revision}-{document_id[:16]}"


def daily_report(district: str, day: date, *, incidents: Incidents, reports: Reports, documents: Store,
                 producer: DocumentProducer, storage: DocumentStorage, uow: UnitOfWork, clock: Clock,
                 public_base_url: str) -> DailyReport:
    """Running it again with the same incidents returns the same report; new incidents make a new revision, and
    the earlier one then verifies as superseded."""
    found = incidents.incidents_of_day(district, day)
    fingerprint = incidents_fingerprint(found)
    existing = reports.get_report(district, day)
    if existing is not None and existing.fingerprint == fingerprint:
        return existing
    revision = existing.revision + 1 if existing else 1
    document_id = new_id()
    now = clock.now().replace(microsecond=0)
    number = f"RID-{district.replace(' ', '')}-{day:%Y%m%d}" + (f"-R{revision}" if revision > 1 else "")
    previous = documents.get_document(existing.document_id) if existing else None
    content = daily_report_content(
        document_id=document_id, title=REPORT_TITLE, number=number, district=district, day=day, revision=revision,
        incidents=found, result=report_result(len(found)), issued_at=now, valid_until=now + REPORT_VALIDITY,
        verification_url=f"{public_base_url}/v/{document_id}", store=documents,
        previous_number=previous.number if previous else None)
    pdf = producer.produce(content)
    base = _report_base(district, day, revision, document_id)
    storage.put(f"{base}.pdf", pdf, "application/pdf")
    storage.put(f"{base}.csv", report_csv(found), "text/csv")
    document = issued_record(content, owner=f"cvp:{district}", source_id=f"{district}#{day.isoformat()}",
                             sha256=hashlib.sha256(pdf).hexdigest(), storage_key=f"{base}.pdf",
                             document_type="Reporte diario")
    report = DailyReport(
        district=district, day=day, revision=revision, document_id=document_id, pdf_key=f"{base}.pdf",
        csv_key=f"{base}.csv", fingerprint=fingerprint, incident_count=len(found), created_at=now,
        previous=(*existing.previous, existing.document_id) if existing else (),
        version=existing.version if existing else 0)
    tx = uow.begin()
    tx.put_document(document)
    supersede(tx, previous, by=document_id, at=now)  # the earlier revision now verifies as superseded
    tx.put_report(report)
    tx.add_event(event("control.report_issued", document_id, now, district=district, day=day.isoformat(),
                       pdf_key=report.pdf_key, csv_key=report.csv_key, number=number, count=len(found)))
    try:
        tx.commit()
    except (AlreadyExists, ConcurrentUpdate):
        # Another run recorded this day meanwhile: its report stands (our files are spare, never referenced).
        winner = reports.get_report(district, day)
        if winner is None:
            raise
        return winner
    return replace(report, version=report.version + 1)


def plan_daily_reports(*, officers: Officers, jobs: Jobs, uow: UnitOfWork, clock: Clock) -> Job | None:
    """The daily plan: yesterday's report (Peru's calendar) for every district with virtual control, one unit per
    district (:func:`daily_report_unit`), so that one failing district holds up no other. One job per day."""
    day = peru_today(clock.now()) - timedelta(days=1)
    units = [{"district": district, "day": day.isoformat()} for district in sorted(officers.districts())]
    return fanout.plan(daily_reports_job_id(day), DAILY_REPORTS, day.isoformat(), units, DAILY_REPORT_UNIT,
                       jobs=jobs, uow=uow, clock=clock)


def daily_report_unit(data: dict[str, Any], *, incidents: Incidents, reports: Reports, documents: Store,
                      producer: DocumentProducer, storage: DocumentStorage, uow: UnitOfWork, jobs: Jobs, clock: Clock,
                      public_base_url: str) -> DailyReport | None:
    """One district's report of the day planned (idempotent: the same incidents give the same report). A unit that
    fails is listed on its job by its district's code."""
    district = str(data.get("district") or "")

    def report() -> DailyReport | None:
        if not district:
            return None  # an index a resumed plan no longer had work for
        return daily_report(district, date.fromisoformat(str(data["day"])), incidents=incidents, reports=reports,
                            documents=documents, producer=producer, storage=storage, uow=uow, clock=clock,
                            public_base_url=public_base_url)

    return fanout.run_unit(data, report, jobs=jobs, clock=clock, label=district)


def email_report(document_id: str, data: dict[str, Any], *, storage: DocumentStorage, email: EmailSender,
                 markers: Markers, to: str) -> bool:
    """Handler of control.report_issued: the CVP head gets the PDF and the CSV, once per revision."""
    key = f"report-mail#{document_id}"
    if not markers.claim(key):
        return False
    try:
        pdf, table = storage.get(str(data["pdf_key"])), storage.get(str(data["csv_key"]))
        if pdf is None or table is None:
            # The files are stored before the report is recorded, so they cannot appear later: retrying
            # would only hold up the other events of the batch. The report stays downloadable by endpoint.
            log.warning("daily report files missing; not e-mailed", extra={"document_id": document_id})
            markers.release(key)
            return False
        day = date.fromisoformat(str(data["day"]))
        name = f"reporte-incidencias-{str(data['district']).replace(' ', '_').lower()}-{day.isoformat()}"
        subject = f"[CVP {data['district']}] Reporte de incidencias del día {day:%d/%m/%Y} ({data['count']})"
        body = (f"Reporte de incidencias del día {day:%d/%m/%Y}, Distrito Judicial de {data['district']} "
                f"(N.° {data['number']}): {data['count']} incidencia(s). Se adjuntan el PDF firmado digitalmente "
                "(verificable por su código QR) y el CSV con las columnas del anexo 4.\n\n"
                f"Daily incident report of {day.isoformat()}, judicial district {data['district']}: "
                f"{data['count']} incident(s). Attached: the digitally signed PDF (verifiable by its QR code) "
                "and the CSV with annex 4's columns.")
        email.send(to, subject, body, [(f"{name}.pdf", pdf, "application/pdf"), (f"{name}.csv", table, "text/csv")])
    except Exception:
        markers.release(key)
        raise
    return True


def report_view(report: DailyReport, public_base_url: str) -> dict[str, Any]:
    path = f"/v1/cvp/reports/{report.district}/{report.day.isoformat()}"
    return {"district": report.district, "day": report.day.isoformat(), "revision": report.revision,
            "document_id": report.document_id, "incident_count": report.incident_count,
            "created_at": report.created_at.isoformat(), "previous": list(report.previous),
            "verification_url": f"{public_base_url}/v/{report.document_id}",
            "pdf": f"{path}/pdf", "csv": f"{path}/csv"}


def generate_report(district: str, day: str, *, operator: Operator, incidents: Incidents, reports: Reports,
                    documents: Store, producer: DocumentProducer, storage: DocumentStorage, uow: UnitOfWork,
                    audit: AuditLog, clock: Clock, public_base_url: str) -> dict[str, Any]:
    """The endpoint that closes a day on demand: the same function the daily schedule runs."""
    district, when = parse_district(district), parse_day(day)
    operator.require_district(district)
    if when > peru_today(clock.now()):
        raise ValidationError("A report can only cover a day that has begun.", field="day")
    report = daily_report(district, when, incidents=incidents, reports=reports, documents=documents,
                          producer=producer, storage=storage, uow=uow, clock=clock, public_base_url=public_base_url)
    audit.append(audit_entry(operator, clock.now(), "report.generate", f"{district}#{when.isoformat()}",
                             revision=report.revision))
    return report_view(report, public_base_url)


def get_report(district: str, day: str, *, operator: Operator, reports: Reports) -> DailyReport:
    district, when = parse_district(district), parse_day(day)
    operator.require_district(district)
    report = reports.get_report(district, when)
    if report is None:
        raise NotFound("No report for that district and day yet.")
    return report


def report_file(district: str, day: str, kind: str, *, operator: Operator, reports: Reports,
                storage: DocumentStorage, audit: AuditLog, clock: Clock) -> bytes:
    report = get_report(district, day, operator=operator, reports=reports)
    data = storage.get(report.pdf_key if kind == "pdf" else report.csv_key)
    if data is None:
        raise DomainError("The report's file is missing; the team has been alerted.", code="document_missing")
    audit.append(audit_entry(operator, clock.now(), "report.download", f"{report.district}#{report.day.isoformat()}",
                             kind=kind, revision=report.revision))
    return data


def report_revisions(report: DailyReport, *, documents: Store) -> list[dict[str, Any]]:
    """Every revision of a day's report, newest first, with its document (earlier ones verify as superseded)."""
    ids = [report.document_id, *reversed(report.previous)]
    result = []
    for offset, document_id in enumerate(ids):
        document = documents.get_document(document_id)
        result.append({"revision": report.revision - offset, "document_id": document_id,
                       "number": document.number if document else None,
                       "issued_at": document.issued_at.isoformat() if document else None,
                       "current": offset == 0})
    return result


def report_file_key(district: str, day: str, document_id: str, kind: str, *, operator: Operator, reports: Reports,
                    documents: Store, audit: AuditLog, clock: Clock) -> tuple[str, str]:
    """Where one revision's PDF or CSV is stored (for a short-lived link), and its file name; audited."""
    if kind not in ("pdf", "csv"):
        raise NotFound("No such file.")
    report = get_report(district, day, operator=operator, reports=reports)
    if document_id == report.document_id:
        pdf_key, revision = report.pdf_key, report.revision
    elif document_id in report.previous:
        document = documents.get_document(document_id)
        if document is None:
            raise NotFound("No such revision.")
        pdf_key, revision = document.storage_key, report.previous.index(document_id) + 1
    else:
        raise NotFound("No such revision.")
    key = pdf_key if kind == "pdf" else pdf_key.removesuffix(".pdf") + ".csv"
    audit.append(audit_entry(operator, clock.now(), "report.download", f"{report.district}#{report.day.isoformat()}",
                             kind=kind, revision=revision))
    name = f"reporte-incidencias-{report.district.replace(' ', '_').lower()}-{report.day.isoformat()}-r{revision}"
    return key, f"{name}.{kind}"

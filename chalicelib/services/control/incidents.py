"""Incidents (annex 4): recording one with its event, forwarding it to the police or the court, the CVP head
closing it, and the daily jobs that make sure nobody falls through (missed windows, people never enrolled)."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ...domain.control.calendar import window_due, windows_ended
from ...domain.control.checkins import WindowState
from ...domain.control.incidents import Incident, IncidentType, missed_observations, new_incident, stable_incident_id
from ...domain.control.officers import CaseReason
from ...domain.control.people import parse_district
from ...domain.control.ports import (
    Calendars,
    Checkins,
    ControlWrites,
    Enrolments,
    Incidents,
    Markers,
    Measures,
    Officers,
    UnitOfWork,
)
from ...domain.errors import DomainError, NotFound, ValidationError
from ...domain.operators import Operator
from ...domain.outbound import EmailSender
from ...domain.pages import After
from ...domain.ports import AlreadyExists, AuditLog, Clock
from .common import audit_entry, event, peru_time, peru_today, retrying
from .officers import open_case

log = logging.getLogger(__name__)


def record(tx: ControlWrites, incident: Incident, *, new: bool = False) -> None:
    """The incident and the event that forwards it, in the caller's transaction. ``new``: refused
    (AlreadyExists) if an incident of the same id was recorded before."""
    if new:
        tx.add_incident(incident)
    else:
        tx.put_incident(incident)
    tx.add_event(event("control.incident", incident.incident_id, incident.created_at, type=incident.type.value,
                       district=incident.district, checkin=incident.checkin_id is not None,
                       day=incident.day.isoformat()))


# --- forwarding ------------------------------------------------------------------------------------

RECIPIENT_LABELS = {
    "police": ("Para: efectivo policial designado (Policía Nacional del Perú)", "To: the designated police contact"),
    "court": ("Para: Mesa de Partes Electrónica del órgano jurisdiccional", "To: the court's electronic registry"),
    "cvp_head": ("Copia: Encargado del Control Virtual Penal", "Copy: head of virtual penal control"),
}


def incident_email(incident: Incident, role: str) -> tuple[str, str]:
    es, en = RECIPIENT_LABELS.get(role, ("", ""))
    subject = f"[CVP {incident.district}] {incident.detail} — Exp. {incident.case_file}"
    body = "\n".join([
        es, "",
        "REPORTE DE INCIDENCIA (anexo 4 — Control Virtual Penal de Procesados y Sentenciados Libres)",
        f"Fecha de la incidencia: {incident.day:%d/%m/%Y}",
        f"Nombre completo del usuario externo: {incident.full_name}",
        f"Documento de identidad: {incident.identity_document}",
        f"N.° de expediente y órgano jurisdiccional: {incident.case_file} — {incident.court}",
        f"Detalle de la incidencia: {incident.detail}",
        f"Observaciones: {incident.observations}",
        f"Registrada: {peru_time(incident.created_at)}",
        f"Identificador: {incident.incident_id}",
        "", "Información confidencial: no la comparta con terceros (procedimiento, 5.4 h).",
        "", "— English —", en,
        "Incident report (annex 4 of the judiciary's virtual penal control procedure).",
        f"Date: {incident.day:%d/%m/%Y} · Person: {incident.full_name} · Identity document: "
        f"{incident.identity_document} · Case file and court: {incident.case_file} — {incident.court} · "
        f"Incident type: {incident.type.value} · Reference: {incident.incident_id}.",
        "Confidential: do not share with third parties.",
    ])
    return subject, body


def forward_incident(incident_id: str, *, incidents: Incidents, recipients: dict[str, str], email: EmailSender,
                     markers: Markers, uow: UnitOfWork, clock: Clock) -> list[dict[str, str]]:
    """Handler of control.incident: warrants to the police contact, the others to the court's Mesa de Partes
    Electrónica, the CVP head in copy; each recipient once. Contingency incidents are covered by the outage
    alert and the daily report."""
    incident = incidents.get_incident(incident_id)
    if incident is None or incident.status != "open" or incident.type is IncidentType.CONTINGENCY:
        return []
    now = clock.now()
    sent: list[dict[str, str]] = []
    for role in incident.addressed_to:
        address = recipients.get(role)
        key = f"incident-mail-{role}#{incident.incident_id}"
        if not address or not markers.claim(key):
            continue
        subject, body = incident_email(incident, role)
        try:
            message_id = email.send(address, subject, body, [])
        except Exception:
            markers.release(key)
            raise
        sent.append({"role": role, "to": address, "at": now.isoformat(), "message_id": str(message_id)})

    def mark() -> None:
        current = incidents.get_incident(incident_id)
        if current is None or current.status != "open":
            return
        tx = uow.begin()
        tx.put_incident(replace(current, status="notified", notified=(*current.notified, *sent)))
        tx.commit()

    retrying(mark)
    return sent


# --- the CVP head's view -----------------------------------------------------------------------------

def incident_view(incident: Incident, closure: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"incident_id": incident.incident_id, "type": incident.type.value, "district": incident.district,
            "day": incident.day.isoformat(), "created_at": incident.created_at.isoformat(),
            "measure_id": incident.measure_id, "full_name": incident.full_name,
            "identity_document": incident.identity_document, "case_file": incident.case_file,
            "court": incident.court, "detail": incident.detail, "observations": incident.observations,
            "addressed_to": list(incident.addressed_to), "status": incident.status,
            "notified": [{k: v for k, v in n.items() if k != "message_id"} for n in incident.notified],
            "closed": closure}


def parse_day(value: str) -> date:
    try:
        if len(value or "") == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationError("Expected a day as YYYY-MM-DD.", field="day")


def incidents_of_day(district: str, day: str, *, operator: Operator, incidents: Incidents, markers: Markers,
                     audit: AuditLog, clock: Clock, limit: int = 100, after: After = None
                     ) -> tuple[list[dict[str, Any]], After]:
    """A page of the district's incidents of one day, in time order; and where the next one starts."""
    district, when = parse_district(district), parse_day(day)
    operator.require_district(district)
    found, last = incidents.day_page(district, when, limit, after)
    audit.append(audit_entry(operator, clock.now(), "cvp.incidents_read", f"{district}#{when.isoformat()}"))
    return [incident_view(i, markers.marker(f"incident-closed#{i.incident_id}") if i.status == "closed" else None)
            for i in found], last


def close_incident(incident_id: str, payload: Any, *, operator: Operator, incidents: Incidents, markers: Markers,
                   uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    note = payload.get("note", "") if isinstance(payload, dict) else None
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected {\"note\": \"...\"} of at most 500 characters.", field="note")
    now = clock.now()

    def write() -> Incident:
        incident = incidents.get_incident(incident_id)
        if incident is None or not operator.covers_district(incident.district):
            raise NotFound("No such incident.")
        if incident.status == "closed":
            raise DomainError("This incident is already closed.", code="already_closed")
        closed = replace(incident, status="closed")
        tx = uow.begin()
        tx.put_incident(closed)
        tx.claim(f"incident-closed#{incident_id}", {"by": operator.subject, "at": now.isoformat(),
                                                    "note": note.strip()}, ttl=timedelta(days=3650))
        tx.add_audit(audit_entry(operator, now, "incident.close", incident_id))
        tx.commit()
        return closed

    closed = retrying(write)
    return incident_view(closed, markers.marker(f"incident-closed#{incident_id}"))


# --- nobody falls through: the daily jobs ---------------------------------------------------------------

def record_missed_checkins(*, measures: Measures, enrolments: Enrolments, checkins: Checkins,
                           calendars: Calendars, officers: Officers, uow: UnitOfWork, clock: Clock) -> int:
    """A missed_checkin incident per measure and window that ended without registration, computed from the
    measures (not from enrolments: a person who never enrolled owes windows too). The incident's id derives
    from the chain and the window, so running twice records one incident. The person is told."""
    now = clock.now()
    today = peru_today(now)
    created = 0
    for district in officers.districts():
        years = sorted({today.year, (today - timedelta(days=31)).year})
        ended = windows_ended([calendars.get_calendar(year, district) for year in years], today)
        if not ended:
            continue
        for measure in measures.active_measures_of_district(district):
            enrolled = [e for e in enrolments.enrolments_of_chain(measure.chain_id) if e.linked]
            enrolled_on = min((peru_today(e.enrolled_at) for e in enrolled), default=None)
            for window in ended:
                if not window_due(window, group=measure.group, periodicity_months=measure.periodicity_months,
                                  start=measure.start_date, end=measure.end_date,
                                  first_registration_deadline=measure.first_registration_deadline,
                                  enrolled_on=enrolled_on):
                    continue
                if checkins.window(measure.chain_id, window.key).state is WindowState.REGISTERED:
                    continue
                incident = new_incident(stable_incident_id("missed", measure.chain_id, window.key),
                                        IncidentType.MISSED, measure, now,
                                        missed_observations(measure, window, bool(enrolled)), day=window.end)
                tx = uow.begin()
                record(tx, incident, new=True)
                tx.add_event(event("control.window_missed", measure.measure_id, now, owner=measure.linked_owner,
                                   window_start=window.start.isoformat(), window_end=window.end.isoformat()))
                try:
                    tx.commit()
                except AlreadyExists:
                    continue
                created += 1
    log.info("missed check-ins recorded", extra={"count": created})
    return created


def record_not_enrolled(*, measures: Measures, officers: Officers, uow: UnitOfWork, rng: random.Random,
                        clock: Clock) -> int:
    """An active measure whose first-registration deadline passed with no chat enrolled becomes one
    not_enrolled incident, and its person goes on an officer's list to be phoned."""
    now = clock.now()
    today = peru_today(now)
    created = 0
    for district in officers.districts():
        for measure in measures.active_measures_of_district(district):
            if measure.linked_owner or measure.first_registration_deadline >= today or today > measure.end_date:
                continue
            deadline = f"{measure.first_registration_deadline:%d/%m/%Y}"
            incident = new_incident(stable_incident_id("not_enrolled", measure.chain_id), IncidentType.NOT_ENROLLED,
                                    measure, now, f"Plazo del primer registro vencido el {deadline} sin "
                                    "empadronamiento; se asigna a un encargado de atención para llamarle.")
            tx = uow.begin()
            record(tx, incident, new=True)
            try:
                tx.commit()
            except AlreadyExists:
                continue
            open_case(measure.chain_id, measure.district, measure.measure_id, CaseReason.NOT_ENROLLED,
                      officers=officers, uow=uow, rng=rng, clock=clock)
            created += 1
    log.info("people not enrolled by their deadline", extra={"count": created})
    return created

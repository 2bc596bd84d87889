"""Use cases of the officers' side of virtual control (issue 6): distribution of enrolments, the contact log
(annex 2), reminders, missed check-ins, forwarding incidents, the daily report (annex 4) and the contingency
plan (annex 5)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.control import CheckinStep, Enrolment, Incident, IncidentType, Measure, Window
from ..domain.control_ops import (
    REPORT_TITLE,
    Case,
    CircuitBreaker,
    ContactAttempt,
    Contingency,
    DailyReport,
    Officer,
    RegistryUnavailable,
    Resolution,
    district_has_reminders,
    e164,
    incidents_fingerprint,
    missed_incident_id,
    missed_observations,
    parse_call,
    parse_features,
    parse_officer_change,
    pick_officer,
    reminders_due,
    report_csv,
    report_result,
    window_applies,
    windows_ended,
    within_sending_hours,
)
from ..domain.errors import ConcurrentUpdate, DomainError, NotFound, ServiceUnavailable, ValidationError
from ..domain.operators import Operator, Role
from ..domain.ports import AlreadyExists, AuditEntry, Clock
from ..domain.requests import Event, new_id
from .notifications import push_text
from .time import PERU, peru_today

log = logging.getLogger(__name__)

REPORT_VALIDITY = timedelta(days=3650)  # a report is a record, not a permit: it stays verifiable for years
MAX_RETRIES = 5
REGISTRIES = ("identity", "warrants")
REGISTRY_LABELS = {"identity": "registro de identidad (Consulta RENIEC)",
                   "warrants": "registro judicial de requisitorias (SIJ)"}
PROBE_DOCUMENT = "00000000"  # a number nobody holds: the probe only asks whether the registry answers
_DISTRICT = re.compile(r"[A-Z_ ]{3,40}")
_OFFICER_ID = re.compile(r"[A-Za-z0-9_.@:\-]{1,128}")


def _audit(operator: Operator, at: datetime, action: str, target: str, **details: Any) -> AuditEntry:
    return AuditEntry(at=at, actor=operator.subject, role=",".join(sorted(operator.roles)), action=action,
                      target=target, details=details)


def parse_district(value: str) -> str:
    text = " ".join(str(value).split()).upper()
    if not _DISTRICT.fullmatch(text):
        raise ValidationError("Expected a judicial district name such as LIMA.", field="district")
    return text


def parse_day(value: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationError("Expected a day as YYYY-MM-DD.", field="day")


def _retrying[T](action: Callable[[], T]) -> T:
    """Run a read-modify-write again when someone else wrote the same items meanwhile."""
    for attempt in range(MAX_RETRIES):
        try:
            return action()
        except (ConcurrentUpdate, AlreadyExists):
            if attempt == MAX_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def current_measure(c: Any, measure_id: str) -> Measure | None:
    """The measure in force: a change of legal status supersedes a measure with a new one."""
    measure = c.control.get_measure(measure_id)
    seen = 0
    while measure is not None and measure.status == "superseded" and measure.superseded_by and seen < 20:
        measure = c.control.get_measure(measure.superseded_by)
        seen += 1
    return measure


def _in_force(measure: Measure | None, today: date) -> bool:
    return measure is not None and measure.status == "active" and today <= measure.end_date


def _claim_event(c: Any, handler: str, key: str) -> bool:
    """The processed-event marker: True the first time, False on a redelivery."""
    tx = c.store.transaction()
    tx.mark_processed(handler, key)
    try:
        tx.commit()
    except AlreadyExists:
        return False
    return True


def _chat_id(owner: str) -> str | None:
    return owner.split(":", 1)[1] if owner.startswith("telegram:") else None


def _peru_time(moment: datetime) -> str:
    return moment.astimezone(PERU).strftime("%d/%m/%Y %H:%M (hora de Perú)")


# --- 1. officers and the distribution of enrolments -------------------------------------------------

def officer_view(officer: Officer) -> dict[str, Any]:
    return {"district": officer.district, "officer_id": officer.officer_id, "name": officer.name,
            "active": officer.active, "assigned": officer.assigned,
            "updated_at": officer.updated_at.isoformat() if officer.updated_at else None}


def list_officers(district: str, *, c: Any) -> list[dict[str, Any]]:
    return [officer_view(o) for o in c.ops.officers_of_district(parse_district(district))]


def put_officer(district: str, officer_id: str, payload: Any, *, operator: Operator, c: Any) -> dict[str, Any]:
    """Add, rename, activate or deactivate an officer. Deactivation hands their open list to the others;
    activation takes enrolments that were waiting for an officer. Repeating the call finishes a hand-over
    that stopped half way."""
    district = parse_district(district)
    if not _OFFICER_ID.fullmatch(officer_id or ""):
        raise ValidationError("Expected the officer's operator id.", field="officer_id")
    active, name = parse_officer_change(payload)
    now = c.clock.now()

    def write() -> None:
        existing = c.ops.get_officer(district, officer_id)
        base = existing or Officer(district=district, officer_id=officer_id)
        officer = replace(base, active=active, name=name if name is not None else base.name, updated_at=now,
                          updated_by=operator.subject)
        tx = c.ops.transaction()
        tx.put_officer(officer)
        tx.add_audit(_audit(operator, now, "officer.put", f"{district}#{officer_id}", active=active))
        tx.commit()

    _retrying(write)
    c.ops.add_district(district)
    moved = reassign_open_list(c, district, officer_id) if not active else 0
    taken = assign_waiting(c, district) if active else 0
    officer = c.ops.get_officer(district, officer_id)
    return {**officer_view(officer), "reassigned": moved, "assigned_from_waiting": taken}


def assign_enrolment(owner: str, district: str, c: Any) -> str | None:
    """Handler of control.enrolled: the new enrolment goes to an officer of its district (or waits for one).
    The case is created once (a conditional insert), so a redelivered event assigns nothing twice."""
    c.ops.add_district(district)

    def assign() -> str | None:
        existing = c.ops.get_case(owner)
        if existing is not None:
            return existing.officer
        enrolment = c.control.get_enrolment(owner)
        if enrolment is None:
            return None
        chosen = pick_officer(c.ops.officers_of_district(district), c.rng)
        case = Case(owner=owner, district=district, measure_id=enrolment.measure_id,
                    enrolled_at=enrolment.enrolled_at, officer=chosen.officer_id if chosen else None)
        tx = c.ops.transaction()
        tx.add_case(case)
        if chosen is not None:
            tx.put_officer(replace(chosen, assigned=chosen.assigned + 1))
            tx.put_enrolment(replace(enrolment, officer=chosen.officer_id))
        tx.commit()
        return case.officer

    return _retrying(assign)


def _move_case(c: Any, owner: str, district: str, from_officer: str | None) -> bool:
    """Move one case off ``from_officer``'s list (None: the waiting list) to the officer the draw picks."""

    def move() -> bool:
        case = c.ops.get_case(owner)
        if case is None or case.officer != from_officer:
            return False
        officers = c.ops.officers_of_district(district)
        chosen = pick_officer([o for o in officers if o.officer_id != from_officer], c.rng)
        if chosen is None and from_officer is None:
            return False
        leaving = next((o for o in officers if o.officer_id == from_officer), None)
        enrolment = c.control.get_enrolment(owner)
        to = chosen.officer_id if chosen else None
        tx = c.ops.transaction()
        tx.put_case(replace(case, officer=to))
        if chosen is not None:
            tx.put_officer(replace(chosen, assigned=chosen.assigned + 1))
        if leaving is not None:
            tx.put_officer(replace(leaving, assigned=max(0, leaving.assigned - 1)))
        if enrolment is not None:
            tx.put_enrolment(replace(enrolment, officer=to))
        tx.commit()
        return True

    return _retrying(move)


def reassign_open_list(c: Any, district: str, officer_id: str) -> int:
    """A deactivated officer's open enrolments (measures still in force) go to the others, one draw each."""
    today = peru_today(c.clock.now())
    moved = 0
    for case in c.ops.cases_of_officer(district, officer_id):
        if _in_force(current_measure(c, case.measure_id), today) and _move_case(c, case.owner, district,
                                                                                 officer_id):
            moved += 1
    return moved


def assign_waiting(c: Any, district: str) -> int:
    return sum(1 for case in c.ops.cases_of_officer(district, None) if _move_case(c, case.owner, district, None))


def district_cases(district: str, *, operator: Operator, c: Any) -> list[dict[str, Any]]:
    district = parse_district(district)
    c.audit.append(_audit(operator, c.clock.now(), "cvp.cases_read", district))
    return [_case_view(c, case, detail=False) for case in c.ops.cases_of_district(district)]


# --- 2. the officer's list, contact log and first registration -------------------------------------------

def _enrolment_of(c: Any, case: Case) -> Enrolment | None:
    enrolment: Enrolment | None = c.control.get_enrolment(case.owner)
    return enrolment


def _case_view(c: Any, case: Case, *, detail: bool) -> dict[str, Any]:
    from .control import needs_photo

    enrolment = _enrolment_of(c, case)
    measure = current_measure(c, enrolment.measure_id if enrolment else case.measure_id)
    person = measure.person if measure else None
    last = case.contacts[-1] if case.contacts else None
    view: dict[str, Any] = {
        "measure_id": measure.measure_id if measure else case.measure_id,
        "district": case.district, "officer": case.officer, "enrolled_at": case.enrolled_at.isoformat(),
        "full_name": person.full_name if person else None,
        "identity_document": f"{person.document_type} {person.document_number}"
        if person and person.has_document else "Sin documento",
        "mobile": enrolment.mobile if enrolment else None,
        "measure_status": measure.status if measure else None,
        "calls": len(case.contacts), "last_call": last.outcome.value if last else None,
        "sms_sent": case.sms_requested_at is not None,
        "needs_first_registration": bool(measure and needs_photo(measure) and case.first_registered_at is None),
    }
    if detail:
        view.update({
            "address": enrolment.address if enrolment else None,
            "language": enrolment.language if enrolment else None,
            "contacts": [{"at": a.at.isoformat(), "officer": a.officer, "outcome": a.outcome.value, "note": a.note}
                         for a in case.contacts],
            "sms_requested_at": case.sms_requested_at.isoformat() if case.sms_requested_at else None,
            "features": case.features, "has_photo": bool(enrolment and enrolment.photo_key),
            "first_registered_at": case.first_registered_at.isoformat() if case.first_registered_at else None,
        })
    return view


def officer_cases(*, operator: Operator, c: Any) -> list[dict[str, Any]]:
    """The officer's own list, in every district where they work; other officers' lists are never shown."""
    cases = [case for district in c.ops.districts_of_officer(operator.subject)
             for case in c.ops.cases_of_officer(district, operator.subject)]
    c.audit.append(_audit(operator, c.clock.now(), "officer.list_read", operator.subject, count=len(cases)))
    return [_case_view(c, case, detail=False) for case in cases]


def _case_for_measure(c: Any, measure_id: str, operator: Operator) -> tuple[Case, Enrolment, Measure]:
    """Enrolments are addressed by their measure; an officer reaches only the enrolments on their own list."""
    measure = c.control.get_measure(measure_id) if measure_id else None
    enrolments = c.control.enrolments_of_measure(measure_id) if measure else []
    if measure is None or not enrolments:
        raise NotFound("No enrolment for this measure.")
    enrolment = max(enrolments, key=lambda e: e.enrolled_at)
    case = c.ops.get_case(enrolment.owner)
    supervisor = bool(operator.roles & {Role.CVP_HEAD.value, Role.ADMIN.value})
    if case is None or (not supervisor and case.officer != operator.subject):
        raise NotFound("No enrolment for this measure on your list.")
    return case, enrolment, measure


def officer_case(measure_id: str, *, operator: Operator, c: Any) -> dict[str, Any]:
    case, _, measure = _case_for_measure(c, measure_id, operator)
    c.audit.append(_audit(operator, c.clock.now(), "officer.case_read", measure.measure_id))
    return _case_view(c, case, detail=True)


def log_call(measure_id: str, payload: Any, *, operator: Operator, c: Any) -> dict[str, Any]:
    """Annex 2 (a): a first call, a second one; two unanswered in a row queue the SMS, once per enrolment."""
    outcome, note = parse_call(payload)
    now = c.clock.now()

    def write() -> tuple[Case, bool, bool]:
        case, _, measure = _case_for_measure(c, measure_id, operator)
        updated, sms_due = case.log_call(ContactAttempt(now, operator.subject, outcome, note))
        tx = c.ops.transaction()
        tx.put_case(updated)
        tx.add_audit(_audit(operator, now, "officer.call", measure.measure_id, outcome=outcome.value))
        if sms_due:
            tx.add_event(Event(new_id(), "control.contact_sms", measure.measure_id, now, {"owner": case.owner}))
        tx.commit()
        return updated, sms_due, case.sms_requested_at is not None

    updated, sms_due, already = _retrying(write)
    sms = "queued" if sms_due else ("already_sent" if already else "not_due")
    return {**_case_view(c, updated, detail=True), "sms": sms}


def send_contact_sms(event: Event, c: Any) -> bool:
    """Handler of control.contact_sms: the annex 2 (a) text with the person's full name, sent once."""
    owner = str(event.data.get("owner", ""))
    enrolment = c.control.get_enrolment(owner)
    measure = current_measure(c, enrolment.measure_id) if enrolment else None
    if enrolment is None or measure is None:
        return False
    if not _claim_event(c, "contact-sms", event.event_id):
        return False
    text = push_text("sms.annex2a", enrolment.language, name=measure.person.full_name)
    try:
        c.sms.send(e164(enrolment.mobile), text)
    except ValueError:
        # A number no provider accepts: retrying cannot help; the officer sees it in the contact log.
        log.warning("annex 2 (a) SMS refused: the enrolled number is not valid", extra={"event_id": event.event_id})
        return False
    except Exception:
        c.store.release_processed("contact-sms", event.event_id)
        raise
    return True


def first_registration(measure_id: str, payload: Any, *, operator: Operator, c: Any) -> dict[str, Any]:
    """Annex 2, activity 7.6: for people without a DNI and foreigners, the officer records identifying
    features ("Actualizar — Detalle de la Parte")."""
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"features"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    features = parse_features(payload.get("features"))
    _first_registration_allowed(c, measure_id, operator)
    now = c.clock.now()

    def write() -> Case:
        case, _, measure = _case_for_measure(c, measure_id, operator)
        updated = replace(case, features=features, first_registered_at=now, first_registered_by=operator.subject)
        tx = c.ops.transaction()
        tx.put_case(updated)
        tx.add_audit(_audit(operator, now, "officer.first_registration", measure.measure_id))
        tx.commit()
        return updated

    return _case_view(c, _retrying(write), detail=True)


def first_registration_photo(measure_id: str, raw: bytes, *, operator: Operator, c: Any) -> dict[str, Any]:
    """Annex 2, activities 7.4–7.5: the photo captured during the video call becomes the photo on file that
    later check-ins' selfies are compared with."""
    from .control import _image

    image = _image(raw)
    _first_registration_allowed(c, measure_id, operator)
    now = c.clock.now()
    key = f"control/enrolments/{new_id()}.jpg"
    c.storage.put(key, image, "image/jpeg")

    def write() -> Case:
        case, enrolment, measure = _case_for_measure(c, measure_id, operator)
        tx = c.ops.transaction()
        tx.put_enrolment(replace(enrolment, photo_key=key))
        tx.add_audit(_audit(operator, now, "officer.first_registration_photo", measure.measure_id))
        tx.commit()
        return case

    return _case_view(c, _retrying(write), detail=True)


def _first_registration_allowed(c: Any, measure_id: str, operator: Operator) -> None:
    from .control import needs_photo

    _, _, measure = _case_for_measure(c, measure_id, operator)
    if not needs_photo(measure):
        raise DomainError("First registration is for people without a DNI and for foreigners; this person's "
                          "identity is checked against the identity registry.", code="first_registration_not_needed")


# --- 3. reminders ------------------------------------------------------------------------------------

def _window_for(c: Any, measure: Measure, day: date) -> Window | None:
    from .control import _window_for as window_for

    window: Window | None = window_for(c, measure, day)
    return window


def _next_window(c: Any, measure: Measure, window: Window | None) -> Window | None:
    from .control import _next_window as next_window

    following: Window | None = next_window(c, measure, window)
    return following


def send_reminders(c: Any) -> int:
    """The hourly job: reminders the day before a window opens and the day before it closes, to each person
    who has not registered for it, in their language; only from 08:00 to 20:00 Peru time, never twice."""
    now = c.clock.now()
    if not within_sending_hours(now):
        return 0
    notifier = c.notifier()
    if notifier is None:
        log.info("chat notifications are off (no bot token): reminders not sent")
        return 0
    today = peru_today(now)
    sent = 0
    for district in c.ops.districts():
        calendars = [c.control.get_calendar(year, district) for year in (today.year, today.year + 1)]
        if not any(district_has_reminders(calendar, today) for calendar in calendars):
            continue  # most days no window of the district opens or closes tomorrow: nothing to read
        for case in c.ops.cases_of_district(district):
            sent += _remind(c, notifier, case, today)
    log.info("reminders sent", extra={"count": sent})
    return sent


def _remind(c: Any, notifier: Any, case: Case, today: date) -> int:
    enrolment = _enrolment_of(c, case)
    chat_id = _chat_id(case.owner)
    measure = current_measure(c, enrolment.measure_id) if enrolment else None
    if enrolment is None or chat_id is None or measure is None or not _in_force(measure, today):
        return 0
    window = _window_for(c, measure, max(today, measure.start_date))
    windows = [window] if window else []
    following = _next_window(c, measure, window) if window and today >= window.end - timedelta(days=1) else None
    if following is not None:
        windows.append(following)  # a window may close the day before the next opens
    sent = 0
    for current in windows:
        kinds = reminders_due(current, today)
        if not kinds or c.control.registration(measure.measure_id, current.key) is not None:
            continue
        for kind in kinds:
            key = f"reminder#{case.owner}#{current.key}#{kind.value}"
            if not c.ops.claim(key):
                continue
            text = push_text(f"push.control_{kind.value}", enrolment.language, start=f"{current.start:%d/%m/%Y}",
                             end=f"{current.end:%d/%m/%Y}")
            try:
                notifier.send_message(chat_id, text)
            except DomainError:
                c.ops.release(key)  # the next run tries again
                log.warning("reminder not sent; will retry", extra={"kind": kind.value})
                continue
            sent += 1
    return sent


# --- 4. missed check-ins -----------------------------------------------------------------------------

def record_missed_checkins(c: Any) -> int:
    """The daily job: a missed_checkin incident per person and window that ended without registration.
    The incident's id derives from measure and window, so running twice records one incident."""
    from .control import _incident

    now = c.clock.now()
    today = peru_today(now)
    created = 0
    for district in c.ops.districts():
        years = sorted({today.year, (today - timedelta(days=31)).year})
        ended = windows_ended([c.control.get_calendar(year, district) for year in years], today)
        if not ended:
            continue
        for case in c.ops.cases_of_district(district):
            enrolment = _enrolment_of(c, case)
            measure = current_measure(c, enrolment.measure_id) if enrolment else None
            if measure is None or measure.status != "active":
                continue
            for window in ended:
                if not window_applies(window, measure, peru_today(case.enrolled_at)):
                    continue
                if c.control.registration(measure.measure_id, window.key) is not None:
                    continue
                incident = replace(_incident(c, measure, IncidentType.MISSED, None,
                                             missed_observations(measure, window), ("court", "cvp_head")),
                                   incident_id=missed_incident_id(measure.measure_id, window.key), day=window.end)
                tx = c.ops.transaction()
                tx.add_incident(incident)
                tx.add_event(Event(new_id(), "control.incident", incident.incident_id, now,
                                   {"type": incident.type.value, "district": incident.district}))
                try:
                    tx.commit()
                except AlreadyExists:
                    continue
                created += 1
    log.info("missed check-ins recorded", extra={"count": created})
    return created


# --- 5. incidents: forwarding, listing, closing -----------------------------------------------------------

RECIPIENT_LABELS = {
    "police": ("Para: efectivo policial designado (Policía Nacional del Perú)", "To: the designated police contact"),
    "court": ("Para: Mesa de Partes Electrónica del órgano jurisdiccional", "To: the court's electronic registry"),
    "cvp_head": ("Copia: Encargado del Control Virtual Penal", "Copy: head of virtual penal control"),
}


def _recipient(c: Any, role: str) -> str | None:
    s = c.settings
    return {"police": s.police_contact_email, "court": s.court_mesa_partes_email,
            "cvp_head": s.cvp_head_email}.get(role)


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
        f"Registrada: {_peru_time(incident.created_at)}",
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


def forward_incident(incident_id: str, c: Any) -> list[dict[str, str]]:
    """Handler of control.incident: warrants to the police contact, the others to the court's Mesa de Partes
    Electrónica, the CVP head in copy; each recipient once. Contingency incidents are covered by the outage
    alert and the daily report."""
    incident = c.ops.get_incident(incident_id)
    if incident is None or incident.status != "open" or incident.type is IncidentType.CONTINGENCY:
        return []
    now = c.clock.now()
    sent: list[dict[str, str]] = []
    for role in incident.addressed_to:
        address = _recipient(c, role)
        if not address or not _claim_event(c, f"incident-mail-{role}", incident.incident_id):
            continue
        subject, body = incident_email(incident, role)
        try:
            message_id = c.email.send(address, subject, body, [])
        except Exception:
            c.store.release_processed(f"incident-mail-{role}", incident.incident_id)
            raise
        sent.append({"role": role, "to": address, "at": now.isoformat(), "message_id": str(message_id)})

    def mark() -> None:
        current = c.ops.get_incident(incident_id)
        if current is None or current.status != "open":
            return
        tx = c.ops.transaction()
        tx.put_incident(replace(current, status="notified", notified=(*current.notified, *sent)))
        tx.commit()

    _retrying(mark)
    return sent


def _closure(c: Any, incident_id: str) -> dict[str, Any] | None:
    marker: dict[str, Any] | None = c.ops.marker(f"incident-closed#{incident_id}")
    return marker


def incident_view(c: Any, incident: Incident) -> dict[str, Any]:
    return {"incident_id": incident.incident_id, "type": incident.type.value, "district": incident.district,
            "day": incident.day.isoformat(), "created_at": incident.created_at.isoformat(),
            "measure_id": incident.measure_id, "full_name": incident.full_name,
            "identity_document": incident.identity_document, "case_file": incident.case_file,
            "court": incident.court, "detail": incident.detail, "observations": incident.observations,
            "addressed_to": list(incident.addressed_to), "status": incident.status,
            "notified": [{k: v for k, v in n.items() if k != "message_id"} for n in incident.notified],
            "closed": _closure(c, incident.incident_id) if incident.status == "closed" else None}


def incidents_of_day(district: str, day: str, *, operator: Operator, c: Any) -> list[dict[str, Any]]:
    district, when = parse_district(district), parse_day(day)
    c.audit.append(_audit(operator, c.clock.now(), "cvp.incidents_read", f"{district}#{when.isoformat()}"))
    return [incident_view(c, i) for i in c.control.incidents_of_day(district, when)]


def close_incident(incident_id: str, payload: Any, *, operator: Operator, c: Any) -> dict[str, Any]:
    note = payload.get("note", "") if isinstance(payload, dict) else None
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected {\"note\": \"...\"} of at most 500 characters.", field="note")
    now = c.clock.now()

    def write() -> Incident:
        incident = c.ops.get_incident(incident_id)
        if incident is None:
            raise NotFound("No such incident.")
        if incident.status == "closed":
            raise DomainError("This incident is already closed.", code="already_closed")
        closed = replace(incident, status="closed")
        tx = c.ops.transaction()
        tx.put_incident(closed)
        tx.claim(f"incident-closed#{incident_id}", {"by": operator.subject, "at": now.isoformat(),
                                                    "note": note.strip()}, ttl=timedelta(days=3650))
        tx.add_audit(_audit(operator, now, "incident.close", incident_id))
        tx.commit()
        return closed

    return incident_view(c, _retrying(write))


# --- 6. the daily report (annex 4) ---------------------------------------------------------------------

def _report_base(district: str, day: date, revision: int, document_id: str) -> str:
    return f"reports/{district.replace(' ', '_')}/{day.isoformat()}/r{revision}-{document_id[:16]}"


def daily_report(district: str, day: date, c: Any) -> DailyReport:
    """The signed PDF and the CSV of a district's incidents of a day, stored, recorded and e-mailed.
    Running it again with the same incidents returns the same report; new incidents make a new revision
    (the earlier one stays verifiable)."""
    from .documents import IssuePolicy, daily_report_content, issued_record, supersede

    district = parse_district(district)
    incidents = c.control.incidents_of_day(district, day)
    fingerprint = incidents_fingerprint(incidents)
    existing = c.ops.get_report(district, day)
    if existing is not None and existing.fingerprint == fingerprint:
        return existing
    revision = existing.revision + 1 if existing else 1
    document_id = new_id()
    now = c.clock.now().replace(microsecond=0)
    number = f"RID-{district.replace(' ', '')}-{day:%Y%m%d}" + (f"-R{revision}" if revision > 1 else "")
    policy = IssuePolicy(c.settings.public_base_url, REPORT_VALIDITY)
    previous = c.store.get_document(existing.document_id) if existing else None
    content = daily_report_content(
        document_id=document_id, title=REPORT_TITLE, number=number, district=district, day=day, revision=revision,
        incidents=incidents, result=report_result(len(incidents)), issued_at=now, valid_until=now + REPORT_VALIDITY,
        verification_url=policy.verification_url(document_id), store=c.store,
        previous_number=previous.number if previous else None)
    pdf = c.producer().produce(content)
    sha256 = hashlib.sha256(pdf).hexdigest()
    base = _report_base(district, day, revision, document_id)
    c.storage.put(f"{base}.pdf", pdf, "application/pdf")
    c.storage.put(f"{base}.csv", report_csv(incidents), "text/csv")
    document = issued_record(content, owner=f"cvp:{district}", source_id=f"{district}#{day.isoformat()}",
                             sha256=sha256, storage_key=f"{base}.pdf", document_type="Reporte diario")
    report = DailyReport(
        district=district, day=day, revision=revision, document_id=document_id, pdf_key=f"{base}.pdf",
        csv_key=f"{base}.csv", fingerprint=fingerprint, incident_count=len(incidents), created_at=now,
        previous=(*existing.previous, existing.document_id) if existing else (),
        version=existing.version if existing else 0)
    tx = c.ops.transaction()
    tx.put_document(document)
    supersede(tx, previous, by=document_id, at=now)  # the earlier revision now verifies as superseded
    tx.put_report(report)
    tx.add_event(Event(new_id(), "control.report_issued", document_id, now,
                       {"district": district, "day": day.isoformat(), "pdf_key": report.pdf_key,
                        "csv_key": report.csv_key, "number": number, "count": len(incidents)}))
    try:
        tx.commit()
    except (AlreadyExists, ConcurrentUpdate):
        # Another run recorded this day meanwhile: its report stands (our files are spare, never referenced).
        winner: DailyReport | None = c.ops.get_report(district, day)
        if winner is None:
            raise
        return winner
    return replace(report, version=report.version + 1)


def daily_reports_job(c: Any) -> int:
    """The daily job: yesterday's report (Peru's calendar) for every district with enrolments."""
    day = peru_today(c.clock.now()) - timedelta(days=1)
    count = 0
    for district in c.ops.districts():
        daily_report(district, day, c)
        count += 1
    return count


def email_report(event: Event, c: Any) -> bool:
    """Handler of control.report_issued: the CVP head gets the PDF and the CSV, once per revision."""
    data = event.data
    if not _claim_event(c, "report-mail", event.aggregate_id):
        return False
    try:
        pdf, table = c.storage.get(str(data["pdf_key"])), c.storage.get(str(data["csv_key"]))
        if pdf is None or table is None:
            # The files are stored before the report is recorded, so they cannot appear later: retrying
            # would only hold up the other events of the batch. The report stays downloadable by endpoint.
            log.warning("daily report files missing; not e-mailed", extra={"document_id": event.aggregate_id})
            c.store.release_processed("report-mail", event.aggregate_id)
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
        c.email.send(c.settings.cvp_head_email, subject, body,
                     [(f"{name}.pdf", pdf, "application/pdf"), (f"{name}.csv", table, "text/csv")])
    except Exception:
        c.store.release_processed("report-mail", event.aggregate_id)
        raise
    return True


def report_view(c: Any, report: DailyReport) -> dict[str, Any]:
    path = f"/v1/cvp/reports/{report.district}/{report.day.isoformat()}"
    return {"district": report.district, "day": report.day.isoformat(), "revision": report.revision,
            "document_id": report.document_id, "incident_count": report.incident_count,
            "created_at": report.created_at.isoformat(), "previous": list(report.previous),
            "verification_url": f"{c.settings.public_base_url}/v/{report.document_id}",
            "pdf": f"{path}/pdf", "csv": f"{path}/csv"}


def generate_report(district: str, day: str, *, operator: Operator, c: Any) -> dict[str, Any]:
    """The endpoint that closes a day on demand: the same function the daily schedule runs."""
    district, when = parse_district(district), parse_day(day)
    if when > peru_today(c.clock.now()):
        raise ValidationError("A report can only cover a day that has begun.", field="day")
    report = daily_report(district, when, c)
    c.audit.append(_audit(operator, c.clock.now(), "report.generate", f"{district}#{when.isoformat()}",
                          revision=report.revision))
    return report_view(c, report)


def get_report(district: str, day: str, *, operator: Operator, c: Any) -> DailyReport:
    district, when = parse_district(district), parse_day(day)
    report: DailyReport | None = c.ops.get_report(district, when)
    if report is None:
        raise NotFound("No report for that district and day yet.")
    return report


def report_file(district: str, day: str, kind: str, *, operator: Operator, c: Any) -> bytes:
    report = get_report(district, day, operator=operator, c=c)
    data: bytes | None = c.storage.get(report.pdf_key if kind == "pdf" else report.csv_key)
    if data is None:
        raise DomainError("The report's file is missing; the team has been alerted.", code="document_missing")
    c.audit.append(_audit(operator, c.clock.now(), "report.download", f"{report.district}#{report.day.isoformat()}",
                          kind=kind, revision=report.revision))
    return data


# --- 7. the contingency plan (annex 5) --------------------------------------------------------------------

def _guarded[T](breaker: CircuitBreaker, clock: Clock, call: Callable[[], T]) -> T:
    now = clock.now()
    if not breaker.allow(now):
        raise RegistryUnavailable(breaker.name)
    try:
        result = call()
    except RegistryUnavailable:
        breaker.record_failure(now)
        raise
    except (ServiceUnavailable, OSError, TimeoutError) as exc:
        breaker.record_failure(now)
        log.warning("registry call failed", extra={"registry": breaker.name, "error": type(exc).__name__})
        raise RegistryUnavailable(breaker.name) from exc
    breaker.record_success()
    return result


class GuardedIdentityRegistry:
    """The identity registry behind its circuit breaker: a failing call or an open breaker raises
    RegistryUnavailable, which the check-in turns into the contingency plan. Other calls pass through."""

    def __init__(self, inner: Any, breaker: CircuitBreaker, clock: Clock) -> None:
        self.inner, self.breaker, self.clock = inner, breaker, clock

    def lookup(self, document_type: str, document_number: str) -> Any:
        return _guarded(self.breaker, self.clock, lambda: self.inner.lookup(document_type, document_number))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GuardedControlStore:
    """The control store whose warrants lookup (the judicial registry) is behind its circuit breaker."""

    def __init__(self, inner: Any, breaker: CircuitBreaker, clock: Clock) -> None:
        self.inner, self.breaker, self.clock = inner, breaker, clock

    def possible_warrants(self, *args: Any, **kwargs: Any) -> Any:
        return _guarded(self.breaker, self.clock, lambda: self.inner.possible_warrants(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def hold_for_contingency(c: Any, checkin: Any, measure: Measure, down: RegistryUnavailable,
                         answers: dict[str, Any] | None) -> dict[str, Any]:
    """A registry is down mid check-in: keep everything the person sent, queue the officer's callback, record
    a contingency incident (the first time), alert the CVP head (once per outage) and answer annex 5."""
    from .control import _incident

    now = c.clock.now()
    held_checkin = checkin.record(now, "contingency", registry=down.registry)
    existing = c.ops.get_contingency(checkin.checkin_id)
    if existing is not None:
        held = replace(existing, answers=answers or existing.answers, pending=True, resolution=None,
                       resolved_at=None, holds=existing.holds + 1)
    else:
        held = Contingency(checkin_id=checkin.checkin_id, owner=checkin.owner, measure_id=measure.measure_id,
                           district=measure.district, registry=down.registry, created_at=now, answers=answers)
    tx = c.ops.transaction()
    tx.put_checkin(held_checkin)
    tx.put_contingency(held)
    if existing is None:
        incident = _incident(c, measure, IncidentType.CONTINGENCY, held_checkin,
                             f"Sin acceso al {REGISTRY_LABELS.get(down.registry, down.registry)}: control pendiente, "
                             "datos enviados conservados; se devolverá la llamada por única vez (anexo 5).",
                             ("cvp_head",))
        tx.put_incident(incident)
        tx.add_event(Event(new_id(), "control.incident", incident.incident_id, now,
                           {"type": incident.type.value, "district": incident.district}))
    tx.commit()
    _open_outage(c, down.registry, now)
    log.warning("check-in held under the contingency plan", extra={"registry": down.registry,
                                                                   "checkin_id": checkin.checkin_id})
    return {"checkin_id": checkin.checkin_id, "step": held_checkin.step.value, "message": "annex5",
            "outcome": None, "pending": True}


def _open_outage(c: Any, registry: str, now: datetime) -> bool:
    tx = c.ops.transaction()
    tx.open_outage(registry, now)
    tx.add_event(Event(new_id(), "control.outage_started", registry, now,
                       {"registry": registry, "started_at": now.isoformat()}))
    try:
        tx.commit()
    except AlreadyExists:
        return False  # this outage is known: the CVP head was already alerted
    return True


def alert_outage(event: Event, c: Any) -> bool:
    """Handler of control.outage_started: the CVP head is told at once, one e-mail per outage."""
    if not _claim_event(c, "outage-alert", event.event_id):
        return False
    registry = str(event.data.get("registry", ""))
    label = REGISTRY_LABELS.get(registry, registry)
    started = _peru_time(datetime.fromisoformat(str(event.data["started_at"])))
    subject = f"[CVP] Plan de contingencia activado: {label} no disponible"
    body = (f"Desde el {started} no hay acceso al {label}. Se aplica el Plan de Contingencia (anexo 5): los "
            "controles virtuales en curso quedan pendientes con todo lo que la persona envió, se le indica que "
            "será llamada por única vez cuando se restablezcan los sistemas, y cada caso queda en la cola de "
            "devolución de llamadas de los encargados de atención. Al restablecerse, los controles pendientes se "
            "completan solos o se invita a la persona a repetirlo dentro de su periodo. Coordine de inmediato la "
            "atención del problema (procedimiento, 5.3 e).\n\n"
            f"Since {started} the {registry} registry cannot be reached. The contingency plan (annex 5) applies: "
            "check-ins in progress are held with everything the person sent, callbacks are queued for the "
            "officers, and pending check-ins complete on their own when the registry is back.")
    try:
        c.email.send(c.settings.cvp_head_email, subject, body, [])
    except Exception:
        c.store.release_processed("outage-alert", event.event_id)
        raise
    return True


def alert_recovered(event: Event, c: Any) -> bool:
    """Handler of control.outage_ended: the CVP head learns that the registry answers again."""
    if not _claim_event(c, "outage-recovered", event.event_id):
        return False
    registry = str(event.data.get("registry", ""))
    label = REGISTRY_LABELS.get(registry, registry)
    ended = _peru_time(datetime.fromisoformat(str(event.data["ended_at"])))
    try:
        c.email.send(c.settings.cvp_head_email, f"[CVP] Restablecido: {label}",
                     f"El {label} responde nuevamente desde el {ended}; los controles pendientes se están "
                     "completando. Revise la cola de devolución de llamadas.\n\n"
                     f"The {registry} registry answers again since {ended}; pending check-ins are being completed.",
                     [])
    except Exception:
        c.store.release_processed("outage-recovered", event.event_id)
        raise
    return True


def _probe(c: Any, registry: str) -> bool:
    """Ask the registry itself (past its breaker) whether it answers."""
    try:
        if registry == "identity":
            getattr(c.identity, "inner", c.identity).lookup("DNI", PROBE_DOCUMENT)
        else:
            getattr(c.control, "inner", c.control).possible_warrants(None, "Sonda Sonda", "Sonda", 100.0)
    except (ServiceUnavailable, OSError, TimeoutError):
        return False
    return True


def recover(c: Any) -> dict[str, Any]:
    """The recovery job: probe each registry with an open outage; once it answers, close the outage and
    complete the check-ins held for it (or tell the people what to do)."""
    now = c.clock.now()
    still_down: list[str] = []
    restored: list[str] = []
    for registry in REGISTRIES:
        outage = c.ops.marker(f"outage#{registry}")
        if not outage or outage.get("state") != "open":
            continue
        if not _probe(c, registry):
            still_down.append(registry)
            continue
        breaker = c.breakers.get(registry)
        if breaker is not None:
            breaker.record_success()
        tx = c.ops.transaction()
        tx.close_outage(registry, str(outage.get("started_at")), now)
        tx.add_event(Event(new_id(), "control.outage_ended", registry, now,
                           {"registry": registry, "ended_at": now.isoformat()}))
        try:
            tx.commit()
            restored.append(registry)
        except AlreadyExists:
            pass  # another run closed it
    outcomes: dict[str, int] = {}
    for held in c.ops.pending_contingencies():
        if held.registry in still_down:
            continue
        resolution = resume(c, held)
        if resolution is not None:
            outcomes[resolution] = outcomes.get(resolution, 0) + 1
    result = {"restored": restored, "still_down": still_down, "resolutions": outcomes}
    log.info("contingency recovery run", extra=result)
    return result


def resume(c: Any, held: Contingency) -> str | None:
    """Run a held check-in on from where it stopped; None when the registry is still down."""
    from .control import _after_identity, submit_answers

    checkin = c.control.get_checkin(held.checkin_id)
    measure = c.control.get_measure(checkin.measure_id) if checkin else None
    now = c.clock.now()
    window_end: date | None = None
    outcome: str | None = None
    if checkin is None or measure is None or measure.status != "active":
        resolution = Resolution.NOT_POSSIBLE
    elif checkin.step in (CheckinStep.DONE, CheckinStep.ENDED):
        resolution = Resolution.ALREADY_DONE
    else:
        window = _window_for(c, measure, peru_today(checkin.started_at))
        window_end = window.end if window else None
        if window is None or window.key != checkin.window_key or peru_today(now) > window.end:
            resolution = Resolution.WINDOW_CLOSED
        else:
            try:
                if checkin.identity:
                    answer = _after_identity(c, checkin, measure)
                elif held.answers and checkin.step is CheckinStep.QUESTIONS:
                    answer = submit_answers(checkin.checkin_id, {"answers": held.answers}, owner=checkin.owner, c=c)
                else:
                    answer = {"message": "retry"}
            except DomainError as refused:
                log.info("held check-in could not complete", extra={"code": refused.code})
                answer = {"message": "not_possible"}
            if answer.get("message") == "annex5":
                return None  # held again: the registry fell over once more
            outcome = answer.get("outcome")
            resolution = {"retry": Resolution.RETRY, "not_possible": Resolution.NOT_POSSIBLE}.get(
                str(answer.get("message")), Resolution.COMPLETED)
    enrolment = c.control.get_enrolment(held.owner)

    def write() -> None:
        current = c.ops.get_contingency(held.checkin_id)
        if current is None or not current.pending:
            return
        tx = c.ops.transaction()
        # What the person answered was kept only to finish the check-in: erase it now.
        tx.put_contingency(replace(current, pending=False, answers=None, resolution=resolution.value,
                                   resolved_at=now))
        tx.add_event(Event(new_id(), "control.contingency_resolved", held.checkin_id, now, {
            "owner": held.owner, "resolution": resolution.value, "outcome": outcome,
            "window_end": window_end.isoformat() if window_end else None,
            "language": enrolment.language if enrolment else "es"}))
        tx.commit()

    _retrying(write)
    return resolution.value


RESOLUTION_TEXTS = {Resolution.RETRY: "push.control_resumed_retry",
                    Resolution.WINDOW_CLOSED: "push.control_resumed_window_closed"}


def push_resolution(event: Event, c: Any) -> bool:
    """Handler of control.contingency_resolved: the person learns, in their language, how it ended."""
    data = event.data
    chat_id = _chat_id(str(data.get("owner", "")))
    try:
        resolution = Resolution(str(data.get("resolution")))
    except ValueError:
        return False
    if resolution is Resolution.COMPLETED:
        key = "push.control_resumed_registered" if data.get("outcome") == "registered" \
            else "push.control_resumed_not_registered"
    else:
        key = RESOLUTION_TEXTS.get(resolution, "")
    notifier = c.notifier()
    if not key or chat_id is None or notifier is None:
        return False
    if not _claim_event(c, "contingency-push", event.event_id):
        return False
    end = data.get("window_end")
    text = push_text(key, str(data.get("language", "es")),
                     end=date.fromisoformat(str(end)).strftime("%d/%m/%Y") if end else "")
    try:
        notifier.send_message(chat_id, text)
    except DomainError:
        c.store.release_processed("contingency-push", event.event_id)
        raise
    return True


def _callback_view(c: Any, held: Contingency) -> dict[str, Any]:
    enrolment = c.control.get_enrolment(held.owner)
    measure = current_measure(c, held.measure_id)
    return {"checkin_id": held.checkin_id, "measure_id": measure.measure_id if measure else held.measure_id,
            "district": held.district, "full_name": measure.person.full_name if measure else None,
            "mobile": enrolment.mobile if enrolment else None, "registry": held.registry,
            "held_at": held.created_at.isoformat(), "check_in_pending": held.pending,
            "resolution": held.resolution, "callback": held.callback, "callback_open": held.callback_open}


def officer_callbacks(*, operator: Operator, c: Any) -> list[dict[str, Any]]:
    """The callback queue of the districts where the officer is active (annex 5: one call per person)."""
    districts = [d for d in c.ops.districts_of_officer(operator.subject)
                 if (o := c.ops.get_officer(d, operator.subject)) is not None and o.active]
    items = [held for district in districts for held in c.ops.open_callbacks(district)]
    c.audit.append(_audit(operator, c.clock.now(), "officer.callbacks_read", operator.subject, count=len(items)))
    return [_callback_view(c, held) for held in sorted(items, key=lambda h: h.created_at)]


def district_callbacks(district: str, *, operator: Operator, c: Any) -> list[dict[str, Any]]:
    district = parse_district(district)
    c.audit.append(_audit(operator, c.clock.now(), "cvp.callbacks_read", district))
    return [_callback_view(c, held) for held in c.ops.open_callbacks(district)]


def complete_callback(checkin_id: str, payload: Any, *, operator: Operator, c: Any) -> dict[str, Any]:
    """The officer made the one callback of annex 5: its outcome closes it."""
    outcome, note = parse_call(payload)
    now = c.clock.now()
    districts = set(c.ops.districts_of_officer(operator.subject))
    supervisor = bool(operator.roles & {Role.CVP_HEAD.value, Role.ADMIN.value})

    def write() -> Contingency:
        held = c.ops.get_contingency(checkin_id)
        if held is None or (not supervisor and held.district not in districts):
            raise NotFound("No such callback in your districts.")
        if not held.callback_open:
            raise DomainError("This callback was already made.", code="callback_done")
        done = replace(held, callback_open=False, callback={"officer": operator.subject, "outcome": outcome.value,
                                                            "note": note, "at": now.isoformat()})
        tx = c.ops.transaction()
        tx.put_contingency(done)
        tx.add_audit(_audit(operator, now, "officer.callback", checkin_id, outcome=outcome.value))
        tx.commit()
        return done

    return _callback_view(c, _retrying(write))


# --- the events this module handles (wired in services/events.py) ----------------------------------------

def on_enrolled(event: Event, c: Any) -> None:
    assign_enrolment(str(event.data.get("owner", "")), parse_district(str(event.data.get("district", ""))), c)


def on_incident(event: Event, c: Any) -> None:
    forward_incident(event.aggregate_id, c)


def on_contact_sms(event: Event, c: Any) -> None:
    send_contact_sms(event, c)


def on_report_issued(event: Event, c: Any) -> None:
    email_report(event, c)


def on_outage_started(event: Event, c: Any) -> None:
    alert_outage(event, c)


def on_outage_ended(event: Event, c: Any) -> None:
    alert_recovered(event, c)


def on_contingency_resolved(event: Event, c: Any) -> None:
    push_resolution(event, c)

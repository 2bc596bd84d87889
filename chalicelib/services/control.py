"""Use cases of virtual penal control: measures, enrolment and the check-in pipeline (annexes 1–3)."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from ..domain.control import (
    INCIDENT_DETAIL,
    Authorisation,
    Checkin,
    CheckinStep,
    Enrolment,
    Incident,
    IncidentType,
    Measure,
    PlaceVerdict,
    Warrant,
    Window,
    area_of,
    check_place,
    gazetteer,
    parse_calendar,
    parse_location,
    parse_measure,
    parse_person,
    questions_for,
)
from ..domain.control_ops import RegistryUnavailable
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.identity import dni_check_characters, parse_date
from ..domain.matching import normalise_name
from ..domain.ports import AlreadyExists, AuditEntry
from ..domain.requests import Event, new_id
from .time import peru_today

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_BORDERLINE = 3


@dataclass(frozen=True)
class ControlRules:
    location_max_age_seconds: int = 180
    warrant_name_threshold: float = 92.0


def _audit(operator: Any, at: datetime, action: str, target: str, **details: Any) -> AuditEntry:
    return AuditEntry(at=at, actor=operator.subject, role=",".join(sorted(operator.roles)), action=action,
                      target=target, details=details)


# --- court staff ------------------------------------------------------------------------------------

def _known_groups(c: Any, district: str, year: int) -> set[str] | None:
    calendar = c.control.get_calendar(year, district)
    return set(calendar.groups) if calendar else None


def create_measure(payload: Any, *, operator: Any, c: Any) -> Measure:
    now = c.clock.now()
    district = str(payload.get("district", "")).upper() if isinstance(payload, dict) else ""
    start = payload.get("start_date") if isinstance(payload, dict) else None
    groups = _known_groups(c, district, int(start[:4])) if isinstance(start, str) and start[:4].isdigit() else None
    measure = parse_measure(payload, measure_id=new_id(), now=now, created_by=operator.subject,
                            known_groups=groups)
    tx = c.control.transaction()
    tx.put_measure(measure)
    tx.add_audit(_audit(operator, now, "measure.create", measure.measure_id))
    tx.add_event(Event(new_id(), "measure.created", measure.measure_id, now, {"district": measure.district}))
    tx.commit()
    return measure


def _measure(c: Any, measure_id: str) -> Measure:
    measure = c.control.get_measure(measure_id)
    if measure is None:
        raise NotFound("No such measure.")
    return measure


def change_legal_status(measure_id: str, payload: Any, *, operator: Any, c: Any) -> Measure:
    """A change of legal status creates a new measure; the old one is kept, marked superseded."""
    old = _measure(c, measure_id)
    if old.status != "active":
        raise DomainError("Only an active measure can change.", code="measure_not_active")
    if not isinstance(payload, dict) or payload.get("legal_status") not in ("processed", "sentenced"):
        raise ValidationError("Expected processed or sentenced.", field="legal_status")
    if payload["legal_status"] == old.legal_status:
        raise ValidationError("The measure already has that legal status.", field="legal_status")
    now = c.clock.now()
    new = replace(old, measure_id=new_id(), legal_status=payload["legal_status"], created_at=now,
                  created_by=operator.subject, version=0)
    tx = c.control.transaction()
    tx.put_measure(replace(old, status="superseded", superseded_by=new.measure_id))
    tx.put_measure(new)
    for enrolment in c.control.enrolments_of_measure(old.measure_id):
        tx.put_enrolment(replace(enrolment, measure_id=new.measure_id))
    tx.add_audit(_audit(operator, now, "measure.change_status", old.measure_id, new_measure=new.measure_id))
    tx.commit()
    return new


def authorise_district(measure_id: str, payload: Any, *, operator: Any, c: Any) -> Measure:
    measure = _measure(c, measure_id)
    if not isinstance(payload, dict) or not isinstance(payload.get("district"), str):
        raise ValidationError("Expected the district authorised.", field="district")
    start, end = parse_date(payload.get("from"), "from"), parse_date(payload.get("to"), "to")
    if end < start:
        raise ValidationError("The period must end after it starts.", field="to")
    updated = replace(measure, authorisations=(*measure.authorisations,
                                               Authorisation(payload["district"].upper(), start, end)))
    tx = c.control.transaction()
    tx.put_measure(updated)
    tx.add_audit(_audit(operator, c.clock.now(), "measure.authorise_district", measure_id,
                        district=payload["district"].upper()))
    tx.commit()
    return updated


def change_group(measure_id: str, payload: Any, *, operator: Any, c: Any) -> Measure:
    measure = _measure(c, measure_id)
    group = payload.get("group") if isinstance(payload, dict) else None
    if not isinstance(group, str) or not group:
        raise ValidationError("Expected the new group.", field="group")
    known = _known_groups(c, measure.district, peru_today(c.clock.now()).year)
    if known is not None and group not in known:
        raise ValidationError(f"Unknown group; the calendar has {', '.join(sorted(known))}.", field="group")
    updated = measure.change_group(group)
    tx = c.control.transaction()
    tx.put_measure(updated)
    tx.add_audit(_audit(operator, c.clock.now(), "measure.change_group", measure_id, group=group))
    tx.commit()
    return updated


def revoke_measure(measure_id: str, *, operator: Any, c: Any) -> Measure:
    measure = _measure(c, measure_id)
    updated = replace(measure, status="revoked")
    tx = c.control.transaction()
    tx.put_measure(updated)
    tx.add_audit(_audit(operator, c.clock.now(), "measure.revoke", measure_id))
    tx.commit()
    return updated


MEASURE_CSV_COLUMNS = ("has_document", "nationality", "document_type", "document_number", "given_names",
                       "surnames", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
                       "first_registration_deadline", "end_date", "area", "group", "resolution_date")


def import_measures(text: str, *, operator: Any, c: Any) -> dict[str, Any]:
    """Bulk CSV: every row is checked first; nothing is written if any row is wrong."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [col for col in MEASURE_CSV_COLUMNS if col not in (reader.fieldnames or ())]
    if missing:
        raise ValidationError(f"The CSV header lacks columns: {', '.join(missing)}.", field="header",
                              code="missing_columns")
    now = c.clock.now()
    measures, errors = [], []
    for line, row in enumerate(reader, start=2):
        payload = {
            "person": {"has_document": row["has_document"].strip().lower() in ("1", "true", "si", "sí", "yes"),
                       "nationality": row["nationality"], "document_type": row["document_type"],
                       "document_number": row["document_number"], "given_names": row["given_names"],
                       "surnames": row["surnames"]},
            **{k: row[k] for k in ("case_file", "court", "district", "legal_status", "periodicity", "start_date",
                                   "first_registration_deadline", "end_date", "group")},
        }
        if row.get("area"):
            payload["area"] = row["area"]
        if row.get("resolution_date"):
            payload["resolution_date"] = row["resolution_date"]
        try:
            measures.append(parse_measure(payload, measure_id=new_id(), now=now, created_by=operator.subject))
        except ValidationError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
    if errors:
        raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                              code="invalid_rows", details={"errors": errors[:100]})
    for measure in measures:
        tx = c.control.transaction()
        tx.put_measure(measure)
        tx.add_audit(_audit(operator, now, "measure.create", measure.measure_id, via="csv"))
        tx.commit()
    return {"imported": len(measures), "measure_ids": [m.measure_id for m in measures]}


def put_calendar(year: int, district: str, payload: Any, *, operator: Any, c: Any) -> Any:
    calendar = parse_calendar(year, district, payload)
    c.control.put_calendar(calendar)
    c.audit.append(_audit(operator, c.clock.now(), "calendar.put", f"{year}#{calendar.district}"))
    return calendar


def import_warrants(text: str, *, c: Any) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(text))
    needed = ("warrant_id", "given_names", "surnames", "document_number", "issued_by", "issued_on")
    missing = [col for col in needed if col not in (reader.fieldnames or ())]
    if missing:
        raise ValidationError(f"The CSV header lacks columns: {', '.join(missing)}.", field="header",
                              code="missing_columns")
    rows, errors = [], []
    for line, row in enumerate(reader, start=2):
        try:
            person = parse_person({"has_document": bool(row["document_number"].strip()), "document_type": "DNI",
                                   "document_number": row["document_number"], "given_names": row["given_names"],
                                   "surnames": row["surnames"]})
            issued = parse_date(row["issued_on"], "issued_on") if row["issued_on"].strip() else None
            rows.append((Warrant(row["warrant_id"].strip() or new_id(), person.full_name, person.document_number,
                                 row["issued_by"].strip(), issued), person.surnames))
        except ValidationError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
    if errors:
        raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                              code="invalid_rows", details={"errors": errors[:100]})
    for warrant, surnames in rows:
        c.control.put_warrant(warrant, surnames)
    return {"imported": len(rows)}


# --- enrolment (annex 1) ------------------------------------------------------------------------------

ENROLMENT_FIELDS = {"mobile", "has_document", "nationality", "document_type", "document_number", "given_names",
                    "surnames", "address", "language"}


def _window_for(c: Any, measure: Measure, day: date) -> Window | None:
    calendar = c.control.get_calendar(day.year, measure.district)
    window = calendar.current_or_next(measure.group, day, measure.periodicity_months) if calendar else None
    if window is None:
        following = c.control.get_calendar(day.year + 1, measure.district)
        window = following.current_or_next(measure.group, date(day.year + 1, 1, 1),
                                           measure.periodicity_months) if following else None
    return window


def _next_window(c: Any, measure: Measure, window: Window | None) -> Window | None:
    if window is None:
        return None
    calendar = c.control.get_calendar(window.start.year, measure.district)
    following = calendar.next_after(window, measure.periodicity_months) if calendar else None
    if following is None:
        following = _window_for(c, measure, date(window.start.year + 1, 1, 1))
    return following


def enrol(payload: Any, *, owner: str, c: Any) -> tuple[Enrolment, Measure, Window | None]:
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - ENROLMENT_FIELDS)
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    mobile = str(payload.get("mobile", "")).replace(" ", "")
    if not mobile.lstrip("+").isdigit() or not 9 <= len(mobile.lstrip("+")) <= 15:
        raise ValidationError("Expected a mobile number such as +51987654321.", field="mobile")
    address = str(payload.get("address", "")).strip()
    if not 5 <= len(address) <= 200:
        raise ValidationError("Expected an address of 5 to 200 characters.", field="address")
    language = payload.get("language", "es")
    if language not in ("es", "en"):
        raise ValidationError("Expected \"es\" or \"en\".", field="language")
    person = parse_person(payload)
    if person.has_document:
        measures = c.control.active_measures_for_document(person.document_type, person.document_number)
    else:
        # No document: the court's record is found by the full name; the photo and the officer's first
        # registration then confirm who they are.
        measures = c.control.active_measures_without_document(person.full_name)
    if not measures:
        raise DomainError("We found no court measure for this person. Check the data, or contact the court "
                          "that imposed your rules of conduct.", code="no_measure",
                          field="document_number" if person.has_document else "given_names")
    # Several open cases: the newest measure is the one this enrolment follows (the court can relink).
    measure = max(measures, key=lambda m: m.created_at)
    if normalise_name(measure.person.full_name) != normalise_name(person.full_name):
        raise DomainError("The names do not match the court's record for this document.", code="names_mismatch",
                          field="given_names")
    existing = c.control.get_enrolment(owner)
    now = c.clock.now()
    enrolment = Enrolment(owner=owner, measure_id=measure.measure_id, mobile=mobile, address=address,
                          language=language, enrolled_at=now,
                          photo_key=existing.photo_key if existing else None,
                          version=existing.version if existing else 0)
    tx = c.control.transaction()
    tx.put_enrolment(enrolment)
    if existing is None:
        tx.add_event(Event(new_id(), "control.enrolled", measure.measure_id, now,
                           {"owner": owner, "district": measure.district}))
    tx.commit()
    window = _window_for(c, measure, max(peru_today(now), measure.start_date))
    return c.control.get_enrolment(owner), measure, window


def needs_photo(measure: Measure) -> bool:
    """People without an identity document and foreigners send a first-registration photo."""
    return not measure.person.has_dni


def upload_enrolment_photo(raw: bytes, *, owner: str, c: Any) -> Enrolment:
    enrolment = c.control.get_enrolment(owner)
    if enrolment is None:
        raise NotFound("You are not enrolled yet.")
    image = _image(raw)
    key = f"control/enrolments/{new_id()}.jpg"
    c.storage.put(key, image, "image/jpeg")
    updated = replace(enrolment, photo_key=key)
    tx = c.control.transaction()
    tx.put_enrolment(updated)
    tx.commit()
    return updated


def _image(raw: bytes) -> bytes:
    if not raw:
        raise ValidationError("Expected the photo as the request body.", field="photo", code="missing_body")
    if len(raw) > MAX_PHOTO_BYTES:
        raise ValidationError("The photo is larger than 5 MB.", field="photo", code="too_large")
    if not (raw.startswith(b"\xff\xd8") or raw.startswith(b"\x89PNG") or raw[4:8] == b"ftyp"):
        raise ValidationError("Expected a JPEG or PNG photo, or an MP4 video note.", field="photo",
                              code="unsupported_media")
    return raw


# --- the check-in pipeline (section 7.2, annex 3) -------------------------------------------------------

def _current_measure(c: Any, owner: str) -> tuple[Enrolment, Measure]:
    enrolment = c.control.get_enrolment(owner)
    if enrolment is None:
        raise DomainError("You are not enrolled for virtual control yet.", code="not_enrolled")
    measure = c.control.get_measure(enrolment.measure_id)
    while measure is not None and measure.status == "superseded" and measure.superseded_by:
        measure = c.control.get_measure(measure.superseded_by)
    if measure is None or measure.status != "active":
        raise DomainError("Your measure is not active: there is nothing to report. Contact the court if in doubt.",
                          code="measure_not_active")
    return enrolment, measure


def start_checkin(*, owner: str, c: Any) -> tuple[Checkin, Window]:
    enrolment, measure = _current_measure(c, owner)
    now = c.clock.now()
    today = peru_today(now)
    window = _window_for(c, measure, max(today, measure.start_date))
    if window is None or not window.contains(today) or today > measure.end_date:
        raise DomainError("Today is outside your check-in window.", code="outside_window",
                          details={"next_window": window_view(window)})
    if c.control.registration(measure.measure_id, window.key) is not None:
        raise DomainError("Your attendance for this period is already registered.", code="already_registered",
                          details={"next_window": window_view(_next_window(c, measure, window))})
    checkin = Checkin(checkin_id=new_id(), measure_id=measure.measure_id, owner=owner, window_key=window.key,
                      started_at=now, step=CheckinStep.LOCATION).record(now, "started", window=window.key)
    tx = c.control.transaction()
    tx.put_checkin(checkin)
    tx.commit()
    return checkin, window


def window_view(window: Window | None) -> dict[str, str] | None:
    return {"start": window.start.isoformat(), "end": window.end.isoformat(), "group": window.group} \
        if window else None


def _owned_checkin(c: Any, checkin_id: str, owner: str, *steps: CheckinStep) -> tuple[Checkin, Measure]:
    checkin = c.control.get_checkin(checkin_id)
    if checkin is None or checkin.owner != owner:
        raise NotFound("No such check-in.")
    if checkin.step not in steps:
        raise DomainError(f"This check-in is waiting for another step ({checkin.step.value}).",
                          code="wrong_step", details={"step": checkin.step.value})
    measure = c.control.get_measure(checkin.measure_id)
    if measure is None or measure.status != "active":
        raise DomainError("Your measure is not active.", code="measure_not_active")
    return checkin, measure


def _save(c: Any, checkin: Checkin, *incidents: Incident, events: tuple[Event, ...] = ()) -> None:
    tx = c.control.transaction()
    tx.put_checkin(checkin)
    for incident in incidents:
        tx.put_incident(incident)
        tx.add_event(Event(new_id(), "control.incident", incident.incident_id, incident.created_at,
                           {"type": incident.type.value, "district": incident.district}))
    for event in events:
        tx.add_event(event)
    tx.commit()


def _incident(c: Any, measure: Measure, kind: IncidentType, checkin: Checkin | None, observations: str,
              addressed_to: tuple[str, ...]) -> Incident:
    now = c.clock.now()
    person = measure.person
    return Incident(
        incident_id=new_id(), type=kind, district=measure.district, day=peru_today(now), created_at=now,
        measure_id=measure.measure_id, full_name=person.full_name,
        identity_document=f"{person.document_type} {person.document_number}" if person.has_document
        else "Sin documento", case_file=measure.case_file, court=measure.court, detail=INCIDENT_DETAIL[kind],
        observations=observations, addressed_to=addressed_to, checkin_id=checkin.checkin_id if checkin else None)


def submit_location(checkin_id: str, payload: Any, *, owner: str, c: Any) -> dict[str, Any]:
    checkin, measure = _owned_checkin(c, checkin_id, owner, CheckinStep.LOCATION, CheckinStep.FRESH_LOCATION)
    now = c.clock.now()
    try:
        location = parse_location(payload, now, c.control_rules.location_max_age_seconds)
    except DomainError as refused:
        # The refusal is evidence too; the person may send a proper live location.
        _save(c, checkin.record(now, "location_refused", reason=refused.code))
        raise
    checkin = replace(checkin, location=location).record(now, "location", **location)
    if checkin.step is CheckinStep.FRESH_LOCATION:
        return _after_identity(c, checkin, measure)
    checkin = replace(checkin, step=CheckinStep.SELFIE)
    _save(c, checkin)
    return _answer(checkin, "send_selfie")


def submit_selfie(checkin_id: str, raw: bytes, kind: str, *, owner: str, c: Any) -> dict[str, Any]:
    checkin, measure = _owned_checkin(c, checkin_id, owner, CheckinStep.SELFIE)
    image = _image(raw)
    now = c.clock.now()
    key = f"control/checkins/{checkin.checkin_id}/selfie-{len(checkin.evidence)}"
    c.storage.put(key, image, "video/mp4" if kind == "video_note" else "image/jpeg")
    enrolment = c.control.get_enrolment(owner)
    reference = c.storage.get(enrolment.photo_key) if enrolment and enrolment.photo_key else None
    match = c.face_matcher().compare(reference, image) if reference else None
    checkin = checkin.record(now, "selfie", storage_key=key, kind=kind,
                             face_result=match.reason if match else "no_reference_photo",
                             similarity=match.similarity if match else None)
    if match is not None and match.conclusive and match.matched:
        return _after_identity(c, replace(checkin, identity="face_match"), measure)
    checkin = replace(checkin, step=CheckinStep.QUESTIONS)
    _save(c, checkin)
    return {**_answer(checkin, "answer_questions"), "questions": questions_for(measure)}


def _same_name(a: str, b: str) -> bool:
    return bool(a.strip()) and normalise_name(a) == normalise_name(b)


def _answers_hold(c: Any, measure: Measure, answers: dict[str, Any]) -> bool:
    person = measure.person
    if person.has_dni and person.document_number:
        record = c.identity.lookup("DNI", person.document_number)
        if record is None:
            return False
        parents = str(answers.get("parents_names", ""))
        parents_ok = all(normalise_name(p) and set(normalise_name(p).split()) <= set(normalise_name(parents).split())
                         for p in (record.father_name, record.mother_name) if p)
        return (parents_ok and bool(record.father_name or record.mother_name)
                and str(answers.get("dni_issue_date")) == (record.issue_date.isoformat() if record.issue_date else "")
                and str(answers.get("dni_expiry_date")) == (record.expiry_date.isoformat()
                                                            if record.expiry_date else "")
                and str(answers.get("dni_check_character", "")).strip().upper()
                in dni_check_characters(person.document_number))
    given = {normalise_name(n) for n in str(answers.get("other_names", "")).split(",") if n.strip()}
    expected = {normalise_name(n) for n in measure.other_names}
    return (measure.resolution_date is not None
            and str(answers.get("resolution_date")) == measure.resolution_date.isoformat()
            and given == expected)


def submit_answers(checkin_id: str, payload: Any, *, owner: str, c: Any) -> dict[str, Any]:
    checkin, measure = _owned_checkin(c, checkin_id, owner, CheckinStep.QUESTIONS)
    answers = payload.get("answers") if isinstance(payload, dict) else None
    if not isinstance(answers, dict):
        raise ValidationError("Expected {\"answers\": {...}}.", field="answers")
    missing = [q for q in questions_for(measure) if not str(answers.get(q, "")).strip()]
    if missing:
        raise ValidationError("Please answer every question.", field=missing[0], code="missing_field")
    now = c.clock.now()
    try:
        holds = _answers_hold(c, measure, answers)
    except RegistryUnavailable as down:  # contingency hook (issue 6, annex 5)
        return _contingency(c, checkin, measure, down, answers)
    if not holds:
        checkin = replace(checkin, step=CheckinStep.ENDED, outcome="impersonation").record(
            now, "questions", result="failed")
        incident = _incident(c, measure, IncidentType.IMPERSONATION, checkin,
                             "Preguntas de validación no conformes (anexo 3 b).", ("court", "cvp_head"))
        _save(c, checkin, incident)
        return _answer(checkin, "annex3.c")
    checkin = replace(checkin, identity="questions").record(now, "questions", result="passed")
    return _after_identity(c, checkin, measure)


def _after_identity(c: Any, checkin: Checkin, measure: Measure) -> dict[str, Any]:
    """Identity is validated: the place restriction, the warrant check, then the registration."""
    now = c.clock.now()
    location = checkin.location or {}
    today = peru_today(now)
    lat, lon, accuracy = location["latitude"], location["longitude"], location["accuracy_m"]
    verdict, distance = check_place(measure.permitted_area(), lat, lon, accuracy)
    if verdict in (PlaceVerdict.OUTSIDE, PlaceVerdict.BORDERLINE):
        # A court may authorise reporting from another district for a period: inside it counts as inside.
        for district in sorted(measure.authorised_districts(today) - {measure.district}):
            named = gazetteer().get(district)
            if named and check_place(area_of(named["geometry"]), lat, lon, accuracy)[0] is PlaceVerdict.INSIDE:
                verdict = PlaceVerdict.INSIDE
                break
    checkin = checkin.record(now, "place", result=verdict.value, distance_m=round(distance))
    if verdict is PlaceVerdict.BORDERLINE and checkin.borderline_attempts + 1 < MAX_BORDERLINE:
        checkin = replace(checkin, step=CheckinStep.FRESH_LOCATION, borderline_attempts=checkin.borderline_attempts + 1)
        _save(c, checkin)
        return {**_answer(checkin, "annex3.d"), "place": measure.area_label}
    if verdict in (PlaceVerdict.OUTSIDE, PlaceVerdict.BORDERLINE):
        checkin = replace(checkin, step=CheckinStep.ENDED, outcome="out_of_area")
        note = "Fuera del área permitida" if verdict is PlaceVerdict.OUTSIDE else \
            f"Ubicación en el límite del área tras {MAX_BORDERLINE} intentos"
        incident = _incident(c, measure, IncidentType.OUT_OF_AREA, checkin,
                             f"{note} ({measure.area_label}); distancia al límite ≈ {round(distance)} m.",
                             ("court", "cvp_head"))
        _save(c, checkin, incident)
        return _answer(checkin, "annex3.e")
    incidents = []
    try:
        warrants = c.control.possible_warrants(measure.person.document_number, measure.person.full_name,
                                               measure.person.surnames, c.control_rules.warrant_name_threshold)
    except RegistryUnavailable as down:  # contingency hook (issue 6, annex 5)
        return _contingency(c, checkin, measure, down, None)
    # The warrant check is evidence for officers only; the person's answer is the same either way.
    checkin = checkin.record(now, "warrant_check", possible=bool(warrants))
    if warrants:
        incidents.append(_incident(c, measure, IncidentType.WARRANT, checkin,
                                   "Coincidencia en requisitorias: " + "; ".join(
                                       f"{w.warrant_id} ({w.issued_by})" for w in warrants),
                                   ("police", "cvp_head")))
    document_id = new_id()
    checkin = replace(checkin, step=CheckinStep.DONE, outcome="registered", document_id=document_id).record(
        now, "registered")
    tx = c.control.transaction()
    tx.add_registration(measure.measure_id, checkin.window_key,
                        {"checkin_id": checkin.checkin_id, "at": now.isoformat(), "document_id": document_id})
    tx.put_checkin(checkin)
    for incident in incidents:
        tx.put_incident(incident)
        tx.add_event(Event(new_id(), "control.incident", incident.incident_id, now,
                           {"type": incident.type.value, "district": incident.district}))
    tx.add_event(Event(new_id(), "control.registered", checkin.checkin_id, now, {"owner": checkin.owner}))
    try:
        tx.commit()
    except AlreadyExists:
        raise DomainError("Your attendance for this period is already registered.",
                          code="already_registered") from None
    window = _window_for(c, measure, today)
    following = _next_window(c, measure, window) if window else None
    return {**_answer(checkin, "annex3.f"), "next_window": window_view(following)}


def _contingency(c: Any, checkin: Checkin, measure: Measure, down: RegistryUnavailable,
                 answers: dict[str, Any] | None) -> dict[str, Any]:
    """Contingency hook (issue 6, annex 5): a registry did not answer, so the check-in is held with what the
    person sent and completed on recovery; services/control_ops does the work."""
    from .control_ops import hold_for_contingency

    return hold_for_contingency(c, checkin, measure, down, answers)


def _answer(checkin: Checkin, message: str) -> dict[str, Any]:
    return {"checkin_id": checkin.checkin_id, "step": checkin.step.value, "message": message,
            "outcome": checkin.outcome}


def checkin_view(checkin: Checkin) -> dict[str, Any]:
    """What the person sees: never the warrant check."""
    return {"checkin_id": checkin.checkin_id, "step": checkin.step.value, "outcome": checkin.outcome,
            "window": checkin.window_key, "started_at": checkin.started_at.isoformat(),
            "document_id": checkin.document_id if checkin.outcome == "registered" else None}


def compliance(measure_id: str, *, operator: Any, c: Any) -> dict[str, Any]:
    measure = _measure(c, measure_id)
    c.audit.append(_audit(operator, c.clock.now(), "measure.read_compliance", measure_id))
    checkins = c.control.checkins_of_measure(measure_id)
    incidents = c.control.incidents_of_measure(measure_id)
    return {
        "measure_id": measure.measure_id, "case_file": measure.case_file, "court": measure.court,
        "person": measure.person.full_name, "status": measure.status, "group": measure.group,
        "superseded_by": measure.superseded_by,
        "checkins": [{"checkin_id": k.checkin_id, "window": k.window_key, "started_at": k.started_at.isoformat(),
                      "step": k.step.value, "outcome": k.outcome, "identity": k.identity,
                      "evidence": list(k.evidence), "document_id": k.document_id} for k in checkins],
        "incidents": [{"incident_id": i.incident_id, "type": i.type.value, "day": i.day.isoformat(),
                       "detail": i.detail, "observations": i.observations, "status": i.status} for i in incidents],
    }


def decode_photo(body: Any) -> bytes:
    """Photos travel as raw bodies; JSON clients may send {"photo_base64": ...}."""
    if isinstance(body, dict) and isinstance(body.get("photo_base64"), str):
        try:
            return base64.b64decode(body["photo_base64"], validate=True)
        except ValueError:
            raise ValidationError("Expected base64.", field="photo_base64") from None
    raise ValidationError("Expected the photo.", field="photo")

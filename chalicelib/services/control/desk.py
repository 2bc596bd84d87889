"""The CVP head's desk and the officer's hand: the district's open incidents by type, name-only warrant matches
that wait for a person before the police are told, incidents recorded by hand with the annex 4 fields, and who
reports in each group of the calendar."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ...domain.control.incidents import Incident, IncidentType, new_incident
from ...domain.control.people import parse_district
from ...domain.control.ports import Incidents, Markers, Measures, Officers, UnitOfWork
from ...domain.errors import DomainError, NotFound, ValidationError
from ...domain.identity import parse_date
from ...domain.operators import Operator
from ...domain.pages import After
from ...domain.ports import AuditLog, Clock
from ...domain.requests import new_id
from .cases import own_case
from .common import audit_entry, peru_today, retrying
from .incidents import incident_view, record

AWAITING_REVIEW = "awaiting_review"  # a possible warrant matched by name only: a person decides before the police
# Incidents an officer records by hand (annex 4); missed check-ins and contingencies are the system's own.
MANUAL_TYPES = (IncidentType.IMPERSONATION, IncidentType.OUT_OF_AREA, IncidentType.WARRANT)


def open_incidents(district: str, *, operator: Operator, incidents: Incidents, audit: AuditLog, clock: Clock,
                   limit: int = 100, after: After = None) -> tuple[dict[str, Any], After]:
    """A page of the district's incidents not closed yet (any day, oldest first), the count of each type and the
    warrant matches waiting for the CVP head among them; and where the next page starts (None: no more). Each
    page read is audited."""
    district = parse_district(district)
    operator.require_district(district)
    found, last = incidents.open_page(district, limit, after)
    audit.append(audit_entry(operator, clock.now(), "cvp.open_incidents_read", district, count=len(found)))
    by_type = Counter(i.type.value for i in found)
    return {"district": district, "counts": {t.value: by_type.get(t.value, 0) for t in IncidentType},
            "items": [incident_view(i) for i in found],
            "warrants_awaiting": [incident_view(i) for i in found if i.status == AWAITING_REVIEW]}, last


def decide_warrant(incident_id: str, payload: Any, *, operator: Operator, incidents: Incidents, markers: Markers,
                   uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """A name-only warrant match: "confirmed" forwards it to the designated police contact (procedure 5.3 c);
    "dismissed" (not the same person) closes it with the reason. Either way once, and audited."""
    decision = payload.get("decision") if isinstance(payload, dict) else None
    if decision not in ("confirmed", "dismissed"):
        raise ValidationError("Expected confirmed or dismissed.", field="decision")
    note = payload.get("note", "") if isinstance(payload, dict) else ""
    if not isinstance(note, str) or not 5 <= len(note.strip()) <= 500:
        raise ValidationError("Expected the reason, 5 to 500 characters.", field="note")
    now = clock.now()

    def write() -> Incident:
        incident = incidents.get_incident(incident_id)
        if incident is None or not operator.covers_district(incident.district):
            raise NotFound("No such incident.")
        if incident.type is not IncidentType.WARRANT or incident.status != AWAITING_REVIEW:
            raise DomainError("This incident is not waiting for a decision.", code="not_awaiting_review")
        tx = uow.begin()
        if decision == "confirmed":
            decided = replace(incident, status="open",
                              observations=f"{incident.observations} Confirmada por el Encargado del CVP: "
                                           f"{note.strip()}")
            record(tx, decided)  # its event forwards it to the police, the CVP head in copy
        else:
            decided = replace(incident, status="closed")
            tx.put_incident(decided)
            tx.claim(f"incident-closed#{incident_id}", {"by": operator.subject, "at": now.isoformat(),
                                                        "note": note.strip()}, ttl=timedelta(days=3650))
        tx.add_audit(audit_entry(operator, now, f"warrant.{decision}", incident_id, note=note.strip()))
        tx.commit()
        return decided

    decided = retrying(write)
    closure = markers.marker(f"incident-closed#{incident_id}") if decided.status == "closed" else None
    return incident_view(decided, closure)


def record_incident(measure_id: str, payload: Any, *, operator: Operator, officers: Officers, measures: Measures,
                    uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """An officer records an incident by hand (annex 4): its type, the day, the detail and observations; the
    person's data come from the court's record. A possible warrant waits for the CVP head like a name-only
    match; the others are forwarded at once."""
    if not isinstance(payload, dict):
        raise ValidationError("Expected the incident's fields.", field="type", code="invalid_body")
    allowed = [t.value for t in MANUAL_TYPES]
    if payload.get("type") not in allowed:
        raise ValidationError(f"Expected one of {', '.join(allowed)}.", field="type")
    kind = IncidentType(payload["type"])
    observations = payload.get("observations")
    if not isinstance(observations, str) or not 5 <= len(observations.strip()) <= 1000:
        raise ValidationError("Describe what happened, 5 to 1000 characters.", field="observations")
    now = clock.now()
    today = peru_today(now)
    day: date = parse_date(payload["day"], "day") if payload.get("day") else today
    if day > today or day < today - timedelta(days=31):
        raise ValidationError("Expected a day of the last month, not in the future.", field="day")
    _, measure = own_case(measure_id, operator, measures=measures, officers=officers)
    text = " ".join(observations.split()) + f" (registrada por el encargado de atención {operator.subject})"
    incident = new_incident(new_id(), kind, measure, now, text, day=day)
    if kind is IncidentType.WARRANT:
        incident = replace(incident, status=AWAITING_REVIEW)
    tx = uow.begin()
    record(tx, incident)
    tx.add_audit(audit_entry(operator, now, "incident.record", incident.incident_id, type=kind.value,
                             measure_id=measure.measure_id))
    tx.commit()
    return incident_view(incident)


def group_members(year: int, district: str, *, operator: Operator, measures: Measures, audit: AuditLog,
                  clock: Clock) -> dict[str, list[dict[str, Any]]]:
    """Who reports in each group of the district's calendar: the active measures, by group (audited)."""
    district = parse_district(district)
    operator.require_district(district)
    members: dict[str, list[dict[str, Any]]] = {}
    for measure in measures.active_measures_of_district(district):
        if measure.start_date.year > year or measure.end_date.year < year:
            continue
        members.setdefault(measure.group, []).append({
            "measure_id": measure.measure_id, "full_name": measure.person.full_name,
            "identity_document": measure.person.identity_document, "case_file": measure.case_file,
            "periodicity_months": measure.periodicity_months, "enrolled": measure.linked_owner is not None})
    for people in members.values():
        people.sort(key=lambda p: p["full_name"])
    audit.append(audit_entry(operator, clock.now(), "calendar.members_read", f"{year}#{district}",
                             count=sum(len(p) for p in members.values())))
    return dict(sorted(members.items()))

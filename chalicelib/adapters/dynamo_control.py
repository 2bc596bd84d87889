"""Virtual-control records over DynamoDB: measures, enrolments, check-ins, registrations, incidents,
warrants and calendars; key lookups and index queries only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.connection import Connection

from ..domain.control import (
    Authorisation,
    Calendar,
    Checkin,
    CheckinStep,
    Enrolment,
    Incident,
    IncidentType,
    Measure,
    Person,
    Warrant,
    Window,
)
from ..domain.matching import blocking_keys, name_similarity, normalise_name
from . import dynamo_models as m
from .dynamo_store import DynamoTransaction, translate_errors


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def measure_to_model(measure: Measure) -> m.MeasureModel:
    p = measure.person
    body = {
        "person": {"has_document": p.has_document, "nationality": p.nationality, "document_type": p.document_type,
                   "document_number": p.document_number, "given_names": p.given_names, "surnames": p.surnames},
        "case_file": measure.case_file, "court": measure.court, "district": measure.district,
        "legal_status": measure.legal_status, "periodicity_months": measure.periodicity_months,
        "start_date": measure.start_date.isoformat(),
        "first_registration_deadline": measure.first_registration_deadline.isoformat(),
        "end_date": measure.end_date.isoformat(),
        "resolution_date": measure.resolution_date.isoformat() if measure.resolution_date else None,
        "other_names": list(measure.other_names), "area": measure.area, "area_label": measure.area_label,
        "group": measure.group, "created_at": _iso(measure.created_at), "created_by": measure.created_by,
        "status": measure.status, "superseded_by": measure.superseded_by, "group_changed": measure.group_changed,
        "authorisations": [{"district": a.district, "from": a.valid_from.isoformat(), "to": a.valid_to.isoformat()}
                           for a in measure.authorisations],
    }
    # Active measures are found by document; people with none, by their normalised full name.
    key = None
    if measure.status == "active":
        key = f"{p.document_type}#{p.document_number}" if p.document_number else f"NAME#{normalise_name(p.full_name)}"
    item = m.MeasureModel(measure.measure_id, document_key=key, body=body)
    if measure.version:
        item.version = measure.version
    return item


def measure_from_model(item: m.MeasureModel) -> Measure:
    b = item.body
    p = b["person"]
    return Measure(
        measure_id=item.measure_id,
        person=Person(p["has_document"], p["nationality"], p["document_type"], p["document_number"],
                      p["given_names"], p["surnames"]),
        case_file=b["case_file"], court=b["court"], district=b["district"], legal_status=b["legal_status"],
        periodicity_months=b["periodicity_months"], start_date=date.fromisoformat(b["start_date"]),
        first_registration_deadline=date.fromisoformat(b["first_registration_deadline"]),
        end_date=date.fromisoformat(b["end_date"]), resolution_date=_day(b.get("resolution_date")),
        other_names=tuple(b.get("other_names", ())), area=b.get("area"), area_label=b.get("area_label"),
        group=b["group"], created_at=datetime.fromisoformat(b["created_at"]), created_by=b["created_by"],
        status=b["status"], superseded_by=b.get("superseded_by"), group_changed=b.get("group_changed", False),
        authorisations=tuple(Authorisation(a["district"], date.fromisoformat(a["from"]), date.fromisoformat(a["to"]))
                             for a in b.get("authorisations", ())),
        version=int(item.version or 0))


def enrolment_to_model(e: Enrolment) -> m.EnrolmentModel:
    item = m.EnrolmentModel(e.owner, measure_id=e.measure_id, body={
        "mobile": e.mobile, "address": e.address, "language": e.language, "enrolled_at": _iso(e.enrolled_at),
        "photo_key": e.photo_key, "officer": e.officer})
    if e.version:
        item.version = e.version
    return item


def enrolment_from_model(item: m.EnrolmentModel) -> Enrolment:
    b = item.body
    return Enrolment(owner=item.owner, measure_id=item.measure_id, mobile=b["mobile"], address=b["address"],
                     language=b.get("language", "es"), enrolled_at=datetime.fromisoformat(b["enrolled_at"]),
                     photo_key=b.get("photo_key"), officer=b.get("officer"), version=int(item.version or 0))


def checkin_to_model(c: Checkin) -> m.CheckinModel:
    item = m.CheckinModel(c.checkin_id, measure_id=c.measure_id, started_at=_iso(c.started_at), body={
        "owner": c.owner, "window_key": c.window_key, "step": c.step.value, "evidence": list(c.evidence),
        "location": c.location, "identity": c.identity, "borderline_attempts": c.borderline_attempts,
        "outcome": c.outcome, "document_id": c.document_id})
    if c.version:
        item.version = c.version
    return item


def checkin_from_model(item: m.CheckinModel) -> Checkin:
    b = item.body
    return Checkin(checkin_id=item.checkin_id, measure_id=item.measure_id, owner=b["owner"],
                   window_key=b["window_key"], started_at=datetime.fromisoformat(item.started_at),
                   step=CheckinStep(b["step"]), evidence=tuple(b.get("evidence", ())), location=b.get("location"),
                   identity=b.get("identity"), borderline_attempts=b.get("borderline_attempts", 0),
                   outcome=b.get("outcome"), document_id=b.get("document_id"), version=int(item.version or 0))


def incident_to_model(i: Incident) -> m.IncidentModel:
    item = m.IncidentModel(i.incident_id, district_day=f"{i.district}#{i.day.isoformat()}",
                           created_at=_iso(i.created_at), measure_id=i.measure_id, body={
                               "type": i.type.value, "district": i.district, "day": i.day.isoformat(),
                               "full_name": i.full_name, "identity_document": i.identity_document,
                               "case_file": i.case_file, "court": i.court, "detail": i.detail,
                               "observations": i.observations, "addressed_to": list(i.addressed_to),
                               "status": i.status, "notified": list(i.notified), "checkin_id": i.checkin_id})
    if i.version:
        item.version = i.version
    return item


def incident_from_model(item: m.IncidentModel) -> Incident:
    b = item.body
    return Incident(incident_id=item.incident_id, type=IncidentType(b["type"]), district=b["district"],
                    day=date.fromisoformat(b["day"]), created_at=datetime.fromisoformat(item.created_at),
                    measure_id=item.measure_id, full_name=b["full_name"], identity_document=b["identity_document"],
                    case_file=b["case_file"], court=b["court"], detail=b["detail"], observations=b["observations"],
                    addressed_to=tuple(b["addressed_to"]), status=b["status"], notified=tuple(b.get("notified", ())),
                    checkin_id=b.get("checkin_id"), version=int(item.version or 0))


class DynamoControlStore:
    def __init__(self, region: str, host: str | None) -> None:
        self._connection = Connection(region=region, host=host, connect_timeout_seconds=2,
                                      read_timeout_seconds=5, max_retry_attempts=1)

    def transaction(self) -> ControlTransaction:
        return ControlTransaction(self._connection)

    @translate_errors
    def get_measure(self, measure_id: str) -> Measure | None:
        if not measure_id or len(measure_id) > 64:
            return None
        try:
            return measure_from_model(m.MeasureModel.get(measure_id, consistent_read=True))
        except m.MeasureModel.DoesNotExist:
            return None

    @translate_errors
    def active_measures_for_document(self, document_type: str, number: str) -> list[Measure]:
        found = [self.get_measure(k.measure_id) for k in m.MeasureModel.by_document.query(f"{document_type}#{number}")]
        return [x for x in found if x is not None and x.status == "active"]

    @translate_errors
    def active_measures_without_document(self, full_name: str) -> list[Measure]:
        found = [self.get_measure(k.measure_id)
                 for k in m.MeasureModel.by_document.query(f"NAME#{normalise_name(full_name)}")]
        return [x for x in found if x is not None and x.status == "active" and not x.person.has_document]

    @translate_errors
    def get_enrolment(self, owner: str) -> Enrolment | None:
        try:
            return enrolment_from_model(m.EnrolmentModel.get(owner, consistent_read=True))
        except m.EnrolmentModel.DoesNotExist:
            return None

    @translate_errors
    def enrolments_of_measure(self, measure_id: str) -> list[Enrolment]:
        found = [self.get_enrolment(k.owner) for k in m.EnrolmentModel.by_measure.query(measure_id)]
        return [e for e in found if e is not None and e.measure_id == measure_id]

    @translate_errors
    def get_checkin(self, checkin_id: str) -> Checkin | None:
        if not checkin_id or len(checkin_id) > 64:
            return None
        try:
            return checkin_from_model(m.CheckinModel.get(checkin_id, consistent_read=True))
        except m.CheckinModel.DoesNotExist:
            return None

    @translate_errors
    def checkins_of_measure(self, measure_id: str, limit: int = 100) -> list[Checkin]:
        keys = m.CheckinModel.by_measure.query(measure_id, scan_index_forward=False, limit=limit)
        found = [self.get_checkin(k.checkin_id) for k in keys]
        return [c for c in found if c is not None]

    @translate_errors
    def registration(self, measure_id: str, window_key: str) -> dict[str, Any] | None:
        try:
            item = m.RegistrationModel.get(f"{measure_id}#{window_key}", consistent_read=True)
        except m.RegistrationModel.DoesNotExist:
            return None
        return dict(item.body)

    @translate_errors
    def incidents_of_measure(self, measure_id: str) -> list[Incident]:
        keys = list(m.IncidentModel.by_measure.query(measure_id))
        return [incident_from_model(i) for i in m.IncidentModel.batch_get([k.incident_id for k in keys])]

    @translate_errors
    def incidents_of_day(self, district: str, day: date) -> list[Incident]:
        keys = list(m.IncidentModel.by_district_day.query(f"{district}#{day.isoformat()}"))
        found = [incident_from_model(i) for i in m.IncidentModel.batch_get([k.incident_id for k in keys])]
        return sorted(found, key=lambda i: i.created_at)

    @translate_errors
    def get_calendar(self, year: int, district: str) -> Calendar | None:
        try:
            body = m.CalendarModel.get(f"{year}#{district}").body
        except m.CalendarModel.DoesNotExist:
            return None
        groups = {g: tuple(Window(g, w["period"], date.fromisoformat(w["start"]), date.fromisoformat(w["end"]))
                           for w in ws) for g, ws in body["groups"].items()}
        return Calendar(year=year, district=district, groups=groups)

    @translate_errors
    def put_calendar(self, calendar: Calendar) -> None:
        body = {"groups": {g: [{"period": w.period, "start": w.start.isoformat(), "end": w.end.isoformat()}
                               for w in ws] for g, ws in calendar.groups.items()}}
        m.CalendarModel(f"{calendar.year}#{calendar.district}", body=body).save()

    @translate_errors
    def put_warrant(self, warrant: Warrant, surnames: str) -> None:
        m.WarrantModel(warrant.warrant_id, document_number=warrant.document_number or None, body={
            "full_name": warrant.full_name, "issued_by": warrant.issued_by,
            "issued_on": warrant.issued_on.isoformat() if warrant.issued_on else None}).save()
        with m.WarrantNameIndexModel.batch_write() as batch:
            for key in blocking_keys(surnames):
                batch.save(m.WarrantNameIndexModel(key, warrant.warrant_id))

    @translate_errors
    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        """By document number, then by name: a similar name is a *possible* warrant for a human to check."""
        found: dict[str, Warrant] = {}
        if document_number:
            for item in m.WarrantModel.by_document.query(document_number):
                found[item.warrant_id] = _warrant(item)
        ids = {e.warrant_id for key in sorted(blocking_keys(surnames)) for e in m.WarrantNameIndexModel.query(key)}
        ids -= set(found)
        if ids:
            for item in m.WarrantModel.batch_get(sorted(ids)):
                warrant = _warrant(item)
                if name_similarity(full_name, warrant.full_name) >= name_threshold:
                    found[warrant.warrant_id] = warrant
        return list(found.values())


def _warrant(item: m.WarrantModel) -> Warrant:
    b = item.body
    return Warrant(item.warrant_id, b["full_name"], item.document_number, b["issued_by"], _day(b.get("issued_on")))


class ControlTransaction(DynamoTransaction):
    def put_measure(self, measure: Measure) -> None:
        self.put_item("measure", measure_to_model(measure))

    def put_enrolment(self, enrolment: Enrolment) -> None:
        self.put_item("enrolment", enrolment_to_model(enrolment))

    def put_checkin(self, checkin: Checkin) -> None:
        self.put_item("checkin", checkin_to_model(checkin))

    def add_registration(self, measure_id: str, window_key: str, body: dict[str, Any]) -> None:
        item = m.RegistrationModel(f"{measure_id}#{window_key}", measure_id=measure_id, body=body)
        self.put_item("registration", item, m.RegistrationModel.key.does_not_exist())

    def put_incident(self, incident: Incident) -> None:
        self.put_item("incident", incident_to_model(incident))


def replace_version(measure: Measure, version: int) -> Measure:
    return replace(measure, version=version)

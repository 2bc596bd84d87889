"""Measures, enrolments (with link attempts and unmatched enrolments) and calendars over DynamoDB."""

from __future__ import annotations

from datetime import date
from typing import Any

from ...domain.control.calendar import Calendar, Window
from ...domain.control.enrolment import Enrolment, LinkAttempt, UnmatchedEnrolment
from ...domain.control.measures import Authorisation, Measure
from ...domain.control.people import Person
from .. import dynamo_models as m
from ..dynamo_pages import key_page
from ..dynamo_store import translate_errors
from .codec import day, dt, hashed, iso, iso_or_none, valid_id

MEASURE_KEY_PREFIX = "measure-key#"


def person_to_dict(p: Person) -> dict[str, Any]:
    return {"has_document": p.has_document, "nationality": p.nationality, "document_type": p.document_type,
            "document_number": p.document_number, "given_names": p.given_names, "surnames": p.surnames}


def person_from_dict(p: dict[str, Any]) -> Person:
    return Person(p["has_document"], p["nationality"], p["document_type"], p["document_number"], p["given_names"],
                  p["surnames"])


def measure_to_model(measure: Measure) -> m.MeasureModel:
    body = {
        "person": person_to_dict(measure.person),
        "case_file": measure.case_file, "court": measure.court, "district": measure.district,
        "legal_status": measure.legal_status, "periodicity_months": measure.periodicity_months,
        "start_date": measure.start_date.isoformat(),
        "first_registration_deadline": measure.first_registration_deadline.isoformat(),
        "end_date": measure.end_date.isoformat(),
        "resolution_date": measure.resolution_date.isoformat() if measure.resolution_date else None,
        "other_names": list(measure.other_names), "area": measure.area, "area_label": measure.area_label,
        "group": measure.group, "created_at": iso(measure.created_at), "created_by": measure.created_by,
        "status": measure.status, "superseded_by": measure.superseded_by, "group_changed": measure.group_changed,
        "authorisations": [{"district": a.district, "from": a.valid_from.isoformat(), "to": a.valid_to.isoformat()}
                           for a in measure.authorisations],
        "chain_id": measure.chain_id, "previous_id": measure.previous_id, "linked_owner": measure.linked_owner,
    }
    active = measure.active
    item = m.MeasureModel(measure.measure_id, person_key=measure.person.key if active else None,
                          active_district=measure.district if active else None, created_at=iso(measure.created_at),
                          court_code=measure.court_code, body=body)
    if measure.version:
        item.version = measure.version
    return item


def measure_from_model(item: m.MeasureModel) -> Measure:
    b = item.body
    return Measure(
        measure_id=item.measure_id, person=person_from_dict(b["person"]),
        case_file=b["case_file"], court=b["court"], district=b["district"], legal_status=b["legal_status"],
        periodicity_months=b["periodicity_months"], start_date=date.fromisoformat(b["start_date"]),
        first_registration_deadline=date.fromisoformat(b["first_registration_deadline"]),
        end_date=date.fromisoformat(b["end_date"]), resolution_date=day(b.get("resolution_date")),
        other_names=tuple(b.get("other_names", ())), area=b.get("area"), area_label=b.get("area_label"),
        group=b["group"], created_at=dt(b["created_at"]) or dt(item.created_at),  # type: ignore[arg-type]
        created_by=b["created_by"], status=b["status"], superseded_by=b.get("superseded_by"),
        group_changed=b.get("group_changed", False),
        authorisations=tuple(Authorisation(a["district"], date.fromisoformat(a["from"]), date.fromisoformat(a["to"]))
                             for a in b.get("authorisations", ())),
        chain_id=b.get("chain_id") or item.measure_id, previous_id=b.get("previous_id"),
        linked_owner=b.get("linked_owner"), version=int(item.version or 0))


def measure_key_marker(identity_key: str, measure_id: str | None = None) -> m.ControlMarkerModel:
    return m.ControlMarkerModel(MEASURE_KEY_PREFIX + hashed(identity_key),
                                body={"measure_id": measure_id} if measure_id else None)


class DynamoMeasures:
    @translate_errors
    def get_measure(self, measure_id: str) -> Measure | None:
        if not valid_id(measure_id):
            return None
        try:
            return measure_from_model(m.MeasureModel.get(measure_id, consistent_read=True))
        except m.MeasureModel.DoesNotExist:
            return None

    def _measures(self, keys: Any) -> list[Measure]:
        found = [self.get_measure(k.measure_id) for k in keys]
        return [x for x in found if x is not None and x.active]

    @translate_errors
    def active_measures_of_person(self, person_key: str) -> list[Measure]:
        # The index is eventually consistent: each measure is read again and kept only if still active.
        return [x for x in self._measures(m.MeasureModel.by_person.query(person_key)) if x.person.key == person_key]

    @translate_errors
    def measure_holding_key(self, identity_key: str) -> str | None:
        try:
            item = m.ControlMarkerModel.get(MEASURE_KEY_PREFIX + hashed(identity_key), consistent_read=True)
        except m.ControlMarkerModel.DoesNotExist:
            return None
        return str((item.body or {}).get("measure_id") or "") or None

    @translate_errors
    def court_page(self, court_code: str, limit: int, after: Any) -> tuple[list[Measure], list[str] | None]:
        """A page of a court's measures (any status), newest first: one query of the index, which holds them."""
        found, last = key_page(m.MeasureModel.by_court.query, "court_code", court_code, ("created_at", "measure_id"),
                               limit, after, forward=False)
        return [measure_from_model(i) for i in found], last

    @translate_errors
    def active_measures_of_district(self, district: str) -> list[Measure]:
        return [x for x in self._measures(m.MeasureModel.by_district.query(district)) if x.district == district]


def enrolment_to_model(e: Enrolment) -> m.EnrolmentModel:
    item = m.EnrolmentModel(e.owner, measure_id=e.measure_id, chain_id=e.chain_id, body={
        "mobile": e.mobile, "address": e.address, "language": e.language, "enrolled_at": iso(e.enrolled_at),
        "status": e.status, "photo_key": e.photo_key, "confirmed_by": e.confirmed_by})
    if e.version:
        item.version = e.version
    return item


def enrolment_from_model(item: m.EnrolmentModel) -> Enrolment:
    b = item.body
    return Enrolment(owner=item.owner, measure_id=item.measure_id, chain_id=item.chain_id or item.measure_id,
                     mobile=b["mobile"], address=b["address"], language=b.get("language", "es"),
                     enrolled_at=dt(b["enrolled_at"]), status=b.get("status", "active"),  # type: ignore[arg-type]
                     photo_key=b.get("photo_key"), confirmed_by=b.get("confirmed_by"),
                     version=int(item.version or 0))


def link_attempt_to_model(a: LinkAttempt) -> m.LinkAttemptModel:
    return m.LinkAttemptModel(a.attempt_id, chain_id=a.chain_id, body={
        "measure_id": a.measure_id, "owner": a.owner, "form": a.form, "at": iso(a.at), "resolved": a.resolved})


def link_attempt_from_model(item: m.LinkAttemptModel) -> LinkAttempt:
    b = item.body
    return LinkAttempt(attempt_id=item.attempt_id, measure_id=b["measure_id"], chain_id=item.chain_id,
                       owner=b["owner"], form=dict(b["form"]), at=dt(b["at"]),  # type: ignore[arg-type]
                       resolved=b.get("resolved"))


def unmatched_to_model(u: UnmatchedEnrolment) -> m.UnmatchedEnrolmentModel:
    return m.UnmatchedEnrolmentModel(
        u.attempt_id, person_key=u.person.key, open_district=None if u.resolved_at else u.district, at=iso(u.at),
        body={"district": u.district, "owner": u.owner, "person": person_to_dict(u.person), "form": u.form,
              "resolved_at": iso_or_none(u.resolved_at), "resolution": u.resolution})


def unmatched_from_model(item: m.UnmatchedEnrolmentModel) -> UnmatchedEnrolment:
    b = item.body
    return UnmatchedEnrolment(attempt_id=item.attempt_id, district=b["district"], owner=b["owner"],
                              person=person_from_dict(b["person"]), form=dict(b["form"]),
                              at=dt(item.at), resolved_at=dt(b.get("resolved_at")),  # type: ignore[arg-type]
                              resolution=b.get("resolution"))


class DynamoEnrolments:
    @translate_errors
    def get_enrolment(self, owner: str) -> Enrolment | None:
        try:
            return enrolment_from_model(m.EnrolmentModel.get(owner, consistent_read=True))
        except m.EnrolmentModel.DoesNotExist:
            return None

    @translate_errors
    def enrolments_of_chain(self, chain_id: str) -> list[Enrolment]:
        found = [self.get_enrolment(k.owner) for k in m.EnrolmentModel.by_chain.query(chain_id)]
        return [e for e in found if e is not None and e.chain_id == chain_id]

    @translate_errors
    def get_link_attempt(self, attempt_id: str) -> LinkAttempt | None:
        if not valid_id(attempt_id):
            return None
        try:
            return link_attempt_from_model(m.LinkAttemptModel.get(attempt_id, consistent_read=True))
        except m.LinkAttemptModel.DoesNotExist:
            return None

    @translate_errors
    def link_attempts_of_chain(self, chain_id: str) -> list[LinkAttempt]:
        found = [self.get_link_attempt(k.attempt_id) for k in m.LinkAttemptModel.by_chain.query(chain_id)]
        return sorted((a for a in found if a is not None), key=lambda a: a.at)

    @translate_errors
    def get_unmatched(self, attempt_id: str) -> UnmatchedEnrolment | None:
        if not valid_id(attempt_id):
            return None
        try:
            return unmatched_from_model(m.UnmatchedEnrolmentModel.get(attempt_id, consistent_read=True))
        except m.UnmatchedEnrolmentModel.DoesNotExist:
            return None

    @translate_errors
    def unmatched_page(self, district: str, limit: int, after: Any
                       ) -> tuple[list[UnmatchedEnrolment], list[str] | None]:
        """A page of the district's open unmatched enrolments, oldest first: one query, each entry read again."""
        keys, last = key_page(m.UnmatchedEnrolmentModel.by_district.query, "open_district", district,
                              ("at", "attempt_id"), limit, after)
        found = [self.get_unmatched(k.attempt_id) for k in keys]
        return [u for u in found if u is not None and u.resolved_at is None], last

    @translate_errors
    def unmatched_of_person(self, person_key: str) -> list[UnmatchedEnrolment]:
        found = [self.get_unmatched(k.attempt_id) for k in m.UnmatchedEnrolmentModel.by_person.query(person_key)]
        return [u for u in found if u is not None and u.resolved_at is None]


class DynamoCalendars:
    @translate_errors
    def get_calendar(self, year: int, district: str) -> Calendar | None:
        try:
            body = m.CalendarModel.get(f"{year}#{district}").body
        except m.CalendarModel.DoesNotExist:
            return None
        groups = {g: tuple(Window(g, w["period"], date.fromisoformat(w["start"]), date.fromisoformat(w["end"]))
                           for w in ws) for g, ws in body["groups"].items()}
        return Calendar(year=year, district=district, groups=groups, published_at=dt(body.get("published_at")))


def calendar_to_model(calendar: Calendar) -> m.CalendarModel:
    body = {"groups": {g: [{"period": w.period, "start": w.start.isoformat(), "end": w.end.isoformat()}
                           for w in ws] for g, ws in calendar.groups.items()},
            "published_at": iso_or_none(calendar.published_at)}
    return m.CalendarModel(f"{calendar.year}#{calendar.district}", body=body)

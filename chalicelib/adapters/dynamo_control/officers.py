"""Officers and their cases, markers, contingencies, outages and daily reports over DynamoDB."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...domain.control.contingency import Contingency, Outage
from ...domain.control.incidents import DailyReport
from ...domain.control.officers import UNASSIGNED, CallOutcome, Case, ContactAttempt, Officer
from ...domain.control.ports import MARKER_RETENTION
from ...domain.ports import AlreadyExists
from .. import dynamo_models as m
from ..dynamo_pages import key_page
from ..dynamo_store import translate_errors
from .codec import dt, iso, iso_or_none, valid_id

if TYPE_CHECKING:
    from .writes import DynamoUnitOfWork

DIRECTORY_KEY = "districts"


def officer_key(district: str, officer_id: str | None) -> str:
    return f"{district}#{officer_id or UNASSIGNED}"


def officer_to_model(o: Officer) -> m.OfficerModel:
    item = m.OfficerModel(o.district, o.officer_id, active=o.active, assigned=o.assigned, body={
        "name": o.name, "updated_at": iso_or_none(o.updated_at), "updated_by": o.updated_by})
    if o.version:
        item.version = o.version
    return item


def officer_from_model(item: m.OfficerModel) -> Officer:
    b = item.body
    return Officer(district=item.district, officer_id=item.officer_id, active=bool(item.active),
                   assigned=int(item.assigned or 0), name=b.get("name", ""), updated_at=dt(b.get("updated_at")),
                   updated_by=b.get("updated_by", ""), version=int(item.version or 0))


def case_to_model(c: Case) -> m.CaseModel:
    item = m.CaseModel(c.chain_id, district=c.district,
                       officer_key=officer_key(c.district, c.officer) if c.open else None,
                       opened_at=iso(c.opened_at), body={
                           "measure_id": c.measure_id, "reason": c.reason, "officer": c.officer, "open": c.open,
                           "contacts": [{"at": iso(a.at), "officer": a.officer, "outcome": a.outcome.value,
                                         "note": a.note} for a in c.contacts],
                           "sms_requested_at": iso_or_none(c.sms_requested_at), "features": c.features,
                           "first_registered_at": iso_or_none(c.first_registered_at),
                           "first_registered_by": c.first_registered_by})
    if c.version:
        item.version = c.version
    return item


def case_from_model(item: m.CaseModel) -> Case:
    b = item.body
    return Case(chain_id=item.chain_id, district=item.district, measure_id=b["measure_id"],
                opened_at=dt(item.opened_at), reason=b.get("reason", "enrolled"),  # type: ignore[arg-type]
                officer=b.get("officer"), open=bool(b.get("open", True)),
                contacts=tuple(ContactAttempt(dt(a["at"]), a["officer"],  # type: ignore[arg-type]
                                              CallOutcome(a["outcome"]), a.get("note", ""))
                               for a in b.get("contacts", ())),
                sms_requested_at=dt(b.get("sms_requested_at")), features=b.get("features"),
                first_registered_at=dt(b.get("first_registered_at")),
                first_registered_by=b.get("first_registered_by"), version=int(item.version or 0))


class DynamoOfficers:
    @translate_errors
    def officers_of_district(self, district: str) -> list[Officer]:
        return [officer_from_model(i) for i in m.OfficerModel.query(district, consistent_read=True)]

    @translate_errors
    def officers_page(self, district: str, limit: int, after: Any) -> tuple[list[Officer], list[str] | None]:
        """A page of the district's officers by id: one query of the table's own partition."""
        found, last = key_page(m.OfficerModel.query, "district", district, ("officer_id",), limit, after,
                               consistent=True)
        return [officer_from_model(i) for i in found], last

    @translate_errors
    def get_officer(self, district: str, officer_id: str) -> Officer | None:
        try:
            return officer_from_model(m.OfficerModel.get(district, officer_id, consistent_read=True))
        except m.OfficerModel.DoesNotExist:
            return None

    @translate_errors
    def districts_of_officer(self, officer_id: str) -> list[str]:
        return sorted({k.district for k in m.OfficerModel.by_officer.query(officer_id)})

    @translate_errors
    def get_case(self, chain_id: str) -> Case | None:
        if not valid_id(chain_id):
            return None
        try:
            return case_from_model(m.CaseModel.get(chain_id, consistent_read=True))
        except m.CaseModel.DoesNotExist:
            return None

    def _cases(self, keys: Any) -> list[Case]:
        found = [self.get_case(k.chain_id) for k in keys]
        return [c for c in found if c is not None]

    @translate_errors
    def cases_of_officer(self, district: str, officer_id: str | None) -> list[Case]:
        key = officer_key(district, officer_id)
        # The index is eventually consistent: re-read each case and keep those still on this list.
        return [c for c in self._cases(m.CaseModel.by_officer.query(key))
                if c.open and officer_key(c.district, c.officer) == key]

    @translate_errors
    def cases_of_district(self, district: str) -> list[Case]:
        return self._cases(m.CaseModel.by_district.query(district))

    @translate_errors
    def officer_cases_page(self, district: str, officer_id: str, limit: int, after: Any
                           ) -> tuple[list[Case], list[str] | None]:
        """A page of the officer's open list in one district, oldest first: one query, each case read again."""
        key = officer_key(district, officer_id)
        keys, last = key_page(m.CaseModel.by_officer.query, "officer_key", key, ("opened_at", "chain_id"), limit,
                              after)
        return [c for c in self._cases(keys) if c.open and officer_key(c.district, c.officer) == key], last

    @translate_errors
    def district_cases_page(self, district: str, limit: int, after: Any) -> tuple[list[Case], list[str] | None]:
        """A page of the district's cases (open or not), oldest first: one query, each case read again."""
        keys, last = key_page(m.CaseModel.by_district.query, "district", district, ("opened_at", "chain_id"), limit,
                              after)
        return self._cases(keys), last

    @translate_errors
    def add_district(self, district: str) -> None:
        """The directory the daily jobs walk: one item, a set updated atomically (no scan of any table)."""
        m.ControlMarkerModel(DIRECTORY_KEY).update(actions=[m.ControlMarkerModel.members.add({district})])

    @translate_errors
    def districts(self) -> list[str]:
        try:
            return sorted(m.ControlMarkerModel.get(DIRECTORY_KEY, consistent_read=True).members or ())
        except m.ControlMarkerModel.DoesNotExist:
            return []


class DynamoMarkers:
    def __init__(self, uow: DynamoUnitOfWork) -> None:
        self._uow = uow

    @translate_errors
    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> bool:
        tx = self._uow.begin()
        tx.claim(key, body, ttl)
        try:
            tx.commit()
        except AlreadyExists:
            return False
        return True

    @translate_errors
    def release(self, key: str) -> None:
        m.ControlMarkerModel(key).delete()

    @translate_errors
    def marker(self, key: str) -> dict[str, Any] | None:
        try:
            item = m.ControlMarkerModel.get(key, consistent_read=True)
        except m.ControlMarkerModel.DoesNotExist:
            return None
        return {"state": item.state, **(item.body or {})}


def contingency_to_model(c: Contingency) -> m.ContingencyModel:
    item = m.ContingencyModel(
        c.checkin_id, created_at=iso(c.created_at), pending_bucket="pending" if c.pending else None,
        callback_district=c.district if c.callback_open else None, body={
            "owner": c.owner, "measure_id": c.measure_id, "district": c.district, "registry": c.registry,
            "answers": c.answers, "resolution": c.resolution, "resolved_at": iso_or_none(c.resolved_at),
            "callback": c.callback, "holds": c.holds})
    if c.version:
        item.version = c.version
    return item


def contingency_from_model(item: m.ContingencyModel) -> Contingency:
    b = item.body
    return Contingency(checkin_id=item.checkin_id, owner=b["owner"], measure_id=b["measure_id"],
                       district=b["district"], registry=b["registry"],
                       created_at=dt(item.created_at), answers=b.get("answers"),  # type: ignore[arg-type]
                       pending=item.pending_bucket is not None, resolution=b.get("resolution"),
                       resolved_at=dt(b.get("resolved_at")), callback_open=item.callback_district is not None,
                       callback=b.get("callback"), holds=int(b.get("holds", 1)), version=int(item.version or 0))


def outage_marker(registry: str, started_at: datetime, ended_at: datetime | None) -> m.ControlMarkerModel:
    return m.ControlMarkerModel(f"outage#{registry}", state="closed" if ended_at else "open",
                                body={"registry": registry, "started_at": iso(started_at),
                                      "ended_at": iso_or_none(ended_at)})


class DynamoContingencies:
    @translate_errors
    def get_contingency(self, checkin_id: str) -> Contingency | None:
        if not valid_id(checkin_id):
            return None
        try:
            return contingency_from_model(m.ContingencyModel.get(checkin_id, consistent_read=True))
        except m.ContingencyModel.DoesNotExist:
            return None

    @translate_errors
    def pending_contingencies(self, limit: int = 200) -> list[Contingency]:
        keys = m.ContingencyModel.by_pending.query("pending", limit=limit)
        found = [self.get_contingency(k.checkin_id) for k in keys]
        return [c for c in found if c is not None and c.pending]

    @translate_errors
    def callbacks_page(self, district: str, limit: int, after: Any) -> tuple[list[Contingency], list[str] | None]:
        """A page of the district's open callbacks, oldest first: one query, each contingency read again."""
        keys, last = key_page(m.ContingencyModel.by_callback.query, "callback_district", district,
                              ("created_at", "checkin_id"), limit, after)
        found = [self.get_contingency(k.checkin_id) for k in keys]
        return [c for c in found if c is not None and c.callback_open], last

    @translate_errors
    def outage(self, registry: str) -> Outage | None:
        try:
            item = m.ControlMarkerModel.get(f"outage#{registry}", consistent_read=True)
        except m.ControlMarkerModel.DoesNotExist:
            return None
        body = item.body or {}
        return Outage(registry, dt(body["started_at"]), dt(body.get("ended_at")))  # type: ignore[arg-type]


def report_to_model(r: DailyReport) -> m.DailyReportModel:
    item = m.DailyReportModel(f"{r.district}#{r.day.isoformat()}", body={
        "district": r.district, "day": r.day.isoformat(), "revision": r.revision, "document_id": r.document_id,
        "pdf_key": r.pdf_key, "csv_key": r.csv_key, "fingerprint": r.fingerprint,
        "incident_count": r.incident_count, "created_at": iso(r.created_at), "previous": list(r.previous),
        "emailed": r.emailed})
    if r.version:
        item.version = r.version
    return item


def report_from_model(item: m.DailyReportModel) -> DailyReport:
    b = item.body
    return DailyReport(district=b["district"], day=date.fromisoformat(b["day"]), revision=int(b["revision"]),
                       document_id=b["document_id"], pdf_key=b["pdf_key"], csv_key=b["csv_key"],
                       fingerprint=b["fingerprint"], incident_count=int(b["incident_count"]),
                       created_at=dt(b["created_at"]), previous=tuple(b.get("previous", ())),  # type: ignore[arg-type]
                       emailed=bool(b.get("emailed")), version=int(item.version or 0))


class DynamoReports:
    @translate_errors
    def get_report(self, district: str, day: date) -> DailyReport | None:
        try:
            return report_from_model(m.DailyReportModel.get(f"{district}#{day.isoformat()}", consistent_read=True))
        except m.DailyReportModel.DoesNotExist:
            return None

"""Officers, cases, markers, contingencies and daily reports over DynamoDB; key lookups and index queries only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection

from ..domain.control import Incident
from ..domain.control_ops import UNASSIGNED, CallOutcome, Case, ContactAttempt, Contingency, DailyReport, Officer
from ..domain.ports import AlreadyExists
from . import dynamo_models as m
from .dynamo_control import ControlTransaction, incident_from_model, incident_to_model
from .dynamo_store import translate_errors

DIRECTORY_KEY = "districts"
MARKER_RETENTION = timedelta(days=120)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def officer_key(district: str, officer_id: str | None) -> str:
    return f"{district}#{officer_id or UNASSIGNED}"


def officer_to_model(o: Officer) -> m.OfficerModel:
    item = m.OfficerModel(o.district, o.officer_id, active=o.active, assigned=o.assigned, body={
        "name": o.name, "updated_at": _iso(o.updated_at) if o.updated_at else None, "updated_by": o.updated_by})
    if o.version:
        item.version = o.version
    return item


def officer_from_model(item: m.OfficerModel) -> Officer:
    b = item.body
    return Officer(district=item.district, officer_id=item.officer_id, active=bool(item.active),
                   assigned=int(item.assigned or 0), name=b.get("name", ""), updated_at=_dt(b.get("updated_at")),
                   updated_by=b.get("updated_by", ""), version=int(item.version or 0))


def case_to_model(c: Case) -> m.CaseModel:
    item = m.CaseModel(c.owner, district=c.district, officer_key=officer_key(c.district, c.officer),
                       enrolled_at=_iso(c.enrolled_at), measure_id=c.measure_id, body={
                           "officer": c.officer,
                           "contacts": [{"at": _iso(a.at), "officer": a.officer, "outcome": a.outcome.value,
                                         "note": a.note} for a in c.contacts],
                           "sms_requested_at": _iso(c.sms_requested_at) if c.sms_requested_at else None,
                           "features": c.features,
                           "first_registered_at": _iso(c.first_registered_at) if c.first_registered_at else None,
                           "first_registered_by": c.first_registered_by})
    if c.version:
        item.version = c.version
    return item


def case_from_model(item: m.CaseModel) -> Case:
    b = item.body
    return Case(owner=item.owner, district=item.district, measure_id=item.measure_id,
                enrolled_at=datetime.fromisoformat(item.enrolled_at), officer=b.get("officer"),
                contacts=tuple(ContactAttempt(datetime.fromisoformat(a["at"]), a["officer"], CallOutcome(a["outcome"]),
                                              a.get("note", "")) for a in b.get("contacts", ())),
                sms_requested_at=_dt(b.get("sms_requested_at")), features=b.get("features"),
                first_registered_at=_dt(b.get("first_registered_at")),
                first_registered_by=b.get("first_registered_by"), version=int(item.version or 0))


def contingency_to_model(c: Contingency) -> m.ContingencyModel:
    item = m.ContingencyModel(
        c.checkin_id, created_at=_iso(c.created_at), pending_bucket="pending" if c.pending else None,
        callback_district=c.district if c.callback_open else None, body={
            "owner": c.owner, "measure_id": c.measure_id, "district": c.district, "registry": c.registry,
            "answers": c.answers, "resolution": c.resolution,
            "resolved_at": _iso(c.resolved_at) if c.resolved_at else None, "callback": c.callback,
            "holds": c.holds})
    if c.version:
        item.version = c.version
    return item


def contingency_from_model(item: m.ContingencyModel) -> Contingency:
    b = item.body
    return Contingency(checkin_id=item.checkin_id, owner=b["owner"], measure_id=b["measure_id"],
                       district=b["district"], registry=b["registry"],
                       created_at=datetime.fromisoformat(item.created_at), answers=b.get("answers"),
                       pending=item.pending_bucket is not None, resolution=b.get("resolution"),
                       resolved_at=_dt(b.get("resolved_at")), callback_open=item.callback_district is not None,
                       callback=b.get("callback"), holds=int(b.get("holds", 1)), version=int(item.version or 0))


def report_to_model(r: DailyReport) -> m.DailyReportModel:
    item = m.DailyReportModel(f"{r.district}#{r.day.isoformat()}", body={
        "district": r.district, "day": r.day.isoformat(), "revision": r.revision, "document_id": r.document_id,
        "pdf_key": r.pdf_key, "csv_key": r.csv_key, "fingerprint": r.fingerprint,
        "incident_count": r.incident_count, "created_at": _iso(r.created_at), "previous": list(r.previous),
        "emailed": r.emailed})
    if r.version:
        item.version = r.version
    return item


def report_from_model(item: m.DailyReportModel) -> DailyReport:
    b = item.body
    return DailyReport(district=b["district"], day=date.fromisoformat(b["day"]), revision=int(b["revision"]),
                       document_id=b["document_id"], pdf_key=b["pdf_key"], csv_key=b["csv_key"],
                       fingerprint=b["fingerprint"], incident_count=int(b["incident_count"]),
                       created_at=datetime.fromisoformat(b["created_at"]), previous=tuple(b.get("previous", ())),
                       emailed=bool(b.get("emailed")), version=int(item.version or 0))


class OpsTransaction(ControlTransaction):
    """The control transaction plus this module's items: a case, its enrolment and an officer's count change
    land together or not at all."""

    def put_officer(self, officer: Officer) -> None:
        self.put_item("officer", officer_to_model(officer))

    def add_case(self, case: Case) -> None:
        self.put_item("case", case_to_model(case), m.CaseModel.owner.does_not_exist())

    def put_case(self, case: Case) -> None:
        self.put_item("case", case_to_model(case))

    def put_contingency(self, contingency: Contingency) -> None:
        self.put_item("contingency", contingency_to_model(contingency))

    def add_incident(self, incident: Incident) -> None:
        """A new incident with a deterministic id: a second insert of the same id is refused (AlreadyExists)."""
        self.put_item("incident", incident_to_model(incident), m.IncidentModel.incident_id.does_not_exist())

    def put_report(self, report: DailyReport) -> None:
        condition = None if report.version else m.DailyReportModel.key.does_not_exist()
        self.put_item("daily report", report_to_model(report), condition)

    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> None:
        """A marker written once: the transaction fails with AlreadyExists if it is already there."""
        item = m.ControlMarkerModel(key, body=body, expires=ttl)
        self.put_item("marker", item, m.ControlMarkerModel.key.does_not_exist())

    def open_outage(self, registry: str, started_at: datetime) -> None:
        """An outage starts once: refused while one of the same registry is open."""
        item = m.ControlMarkerModel(f"outage#{registry}", state="open",
                                    body={"registry": registry, "started_at": _iso(started_at)})
        condition = m.ControlMarkerModel.key.does_not_exist() | (m.ControlMarkerModel.state == "closed")
        self.put_item("outage", item, condition)

    def close_outage(self, registry: str, started_at: str, ended_at: datetime) -> None:
        item = m.ControlMarkerModel(f"outage#{registry}", state="closed", body={
            "registry": registry, "started_at": started_at, "ended_at": _iso(ended_at)})
        self.put_item("outage", item, m.ControlMarkerModel.state == "open")


class DynamoControlOpsStore:
    def __init__(self, region: str, host: str | None) -> None:
        self._connection = Connection(region=region, host=host, connect_timeout_seconds=2,
                                      read_timeout_seconds=5, max_retry_attempts=1)

    def transaction(self) -> OpsTransaction:
        return OpsTransaction(self._connection)

    # --- officers and cases ---------------------------------------------------------------------------

    @translate_errors
    def officers_of_district(self, district: str) -> list[Officer]:
        return [officer_from_model(i) for i in m.OfficerModel.query(district, consistent_read=True)]

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
    def get_case(self, owner: str) -> Case | None:
        try:
            return case_from_model(m.CaseModel.get(owner, consistent_read=True))
        except m.CaseModel.DoesNotExist:
            return None

    def _cases(self, keys: Any) -> list[Case]:
        found = [self.get_case(k.owner) for k in keys]
        return [c for c in found if c is not None]

    @translate_errors
    def cases_of_officer(self, district: str, officer_id: str | None) -> list[Case]:
        key = officer_key(district, officer_id)
        # The index is eventually consistent: re-read each case and keep those still on this list.
        return [c for c in self._cases(m.CaseModel.by_officer.query(key)) if officer_key(c.district, c.officer) == key]

    @translate_errors
    def cases_of_district(self, district: str) -> list[Case]:
        return self._cases(m.CaseModel.by_district.query(district))

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

    # --- markers, incidents ------------------------------------------------------------------------

    @translate_errors
    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> bool:
        tx = self.transaction()
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

    @translate_errors
    def get_incident(self, incident_id: str) -> Incident | None:
        if not incident_id or len(incident_id) > 64:
            return None
        try:
            return incident_from_model(m.IncidentModel.get(incident_id, consistent_read=True))
        except m.IncidentModel.DoesNotExist:
            return None

    # --- contingencies ------------------------------------------------------------------------------

    @translate_errors
    def get_contingency(self, checkin_id: str) -> Contingency | None:
        if not checkin_id or len(checkin_id) > 64:
            return None
        try:
            return contingency_from_model(m.ContingencyModel.get(checkin_id, consistent_read=True))
        except m.ContingencyModel.DoesNotExist:
            return None

    @translate_errors
    def pending_contingencies(self, limit: int = 200) -> list[Contingency]:
        found = [self.get_contingency(k.checkin_id) for k in m.ContingencyModel.by_pending.query("pending",
                                                                                                   limit=limit)]
        return [c for c in found if c is not None and c.pending]

    @translate_errors
    def open_callbacks(self, district: str, limit: int = 200) -> list[Contingency]:
        found = [self.get_contingency(k.checkin_id) for k in m.ContingencyModel.by_callback.query(district,
                                                                                                    limit=limit)]
        return [c for c in found if c is not None and c.callback_open]

    # --- daily reports --------------------------------------------------------------------------------

    @translate_errors
    def get_report(self, district: str, day: date) -> DailyReport | None:
        try:
            return report_from_model(m.DailyReportModel.get(f"{district}#{day.isoformat()}", consistent_read=True))
        except m.DailyReportModel.DoesNotExist:
            return None

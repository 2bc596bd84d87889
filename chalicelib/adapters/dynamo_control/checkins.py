"""Check-ins, the windows of each person (the "Registro de Firmas") and incidents over DynamoDB."""

from __future__ import annotations

from datetime import date
from typing import Any

from ...domain.control.checkins import Checkin, CheckinStep, WindowRecord, WindowState, window_record_key
from ...domain.control.incidents import Incident, IncidentType
from .. import dynamo_models as m
from ..dynamo_pages import key_page
from ..dynamo_store import translate_errors
from .codec import dt, iso, iso_or_none, valid_id


def checkin_to_model(c: Checkin) -> m.CheckinModel:
    item = m.CheckinModel(c.checkin_id, measure_id=c.measure_id, started_at=iso(c.started_at), body={
        "owner": c.owner, "chain_id": c.chain_id, "window_key": c.window_key, "opening": c.opening,
        "step": c.step.value, "evidence": list(c.evidence), "location": c.location, "identity": c.identity,
        "borderline_attempts": c.borderline_attempts, "outcome": c.outcome, "document_id": c.document_id})
    if c.version:
        item.version = c.version
    return item


def checkin_from_model(item: m.CheckinModel) -> Checkin:
    b = item.body
    return Checkin(checkin_id=item.checkin_id, measure_id=item.measure_id,
                   chain_id=b.get("chain_id") or item.measure_id, owner=b["owner"], window_key=b["window_key"],
                   started_at=dt(item.started_at), step=CheckinStep(b["step"]),  # type: ignore[arg-type]
                   opening=int(b.get("opening", 0)), evidence=tuple(b.get("evidence", ())),
                   location=b.get("location"), identity=b.get("identity"),
                   borderline_attempts=b.get("borderline_attempts", 0), outcome=b.get("outcome"),
                   document_id=b.get("document_id"), version=int(item.version or 0))


def window_to_model(w: WindowRecord, held_district: str | None) -> m.WindowModel:
    item = m.WindowModel(window_record_key(w.chain_id, w.window_key),
                         held_district=held_district if w.state is WindowState.HELD else None,
                         at=iso_or_none(w.at), body={
                             "chain_id": w.chain_id, "window_key": w.window_key, "state": w.state.value,
                             "opening": w.opening, "question_failures": w.question_failures,
                             "checkin_id": w.checkin_id, "measure_id": w.measure_id, "document_id": w.document_id,
                             "reason": w.reason, "reopenings": list(w.reopenings)})
    if w.version:
        item.version = w.version
    return item


def window_from_model(item: m.WindowModel) -> WindowRecord:
    b = item.body
    return WindowRecord(chain_id=b["chain_id"], window_key=b["window_key"], state=WindowState(b["state"]),
                        opening=int(b.get("opening", 0)), question_failures=int(b.get("question_failures", 0)),
                        checkin_id=b.get("checkin_id"), measure_id=b.get("measure_id"), at=dt(item.at),
                        document_id=b.get("document_id"), reason=b.get("reason"),
                        reopenings=tuple(b.get("reopenings", ())), version=int(item.version or 0))


class DynamoCheckins:
    @translate_errors
    def get_checkin(self, checkin_id: str) -> Checkin | None:
        if not valid_id(checkin_id):
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
    def window(self, chain_id: str, window_key: str) -> WindowRecord:
        try:
            return window_from_model(m.WindowModel.get(window_record_key(chain_id, window_key), consistent_read=True))
        except m.WindowModel.DoesNotExist:
            return WindowRecord(chain_id=chain_id, window_key=window_key)

    @translate_errors
    def held_page(self, district: str, limit: int, after: Any) -> tuple[list[WindowRecord], list[str] | None]:
        """A page of the district's held windows in the index's order: one query, each window read again."""
        keys, last = key_page(m.WindowModel.held.query, "held_district", district, ("key",), limit, after)
        found = []
        for key in keys:
            try:
                found.append(window_from_model(m.WindowModel.get(key.key, consistent_read=True)))
            except m.WindowModel.DoesNotExist:
                continue
        return [w for w in found if w.state is WindowState.HELD], last


def incident_to_model(i: Incident) -> m.IncidentModel:
    item = m.IncidentModel(i.incident_id, district_day=f"{i.district}#{i.day.isoformat()}",
                           created_at=iso(i.created_at), measure_id=i.measure_id,
                           open_district=i.district if i.status != "closed" else None, body={
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
                    day=date.fromisoformat(b["day"]), created_at=dt(item.created_at),  # type: ignore[arg-type]
                    measure_id=item.measure_id, full_name=b["full_name"], identity_document=b["identity_document"],
                    case_file=b["case_file"], court=b["court"], detail=b["detail"], observations=b["observations"],
                    addressed_to=tuple(b["addressed_to"]), status=b["status"], notified=tuple(b.get("notified", ())),
                    checkin_id=b.get("checkin_id"), version=int(item.version or 0))


class DynamoIncidents:
    @translate_errors
    def get_incident(self, incident_id: str) -> Incident | None:
        if not valid_id(incident_id):
            return None
        try:
            return incident_from_model(m.IncidentModel.get(incident_id, consistent_read=True))
        except m.IncidentModel.DoesNotExist:
            return None

    @translate_errors
    def incidents_of_measure(self, measure_id: str) -> list[Incident]:
        keys = [k.incident_id for k in m.IncidentModel.by_measure.query(measure_id)]
        return sorted((incident_from_model(i) for i in m.IncidentModel.batch_get(keys)), key=lambda i: i.created_at)

    @staticmethod
    def _read(keys: list[Any]) -> list[Incident]:
        """The incidents of a page of index keys, in the page's order (one batch read)."""
        found = {i.incident_id: incident_from_model(i)
                 for i in m.IncidentModel.batch_get([k.incident_id for k in keys])}
        return [found[k.incident_id] for k in keys if k.incident_id in found]

    @translate_errors
    def open_page(self, district: str, limit: int, after: Any) -> tuple[list[Incident], list[str] | None]:
        """A page of the district's incidents not closed yet, oldest first: one query and one batch read."""
        keys, last = key_page(m.IncidentModel.open_by_district.query, "open_district", district,
                              ("created_at", "incident_id"), limit, after)
        # The index is eventually consistent: each incident is read again and kept only if still open.
        return [i for i in self._read(keys) if i.status != "closed"], last

    @translate_errors
    def day_page(self, district: str, day: date, limit: int, after: Any) -> tuple[list[Incident], list[str] | None]:
        """A page of the district's incidents of one day, in time order: one query and one batch read."""
        keys, last = key_page(m.IncidentModel.by_district_day.query, "district_day",
                              f"{district}#{day.isoformat()}", ("created_at", "incident_id"), limit, after)
        return self._read(keys), last

    @translate_errors
    def incidents_of_day(self, district: str, day: date) -> list[Incident]:
        keys = [k.incident_id for k in m.IncidentModel.by_district_day.query(f"{district}#{day.isoformat()}")]
        return sorted((incident_from_model(i) for i in m.IncidentModel.batch_get(keys)), key=lambda i: i.created_at)

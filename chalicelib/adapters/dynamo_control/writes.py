"""The one transaction of virtual control: any of its items, the outbox events and the audit entries, written
with a single TransactWriteItems (all or nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection

from ...domain.control.calendar import Calendar
from ...domain.control.checkins import Checkin, WindowRecord
from ...domain.control.contingency import Contingency
from ...domain.control.enrolment import Enrolment, LinkAttempt, UnmatchedEnrolment
from ...domain.control.incidents import DailyReport, Incident
from ...domain.control.measures import Measure
from ...domain.control.officers import Case, Officer
from ...domain.control.ports import MARKER_RETENTION
from .. import dynamo_models as m
from ..dynamo_store import DynamoTransaction
from .checkins import checkin_to_model, incident_to_model, window_to_model
from .measures import (
    calendar_to_model,
    enrolment_to_model,
    link_attempt_to_model,
    measure_key_marker,
    measure_to_model,
    unmatched_to_model,
)
from .officers import case_to_model, contingency_to_model, officer_to_model, outage_marker, report_to_model


class ControlTransaction(DynamoTransaction):
    def put_measure(self, measure: Measure) -> None:
        self.put_item("measure", measure_to_model(measure))

    def claim_measure_key(self, identity_key: str, measure_id: str, replacing: bool = False) -> None:
        """While a measure is active its person and case file are taken; a successor takes them over."""
        self.put_item("measure key", measure_key_marker(identity_key, measure_id),
                      None if replacing else m.ControlMarkerModel.key.does_not_exist())

    def release_measure_key(self, identity_key: str) -> None:
        self.delete_item("measure key", measure_key_marker(identity_key))

    def put_enrolment(self, enrolment: Enrolment) -> None:
        self.put_item("enrolment", enrolment_to_model(enrolment))

    def put_link_attempt(self, attempt: LinkAttempt) -> None:
        self.put_item("link attempt", link_attempt_to_model(attempt))

    def put_unmatched(self, unmatched: UnmatchedEnrolment) -> None:
        self.put_item("unmatched enrolment", unmatched_to_model(unmatched))

    def put_calendar(self, calendar: Calendar) -> None:
        self.put_item("calendar", calendar_to_model(calendar))

    def put_checkin(self, checkin: Checkin) -> None:
        self.put_item("checkin", checkin_to_model(checkin))

    def put_window(self, record: WindowRecord, held_district: str | None = None) -> None:
        self.put_item("window", window_to_model(record, held_district))

    def put_incident(self, incident: Incident) -> None:
        self.put_item("incident", incident_to_model(incident))

    def add_incident(self, incident: Incident) -> None:
        """A new incident with a deterministic id: a second insert of the same id is refused (AlreadyExists)."""
        self.put_item("incident", incident_to_model(incident), m.IncidentModel.incident_id.does_not_exist())

    def put_officer(self, officer: Officer) -> None:
        self.put_item("officer", officer_to_model(officer))

    def put_case(self, case: Case) -> None:
        self.put_item("case", case_to_model(case))

    def put_contingency(self, contingency: Contingency) -> None:
        self.put_item("contingency", contingency_to_model(contingency))

    def open_outage(self, registry: str, started_at: datetime) -> None:
        """An outage starts once: refused while one of the same registry is open."""
        condition = m.ControlMarkerModel.key.does_not_exist() | (m.ControlMarkerModel.state == "closed")
        self.put_item("outage", outage_marker(registry, started_at, None), condition)

    def close_outage(self, registry: str, started_at: datetime, ended_at: datetime) -> None:
        self.put_item("outage", outage_marker(registry, started_at, ended_at), m.ControlMarkerModel.state == "open")

    def put_report(self, report: DailyReport) -> None:
        self.put_item("daily report", report_to_model(report))

    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> None:
        """A marker written once: the transaction fails with AlreadyExists if it is already there."""
        item = m.ControlMarkerModel(key, body=body, expires=ttl)
        self.put_item("marker", item, m.ControlMarkerModel.key.does_not_exist())


class DynamoUnitOfWork:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def begin(self) -> ControlTransaction:
        return ControlTransaction(self._connection)

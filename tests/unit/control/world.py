"""A small world of virtual control on the in-memory fakes: court, people, officers, calendar, and the event
handlers run as the worker would run them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain import fanout
from chalicelib.domain.biometrics import InconclusiveFaceMatcher
from chalicelib.domain.control.calendar import parse_calendar
from chalicelib.domain.control.contingency import REGISTRIES, CircuitBreaker
from chalicelib.domain.control.measures import Measure
from chalicelib.domain.control.officers import CaseReason
from chalicelib.domain.identity import dni_check_characters
from chalicelib.domain.operators import Operator
from chalicelib.domain.ports import IdentityRecord
from chalicelib.services.control import (
    checkins,
    enrolment,
    incidents,
    measures,
    notices,
    officers,
)
from chalicelib.services.control.common import ControlRules
from chalicelib.services.control.contingency import GuardedIdentityRegistry, GuardedWarrantsRegistry, Registries
from chalicelib.services.control.pipeline import CheckinPorts
from chalicelib.services.time import FixedClock
from infrastructure.local.seed import sample_calendar
from tests.fakes_console import FakeJobs
from tests.fakes_control import (
    ControlData,
    FakeIdentityRegistry,
    FakeWarrantsRegistry,
    MemoryAudit,
    MemoryStorage,
    RecordingChat,
    RecordingEmail,
    RecordingSms,
    fake_control,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # group B's window of November: 16–30
COURT_CODE = "1801-JR-PE-01"
LIMA = (-12.05, -77.03)
CUSCO = (-13.53, -71.97)
JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-body" * 10

ROSA = {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "70112233",
        "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"}
ROSA_RECORD = IdentityRecord("DNI", "70112233", "Rosa Elvira", "de la Cruz", "Huamán", date(1985, 3, 3),
                             date(2016, 8, 1), date(2024, 8, 1), "PER", "Víctor de la Cruz", "Julia Huamán")
ROSA_ANSWERS = {"parents_names": "Víctor de la Cruz y Julia Huamán", "dni_issue_date": "2016-08-01",
                "dni_expiry_date": "2024-08-01", "dni_check_character": dni_check_characters("70112233")[0]}
JUAN = {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "46677889",
        "given_names": "Juan Carlos", "surnames": "Quispe Huamán"}
NAMELESS = {"has_document": False, "nationality": "VEN", "given_names": "Luis Alberto", "surnames": "Pérez Rojas"}


def court_staff(subject: str = "judge-1", court: str = COURT_CODE) -> Operator:
    return Operator(subject, frozenset({"court"}), courts=frozenset({court}))


def staff(subject: str, role: str, district: str = "LIMA") -> Operator:
    return Operator(subject, frozenset({role}), districts=frozenset({district}))


def measure_body(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"person": person, "case_file": f"00123-2020-0-{COURT_CODE}", "court": "1° Juzgado Penal de Lima",
            "district": "LIMA", "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
            "first_registration_deadline": "2026-12-31", "end_date": "2027-12-31", "area": "LIMA", "group": "B",
            "resolution_date": "2020-05-05", "other_names": ["Lucho"], **changes}


def location(clock: FixedClock, lat: float, lon: float, **changes: Any) -> dict[str, Any]:
    return {"latitude": lat, "longitude": lon, "accuracy_m": 20, "live_period": 900,
            "sent_at": clock.now().timestamp() - 5, **changes}


@dataclass
class World:
    data: ControlData = field(default_factory=ControlData)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    identity: FakeIdentityRegistry = field(default_factory=lambda: FakeIdentityRegistry({"DNI#70112233": ROSA_RECORD}))
    warrants: FakeWarrantsRegistry = field(default_factory=FakeWarrantsRegistry)
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    audit: MemoryAudit = field(default_factory=MemoryAudit)
    chat: RecordingChat = field(default_factory=RecordingChat)
    email: RecordingEmail = field(default_factory=RecordingEmail)
    sms: RecordingSms = field(default_factory=RecordingSms)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    jobs: FakeJobs = field(default_factory=FakeJobs)
    handled: int = 0

    def __post_init__(self) -> None:
        self.k = fake_control(self.data)
        tx = self.k.uow.begin()
        for year in (2026, 2027):
            tx.put_calendar(parse_calendar(year, "LIMA", sample_calendar(year)))
        tx.commit()
        self.k.officers.add_district("LIMA")
        self.breakers = {name: CircuitBreaker(name, 3) for name in REGISTRIES}
        self.registries = Registries(self.identity, self.warrants, self.breakers)

    @property
    def p(self) -> CheckinPorts:
        k = self.k
        return CheckinPorts(measures=k.measures, enrolments=k.enrolments, checkins=k.checkins, calendars=k.calendars,
                            identity=GuardedIdentityRegistry(self.identity, self.breakers["identity"], self.clock),
                            warrants=GuardedWarrantsRegistry(self.warrants, self.breakers["warrants"], self.clock),
                            faces=InconclusiveFaceMatcher(), storage=self.storage, contingencies=k.contingencies,
                            uow=k.uow, clock=self.clock, rules=ControlRules())

    # --- the court ----------------------------------------------------------------------------------

    def measure(self, person: dict[str, Any] = ROSA, **changes: Any) -> Measure:
        k = self.k
        return measures.create_measure(measure_body(person, **changes), operator=court_staff(), measures=k.measures,
                                       calendars=k.calendars, officers=k.officers, uow=k.uow, clock=self.clock)

    # --- people ------------------------------------------------------------------------------------

    def enrol(self, owner: str, person: dict[str, Any] = ROSA, **form: Any) -> enrolment.Enrolled:
        k = self.k
        body = {"mobile": "+51987654321", "address": "Av. Abancay 123, Lima", "language": "es", **person, **form}
        return enrolment.enrol(body, owner=owner, measures=k.measures, enrolments=k.enrolments,
                               calendars=k.calendars, uow=k.uow, clock=self.clock)

    def start(self, owner: str) -> str:
        return checkins.start_checkin(owner=owner, p=self.p).checkin.checkin_id

    def check_in(self, owner: str, where: tuple[float, float] = LIMA,
                 answers: dict[str, Any] | None = None) -> dict[str, Any]:
        checkin_id = self.start(owner)
        checkins.submit_location(checkin_id, location(self.clock, *where), owner=owner, p=self.p)
        checkins.submit_selfie(checkin_id, JPEG, "photo", owner=owner, p=self.p)
        return checkins.submit_answers(checkin_id, {"answers": answers or ROSA_ANSWERS}, owner=owner, p=self.p)

    # --- officers and the worker ---------------------------------------------------------------------

    def officer(self, officer_id: str, active: bool = True, district: str = "LIMA") -> dict[str, Any]:
        k = self.k
        return officers.put_officer(district, officer_id, {"active": active}, operator=staff("head", "cvp_head",
                                                                                          district),
                                    officers=k.officers, measures=k.measures, uow=k.uow, rng=self.rng,
                                    clock=self.clock)

    def run_worker(self) -> None:
        """Handle the events written since the last run, as the outbox consumer would (handlers only)."""
        k = self.k
        while self.handled < len(self.data.events):
            event = self.data.events[self.handled]
            self.handled += 1
            d = event.data
            if event.name == "control.enrolled":
                officers.open_case(d["chain_id"], d["district"], event.aggregate_id, CaseReason.ENROLLED,
                                   officers=k.officers, uow=k.uow, rng=self.rng, clock=self.clock)
            elif event.name == "control.measure_ended":
                officers.close_case(d["chain_id"], officers=k.officers, uow=k.uow)
                self._person(event)
            elif event.name == "measure.created":
                enrolment.resolve_unmatched(event.aggregate_id, measures=k.measures, enrolments=k.enrolments,
                                            uow=k.uow, clock=self.clock)
            elif event.name == "control.calendar_published":
                notices.calendar_published(event.event_id, d["year"], d["district"], measures=k.measures,
                                           calendars=k.calendars, jobs=self.jobs, uow=k.uow, clock=self.clock)
            elif event.name == fanout.CALENDAR_UNIT:
                notices.calendar_unit(d, measures=k.measures, enrolments=k.enrolments, calendars=k.calendars,
                                      notifier=self.chat, markers=k.markers, jobs=self.jobs, clock=self.clock)
            elif event.name == fanout.REMINDERS_UNIT:
                notices.reminders_unit(d, measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                                       calendars=k.calendars, notifier=self.chat, markers=k.markers, jobs=self.jobs,
                                       clock=self.clock)
            elif event.name == "control.incident":
                incidents.forward_incident(event.aggregate_id, incidents=k.incidents,
                                           recipients={"police": "police@x", "court": "court@x",
                                                       "cvp_head": "head@x"},
                                           email=self.email, markers=k.markers, uow=k.uow, clock=self.clock)
            elif event.name in notices.TEXTS:
                self._person(event)

    def plan_reminders(self) -> Any:
        """The hourly schedule: the plan only (the units are the worker's)."""
        k = self.k
        return notices.plan_reminders(officers=k.officers, measures=k.measures, calendars=k.calendars,
                                      notifier=self.chat, jobs=self.jobs, uow=k.uow, clock=self.clock)

    def _person(self, event: Any) -> None:
        k = self.k
        notices.notify_person(event.event_id, event.name, event.aggregate_id, event.data, measures=k.measures,
                              enrolments=k.enrolments, calendars=k.calendars, notifier=self.chat, markers=k.markers,
                              clock=self.clock)

    def incidents(self, kind: str) -> list[Any]:
        return [i for i in self.data.table("incident").values() if i.type.value == kind]

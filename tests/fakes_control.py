"""In-memory fakes of virtual control's ports, for unit tests: the same interfaces as the DynamoDB adapters
and the same conflict rules (a stale version is a ConcurrentUpdate, a second insert an AlreadyExists, and a
failed condition cancels the whole transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.control.calendar import Calendar
from chalicelib.domain.control.checkins import Checkin, WindowRecord, WindowState, window_record_key
from chalicelib.domain.control.contingency import Contingency, Outage
from chalicelib.domain.control.enrolment import Enrolment, LinkAttempt, UnmatchedEnrolment
from chalicelib.domain.control.incidents import DailyReport, Incident
from chalicelib.domain.control.measures import Measure
from chalicelib.domain.control.officers import Case, Officer
from chalicelib.domain.control.ports import MARKER_RETENTION, ControlStores
from chalicelib.domain.control.warrants import Warrant
from chalicelib.domain.errors import ConcurrentUpdate, ServiceUnavailable
from chalicelib.domain.issued import IssuedDocument
from chalicelib.domain.matching import name_similarity
from chalicelib.domain.ports import AlreadyExists, AuditEntry, IdentityRecord
from chalicelib.domain.requests import Event
from tests.fakes import fake_page

VERSIONED = {"measure", "enrolment", "checkin", "window", "incident", "officer", "case", "contingency", "report",
             "document"}


def _key(kind: str, value: Any) -> Any:
    return {
        "measure": lambda v: v.measure_id, "enrolment": lambda v: v.owner, "checkin": lambda v: v.checkin_id,
        "window": lambda v: window_record_key(v.chain_id, v.window_key), "incident": lambda v: v.incident_id,
        "officer": lambda v: (v.district, v.officer_id), "case": lambda v: v.chain_id,
        "contingency": lambda v: v.checkin_id, "report": lambda v: (v.district, v.day),
        "document": lambda v: v.document_id, "attempt": lambda v: v.attempt_id, "unmatched": lambda v: v.attempt_id,
        "calendar": lambda v: (v.year, v.district),
    }[kind](value)


@dataclass
class ControlData:
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    measure_keys: dict[str, str] = field(default_factory=dict)
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)
    outages: dict[str, Outage] = field(default_factory=dict)
    held_district: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    districts: set[str] = field(default_factory=set)
    commits: int = 0

    def table(self, kind: str) -> dict[Any, Any]:
        return self.tables.setdefault(kind, {})

    def event_names(self) -> list[str]:
        return [e.name for e in self.events]


class FakeTransaction:
    def __init__(self, data: ControlData) -> None:
        self.data = data
        self.ops: list[tuple[str, Any, Any]] = []

    def _put(self, kind: str, value: Any, extra: Any = None) -> None:
        self.ops.append((kind, value, extra))

    def put_measure(self, measure: Measure) -> None: self._put("measure", measure)
    def put_enrolment(self, enrolment: Enrolment) -> None: self._put("enrolment", enrolment)
    def put_link_attempt(self, attempt: LinkAttempt) -> None: self._put("attempt", attempt)
    def put_unmatched(self, unmatched: UnmatchedEnrolment) -> None: self._put("unmatched", unmatched)
    def put_calendar(self, calendar: Calendar) -> None: self._put("calendar", calendar)
    def put_checkin(self, checkin: Checkin) -> None: self._put("checkin", checkin)
    def put_window(self, record: WindowRecord, held_district: str | None = None) -> None:
        self._put("window", record, held_district)
    def put_incident(self, incident: Incident) -> None: self._put("incident", incident)
    def add_incident(self, incident: Incident) -> None: self._put("new_incident", incident)
    def put_officer(self, officer: Officer) -> None: self._put("officer", officer)
    def put_case(self, case: Case) -> None: self._put("case", case)
    def put_contingency(self, contingency: Contingency) -> None: self._put("contingency", contingency)
    def put_report(self, report: DailyReport) -> None: self._put("report", report)
    def put_document(self, document: IssuedDocument) -> None: self._put("document", document)
    def set_document_status(self, issuer: str, status: Any, value: int) -> None:
        self._put("status", (issuer, status, value))
    def add_event(self, event: Event) -> None: self._put("event", event)
    def add_audit(self, entry: AuditEntry) -> None: self._put("audit", entry)
    def mark_processed(self, handler: str, event_id: str) -> None:
        self._put("marker", f"processed#{handler}#{event_id}")

    def claim_measure_key(self, identity_key: str, measure_id: str, replacing: bool = False) -> None:
        self._put("measure_key", (identity_key, measure_id), replacing)

    def release_measure_key(self, identity_key: str) -> None:
        self._put("release_key", identity_key)

    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> None:
        self._put("marker", key, body)

    def open_outage(self, registry: str, started_at: datetime) -> None:
        self._put("open_outage", Outage(registry, started_at))

    def close_outage(self, registry: str, started_at: datetime, ended_at: datetime) -> None:
        self._put("close_outage", Outage(registry, started_at, ended_at))

    def _check(self, kind: str, value: Any, extra: Any) -> None:
        d = self.data
        if kind in VERSIONED:
            current = d.table(kind).get(_key(kind, value))
            if value.version == 0 and current is not None:
                raise AlreadyExists(kind)
            if (current.version if current else 0) != value.version:
                raise ConcurrentUpdate(f"The {kind} changed meanwhile; try again.")
        elif kind == "new_incident" and value.incident_id in d.table("incident"):
            raise AlreadyExists("incident")
        elif kind == "measure_key" and not extra and value[0] in d.measure_keys:
            raise AlreadyExists("measure key")
        elif kind == "marker" and value in d.markers:
            raise AlreadyExists("marker")
        elif kind in ("open_outage", "close_outage"):
            current = d.outages.get(value.registry)
            is_open = current is not None and current.open
            if is_open == (kind == "open_outage"):  # opening an open outage, or closing one that is not open
                raise AlreadyExists("outage")
        elif kind == "event" and any(e.event_id == value.event_id for e in d.events):
            raise AlreadyExists("event")

    def commit(self) -> None:
        for kind, value, extra in self.ops:  # every condition first: all or nothing
            self._check(kind, value, extra)
        d = self.data
        for kind, value, extra in self.ops:
            if kind in VERSIONED:
                d.table(kind)[_key(kind, value)] = replace(value, version=value.version + 1)
                if kind == "window":
                    key = _key(kind, value)
                    if value.state is WindowState.HELD and extra:
                        d.held_district[key] = extra
                    else:
                        d.held_district.pop(key, None)
            elif kind == "new_incident":
                d.table("incident")[value.incident_id] = replace(value, version=1)
            elif kind in ("attempt", "unmatched", "calendar"):
                d.table(kind)[_key(kind, value)] = value
            elif kind == "measure_key":
                d.measure_keys[value[0]] = value[1]
            elif kind == "release_key":
                d.measure_keys.pop(value, None)
            elif kind == "marker":
                d.markers[value] = dict(extra or {})
            elif kind in ("open_outage", "close_outage"):
                d.outages[value.registry] = value
            elif kind == "status":
                d.markers[f"status#{value[0]}#{value[1]}"] = {"value": value[2]}
            elif kind == "event":
                d.events.append(value)
            elif kind == "audit":
                d.audit.append(value)
        d.commits += 1


class FakeUnitOfWork:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def begin(self) -> FakeTransaction:
        return FakeTransaction(self.data)


class FakeMeasures:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_measure(self, measure_id: str) -> Measure | None:
        found: Measure | None = self.data.table("measure").get(measure_id)
        return found

    def active_measures_of_person(self, person_key: str) -> list[Measure]:
        return [m for m in self.data.table("measure").values() if m.active and m.person.key == person_key]

    def measure_holding_key(self, identity_key: str) -> str | None:
        return self.data.measure_keys.get(identity_key)

    def active_measures_of_district(self, district: str) -> list[Measure]:
        return sorted((m for m in self.data.table("measure").values() if m.active and m.district == district),
                      key=lambda m: m.created_at)

    def court_page(self, court_code: str, limit: int, after: Any) -> tuple[list[Measure], list[str] | None]:
        return fake_page((m for m in self.data.table("measure").values() if m.court_code == court_code),
                         lambda m: [m.created_at.astimezone(UTC).isoformat(), m.measure_id], limit, after,
                         newest_first=True)


class FakeEnrolments:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_enrolment(self, owner: str) -> Enrolment | None:
        found: Enrolment | None = self.data.table("enrolment").get(owner)
        return found

    def enrolments_of_chain(self, chain_id: str) -> list[Enrolment]:
        return [e for e in self.data.table("enrolment").values() if e.chain_id == chain_id]

    def get_link_attempt(self, attempt_id: str) -> LinkAttempt | None:
        found: LinkAttempt | None = self.data.table("attempt").get(attempt_id)
        return found

    def link_attempts_of_chain(self, chain_id: str) -> list[LinkAttempt]:
        return sorted((a for a in self.data.table("attempt").values() if a.chain_id == chain_id), key=lambda a: a.at)

    def get_unmatched(self, attempt_id: str) -> UnmatchedEnrolment | None:
        found: UnmatchedEnrolment | None = self.data.table("unmatched").get(attempt_id)
        return found

    def unmatched_of_person(self, person_key: str) -> list[UnmatchedEnrolment]:
        return [u for u in self.data.table("unmatched").values() if u.person.key == person_key and not u.resolved_at]

    def unmatched_page(self, district: str, limit: int, after: Any
                       ) -> tuple[list[UnmatchedEnrolment], list[str] | None]:
        return fake_page((u for u in self.data.table("unmatched").values()
                          if u.district == district and not u.resolved_at),
                         lambda u: [u.at.isoformat(), u.attempt_id], limit, after)


class FakeCalendars:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_calendar(self, year: int, district: str) -> Calendar | None:
        found: Calendar | None = self.data.table("calendar").get((year, district))
        return found


class FakeCheckins:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_checkin(self, checkin_id: str) -> Checkin | None:
        found: Checkin | None = self.data.table("checkin").get(checkin_id)
        return found

    def checkins_of_measure(self, measure_id: str, limit: int = 100) -> list[Checkin]:
        found = [c for c in self.data.table("checkin").values() if c.measure_id == measure_id]
        return sorted(found, key=lambda c: c.started_at, reverse=True)[:limit]

    def window(self, chain_id: str, window_key: str) -> WindowRecord:
        found: WindowRecord | None = self.data.table("window").get(window_record_key(chain_id, window_key))
        return found or WindowRecord(chain_id=chain_id, window_key=window_key)

    def held_page(self, district: str, limit: int, after: Any) -> tuple[list[WindowRecord], list[str] | None]:
        return fake_page((self.data.table("window")[k] for k, d in self.data.held_district.items() if d == district),
                         lambda w: [window_record_key(w.chain_id, w.window_key)], limit, after)


class FakeIncidents:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_incident(self, incident_id: str) -> Incident | None:
        found: Incident | None = self.data.table("incident").get(incident_id)
        return found

    def incidents_of_day(self, district: str, day: date) -> list[Incident]:
        return sorted((i for i in self.data.table("incident").values() if i.district == district and i.day == day),
                      key=lambda i: i.created_at)

    def incidents_of_measure(self, measure_id: str) -> list[Incident]:
        return sorted((i for i in self.data.table("incident").values() if i.measure_id == measure_id),
                      key=lambda i: i.created_at)

    def open_page(self, district: str, limit: int, after: Any) -> tuple[list[Incident], list[str] | None]:
        return fake_page((i for i in self.data.table("incident").values()
                          if i.district == district and i.status != "closed"),
                         lambda i: [i.created_at.isoformat(), i.incident_id], limit, after)

    def day_page(self, district: str, day: date, limit: int, after: Any) -> tuple[list[Incident], list[str] | None]:
        return fake_page(self.incidents_of_day(district, day), lambda i: [i.created_at.isoformat(), i.incident_id],
                         limit, after)

    def of_type(self, kind: str) -> list[Incident]:
        return [i for i in self.data.table("incident").values() if i.type.value == kind]


class FakeOfficers:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def officers_of_district(self, district: str) -> list[Officer]:
        return [o for (d, _), o in self.data.table("officer").items() if d == district]

    def get_officer(self, district: str, officer_id: str) -> Officer | None:
        found: Officer | None = self.data.table("officer").get((district, officer_id))
        return found

    def districts_of_officer(self, officer_id: str) -> list[str]:
        return sorted({d for (d, o) in self.data.table("officer") if o == officer_id})

    def get_case(self, chain_id: str) -> Case | None:
        found: Case | None = self.data.table("case").get(chain_id)
        return found

    def cases_of_officer(self, district: str, officer_id: str | None) -> list[Case]:
        return [c for c in self.data.table("case").values()
                if c.open and c.district == district and c.officer == officer_id]

    def cases_of_district(self, district: str) -> list[Case]:
        return [c for c in self.data.table("case").values() if c.district == district]

    def officers_page(self, district: str, limit: int, after: Any) -> tuple[list[Officer], list[str] | None]:
        return fake_page(self.officers_of_district(district), lambda o: [o.officer_id], limit, after)

    def officer_cases_page(self, district: str, officer_id: str, limit: int, after: Any
                           ) -> tuple[list[Case], list[str] | None]:
        return fake_page(self.cases_of_officer(district, officer_id), lambda c: [c.opened_at.isoformat(), c.chain_id],
                         limit, after)

    def district_cases_page(self, district: str, limit: int, after: Any) -> tuple[list[Case], list[str] | None]:
        return fake_page(self.cases_of_district(district), lambda c: [c.opened_at.isoformat(), c.chain_id], limit,
                         after)

    def districts(self) -> list[str]:
        return sorted(self.data.districts)

    def add_district(self, district: str) -> None:
        self.data.districts.add(district)


class FakeContingencies:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_contingency(self, checkin_id: str) -> Contingency | None:
        found: Contingency | None = self.data.table("contingency").get(checkin_id)
        return found

    def pending_contingencies(self, limit: int = 200) -> list[Contingency]:
        return [c for c in self.data.table("contingency").values() if c.pending][:limit]

    def callbacks_page(self, district: str, limit: int, after: Any) -> tuple[list[Contingency], list[str] | None]:
        return fake_page((c for c in self.data.table("contingency").values()
                          if c.callback_open and c.district == district),
                         lambda c: [c.created_at.isoformat(), c.checkin_id], limit, after)

    def outage(self, registry: str) -> Outage | None:
        return self.data.outages.get(registry)


class FakeReports:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def get_report(self, district: str, day: date) -> DailyReport | None:
        found: DailyReport | None = self.data.table("report").get((district, day))
        return found


class FakeMarkers:
    def __init__(self, data: ControlData) -> None:
        self.data = data

    def claim(self, key: str, body: dict[str, Any] | None = None, ttl: timedelta = MARKER_RETENTION) -> bool:
        if key in self.data.markers:
            return False
        self.data.markers[key] = dict(body or {})
        return True

    def release(self, key: str) -> None:
        self.data.markers.pop(key, None)

    def marker(self, key: str) -> dict[str, Any] | None:
        return self.data.markers.get(key)


def fake_control(data: ControlData | None = None) -> ControlStores:
    data = data or ControlData()
    return ControlStores(uow=FakeUnitOfWork(data), measures=FakeMeasures(data), enrolments=FakeEnrolments(data),
                         calendars=FakeCalendars(data), checkins=FakeCheckins(data), incidents=FakeIncidents(data),
                         officers=FakeOfficers(data), contingencies=FakeContingencies(data),
                         reports=FakeReports(data), markers=FakeMarkers(data))


# --- registries, channels and outbound messages ---------------------------------------------------------

class FakeIdentityRegistry:
    """The identity registry: a dict of records, which can be taken down (every call fails) or emptied."""

    def __init__(self, records: dict[str, IdentityRecord] | None = None) -> None:
        self.records = dict(records or {})
        self.down = False
        self.calls = 0

    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None:
        self.calls += 1
        if self.down:
            raise ServiceUnavailable("The registry did not answer.", code="registry_timeout")
        return self.records.get(f"{document_type}#{document_number}")

    def ping(self) -> None:
        if self.down:
            raise ServiceUnavailable("The registry did not answer.", code="registry_timeout")


class FakeWarrantsRegistry:
    def __init__(self) -> None:
        self.warrants: list[Warrant] = []
        self.staged: dict[str, list[Warrant]] = {}
        self.down = False

    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        if self.down:
            raise ServiceUnavailable("The registry did not answer.", code="registry_timeout")
        return [w for w in self.warrants if (document_number and w.document_number == document_number)
                or name_similarity(full_name, w.full_name) >= name_threshold]

    def put_warrants(self, warrants: list[tuple[Warrant, str]], stage: str | None = None) -> None:
        """Staged warrants wait in ``staged`` (seen by no reader) until published."""
        if stage is None:
            self.warrants.extend(w for w, _ in warrants)
        else:
            self.staged.setdefault(stage, []).extend(w for w, _ in warrants)

    def publish_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        ids = {w.warrant_id for w, _ in warrants}
        self.warrants.extend(w for w in self.staged.get(stage, []) if w.warrant_id in ids)

    def discard_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        ids = {w.warrant_id for w, _ in warrants}
        self.staged[stage] = [w for w in self.staged.get(stage, []) if w.warrant_id not in ids]

    def ping(self) -> None:
        if self.down:
            raise ServiceUnavailable("The registry did not answer.", code="registry_timeout")


class RecordingChat:
    """The chat notifier: records what each chat was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        self.sent.append((chat_id, text))
        return {"ok": True}

    def to(self, chat_id: str) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


class RecordingEmail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str, attachments: list[Any]) -> str:
        self.sent.append((to, subject, body))
        return f"m{len(self.sent)}"


class RecordingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone_e164: str, text: str) -> str:
        self.sent.append((phone_e164, text))
        return f"s{len(self.sent)}"


class MemoryStorage:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str = "application/pdf") -> None:
        self.files[key] = data

    def get(self, key: str) -> bytes | None:
        return self.files.get(key)

    def ping(self) -> None:
        return None


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def entries_for_day(self, day: date, limit: int) -> list[AuditEntry]:
        return [e for e in self.entries if e.at.astimezone(UTC).date() == day][:limit]

    def entries_for_target(self, target: str, limit: int) -> list[AuditEntry]:
        return sorted((e for e in self.entries if e.target == target), key=lambda e: e.at)[:limit]

    def page_for_day(self, day: date, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        of_day = [(f"{e.at.isoformat()}#{n:08d}", e) for n, e in enumerate(self.entries) if e.at.date() == day]
        rest = sorted(p for p in of_day if after is None or p[0] > after)
        more = len(rest) > limit
        return [e for _, e in rest[:limit]], rest[limit - 1][0] if more else None

    def actions(self) -> list[str]:
        return [e.action for e in self.entries]

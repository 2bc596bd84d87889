"""A person's file, as an officer, their CVP head or their court reads it: the measure in force and its chain,
the enrolment and the photo on file, the officer's case, every check-in with the evidence of each step, the
incidents, and the periods due against the periods registered. Each read is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...domain.control.calendar import Window, window_due
from ...domain.control.checkins import Checkin, WindowState
from ...domain.control.enrolment import Enrolment, LinkAttempt
from ...domain.control.incidents import Incident
from ...domain.control.measures import Measure
from ...domain.control.officers import Case
from ...domain.control.ports import Calendars, Checkins, Enrolments, Incidents, Measures, Officers
from ...domain.errors import NotFound
from ...domain.operators import Operator, Role
from ...domain.ports import AuditLog, Clock
from .cases import linked_enrolment, own_case
from .common import audit_entry, chain_of, head_of_chain, peru_today, visible_measure

# Who reads a file in which capacity: an officer only the people on their own list, a CVP head their
# districts', court staff their courts'.
READERS = (Role.OFFICER, Role.CVP_HEAD, Role.COURT)


@dataclass(frozen=True)
class Period:
    window: Window
    state: str  # registered | refused | held | open | missed | upcoming
    at: Any = None
    checkin_id: str | None = None
    document_id: str | None = None


@dataclass(frozen=True)
class PersonFile:
    measure: Measure  # the measure in force (the head of the chain)
    chain: list[Measure]
    enrolment: Enrolment | None
    case: Case | None
    checkins: list[Checkin]
    incidents: list[Incident]
    periods: list[Period]
    attempts: list[LinkAttempt]
    as_role: str

    @property
    def closed_windows(self) -> list[Period]:
        """Windows a refusal closed: the officer may reopen them."""
        return [p for p in self.periods if p.state == "refused"]

    @property
    def registered(self) -> int:
        return sum(1 for p in self.periods if p.state == "registered")

    @property
    def due(self) -> int:
        return sum(1 for p in self.periods if p.state in ("registered", "refused", "missed", "held"))


def _visible(measure_id: str, operator: Operator, as_role: str, measures: Measures, officers: Officers) -> Measure:
    if as_role not in operator.roles or as_role not in {r.value for r in READERS}:
        raise NotFound("No such person.")
    if as_role == Role.OFFICER.value:
        return own_case(measure_id, operator, measures=measures, officers=officers)[1]
    measure = visible_measure(measures, measure_id, operator, frozenset({as_role}))
    return head_of_chain(measures, measure.measure_id) or measure


def periods(measure: Measure, enrolment: Enrolment | None, *, calendars: Calendars, checkins: Checkins,
            today: date) -> list[Period]:
    """Each window the person owed (the calendar of their district and group, from the measure's start), with
    what happened in it; the current one as open, and the next one as upcoming."""
    enrolled_on = peru_today(enrolment.enrolled_at) if enrolment else None
    result: list[Period] = []
    upcoming = False
    for year in range(measure.start_date.year, min(measure.end_date.year, today.year + 1) + 1):
        calendar = calendars.get_calendar(year, measure.district)
        for window in calendar.windows(measure.group) if calendar else ():
            if window.start > today and (upcoming or window.start > measure.end_date):
                continue
            owed = window_due(window, group=measure.group, periodicity_months=measure.periodicity_months,
                              start=measure.start_date, end=measure.end_date,
                              first_registration_deadline=measure.first_registration_deadline,
                              enrolled_on=enrolled_on)
            if not owed:
                continue
            if window.start > today:
                result.append(Period(window, "upcoming"))
                upcoming = True
                continue
            record = checkins.window(measure.chain_id, window.key)
            if record.state is WindowState.REGISTERED:
                state = "registered"
            elif record.state is WindowState.REFUSED:
                state = "refused"
            elif record.state is WindowState.HELD:
                state = "held"
            else:
                state = "open" if window.contains(today) else "missed"
            result.append(Period(window, state, record.at, record.checkin_id, record.document_id))
    return result


def person_file(measure_id: str, *, operator: Operator, as_role: str, measures: Measures, enrolments: Enrolments,
                officers: Officers, checkins: Checkins, incidents: Incidents, calendars: Calendars, audit: AuditLog,
                clock: Clock) -> PersonFile:
    measure = _visible(measure_id, operator, as_role, measures, officers)
    chain = chain_of(measures, measure)
    enrolment = linked_enrolment(enrolments, measure.chain_id)
    found = sorted((k for m in chain for k in checkins.checkins_of_measure(m.measure_id, limit=50)),
                   key=lambda k: k.started_at, reverse=True)
    events = sorted((i for m in chain for i in incidents.incidents_of_measure(m.measure_id)),
                    key=lambda i: i.created_at, reverse=True)
    now = clock.now()
    attempts = [a for a in enrolments.link_attempts_of_chain(measure.chain_id) if a.resolved is None] \
        if as_role == Role.OFFICER.value else []
    audit.append(audit_entry(operator, now, "person.read", measure.measure_id, as_role=as_role))
    return PersonFile(measure=measure, chain=chain, enrolment=enrolment, case=officers.get_case(measure.chain_id),
                      checkins=found, incidents=events,
                      periods=periods(measure, enrolment, calendars=calendars, checkins=checkins,
                                      today=peru_today(now)),
                      attempts=attempts, as_role=as_role)


def recent_checkins(measure_ids: list[str], *, checkins: Checkins, limit: int = 20) -> list[Checkin]:
    """The latest check-ins of these people (an officer's list), newest first: two of each at most."""
    found = [k for measure_id in measure_ids[:200] for k in checkins.checkins_of_measure(measure_id, limit=2)]
    return sorted(found, key=lambda k: k.started_at, reverse=True)[:limit]

"""Virtual control's event handlers and scheduled jobs: each wires one use case from the container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..domain import fanout
from ..domain.control.contingency import Resolution
from ..domain.control.officers import CaseReason
from ..domain.requests import Event
from ..services.control import cases, contingency, enrolment, incidents, notices, officers, reports

if TYPE_CHECKING:
    from ..bootstrap import Container


def _enrolled(event: Event, c: Container) -> None:
    d = event.data
    officers.open_case(str(d["chain_id"]), str(d["district"]), event.aggregate_id, CaseReason.ENROLLED,
                       officers=c.control.officers, uow=c.control.uow, rng=c.rng, clock=c.clock)


def _measure_ended(event: Event, c: Container) -> None:
    officers.close_case(str(event.data.get("chain_id") or event.aggregate_id), officers=c.control.officers,
                        uow=c.control.uow)


def _measure_created(event: Event, c: Container) -> None:
    enrolment.resolve_unmatched(event.aggregate_id, measures=c.control.measures, enrolments=c.control.enrolments,
                                uow=c.control.uow, clock=c.clock)


def _incident(event: Event, c: Container) -> None:
    incidents.forward_incident(event.aggregate_id, incidents=c.control.incidents, recipients=c.recipients,
                               email=c.email, markers=c.control.markers, uow=c.control.uow, clock=c.clock)


def _contact_sms(event: Event, c: Container) -> None:
    cases.send_contact_sms(event.event_id, event.aggregate_id, measures=c.control.measures,
                           enrolments=c.control.enrolments, markers=c.control.markers, sms=c.sms)


def _report_issued(event: Event, c: Container) -> None:
    reports.email_report(event.aggregate_id, event.data, storage=c.storage, email=c.email, markers=c.control.markers,
                         to=c.settings.cvp_head_email)


def _email_once(key: str, c: Container, subject_body: tuple[str, str]) -> None:
    markers = c.control.markers
    if not markers.claim(key):
        return
    try:
        c.email.send(c.settings.cvp_head_email, subject_body[0], subject_body[1], [])
    except Exception:
        markers.release(key)
        raise


def _outage_started(event: Event, c: Container) -> None:
    """The CVP head is told at once, one e-mail per outage."""
    d = event.data
    _email_once(f"outage-alert#{event.event_id}", c,
                contingency.outage_alert(str(d["registry"]), datetime.fromisoformat(str(d["started_at"]))))


def _outage_ended(event: Event, c: Container) -> None:
    d = event.data
    _email_once(f"outage-recovered#{event.event_id}", c,
                contingency.recovery_notice(str(d["registry"]), datetime.fromisoformat(str(d["ended_at"]))))


RESOLUTION_TEXTS = {Resolution.RETRY: "push.control_resumed_retry",
                    Resolution.WINDOW_CLOSED: "push.control_resumed_window_closed",
                    Resolution.REVIEW: "push.control_resumed_review"}


def _contingency_resolved(event: Event, c: Container) -> None:
    """The person learns, in their language, how their held check-in ended."""
    d = event.data
    try:
        resolution = Resolution(str(d.get("resolution")))
    except ValueError:
        return
    if resolution is Resolution.COMPLETED:
        key = "push.control_resumed_registered" if d.get("outcome") == "registered" \
            else "push.control_resumed_not_registered"
    else:
        key = RESOLUTION_TEXTS.get(resolution, "")
    if not key:
        return
    end = d.get("window_end")
    notices.push_once(f"push#{event.event_id}", str(d.get("owner", "")), key, str(d.get("language", "es")),
                      notifier=c.notifier(), markers=c.control.markers,
                      end=date.fromisoformat(str(end)).strftime("%d/%m/%Y") if end else "")


def _person(event: Event, c: Container) -> None:
    notices.notify_person(event.event_id, event.name, event.aggregate_id, event.data, measures=c.control.measures,
                          enrolments=c.control.enrolments, calendars=c.control.calendars, notifier=c.notifier(),
                          markers=c.control.markers, clock=c.clock)


def _calendar_published(event: Event, c: Container) -> None:
    """The plan only: the messages go out in units, from the notices consumer."""
    notices.calendar_published(event.event_id, int(event.data["year"]), str(event.data["district"]),
                               measures=c.control.measures, calendars=c.control.calendars, jobs=c.jobs,
                               uow=c.control.uow, clock=c.clock)


def _calendar_unit(event: Event, c: Container) -> None:
    k = c.control
    notices.calendar_unit(event.data, measures=k.measures, enrolments=k.enrolments, calendars=k.calendars,
                          notifier=c.notifier(), markers=k.markers, jobs=c.jobs, clock=c.clock)


def _reminders_unit(event: Event, c: Container) -> None:
    k = c.control
    notices.reminders_unit(event.data, measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                           calendars=k.calendars, notifier=c.notifier(), markers=k.markers, jobs=c.jobs,
                           clock=c.clock)


def _daily_report_unit(event: Event, c: Container) -> None:
    k = c.control
    reports.daily_report_unit(event.data, incidents=k.incidents, reports=k.reports, documents=c.store,
                              producer=c.producer(), storage=c.storage, uow=k.uow, jobs=c.jobs, clock=c.clock,
                              public_base_url=c.settings.public_base_url)


HANDLERS: dict[str, list[Callable[[Event, Any], None]]] = {
    "measure.created": [_measure_created],
    "control.enrolled": [_enrolled],
    "control.measure_ended": [_measure_ended, _person],
    "control.incident": [_incident],
    "control.contact_sms": [_contact_sms],
    "control.report_issued": [_report_issued],
    "control.outage_started": [_outage_started],
    "control.outage_ended": [_outage_ended],
    "control.contingency_resolved": [_contingency_resolved],
    "control.calendar_published": [_calendar_published],
    fanout.DAILY_REPORT_UNIT: [_daily_report_unit],
    **{name: [_person] for name in notices.TEXTS if name != "control.measure_ended"},
}
# The units of bulk notices are the notices consumer's: chat messages never hold up the work.
NOTICE_HANDLERS: dict[str, list[Callable[[Event, Any], None]]] = {
    fanout.REMINDERS_UNIT: [_reminders_unit],
    fanout.CALENDAR_UNIT: [_calendar_unit],
}


# --- scheduled jobs (app.py's schedules call these) ---------------------------------------------------------

def reminders(c: Container) -> int:
    """The plan of this hour's reminders; returns the units planned."""
    k = c.control
    job = notices.plan_reminders(officers=k.officers, measures=k.measures, calendars=k.calendars,
                                 notifier=c.notifier(), jobs=c.jobs, uow=k.uow, clock=c.clock)
    return job.units if job else 0


def missed_checkins(c: Container) -> int:
    k = c.control
    return incidents.record_missed_checkins(measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                                            calendars=k.calendars, officers=k.officers, uow=k.uow, clock=c.clock)


def not_enrolled(c: Container) -> int:
    k = c.control
    return incidents.record_not_enrolled(measures=k.measures, officers=k.officers, uow=k.uow, rng=c.rng,
                                         clock=c.clock)


def daily_reports(c: Container) -> int:
    """The plan of yesterday's reports; returns the units (districts) planned."""
    job = reports.plan_daily_reports(officers=c.control.officers, jobs=c.jobs, uow=c.control.uow, clock=c.clock)
    return job.units if job else 0


def recovery(c: Container) -> dict[str, Any]:
    return contingency.recover(registries=c.registries, p=c.checkin_ports())


def ended_measures(c: Container) -> int:
    k = c.control
    return officers.close_ended_cases(officers=k.officers, measures=k.measures, uow=k.uow, clock=c.clock)

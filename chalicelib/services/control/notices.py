"""What people under virtual control are told in their chat, in their language, once each: reminders before
a window opens and closes, and every change that concerns them (their group, their measure, a window missed or
reopened, the calendar published, their enrolment confirmed or moved, a held check-in decided)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ...domain.control.calendar import PERU, district_has_reminders, reminders_due, within_sending_hours
from ...domain.control.checkins import WindowState
from ...domain.control.measures import Measure
from ...domain.control.ports import Calendars, Checkins, Enrolments, Markers, Measures, Officers, UnitOfWork
from ...domain.fanout import (
    CALENDAR,
    CALENDAR_UNIT,
    REMINDERS,
    REMINDERS_UNIT,
    calendar_job_id,
    chunks,
    reminders_job_id,
)
from ...domain.jobs import Job, Jobs, JobStatus
from ...domain.outbound import ChatChannel
from ...domain.ports import Clock
from .. import fanout
from ..notifications import push_text
from .calendar import next_window, window_for
from .cases import linked_enrolment
from .common import chat_id, head_of_chain, peru_today

log = logging.getLogger(__name__)


def _day(value: date | str | None, language: str) -> str:
    """Dates as people in Peru write them, in both languages (the API ships no locale data)."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%d/%m/%Y}"


def push_once(key: str, owner: str | None, text_key: str, language: str, *, notifier: ChatChannel | None,
              markers: Markers, **values: str) -> bool:
    """One message to one chat, once: a marker guards it, released when the chat service fails so a retry
    sends it."""
    chat = chat_id(owner)
    if chat is None or notifier is None:
        return False
    if not markers.claim(key):
        return False
    try:
        notifier.send_message(chat, push_text(text_key, language, **values))
    except Exception:
        markers.release(key)
        raise
    return True


def notify_person(event_id: str, name: str, measure_id: str, data: dict[str, Any], *, measures: Measures,
                  enrolments: Enrolments, calendars: Calendars, notifier: ChatChannel | None, markers: Markers,
                  clock: Clock) -> bool:
    """Handler of the control events that concern one person: the measure's linked chat is told, in the
    language it enrolled in, with the name on the court's record."""
    measure = head_of_chain(measures, measure_id)
    owner = data.get("owner") or (measure.linked_owner if measure else None)
    enrolment = enrolments.get_enrolment(str(owner)) if owner else None
    language = str(data.get("language") or (enrolment.language if enrolment else "es"))
    person = measure.person.full_name if measure else ""
    values: dict[str, str] = {"name": person}
    key = TEXTS.get(name)
    if name == "control.measure_changed" and data.get("change") == "authorisation":
        key = "push.control_authorisation"
    if name == "control.group_changed" and measure is not None:
        window = window_for(calendars, measure, peru_today(clock.now()))
        values.update(group=str(data.get("group", "")), start=_day(window.start if window else None, language),
                      end=_day(window.end if window else None, language))
    elif name == "control.window_missed":
        values.update(start=_day(data.get("window_start"), language), end=_day(data.get("window_end"), language))
    elif name in ("control.enrolment_confirmed", "control.relinked") and measure is not None:
        window = window_for(calendars, measure, peru_today(clock.now()))
        values.update(start=_day(window.start if window else None, language),
                      end=_day(window.end if window else None, language))
    elif name == "control.checkin_reviewed":
        key = REVIEW_TEXTS.get(str(data.get("message")), "push.control_review_other")
        following = data.get("next_window") or {}
        values.update(start=_day(following.get("start"), language), end=_day(following.get("end"), language))
    if key is None:
        return False
    sent = push_once(f"push#{event_id}", owner, key, language, notifier=notifier, markers=markers, **values)
    if name == "control.relinked" and data.get("previous_owner"):
        previous = enrolments.get_enrolment(str(data["previous_owner"]))
        push_once(f"push#{event_id}#previous", str(data["previous_owner"]), "push.control_unlinked",
                  previous.language if previous else "es", notifier=notifier, markers=markers, name=person)
    return sent


TEXTS = {
    "control.group_changed": "push.control_group_changed",
    "control.measure_changed": "push.control_measure_changed",
    "control.measure_ended": "push.control_measure_ended",
    "control.window_missed": "push.control_window_missed",
    "control.window_reopened": "push.control_window_reopened",
    "control.enrolment_confirmed": "push.control_enrolment_confirmed",
    "control.enrolment_rejected": "push.control_enrolment_rejected",
    "control.relinked": "push.control_relinked",
    "control.measure_ready": "push.control_measure_ready",
    "control.checkin_reviewed": "push.control_review_other",
}
REVIEW_TEXTS = {"annex3.f": "push.control_review_registered", "annex3.c": "push.control_review_not_confirmed",
                "annex3.e": "push.control_review_out_of_area", "annex3.d": "push.control_review_fresh_location"}


def calendar_published(event_id: str, year: int, district: str, *, measures: Measures, calendars: Calendars,
                       jobs: Jobs, uow: UnitOfWork, clock: Clock) -> Job | None:
    """Handler of control.calendar_published: a plan (a job of units of up to 25 people of the district), so that
    no consumer spends a district's worth of messages in one go; each unit is sent by :func:`calendar_unit`."""
    if calendars.get_calendar(year, district) is None:
        return None
    ids = [m.measure_id for m in measures.active_measures_of_district(district)]
    units = [{"event_id": event_id, "year": year, "district": district, "measures": batch} for batch in chunks(ids)]
    return fanout.plan(calendar_job_id(event_id), CALENDAR, f"{district} {year}", units, CALENDAR_UNIT, jobs=jobs,
                       uow=uow, clock=clock)


def calendar_unit(data: dict[str, Any], *, measures: Measures, enrolments: Enrolments, calendars: Calendars,
                  notifier: ChatChannel | None, markers: Markers, jobs: Jobs, clock: Clock) -> int:
    """One unit of a calendar's notices: each enrolled person of it learns their windows of the year, once."""
    year, event_id = int(data.get("year", 0)), str(data.get("event_id", ""))
    calendar = calendars.get_calendar(year, str(data.get("district", "")))

    def tell(measure: Measure) -> int:
        enrolment = linked_enrolment(enrolments, measure.chain_id)
        if calendar is None or enrolment is None or not enrolment.active:
            return 0
        windows = [w for w in calendar.windows(measure.group) if (w.period - 1) % measure.periodicity_months == 0]
        if not windows:
            return 0
        dates = ", ".join(f"{_day(w.start, enrolment.language)} – {_day(w.end, enrolment.language)}"
                          for w in windows)
        return push_once(f"push#{event_id}#{measure.chain_id}", enrolment.owner, "push.control_calendar",
                         enrolment.language, notifier=notifier, markers=markers, name=measure.person.full_name,
                         year=str(year), group=measure.group, windows=dates)

    return fanout.run_unit(data, lambda: _each_person(data, tell, measures=measures), jobs=jobs, clock=clock)


def plan_reminders(*, officers: Officers, measures: Measures, calendars: Calendars, notifier: ChatChannel | None,
                   jobs: Jobs, uow: UnitOfWork, clock: Clock) -> Job | None:
    """The hourly plan: the people of every district where a window opens or closes tomorrow, in units of up to 25,
    each sent by :func:`reminders_unit`. One job per Peru hour: planning again in the same hour adds nothing. Only
    from 08:00 to 20:00 Peru time."""
    now = clock.now()
    if not within_sending_hours(now):
        return None
    if notifier is None:
        log.info("chat notifications are off (no bot token): reminders not planned")
        return None
    hour = now.astimezone(PERU)
    job_id = reminders_job_id(hour)
    if (planned := jobs.get_job(job_id)) is not None and planned.status is not JobStatus.QUEUED:
        return planned  # this hour's plan is made: nothing to read
    today = peru_today(now)
    ids: list[str] = []
    for district in sorted(officers.districts()):  # sorted, so that a plan resumed after a crash cuts the same units
        calendars_of_district = [calendars.get_calendar(year, district) for year in (today.year, today.year + 1)]
        if not any(district_has_reminders(calendar, today) for calendar in calendars_of_district):
            continue  # most days no window of the district opens or closes tomorrow: nothing to read
        ids.extend(sorted(m.measure_id for m in measures.active_measures_of_district(district)))
    units = [{"day": today.isoformat(), "measures": batch} for batch in chunks(ids)]
    job = fanout.plan(job_id, REMINDERS, f"{hour:%Y-%m-%d %H}h", units, REMINDERS_UNIT, jobs=jobs, uow=uow,
                      clock=clock)
    log.info("reminders planned", extra={"units": job.units if job else 0})
    return job


def reminders_unit(data: dict[str, Any], *, measures: Measures, enrolments: Enrolments, checkins: Checkins,
                   calendars: Calendars, notifier: ChatChannel | None, markers: Markers, jobs: Jobs,
                   clock: Clock) -> int:
    """One unit of reminders: the day before a window opens and the day before it closes, to each of its people
    who has not registered for it, in their language, never twice. Sent only on the day planned, from 08:00 to
    20:00 Peru time: a unit that comes later sends nothing (the next hour's plan covers what is still due)."""
    now, day = clock.now(), date.fromisoformat(str(data.get("day") or peru_today(clock.now())))

    def send() -> int:
        if not data.get("measures"):
            return 0  # an index a resumed plan no longer had work for
        if notifier is None or not within_sending_hours(now) or peru_today(now) != day:
            log.info("reminder unit outside its sending hours: nothing sent", extra={"job_id": data.get("job_id")})
            return 0
        return _each_person(data, lambda measure: _remind(measure, day, enrolments=enrolments, checkins=checkins,
                                                          calendars=calendars, notifier=notifier, markers=markers),
                            measures=measures)

    return fanout.run_unit(data, send, jobs=jobs, clock=clock)


def _each_person(data: dict[str, Any], send: Callable[[Measure], int], *, measures: Measures) -> int:
    """Every person of a unit, each on their own: one whose message fails does not hold up the others; then the
    unit fails (the outbox retries it, and those already told are not told again)."""
    sent, failed = 0, None
    for measure_id in data.get("measures") or ():
        measure = measures.get_measure(str(measure_id))
        if measure is None or not measure.active:
            continue
        try:
            sent += send(measure)
        except Exception as exc:
            failed = failed or exc
    if failed is not None:
        log.warning("some messages of the unit failed; it will be retried",
                    extra={"job_id": data.get("job_id"), "unit": data.get("unit"), "sent": sent})
        raise failed
    return sent


def _remind(measure: Measure, today: date, *, enrolments: Enrolments, checkins: Checkins, calendars: Calendars,
            notifier: ChatChannel, markers: Markers) -> int:
    enrolment = linked_enrolment(enrolments, measure.chain_id)
    if enrolment is None or not enrolment.active or not measure.in_force(today):
        return 0
    window = window_for(calendars, measure, today)
    windows = [window] if window else []
    following = next_window(calendars, measure, window) if window and today >= window.end - timedelta(days=1) \
        else None
    if following is not None:
        windows.append(following)  # a window may close the day before the next opens
    sent = 0
    for current in windows:
        kinds = reminders_due(current, today)
        if not kinds or checkins.window(measure.chain_id, current.key).state is WindowState.REGISTERED:
            continue
        for kind in kinds:
            sent += push_once(f"reminder#{measure.chain_id}#{current.key}#{kind.value}", enrolment.owner,
                              f"push.control_{kind.value}", enrolment.language, notifier=notifier, markers=markers,
                              start=f"{current.start:%d/%m/%Y}", end=f"{current.end:%d/%m/%Y}",
                              name=measure.person.full_name)
    return sent

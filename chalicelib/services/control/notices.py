"""What people under virtual control are told in their chat, in their language, once each: reminders before
a window opens and closes, and every change that concerns them (their group, their measure, a window missed or
reopened, the calendar published, their enrolment confirmed or moved, a held check-in decided)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from ...domain.control.calendar import district_has_reminders, reminders_due, within_sending_hours
from ...domain.control.checkins import WindowState
from ...domain.control.measures import Measure
from ...domain.control.ports import Calendars, Checkins, Enrolments, Markers, Measures, Officers
from ...domain.errors import DomainError
from ...domain.outbound import ChatChannel
from ...domain.ports import Clock
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


def calendar_published(event_id: str, year: int, district: str, *, measures: Measures, enrolments: Enrolments,
                       calendars: Calendars, notifier: ChatChannel | None, markers: Markers) -> int:
    """Handler of control.calendar_published: each enrolled person of the district learns their windows of
    the year."""
    calendar = calendars.get_calendar(year, district)
    if calendar is None:
        return 0
    sent = 0
    for measure in measures.active_measures_of_district(district):
        enrolment = linked_enrolment(enrolments, measure.chain_id)
        if enrolment is None or not enrolment.active:
            continue
        windows = [w for w in calendar.windows(measure.group) if (w.period - 1) % measure.periodicity_months == 0]
        if not windows:
            continue
        dates = ", ".join(f"{_day(w.start, enrolment.language)} – {_day(w.end, enrolment.language)}"
                          for w in windows)
        sent += push_once(f"push#{event_id}#{measure.chain_id}", enrolment.owner, "push.control_calendar",
                          enrolment.language, notifier=notifier, markers=markers, name=measure.person.full_name,
                          year=str(year), group=measure.group, windows=dates)
    return sent


def send_reminders(*, officers: Officers, measures: Measures, enrolments: Enrolments, checkins: Checkins,
                   calendars: Calendars, notifier: ChatChannel | None, markers: Markers, clock: Clock) -> int:
    """The hourly job: reminders the day before a window opens and the day before it closes, to each person
    who has not registered for it, in their language; only from 08:00 to 20:00 Peru time, never twice."""
    now = clock.now()
    if not within_sending_hours(now):
        return 0
    if notifier is None:
        log.info("chat notifications are off (no bot token): reminders not sent")
        return 0
    today = peru_today(now)
    sent = 0
    for district in officers.districts():
        calendars_of_district = [calendars.get_calendar(year, district) for year in (today.year, today.year + 1)]
        if not any(district_has_reminders(calendar, today) for calendar in calendars_of_district):
            continue  # most days no window of the district opens or closes tomorrow: nothing to read
        for measure in measures.active_measures_of_district(district):
            sent += _remind(measure, today, enrolments=enrolments, checkins=checkins, calendars=calendars,
                            notifier=notifier, markers=markers)
    log.info("reminders sent", extra={"count": sent})
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
            try:
                sent += push_once(f"reminder#{measure.chain_id}#{current.key}#{kind.value}", enrolment.owner,
                                  f"push.control_{kind.value}", enrolment.language, notifier=notifier,
                                  markers=markers, start=f"{current.start:%d/%m/%Y}", end=f"{current.end:%d/%m/%Y}",
                                  name=measure.person.full_name)
            except DomainError:
                log.warning("reminder not sent; will retry", extra={"kind": kind.value})
    return sent

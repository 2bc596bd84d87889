"""The annual calendar: which window a measure reports in now and next, and publishing a district's year."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from ...domain.control.calendar import Calendar, Window, parse_calendar
from ...domain.control.measures import Measure
from ...domain.control.people import parse_district
from ...domain.control.ports import Calendars, Officers, UnitOfWork
from ...domain.errors import ValidationError
from ...domain.operators import Operator
from ...domain.ports import Clock
from .common import audit_entry, event


class RememberedCalendars:
    """The calendars one use case reads, each read once (the window and the next one often share a year)."""

    def __init__(self, calendars: Calendars) -> None:
        self._calendars = calendars
        self._seen: dict[tuple[int, str], Calendar | None] = {}

    def get_calendar(self, year: int, district: str) -> Calendar | None:
        if (year, district) not in self._seen:
            self._seen[(year, district)] = self._calendars.get_calendar(year, district)
        return self._seen[(year, district)]


def window_for(calendars: Calendars, measure: Measure, day: date) -> Window | None:
    """The window containing the day (or the next one) of the measure's group, this year or the next."""
    day = max(day, measure.start_date)
    calendar = calendars.get_calendar(day.year, measure.district)
    window = calendar.current_or_next(measure.group, day, measure.periodicity_months) if calendar else None
    if window is None:
        following = calendars.get_calendar(day.year + 1, measure.district)
        window = following.current_or_next(measure.group, date(day.year + 1, 1, 1),
                                           measure.periodicity_months) if following else None
    return window


def next_window(calendars: Calendars, measure: Measure, window: Window | None) -> Window | None:
    if window is None:
        return None
    calendar = calendars.get_calendar(window.start.year, measure.district)
    following = calendar.next_after(window, measure.periodicity_months) if calendar else None
    if following is None:
        following = window_for(calendars, measure, date(window.start.year + 1, 1, 1))
    return following


def known_groups(calendars: Calendars, district: str, year: int) -> set[str] | None:
    calendar = calendars.get_calendar(year, district)
    return set(calendar.groups) if calendar else None


def parse_year(value: Any) -> int:
    text = str(value)
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise ValidationError("Expected a year such as 2026.", field="year")
    return int(text)


def put_calendar(year: str | int, district: str, payload: Any, *, operator: Operator, uow: UnitOfWork,
                 officers: Officers, clock: Clock) -> Calendar:
    """Publish a district's calendar for a year; the people of the district are told their windows."""
    district = parse_district(district)
    operator.require_district(district)
    now = clock.now()
    calendar = replace(parse_calendar(parse_year(year), district, payload), published_at=now)
    tx = uow.begin()
    tx.put_calendar(calendar)
    tx.add_audit(audit_entry(operator, now, "calendar.publish", f"{calendar.year}#{district}"))
    tx.add_event(event("control.calendar_published", f"{calendar.year}#{district}", now, year=calendar.year,
                       district=district))
    tx.commit()
    officers.add_district(district)
    return calendar


def calendar_view(calendar: Calendar) -> dict[str, Any]:
    return {"year": calendar.year, "district": calendar.district, "groups": sorted(calendar.groups),
            "published_at": calendar.published_at.isoformat() if calendar.published_at else None,
            "windows": {g: [w.view() | {"period": w.period} for w in ws] for g, ws in calendar.groups.items()}}

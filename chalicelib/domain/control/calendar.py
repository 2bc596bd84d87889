"""The "Calendario de Programación Anual": each group's reporting windows, which windows a measure owes,
and when reminders are due."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import ValidationError
from ..identity import parse_date

PERU = ZoneInfo("America/Lima")
SENDING_HOURS = (8, 20)  # Peru time: messages to people go out from 08:00 to 19:59
MISSED_LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class Window:
    group: str
    period: int
    start: date
    end: date

    @property
    def key(self) -> str:
        return f"{self.start.year}-P{self.period:02d}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def view(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "group": self.group}


def window_view(window: Window | None) -> dict[str, str] | None:
    return window.view() if window else None


@dataclass(frozen=True)
class Calendar:
    """One year and district: each group's range per period."""

    year: int
    district: str
    groups: dict[str, tuple[Window, ...]] = field(default_factory=dict)
    published_at: datetime | None = None

    def windows(self, group: str) -> tuple[Window, ...]:
        return self.groups.get(group, ())

    def current_or_next(self, group: str, day: date, periodicity_months: int = 1) -> Window | None:
        """The window that contains the day, else the next one; bimonthly reporting uses every other period."""
        for window in self.windows(group):
            if (window.period - 1) % periodicity_months == 0 and window.end >= day:
                return window
        return None

    def next_after(self, window: Window, periodicity_months: int = 1) -> Window | None:
        later = [w for w in self.windows(window.group) if w.start > window.end
                 and (w.period - 1) % periodicity_months == 0]
        return later[0] if later else None


def parse_calendar(year: int, district: str, data: Any) -> Calendar:
    """{"groups": {"A": [{"period": 1, "start": "2026-01-05", "end": "2026-01-09"}, ...], ...}}"""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict) or not data["groups"]:
        raise ValidationError("Expected {\"groups\": {\"<group>\": [{period, start, end}, ...]}}.", field="groups")
    unknown = sorted(set(data) - {"groups"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    groups: dict[str, tuple[Window, ...]] = {}
    for group, ranges in data["groups"].items():
        if not isinstance(ranges, list) or not ranges:
            raise ValidationError("Expected a list of date ranges.", field=f"groups.{group}")
        windows = []
        for index, item in enumerate(ranges):
            where = f"groups.{group}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("period"), int):
                raise ValidationError("Expected {period, start, end}.", field=where)
            start, end = parse_date(item.get("start"), f"{where}.start"), parse_date(item.get("end"), f"{where}.end")
            if end < start or start.year != year:
                raise ValidationError(f"The range must be inside {year} and end after it starts.", field=where)
            windows.append(Window(str(group), item["period"], start, end))
        windows.sort(key=lambda w: w.start)
        for a, b in zip(windows, windows[1:], strict=False):
            if b.start <= a.end:
                raise ValidationError("Ranges of a group must not overlap.", field=f"groups.{group}")
        groups[str(group)] = tuple(windows)
    return Calendar(year=year, district=district.upper(), groups=groups)


# --- reminders and windows that ended ---------------------------------------------------------------

class ReminderKind(StrEnum):
    OPENS = "opens"
    CLOSES = "closes"


def within_sending_hours(moment: datetime) -> bool:
    return SENDING_HOURS[0] <= moment.astimezone(PERU).hour < SENDING_HOURS[1]


def reminders_due(window: Window, today: date) -> list[ReminderKind]:
    """The day before a window opens and the day before it closes; the day itself too, so a run missed
    (quiet hours, an outage) is made up by the next one. A marker keeps each from going twice."""
    one_day = timedelta(days=1)
    due = []
    if window.start - one_day <= today <= window.start:
        due.append(ReminderKind.OPENS)
    if window.end - one_day <= today <= window.end:
        due.append(ReminderKind.CLOSES)
    return due


def district_has_reminders(calendar: Calendar | None, today: date) -> bool:
    """Whether any window of the district's calendar has a reminder due today (most days none has)."""
    return calendar is not None and any(reminders_due(w, today) for ws in calendar.groups.values() for w in ws)


def windows_ended(calendars: Iterable[Calendar | None], today: date,
                  lookback_days: int = MISSED_LOOKBACK_DAYS) -> list[Window]:
    """Windows of any group that ended in the last days (before today): a late or repeated run catches up."""
    earliest = today - timedelta(days=lookback_days)
    return [w for cal in calendars if cal for ws in cal.groups.values() for w in ws if earliest <= w.end < today]


def window_due(window: Window, *, group: str, periodicity_months: int, start: date, end: date,
               first_registration_deadline: date, enrolled_on: date | None) -> bool:
    """Whether a measure owed a registration in this window: its group and periodicity, inside the measure,
    and either the person had enrolled by then or the first-registration deadline had come (a person who
    never enrols owes every window from the deadline on)."""
    if window.group != group or (window.period - 1) % periodicity_months != 0:
        return False
    if not (start <= window.end and window.start <= end):
        return False
    enrolled_in_time = enrolled_on is not None and enrolled_on <= window.end
    return enrolled_in_time or window.end >= first_registration_deadline

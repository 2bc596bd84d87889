"""Bulk work fanned out as a job: a cheap plan cuts the work into small units, each announced by its own outbox
event and handled by a consumer like any event (retried alone, never twice in effect); the job counts the units
done and is done when all are."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime

UNIT_SIZE = 25  # people per unit of a bulk notice: a few seconds of chat messages at most

# The kinds of fan-out job (shown in the jobs' list) and the event each unit travels in.
REMINDERS = "notices:reminders"
CALENDAR = "notices:calendar"
DAILY_REPORTS = "reports:daily"
REMINDERS_UNIT = "notices.reminders_unit"
CALENDAR_UNIT = "notices.calendar_unit"
DAILY_REPORT_UNIT = "reports.daily_unit"

SYSTEM = "system"  # created_by of the jobs the schedules and the outbox plan


def chunks[T](items: Sequence[T], size: int = UNIT_SIZE) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def reminders_job_id(at: datetime) -> str:
    """One job per Peru hour (``at`` in Peru time): the hourly plan run twice in the same hour finds its job."""
    return f"reminders-{at:%Y%m%dT%H}"


def calendar_job_id(event_id: str) -> str:
    return f"calendar-{event_id}"


def daily_reports_job_id(day: date) -> str:
    return f"reports-daily-{day.isoformat()}"


def unit_event_id(job_id: str, index: int) -> str:
    """The same unit of the same plan is the same event: a plan resumed after a crash adds only what is missing."""
    return f"{job_id}.u{index}"


def unit_marker(job_id: str, index: int) -> str:
    return f"job-unit#{job_id}#{index}"

"""Time as the system sees it: a clock port implementation and Peru's calendar day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PERU = ZoneInfo("America/Lima")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told: for tests, demos and scheduled-job replays."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.moment = self.moment + timedelta(**delta)


def peru_today(moment: datetime) -> date:
    return moment.astimezone(PERU).date()

"""The contingency plan (annex 5): when a registry the check-in needs cannot be read, nothing the person sent is
lost, a callback is queued, and the check-in completes when the registry answers again."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..errors import ServiceUnavailable

REGISTRIES = ("identity", "warrants")
REGISTRY_LABELS = {"identity": "registro de identidad (Consulta RENIEC)",
                   "warrants": "registro judicial de requisitorias (SIJ)"}


class RegistryUnavailable(ServiceUnavailable):
    """An identity or judicial registry did not answer, or its breaker is open."""

    code = "registry_unavailable"

    def __init__(self, registry: str) -> None:
        super().__init__("A registry the check-in needs is not available; what you sent is kept.",
                         code="registry_unavailable")
        self.registry = registry


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` failures in a row and refuses calls for ``reset_after``; then lets one trial
    call through (half open): its success closes the breaker, its failure opens it again."""

    name: str
    threshold: int = 3
    reset_after: timedelta = timedelta(seconds=60)
    failures: int = 0
    opened_at: datetime | None = None
    trial_running: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def state(self, now: datetime) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at >= self.reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self, now: datetime) -> bool:
        with self._lock:
            state = self.state(now)
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self.trial_running:
                self.trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self.trial_running = 0, None, False

    def record_failure(self, now: datetime) -> None:
        with self._lock:
            self.failures += 1
            self.trial_running = False
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = now


class Resolution(StrEnum):
    COMPLETED = "completed"  # the pipeline ran on to its end with what the person had sent
    REVIEW = "review"  # the registry answered but had no record: an officer decides, never "wrong answers"
    RETRY = "retry"  # the window is still open but the person must send again: invited to retry
    WINDOW_CLOSED = "window_closed"  # the window closed meanwhile: told so; the officer's callback stands
    ALREADY_DONE = "already_done"  # the person finished the check-in themselves
    NOT_POSSIBLE = "not_possible"  # e.g. the measure was revoked meanwhile


@dataclass(frozen=True)
class Contingency:
    """A check-in held under the contingency plan, and the officer's callback it queued."""

    checkin_id: str
    owner: str
    measure_id: str
    district: str
    registry: str
    created_at: datetime
    answers: dict[str, Any] | None = None  # kept only until the check-in completes, then erased
    pending: bool = True
    resolution: str | None = None
    resolved_at: datetime | None = None
    callback_open: bool = True
    callback: dict[str, Any] | None = None  # officer, outcome, note, at
    holds: int = 1
    version: int = 0


@dataclass(frozen=True)
class Outage:
    registry: str
    started_at: datetime
    ended_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None

"""Officers' work on virtual control: fair distribution, contact log, reminders, missed windows, the registry
circuit breaker (annex 5) and the daily incident report (annex 4) — pure rules, no I/O."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from .control import Calendar, Incident, Measure, Window
from .errors import ServiceUnavailable, ValidationError

PERU = ZoneInfo("America/Lima")


# --- distribution of enrolments among officers ------------------------------------------------------

@dataclass(frozen=True)
class Officer:
    """An attention officer ("Encargado de Atención de Control Virtual") of one district."""

    district: str
    officer_id: str  # the operator token's subject
    active: bool = True
    assigned: int = 0  # enrolments in the officer's open list
    name: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""
    version: int = 0


def pick_officer(officers: Iterable[Officer], rng: random.Random) -> Officer | None:
    """Random and equitable: uniformly at random among the active officers with the fewest assignments.

    Candidates are sorted by id before the draw, so a seeded generator gives the same picks whatever order
    the database returned them in.
    """
    active = [o for o in officers if o.active]
    if not active:
        return None
    fewest = min(o.assigned for o in active)
    candidates = sorted((o for o in active if o.assigned == fewest), key=lambda o: o.officer_id)
    return rng.choice(candidates)


def distribute(officers: Sequence[Officer], count: int, rng: random.Random) -> tuple[list[str], list[Officer]]:
    """Assign ``count`` new enrolments one after another; returns the picks and the officers' new counts."""
    current = {o.officer_id: o for o in officers}
    picks: list[str] = []
    for _ in range(count):
        chosen = pick_officer(current.values(), rng)
        if chosen is None:
            break
        picks.append(chosen.officer_id)
        current[chosen.officer_id] = replace(chosen, assigned=chosen.assigned + 1)
    return picks, list(current.values())


def parse_officer_change(payload: Any) -> tuple[bool, str | None]:
    """{"active": true|false, "name": "..."}: an officer is added, renamed, activated or deactivated."""
    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"active\": true|false}.", field="active", code="invalid_body")
    unknown = sorted(set(payload) - {"active", "name"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    active = payload.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError("Expected true or false.", field="active")
    name = payload.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 120):
        raise ValidationError("Expected a name of at most 120 characters.", field="name")
    return active, name


# --- the officer's working record of one enrolment: contact log and first registration -----------------

class CallOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"


UNANSWERED = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY})
UNASSIGNED = "~unassigned"


@dataclass(frozen=True)
class ContactAttempt:
    at: datetime
    officer: str
    outcome: CallOutcome
    note: str = ""


@dataclass(frozen=True)
class Case:
    """One enrolment as its officer works it (annex 2): who has it, the calls made, the SMS, first registration."""

    owner: str  # the enrolment's chat account; never shown in URLs
    district: str
    measure_id: str
    enrolled_at: datetime
    officer: str | None = None
    contacts: tuple[ContactAttempt, ...] = ()
    sms_requested_at: datetime | None = None
    features: dict[str, Any] | None = None  # "Actualizar — Detalle de la Parte": identifying features
    first_registered_at: datetime | None = None
    first_registered_by: str | None = None
    version: int = 0

    def log_call(self, attempt: ContactAttempt) -> tuple[Case, bool]:
        """Record a call; the second unanswered call in a row makes the annex 2 (a) SMS due, once ever."""
        updated = replace(self, contacts=(*self.contacts, attempt))
        if self.sms_requested_at is not None:
            return updated, False
        unanswered = 0
        for contact in reversed(updated.contacts):
            if contact.outcome not in UNANSWERED:
                break
            unanswered += 1
        if unanswered >= 2:
            return replace(updated, sms_requested_at=attempt.at), True
        return updated, False


def parse_call(payload: Any) -> tuple[CallOutcome, str]:
    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"outcome\": ...}.", field="outcome", code="invalid_body")
    unknown = sorted(set(payload) - {"outcome", "note"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    allowed = [o.value for o in CallOutcome]
    if payload.get("outcome") not in allowed:
        raise ValidationError(f"Expected one of {', '.join(allowed)}.", field="outcome")
    note = payload.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected a note of at most 500 characters.", field="note")
    return CallOutcome(payload["outcome"]), note.strip()


FEATURE_FIELDS = ("height_cm", "build", "complexion", "eye_colour", "hair", "distinguishing_marks", "other")


def parse_features(data: Any) -> dict[str, Any]:
    """Identifying features of a person without a document (annex 2, activity 7.6), as short texts."""
    if not isinstance(data, dict) or not data:
        raise ValidationError(f"Expected identifying features: some of {', '.join(FEATURE_FIELDS)}.",
                              field="features")
    unknown = sorted(set(data) - set(FEATURE_FIELDS))
    if unknown:
        raise ValidationError("Unknown feature.", field=f"features.{unknown[0]}", code="unknown_field")
    features: dict[str, Any] = {}
    for name, value in data.items():
        if name == "height_cm":
            if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 230:
                raise ValidationError("Expected a height in centimetres (100–230).", field="features.height_cm")
            features[name] = value
        elif not isinstance(value, str) or not value.strip() or len(value) > 300:
            raise ValidationError("Expected text of at most 300 characters.", field=f"features.{name}")
        else:
            features[name] = " ".join(value.split())
    return features


def e164(mobile: str) -> str:
    """A mobile as enrolled (987654321, +51987654321) in E.164; Peruvian numbers may omit +51."""
    digits = mobile.strip().replace(" ", "")
    if digits.startswith("+"):
        return digits
    if len(digits) == 9 and digits.startswith("9"):
        return f"+51{digits}"
    return f"+{digits}"


# --- reminders and missed windows ----------------------------------------------------------------------

class ReminderKind(StrEnum):
    OPENS = "opens"
    CLOSES = "closes"


SENDING_HOURS = (8, 20)  # Peru time: reminders go out from 08:00 to 19:59


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


MISSED_LOOKBACK_DAYS = 7


def windows_ended(calendars: Iterable[Calendar | None], today: date,
                  lookback_days: int = MISSED_LOOKBACK_DAYS) -> list[Window]:
    """Windows of any group that ended in the last days (before today): a late or repeated run catches up."""
    earliest = today - timedelta(days=lookback_days)
    return [w for cal in calendars if cal for ws in cal.groups.values() for w in ws if earliest <= w.end < today]


def window_applies(window: Window, measure: Measure, enrolled_on: date) -> bool:
    """Whether the person had to report in this window: their group and periodicity, inside the measure,
    and enrolled by then."""
    return (window.group == measure.group and (window.period - 1) % measure.periodicity_months == 0
            and measure.start_date <= window.end and window.start <= measure.end_date and enrolled_on <= window.end)


def missed_observations(measure: Measure, window: Window) -> str:
    base = f"Sin registro en el periodo {window.start:%d/%m/%Y}–{window.end:%d/%m/%Y} (grupo {window.group})."
    if measure.group_changed:
        return f"{base} Ya usó el cambio de grupo; no puede solicitar otro."
    return (f"{base} La persona puede solicitar al órgano jurisdiccional, por única vez, anotar su asistencia "
            "en otro grupo (cambio de grupo aún no usado).")


def missed_incident_id(measure_id: str, window_key: str) -> str:
    """The same window of the same measure always names the same incident, so a second run adds nothing."""
    return "m" + hashlib.sha256(f"missed#{measure_id}#{window_key}".encode()).hexdigest()[:31]


# --- the registry circuit breaker (annex 5) ------------------------------------------------------------

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


# --- contingency: a check-in held while a registry is down -------------------------------------------

class Resolution(StrEnum):
    COMPLETED = "completed"  # the pipeline ran on to its end with what the person had sent
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


# --- the daily incident report (annex 4) ----------------------------------------------------------------

ANNEX4_COLUMNS = ("Fecha de la incidencia", "Nombre completo del usuario externo", "Documento de identidad",
                  "N.° de expediente y órgano jurisdiccional", "Detalle de la incidencia", "Observaciones")
REPORT_TITLE = "REPORTE DE INCIDENCIAS DEL DÍA"


def annex4_row(incident: Incident) -> tuple[str, ...]:
    return (incident.day.strftime("%d/%m/%Y"), incident.full_name, incident.identity_document,
            f"{incident.case_file} — {incident.court}", incident.detail, incident.observations)


def report_csv(incidents: Sequence[Incident]) -> bytes:
    """The annex 4 columns, one row per incident; UTF-8 with a byte-order mark so spreadsheets read accents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ANNEX4_COLUMNS)
    writer.writerows(annex4_row(i) for i in incidents)
    return out.getvalue().encode("utf-8-sig")


def report_lines(district: str, day: date, incidents: Sequence[Incident], revision: int
                 ) -> tuple[tuple[str, str], ...]:
    """What the signed PDF prints after its heading: the report's scope, then each incident's annex 4 fields."""
    lines: list[tuple[str, str]] = [("Distrito judicial", district), ("Fecha del reporte", f"{day:%d/%m/%Y}")]
    if revision > 1:
        lines.append(("Revisión", f"{revision} (reemplaza a la anterior: se registraron nuevas incidencias)"))
    total = len(incidents)
    for index, incident in enumerate(incidents, start=1):
        row = annex4_row(incident)
        lines.append((f"Incidencia {index} de {total} — {ANNEX4_COLUMNS[0]}", row[0]))
        lines.extend(zip(ANNEX4_COLUMNS[1:], row[1:], strict=True))
    return tuple(lines)


def report_result(count: int) -> str:
    if count == 0:
        return "SIN INCIDENCIAS REGISTRADAS"
    return f"{count} INCIDENCIA{'S' if count != 1 else ''} REGISTRADA{'S' if count != 1 else ''}"


def incidents_fingerprint(incidents: Iterable[Incident]) -> str:
    """Which incidents a report holds: the same set means the same report (running twice changes nothing)."""
    return hashlib.sha256(",".join(sorted(i.incident_id for i in incidents)).encode()).hexdigest()


@dataclass(frozen=True)
class DailyReport:
    district: str
    day: date
    revision: int
    document_id: str
    pdf_key: str
    csv_key: str
    fingerprint: str
    incident_count: int
    created_at: datetime
    previous: tuple[str, ...] = ()  # document ids of earlier revisions, still verifiable
    emailed: bool = False
    version: int = 0

"""The check-in pipeline's rules (section 7.2, annex 3): live location, identity, the window a person may
register once, and what a refusal closes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ..errors import DomainError, ValidationError
from ..identity import dni_check_characters
from ..matching import normalise_name
from ..ports import IdentityRecord

MAX_BORDERLINE = 3  # fresh locations asked for before a borderline place counts as outside
QUESTION_ATTEMPTS = 2  # sets of answers to the annex 3 (b) questions per window (per officer reopening)
MAX_PHOTO_BYTES = 5 * 1024 * 1024


class CheckinStep(StrEnum):
    LOCATION = "location"
    FRESH_LOCATION = "fresh_location"
    SELFIE = "selfie"
    QUESTIONS = "questions"
    REVIEW = "review"  # held for an officer: the identity registry had no record to compare with
    DONE = "done"
    ENDED = "ended"


class Outcome(StrEnum):
    REGISTERED = "registered"
    IMPERSONATION = "impersonation"
    OUT_OF_AREA = "out_of_area"
    WINDOW_CLOSED = "window_closed"  # another check-in of the same window registered or was refused first


@dataclass(frozen=True)
class Checkin:
    checkin_id: str
    measure_id: str
    chain_id: str
    owner: str
    window_key: str
    started_at: datetime
    step: CheckinStep
    opening: int = 0  # the window's opening this check-in belongs to (an officer's reopening starts another)
    evidence: tuple[dict[str, Any], ...] = ()  # every step, in order, with its time and result
    location: dict[str, Any] | None = None
    identity: str | None = None  # "face_match" | "questions" | "officer" once validated
    borderline_attempts: int = 0
    outcome: str | None = None
    document_id: str | None = None
    version: int = 0

    def record(self, at: datetime, step: str, **details: Any) -> Checkin:
        return replace(self, evidence=(*self.evidence, {"at": at.isoformat(), "step": step, **details}))

    @property
    def finished(self) -> bool:
        return self.step in (CheckinStep.DONE, CheckinStep.ENDED)


class WindowState(StrEnum):
    OPEN = "open"
    HELD = "held"  # a check-in waits for an officer's review: no other may start
    REGISTERED = "registered"
    REFUSED = "refused"  # self-service closed: only an officer reopens it


@dataclass(frozen=True)
class WindowRecord:
    """One reporting window of one person (their measure chain): registered once, and closed by a refusal."""

    chain_id: str
    window_key: str
    state: WindowState = WindowState.OPEN
    opening: int = 0
    question_failures: int = 0
    checkin_id: str | None = None  # the check-in that registered, was refused, or is held
    measure_id: str | None = None
    at: datetime | None = None
    document_id: str | None = None
    reason: str | None = None  # of the refusal
    reopenings: tuple[dict[str, str], ...] = ()
    version: int = 0

    def ensure_open_for(self, checkin: Checkin) -> None:
        """Whether this check-in may still change the window; raises a clear refusal otherwise."""
        if self.state is WindowState.REGISTERED:
            raise DomainError("Your attendance for this period is already registered.", code="already_registered")
        if self.state is WindowState.REFUSED or checkin.opening != self.opening:
            raise DomainError("This period's check-in was closed. Contact your attention officer or the court's "
                              "office: only an officer can reopen it.", code="window_closed")
        if self.state is WindowState.HELD and self.checkin_id != checkin.checkin_id:
            raise DomainError("Your check-in for this period is being reviewed by an officer, who will contact "
                              "you.", code="checkin_under_review")

    def registered(self, checkin: Checkin, at: datetime, document_id: str) -> WindowRecord:
        self.ensure_open_for(checkin)
        return replace(self, state=WindowState.REGISTERED, checkin_id=checkin.checkin_id,
                       measure_id=checkin.measure_id, at=at, document_id=document_id)

    def refused(self, checkin: Checkin, at: datetime, reason: str) -> WindowRecord:
        self.ensure_open_for(checkin)
        return replace(self, state=WindowState.REFUSED, checkin_id=checkin.checkin_id,
                       measure_id=checkin.measure_id, at=at, reason=reason)

    def held(self, checkin: Checkin, at: datetime) -> WindowRecord:
        self.ensure_open_for(checkin)
        return replace(self, state=WindowState.HELD, checkin_id=checkin.checkin_id, measure_id=checkin.measure_id,
                       at=at)

    def released(self) -> WindowRecord:
        """The officer's review is over: the window is open again for the held check-in to finish."""
        return replace(self, state=WindowState.OPEN) if self.state is WindowState.HELD else self

    def question_failed(self, checkin: Checkin) -> tuple[WindowRecord, int]:
        """One more wrong set of answers; returns the record and the attempts left."""
        self.ensure_open_for(checkin)
        failures = self.question_failures + 1
        return replace(self, question_failures=failures), max(0, QUESTION_ATTEMPTS - failures)

    def reopened(self, by: str, at: datetime, reason: str) -> WindowRecord:
        if self.state is not WindowState.REFUSED:
            raise DomainError("Only a period closed by a refusal can be reopened.", code="window_not_closed")
        return replace(self, state=WindowState.OPEN, opening=self.opening + 1, question_failures=0,
                       checkin_id=None, reason=None,
                       reopenings=(*self.reopenings, {"by": by, "at": at.isoformat(), "reason": reason}))


def window_record_key(chain_id: str, window_key: str) -> str:
    return f"{chain_id}#{window_key}"


# --- the live location ---------------------------------------------------------------------------------

LOCATION_FIELDS = {"latitude", "longitude", "accuracy_m", "live_period", "sent_at", "forwarded"}


def parse_location(data: Any, now: datetime, max_age_seconds: int) -> dict[str, Any]:
    """A live location as Telegram reports it: live, not forwarded, fresh, with its accuracy."""
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(data) - LOCATION_FIELDS)
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    try:
        lat, lon = float(data["latitude"]), float(data["longitude"])
        accuracy = float(data.get("accuracy_m") or 50.0)
        sent_at = float(data["sent_at"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("Expected latitude, longitude and sent_at (unix seconds) as numbers.",
                              field="location") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not 0 <= accuracy <= 10_000:
        raise ValidationError("The coordinates or the accuracy are out of range.", field="location")
    if data.get("forwarded"):
        raise DomainError("A forwarded location is not accepted: share your own live location.",
                          code="location_forwarded", field="location")
    if not data.get("live_period"):
        raise DomainError("A fixed pin is not accepted: share your live location.", code="location_not_live",
                          field="location")
    age = now.timestamp() - sent_at
    if age > max_age_seconds or age < -60:
        raise DomainError("This location is too old: share your live location again now.",
                          code="location_stale", field="location")
    return {"latitude": lat, "longitude": lon, "accuracy_m": accuracy, "live_period": int(data["live_period"]),
            "sent_at": sent_at}


# --- identity: the media and the annex 3 (b) questions ---------------------------------------------------

def check_media(raw: bytes) -> bytes:
    if not raw:
        raise ValidationError("Expected the photo as the request body.", field="photo", code="missing_body")
    if len(raw) > MAX_PHOTO_BYTES:
        raise ValidationError("The photo is larger than 5 MB.", field="photo", code="too_large")
    if not (raw.startswith(b"\xff\xd8") or raw.startswith(b"\x89PNG") or raw[4:8] == b"ftyp"):
        raise ValidationError("Expected a JPEG or PNG photo, or an MP4 video note.", field="photo",
                              code="unsupported_media")
    return raw


def questions_for(has_dni: bool) -> list[str]:
    """Annex 3 (b): the questions asked when the face comparison is not conclusive."""
    if has_dni:
        return ["parents_names", "dni_issue_date", "dni_expiry_date", "dni_check_character"]
    return ["resolution_date", "other_names"]


class AnswersVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NO_RECORD = "no_record"  # nothing to compare with: never judged as wrong answers


def dni_answers(record: IdentityRecord | None, document_number: str, answers: dict[str, Any]) -> AnswersVerdict:
    """The DNI holder's answers against the identity registry's record of their card."""
    if record is None or not (record.father_name or record.mother_name) or record.issue_date is None:
        return AnswersVerdict.NO_RECORD
    given_parents = set(normalise_name(str(answers.get("parents_names", ""))).split())
    parents_ok = all(set(normalise_name(p).split()) <= given_parents
                     for p in (record.father_name, record.mother_name) if p)
    ok = (parents_ok
          and str(answers.get("dni_issue_date")) == record.issue_date.isoformat()
          and str(answers.get("dni_expiry_date")) == (record.expiry_date.isoformat() if record.expiry_date else "")
          and str(answers.get("dni_check_character", "")).strip().upper() in dni_check_characters(document_number))
    return AnswersVerdict.PASSED if ok else AnswersVerdict.FAILED


def resolution_answers(resolution_date: date | None, other_names: tuple[str, ...],
                       answers: dict[str, Any]) -> AnswersVerdict:
    """People without a DNI: the court resolution's date and the other names it recognises."""
    if resolution_date is None:
        return AnswersVerdict.NO_RECORD
    given = {normalise_name(n) for n in str(answers.get("other_names", "")).split(",") if n.strip()}
    expected = {normalise_name(n) for n in other_names}
    ok = str(answers.get("resolution_date")) == resolution_date.isoformat() and given == expected
    return AnswersVerdict.PASSED if ok else AnswersVerdict.FAILED

"""The person's check-in, step by step (section 7.2, annex 3): start inside the window, a live location, a
selfie or round video, the questions when the face comparison is not conclusive."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...domain.control.calendar import Window
from ...domain.control.checkins import (
    AnswersVerdict,
    Checkin,
    CheckinStep,
    Outcome,
    WindowRecord,
    WindowState,
    check_media,
    dni_answers,
    parse_location,
    questions_for,
    resolution_answers,
)
from ...domain.control.contingency import RegistryUnavailable
from ...domain.control.incidents import IncidentType
from ...domain.control.measures import Measure
from ...domain.errors import DomainError, ValidationError
from ...domain.requests import new_id
from .calendar import RememberedCalendars, next_window, window_for
from .common import head_of_chain, peru_today
from .outcomes import after_identity, hold_for_contingency, hold_for_review, refuse
from .pipeline import CheckinPorts, answer, owned_checkin, save


@dataclass(frozen=True)
class Started:
    checkin: Checkin
    window: Window
    measure: Measure


def start_checkin(*, owner: str, p: CheckinPorts) -> Started:
    enrolment = p.enrolments.get_enrolment(owner)
    if enrolment is None or not enrolment.linked:
        raise DomainError("You are not enrolled for virtual control yet.", code="not_enrolled")
    if not enrolment.active:
        raise DomainError("Your enrolment waits for an officer to confirm who you are; they will call you.",
                          code="enrolment_pending")
    measure = head_of_chain(p.measures, enrolment.measure_id)
    if measure is None or not measure.active:
        raise DomainError("Your measure is not active: there is nothing to report. Contact the court if in doubt.",
                          code="measure_not_active")
    now = p.clock.now()
    today = peru_today(now)
    calendars = RememberedCalendars(p.calendars)
    window = window_for(calendars, measure, today)
    if window is None or not window.contains(today) or today > measure.end_date:
        raise DomainError("Today is outside your check-in window.", code="outside_window",
                          details={"next_window": window.view() if window else None})
    record = p.checkins.window(measure.chain_id, window.key)
    if record.state is WindowState.REGISTERED:
        following = next_window(calendars, measure, window)
        raise DomainError("Your attendance for this period is already registered.", code="already_registered",
                          details={"next_window": following.view() if following else None})
    if record.state is WindowState.REFUSED:
        raise DomainError("This period's check-in was closed. Contact your attention officer or the court's "
                          "office: only an officer can reopen it.", code="window_closed",
                          details={"court": measure.court})
    if record.state is WindowState.HELD:
        raise DomainError("Your check-in for this period is being reviewed by an officer, who will contact you.",
                          code="checkin_under_review")
    checkin = Checkin(checkin_id=new_id(), measure_id=measure.measure_id, chain_id=measure.chain_id, owner=owner,
                      window_key=window.key, started_at=now, step=CheckinStep.LOCATION,
                      opening=record.opening).record(now, "started", window=window.key)
    save(p, checkin)
    return Started(checkin, window, measure)


def submit_location(checkin_id: str, payload: Any, *, owner: str, p: CheckinPorts) -> dict[str, Any]:
    checkin, measure, window = owned_checkin(p, checkin_id, owner, CheckinStep.LOCATION, CheckinStep.FRESH_LOCATION)
    now = p.clock.now()
    try:
        location = parse_location(payload, now, p.rules.location_max_age_seconds)
    except DomainError as refused:
        # The refusal is evidence too; the person may send a proper live location.
        save(p, checkin.record(now, "location_refused", reason=refused.code))
        raise
    checkin = replace(checkin, location=location).record(now, "location", **location)
    if checkin.step is CheckinStep.FRESH_LOCATION:
        return after_identity(p, checkin, measure, window)
    checkin = replace(checkin, step=CheckinStep.SELFIE)
    save(p, checkin)
    return answer(checkin, "send_selfie", measure)


def submit_selfie(checkin_id: str, raw: bytes, kind: str, *, owner: str, p: CheckinPorts) -> dict[str, Any]:
    checkin, measure, window = owned_checkin(p, checkin_id, owner, CheckinStep.SELFIE)
    image = check_media(raw)
    now = p.clock.now()
    key = f"control/checkins/{checkin.checkin_id}/selfie-{len(checkin.evidence)}"
    p.storage.put(key, image, "video/mp4" if kind == "video_note" else "image/jpeg")
    enrolment = p.enrolments.get_enrolment(owner)
    reference = p.storage.get(enrolment.photo_key) if enrolment and enrolment.photo_key else None
    match = p.faces.compare(reference, image) if reference else None
    checkin = checkin.record(now, "selfie", storage_key=key, kind=kind,
                             face_result=match.reason if match else "no_reference_photo",
                             similarity=match.similarity if match else None)
    if match is not None and match.conclusive and match.matched:
        return after_identity(p, replace(checkin, identity="face_match"), measure, window)
    checkin = replace(checkin, step=CheckinStep.QUESTIONS)
    save(p, checkin)
    return answer(checkin, "answer_questions", measure, questions=questions_for(measure.person.has_dni))


def _verdict(p: CheckinPorts, measure: Measure, answers: dict[str, Any]) -> AnswersVerdict:
    person = measure.person
    if person.has_dni and person.document_number:
        return dni_answers(p.identity.lookup("DNI", person.document_number), person.document_number, answers)
    return resolution_answers(measure.resolution_date, measure.other_names, answers)


def submit_answers(checkin_id: str, payload: Any, *, owner: str, p: CheckinPorts) -> dict[str, Any]:
    checkin, measure, window = owned_checkin(p, checkin_id, owner, CheckinStep.QUESTIONS)
    answers = payload.get("answers") if isinstance(payload, dict) else None
    if not isinstance(answers, dict):
        raise ValidationError("Expected {\"answers\": {...}}.", field="answers")
    questions = questions_for(measure.person.has_dni)
    missing = [q for q in questions if not str(answers.get(q, "")).strip()]
    if missing:
        raise ValidationError("Please answer every question.", field=missing[0], code="missing_field")
    return judge_answers(p, checkin, measure, {q: str(answers[q]) for q in questions}, window)


def judge_answers(p: CheckinPorts, checkin: Checkin, measure: Measure, answers: dict[str, str],
                  window: WindowRecord | None = None) -> dict[str, Any]:
    """Passed: on to the place and the warrant check. Failed: asked again while attempts are left, then the
    annex 3 (c) end and an impersonation incident. No record to compare with: an officer reviews it."""
    now = p.clock.now()
    try:
        verdict = _verdict(p, measure, answers)
    except RegistryUnavailable as down:
        return hold_for_contingency(p, checkin, measure, down, answers)
    if verdict is AnswersVerdict.NO_RECORD:
        return hold_for_review(p, checkin.record(now, "questions", result="no_record"), measure,
                               "identity_record_missing")
    if verdict is AnswersVerdict.PASSED:
        return after_identity(p, replace(checkin, identity="questions").record(now, "questions", result="passed"),
                              measure, window)
    failed = checkin.record(now, "questions", result="failed")
    current = window or p.checkins.window(checkin.chain_id, checkin.window_key)
    counted, left = current.question_failed(checkin)
    if left > 0:
        tx = p.uow.begin()
        tx.put_window(counted)
        tx.put_checkin(failed)
        tx.commit()
        return answer(failed, "questions_retry", measure, attempts_left=left,
                      questions=questions_for(measure.person.has_dni))
    return refuse(p, failed, measure, Outcome.IMPERSONATION, IncidentType.IMPERSONATION,
                  "Preguntas de validación no conformes (anexo 3 b).", "annex3.c", counted)

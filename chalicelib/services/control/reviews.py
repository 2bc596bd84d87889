"""The officer's acts on a person's check-ins: reopen a window a refusal closed (with a reason), and decide a
check-in held for review because the identity registry had no record to compare with."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ...domain.control.checkins import CheckinStep, Outcome, WindowState
from ...domain.control.incidents import IncidentType
from ...domain.control.officers import parse_reason
from ...domain.control.ports import Officers
from ...domain.errors import DomainError, NotFound, ValidationError
from ...domain.operators import Operator
from ...domain.pages import After, chained_page
from ...domain.ports import AuditLog
from .cases import own_case
from .common import audit_entry, event, head_of_chain, retrying
from .outcomes import after_identity, refuse
from .pipeline import CheckinPorts

_WINDOW_KEY = re.compile(r"\d{4}-P\d{2}")


def reopen_window(measure_id: str, payload: Any, *, operator: Operator, officers: Officers,
                  p: CheckinPorts) -> dict[str, Any]:
    """Only an officer reopens a window closed by a refusal, with a reason; the person may check in again
    in it (with a fresh set of attempts at the questions) and is told so."""
    reason = parse_reason(payload)
    key = payload.get("window") if isinstance(payload, dict) else None
    if not isinstance(key, str) or not _WINDOW_KEY.fullmatch(key):
        raise ValidationError("Expected the window as 2026-P11.", field="window")

    def write() -> dict[str, Any]:
        case, measure = own_case(measure_id, operator, measures=p.measures, officers=officers)
        now = p.clock.now()
        record = p.checkins.window(case.chain_id, key)
        reopened = record.reopened(operator.subject, now, reason)
        tx = p.uow.begin()
        tx.put_window(reopened)
        tx.add_audit(audit_entry(operator, now, "window.reopen", measure.measure_id, window=key, reason=reason))
        tx.add_event(event("control.window_reopened", measure.measure_id, now, owner=measure.linked_owner,
                           window=key))
        tx.commit()
        return {"measure_id": measure.measure_id, "window": key, "state": reopened.state.value,
                "opening": reopened.opening}

    return retrying(write)


def held_for_review(*, operator: Operator, officers: Officers, p: CheckinPorts, limit: int = 50,
                    after: After = None) -> tuple[list[dict[str, Any]], After]:
    """A page of the check-ins of the officer's own people waiting for their decision: the held windows of the
    officer's districts in scope, one district after the other (one query per page, one more where a district
    ends inside it), joined to their cases page by page; those of other officers' people are left out, so a page
    may hold fewer than ``limit``."""
    districts = [d for d in officers.districts_of_officer(operator.subject) if operator.covers_district(d)]
    windows, last = chained_page(districts, lambda d, at, n: p.checkins.held_page(d, n, at), limit, after)
    items = []
    for window in windows:
        case = officers.get_case(window.chain_id)
        checkin = p.checkins.get_checkin(window.checkin_id or "")
        if case is None or case.officer != operator.subject or checkin is None:
            continue
        measure = head_of_chain(p.measures, checkin.measure_id)
        items.append({"checkin_id": checkin.checkin_id, "measure_id": checkin.measure_id,
                      "window": checkin.window_key, "held_at": window.at.isoformat() if window.at else None,
                      "full_name": measure.person.full_name if measure else None,
                      "reason": next((e.get("reason") for e in reversed(checkin.evidence)
                                      if e.get("step") == "held_for_review"), None)})
    return items, last


def review_checkin(checkin_id: str, payload: Any, *, operator: Operator, officers: Officers, audit: AuditLog,
                   p: CheckinPorts) -> dict[str, Any]:
    """The officer confirmed (by a call, the photo on file, the court's record) who the person is, or could
    not: confirmed, the check-in runs on (place, warrant, registration); not confirmed, it ends as annex 3 (c)
    with an impersonation incident. The person is told the outcome."""
    decision = payload.get("decision") if isinstance(payload, dict) else None
    if decision not in ("confirmed", "not_confirmed"):
        raise ValidationError("Expected confirmed or not_confirmed.", field="decision")
    note = parse_reason(payload, "note")
    checkin = p.checkins.get_checkin(checkin_id)
    if checkin is None:
        raise NotFound("No such check-in on your list.")
    _, measure = own_case(checkin.measure_id, operator, measures=p.measures, officers=officers)
    if checkin.step is not CheckinStep.REVIEW:
        raise DomainError("This check-in is not waiting for a review.", code="not_held")
    if not measure.active:
        raise DomainError("The person's measure is no longer active.", code="measure_not_active")
    now = p.clock.now()
    window = p.checkins.window(checkin.chain_id, checkin.window_key)
    if window.state is not WindowState.HELD or window.checkin_id != checkin.checkin_id:
        raise DomainError("This check-in is not waiting for a review.", code="not_held")
    tx = p.uow.begin()
    tx.put_window(window.released())
    tx.commit()
    reviewed = checkin.record(now, "officer_review", decision=decision, officer=operator.subject)
    audit.append(audit_entry(operator, now, "checkin.review", checkin.checkin_id, decision=decision, note=note))
    if decision == "confirmed":
        result = after_identity(p, replace(reviewed, identity="officer"), measure)
    else:
        result = refuse(p, reviewed, measure, Outcome.IMPERSONATION, IncidentType.IMPERSONATION,
                        f"Identidad no confirmada por el encargado de atención: {note}", "annex3.c")
    tx = p.uow.begin()
    tx.add_event(event("control.checkin_reviewed", checkin.checkin_id, now, owner=checkin.owner,
                       message=result.get("message"), outcome=result.get("outcome"),
                       next_window=result.get("next_window")))
    tx.commit()
    return result

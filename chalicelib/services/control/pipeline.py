"""The check-in pipeline's collaborators and the small helpers every step uses."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...domain.biometrics import FaceMatcher
from ...domain.control.checkins import Checkin, CheckinStep, Outcome, WindowRecord
from ...domain.control.incidents import Incident
from ...domain.control.measures import Measure
from ...domain.control.people import superior_court
from ...domain.control.ports import (
    Calendars,
    Checkins,
    Contingencies,
    Enrolments,
    Measures,
    UnitOfWork,
    WarrantsRegistry,
)
from ...domain.errors import DomainError, NotFound
from ...domain.ports import Clock, DocumentStorage, IdentityRegistry
from .common import ControlRules, head_of_chain
from .incidents import record


@dataclass(frozen=True)
class CheckinPorts:
    """What a check-in touches, named: the pipeline is one concept with one set of collaborators."""

    measures: Measures
    enrolments: Enrolments
    checkins: Checkins
    calendars: Calendars
    identity: IdentityRegistry
    warrants: WarrantsRegistry
    faces: FaceMatcher
    storage: DocumentStorage
    contingencies: Contingencies
    uow: UnitOfWork
    clock: Clock
    rules: ControlRules


def save(p: CheckinPorts, checkin: Checkin, *incidents: Incident) -> None:
    tx = p.uow.begin()
    tx.put_checkin(checkin)
    for incident in incidents:
        record(tx, incident)
    tx.commit()


def answer(checkin: Checkin, message: str, measure: Measure | None = None, **extra: Any) -> dict[str, Any]:
    """What the channel shows: the next step and the protocol message, addressed by the court's record."""
    body: dict[str, Any] = {"checkin_id": checkin.checkin_id, "step": checkin.step.value, "message": message,
                            "outcome": checkin.outcome, **extra}
    if measure is not None:
        body["name"] = measure.person.full_name
        body["court"] = superior_court(measure.district)
    return body


# The steps that can end a check-in read its window first: a refusal or a registration by another check-in
# of the same window ends this one before the person is asked for more. The other steps do not pay that read;
# whatever they lead to ends in a versioned write of the window, which refuses a closed one all the same.
ENDING_STEPS = frozenset({CheckinStep.FRESH_LOCATION, CheckinStep.QUESTIONS})


def owned_checkin(p: CheckinPorts, checkin_id: str, owner: str,
                  *steps: CheckinStep) -> tuple[Checkin, Measure, WindowRecord | None]:
    """The person's own check-in at one of the steps named, its measure in force, and (at the steps that can
    end it) its window, still open for it."""
    checkin = p.checkins.get_checkin(checkin_id)
    if checkin is None or checkin.owner != owner:
        raise NotFound("No such check-in.")
    if checkin.step not in steps:
        raise DomainError(f"This check-in is waiting for another step ({checkin.step.value}).",
                          code="wrong_step", details={"step": checkin.step.value})
    measure = head_of_chain(p.measures, checkin.measure_id)
    if measure is None or not measure.active:
        raise DomainError("Your measure is not active.", code="measure_not_active")
    if checkin.step not in ENDING_STEPS:
        return checkin, measure, None
    window = p.checkins.window(checkin.chain_id, checkin.window_key)
    try:
        window.ensure_open_for(checkin)
    except DomainError:
        now = p.clock.now()
        save(p, replace(checkin, step=CheckinStep.ENDED, outcome=Outcome.WINDOW_CLOSED.value).record(
            now, "window_closed"))
        raise
    return checkin, measure, window


def checkin_view(checkin: Checkin) -> dict[str, Any]:
    """What the person sees: never the warrant check."""
    return {"checkin_id": checkin.checkin_id, "step": checkin.step.value, "outcome": checkin.outcome,
            "window": checkin.window_key, "started_at": checkin.started_at.isoformat(),
            "document_id": checkin.document_id if checkin.outcome == Outcome.REGISTERED else None}

"""How a check-in ends: the place restriction and the warrant check after identity, the registration (once per
person and window), a refusal that closes the window until an officer reopens it, a hold for an officer's
review, and a hold under the contingency plan (annex 5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.control.areas import PlaceVerdict, check_with_authorisations
from ...domain.control.checkins import MAX_BORDERLINE, Checkin, CheckinStep, Outcome, WindowRecord
from ...domain.control.contingency import REGISTRY_LABELS, Contingency, RegistryUnavailable
from ...domain.control.incidents import Incident, IncidentType, new_incident
from ...domain.control.measures import Measure
from ...domain.control.warrants import Warrant
from ...domain.errors import ConcurrentUpdate, DomainError
from ...domain.ports import AlreadyExists
from ...domain.requests import new_id
from .calendar import RememberedCalendars, next_window, window_for
from .common import event, peru_today
from .incidents import record
from .pipeline import CheckinPorts, answer, save

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 5


def _with_window(p: CheckinPorts, checkin: Checkin, change: Callable[[WindowRecord], WindowRecord],
                 write: Callable[[WindowRecord], None], known: WindowRecord | None = None) -> WindowRecord:
    """Apply a change to the person's window (the change refuses when the window is no longer open to this
    check-in) and write it with everything else. The record read at the start of the step serves the first
    attempt: its version makes the write fail if anyone wrote meanwhile, and then we read it again."""
    for attempt in range(WRITE_ATTEMPTS):
        current = known if attempt == 0 and known is not None else p.checkins.window(checkin.chain_id,
                                                                                       checkin.window_key)
        updated: WindowRecord = change(current)
        try:
            write(updated)
            return updated
        except (ConcurrentUpdate, AlreadyExists):
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def after_identity(p: CheckinPorts, checkin: Checkin, measure: Measure,
                   window: WindowRecord | None = None) -> dict[str, Any]:
    """Identity is validated: the place restriction, the warrant check, then the registration. ``window`` is the
    record read at the start of the step, if any."""
    now = p.clock.now()
    location = checkin.location or {}
    today = peru_today(now)
    verdict, distance = check_with_authorisations(measure.permitted_area(), measure.authorised_districts(today),
                                                  location["latitude"], location["longitude"],
                                                  location["accuracy_m"])
    checkin = checkin.record(now, "place", result=verdict.value, distance_m=round(distance))
    if verdict is PlaceVerdict.BORDERLINE and checkin.borderline_attempts + 1 < MAX_BORDERLINE:
        checkin = replace(checkin, step=CheckinStep.FRESH_LOCATION, borderline_attempts=checkin.borderline_attempts + 1)
        save(p, checkin)
        area = measure.permitted_area()
        centre = area.centre() if area else None
        place = {"label": measure.area_label,
                 **({"latitude": centre[0], "longitude": centre[1]} if centre else {})}
        return answer(checkin, "annex3.d", measure, place=place)
    if verdict in (PlaceVerdict.OUTSIDE, PlaceVerdict.BORDERLINE):
        note = "Fuera del área permitida" if verdict is PlaceVerdict.OUTSIDE else \
            f"Ubicación en el límite del área tras {MAX_BORDERLINE} intentos"
        return refuse(p, checkin, measure, Outcome.OUT_OF_AREA, IncidentType.OUT_OF_AREA,
                      f"{note} ({measure.area_label}); distancia al límite ≈ {round(distance)} m.", "annex3.e",
                      window)
    try:
        warrants = p.warrants.possible_warrants(measure.person.document_number, measure.person.full_name,
                                                measure.person.surnames, p.rules.warrant_name_threshold)
    except RegistryUnavailable as down:
        return hold_for_contingency(p, checkin, measure, down, None)
    # The warrant check is evidence for officers only; the person's answer is the same either way.
    checkin = checkin.record(now, "warrant_check", possible=bool(warrants))
    incidents = []
    if warrants:
        incidents.append(warrant_incident(warrants, measure, now, checkin.checkin_id))
    return register(p, checkin, measure, incidents, window)


def warrant_incident(warrants: list[Warrant], measure: Measure, now: datetime, checkin_id: str) -> Incident:
    """A match on the document number goes to the police at once; a match on the name only waits for the CVP
    head to confirm it is the same person (status awaiting_review) before anyone outside is told."""
    number = measure.person.document_number
    by_document = bool(number) and any(w.document_number == number for w in warrants)
    listed = "; ".join(f"{w.warrant_id} ({w.issued_by})" for w in warrants)
    if by_document:
        return new_incident(new_id(), IncidentType.WARRANT, measure, now,
                            f"Coincidencia en requisitorias por documento: {listed}", checkin_id)
    return replace(new_incident(new_id(), IncidentType.WARRANT, measure, now,
                                f"Coincidencia en requisitorias solo por nombre: {listed}. Espera la confirmación "
                                "del Encargado del CVP antes de comunicarla a la policía.", checkin_id),
                   status="awaiting_review")


def register(p: CheckinPorts, checkin: Checkin, measure: Measure, incidents: list[Incident],
             known: WindowRecord | None = None) -> dict[str, Any]:
    now = p.clock.now()
    document_id = new_id()
    done = replace(checkin, step=CheckinStep.DONE, outcome=Outcome.REGISTERED.value, document_id=document_id,
                   measure_id=measure.measure_id).record(now, "registered")

    def write(window: WindowRecord) -> None:
        tx = p.uow.begin()
        tx.put_window(window)
        tx.put_checkin(done)
        for incident in incidents:
            record(tx, incident)
        tx.add_event(event("control.registered", done.checkin_id, now, owner=done.owner))
        tx.commit()

    try:
        _with_window(p, checkin, lambda w: w.registered(checkin, now, document_id), write, known)
    except DomainError:
        # Another check-in of the window registered or was refused first: this one ends, its evidence kept.
        save(p, replace(checkin, step=CheckinStep.ENDED, outcome=Outcome.WINDOW_CLOSED.value).record(
            now, "window_closed"), *incidents)
        raise
    calendars = RememberedCalendars(p.calendars)
    window = window_for(calendars, measure, peru_today(now))
    following = next_window(calendars, measure, window) if window else None
    return answer(done, "annex3.f", measure, next_window=following.view() if following else None)


def refuse(p: CheckinPorts, checkin: Checkin, measure: Measure, outcome: Outcome, kind: IncidentType,
           observations: str, message: str, known: WindowRecord | None = None) -> dict[str, Any]:
    """The check-in ends with its protocol message and an incident, and the window closes for self-service:
    only an officer reopens it."""
    now = p.clock.now()
    ended = replace(checkin, step=CheckinStep.ENDED, outcome=outcome.value)
    incident = new_incident(new_id(), kind, measure, now, observations, checkin.checkin_id)

    def write(window: WindowRecord) -> None:
        tx = p.uow.begin()
        tx.put_window(window)
        tx.put_checkin(ended)
        record(tx, incident)
        tx.commit()

    try:
        _with_window(p, checkin, lambda w: w.refused(checkin, now, outcome.value), write, known)
    except DomainError:
        save(p, ended, incident)  # the window was already closed: the incident stands all the same
    return answer(ended, message, measure)


def hold_for_review(p: CheckinPorts, checkin: Checkin, measure: Measure, why: str) -> dict[str, Any]:
    """Nothing to compare the answers with: the check-in waits for an officer, never judged as wrong."""
    now = p.clock.now()
    held = replace(checkin, step=CheckinStep.REVIEW).record(now, "held_for_review", reason=why)

    def write(window: WindowRecord) -> None:
        tx = p.uow.begin()
        tx.put_window(window, held_district=measure.district)
        tx.put_checkin(held)
        tx.add_event(event("control.review_needed", held.checkin_id, now, district=measure.district))
        tx.commit()

    _with_window(p, checkin, lambda w: w.held(checkin, now), write)
    return answer(held, "review", measure)


def hold_for_contingency(p: CheckinPorts, checkin: Checkin, measure: Measure, down: RegistryUnavailable,
                         answers: dict[str, Any] | None) -> dict[str, Any]:
    """A registry is down mid check-in: keep everything the person sent, queue the officer's callback, record
    a contingency incident (the first time), alert the CVP head (once per outage) and answer annex 5."""
    now = p.clock.now()
    held_checkin = checkin.record(now, "contingency", registry=down.registry)
    existing = p.contingencies.get_contingency(checkin.checkin_id)
    if existing is not None:
        held = replace(existing, answers=answers or existing.answers, pending=True, resolution=None,
                       resolved_at=None, holds=existing.holds + 1)
    else:
        held = Contingency(checkin_id=checkin.checkin_id, owner=checkin.owner, measure_id=measure.measure_id,
                           district=measure.district, registry=down.registry, created_at=now, answers=answers)
    tx = p.uow.begin()
    tx.put_checkin(held_checkin)
    tx.put_contingency(held)
    if existing is None:
        label = REGISTRY_LABELS.get(down.registry, down.registry)
        record(tx, new_incident(new_id(), IncidentType.CONTINGENCY, measure, now,
                                f"Sin acceso al {label}: control pendiente, datos enviados conservados; se "
                                "devolverá la llamada por única vez (anexo 5).", held_checkin.checkin_id))
    tx.commit()
    open_outage(p, down.registry)
    log.warning("check-in held under the contingency plan", extra={"registry": down.registry,
                                                                   "checkin_id": checkin.checkin_id})
    return {**answer(held_checkin, "annex5", measure), "pending": True}


def open_outage(p: CheckinPorts, registry: str) -> bool:
    now = p.clock.now()
    tx = p.uow.begin()
    tx.open_outage(registry, now)
    tx.add_event(event("control.outage_started", registry, now, registry=registry, started_at=now.isoformat()))
    try:
        tx.commit()
    except AlreadyExists:
        return False  # this outage is known: the CVP head was already alerted
    return True

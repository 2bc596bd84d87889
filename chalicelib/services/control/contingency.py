"""The contingency plan (annex 5): each registry behind a circuit breaker, a probe that asks the registry itself,
the recovery job that completes held check-ins (or hands them to an officer), the CVP head's alerts, and the
one callback per person."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from ...domain.control.checkins import CheckinStep
from ...domain.control.contingency import (
    REGISTRIES,
    REGISTRY_LABELS,
    BreakerState,
    CircuitBreaker,
    Contingency,
    RegistryUnavailable,
    Resolution,
)
from ...domain.control.officers import parse_call
from ...domain.control.people import parse_district
from ...domain.control.ports import Contingencies, Enrolments, Measures, Officers, UnitOfWork, WarrantsRegistry
from ...domain.control.warrants import Warrant
from ...domain.errors import DomainError, NotFound, ServiceUnavailable
from ...domain.operators import Operator
from ...domain.pages import After, chained_page
from ...domain.ports import AlreadyExists, AuditLog, Clock, IdentityRecord, IdentityRegistry
from .calendar import window_for
from .checkins import judge_answers
from .common import audit_entry, event, head_of_chain, peru_time, peru_today, retrying
from .outcomes import after_identity
from .pipeline import CheckinPorts

log = logging.getLogger(__name__)


def _guarded[T](breaker: CircuitBreaker, clock: Clock, call: Callable[[], T]) -> T:
    now = clock.now()
    if not breaker.allow(now):
        raise RegistryUnavailable(breaker.name)
    try:
        result = call()
    except RegistryUnavailable:
        breaker.record_failure(now)
        raise
    except (ServiceUnavailable, OSError, TimeoutError) as exc:
        breaker.record_failure(now)
        log.warning("registry call failed", extra={"registry": breaker.name, "error": type(exc).__name__})
        raise RegistryUnavailable(breaker.name) from exc
    breaker.record_success()
    return result


class GuardedIdentityRegistry:
    """The identity registry behind its circuit breaker: a failing call or an open breaker raises
    RegistryUnavailable, which the check-in turns into the contingency plan."""

    def __init__(self, inner: IdentityRegistry, breaker: CircuitBreaker, clock: Clock) -> None:
        self.inner, self.breaker, self.clock = inner, breaker, clock

    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None:
        return _guarded(self.breaker, self.clock, lambda: self.inner.lookup(document_type, document_number))

    def ping(self) -> None:
        self.inner.ping()

    def put(self, record: IdentityRecord) -> None:
        """Imports of the local registry write its table directly; the breaker guards reads only."""
        writer = getattr(self.inner, "put", None)
        if writer is None:
            raise NotImplementedError("this identity registry is read-only")
        writer(record)


class GuardedWarrantsRegistry:
    """The warrants registry behind its circuit breaker."""

    def __init__(self, inner: WarrantsRegistry, breaker: CircuitBreaker, clock: Clock) -> None:
        self.inner, self.breaker, self.clock = inner, breaker, clock

    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        return _guarded(self.breaker, self.clock, lambda: self.inner.possible_warrants(
            document_number, full_name, surnames, name_threshold))

    def put_warrants(self, warrants: list[tuple[Warrant, str]], stage: str | None = None) -> None:
        self.inner.put_warrants(warrants, stage=stage)

    def publish_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        self.inner.publish_warrants(warrants, stage)

    def discard_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        self.inner.discard_warrants(warrants, stage)

    def ping(self) -> None:
        self.inner.ping()


@dataclass(frozen=True)
class Registries:
    """The registries the check-in reads, each as itself (for the probe) and with its breaker."""

    identity: IdentityRegistry
    warrants: WarrantsRegistry
    breakers: dict[str, CircuitBreaker]

    def probe(self, registry: str) -> bool:
        """Ask the registry itself, past its breaker, whether it can be read now."""
        target = self.identity if registry == "identity" else self.warrants
        try:
            target.ping()
        except (ServiceUnavailable, OSError, TimeoutError):
            return False
        return True


def registry_status(registries: Registries, contingencies: Contingencies, clock: Clock) -> dict[str, str]:
    """What /health says of each registry: ok, or down (its probe fails, its breaker is open, or an outage is
    still open)."""
    status = {}
    for registry in REGISTRIES:
        breaker = registries.breakers.get(registry)
        open_breaker = breaker is not None and breaker.state(clock.now()) is BreakerState.OPEN
        outage = contingencies.outage(registry)
        down = open_breaker or not registries.probe(registry) or (outage is not None and outage.open)
        status[f"{registry}_registry"] = "down" if down else "ok"
    return status


def recover(*, registries: Registries, p: CheckinPorts) -> dict[str, Any]:
    """The recovery job: probe each registry with an open outage; once it answers, close the outage and
    complete the check-ins held for it (or hand them to an officer, or tell the people what to do)."""
    now = p.clock.now()
    still_down: list[str] = []
    restored: list[str] = []
    for registry in REGISTRIES:
        outage = p.contingencies.outage(registry)
        if outage is None or not outage.open:
            continue
        if not registries.probe(registry):
            still_down.append(registry)
            continue
        breaker = registries.breakers.get(registry)
        if breaker is not None:
            breaker.record_success()
        tx = p.uow.begin()
        tx.close_outage(registry, outage.started_at, now)
        tx.add_event(event("control.outage_ended", registry, now, registry=registry,
                           started_at=outage.started_at.isoformat(), ended_at=now.isoformat()))
        try:
            tx.commit()
            restored.append(registry)
        except AlreadyExists:
            pass  # another run closed it
    outcomes: dict[str, int] = {}
    for held in p.contingencies.pending_contingencies():
        if held.registry in still_down:
            continue
        resolution = resume(held, p=p)
        if resolution is not None:
            outcomes[resolution] = outcomes.get(resolution, 0) + 1
    result = {"restored": restored, "still_down": still_down, "resolutions": outcomes}
    log.info("contingency recovery run", extra=result)
    return result


def _resume_outcome(held: Contingency, p: CheckinPorts) -> tuple[Resolution, str | None, date | None] | None:
    checkin = p.checkins.get_checkin(held.checkin_id)
    measure = head_of_chain(p.measures, checkin.measure_id) if checkin else None
    if checkin is None or measure is None or not measure.active:
        return Resolution.NOT_POSSIBLE, None, None
    if checkin.finished or checkin.step is CheckinStep.REVIEW:
        return Resolution.ALREADY_DONE, None, None
    window = window_for(p.calendars, measure, peru_today(checkin.started_at))
    window_end = window.end if window else None
    if window is None or window.key != checkin.window_key or peru_today(p.clock.now()) > window.end:
        return Resolution.WINDOW_CLOSED, None, window_end
    try:
        if checkin.identity:
            answer = after_identity(p, checkin, measure)
        elif held.answers and checkin.step is CheckinStep.QUESTIONS:
            answer = judge_answers(p, checkin, measure, held.answers)
        else:
            answer = {"message": "retry"}
    except DomainError as refused:
        log.info("held check-in could not complete", extra={"code": refused.code})
        answer = {"message": "not_possible"}
    message = str(answer.get("message"))
    if message == "annex5":
        return None  # held again: the registry fell over once more
    resolution = {"retry": Resolution.RETRY, "not_possible": Resolution.NOT_POSSIBLE,
                  "review": Resolution.REVIEW}.get(message, Resolution.COMPLETED)
    return resolution, answer.get("outcome"), window_end


def resume(held: Contingency, *, p: CheckinPorts) -> str | None:
    """Run a held check-in on from where it stopped; None when the registry is still down. A registry that
    answers with no record sends the check-in to an officer's review, never to an impersonation incident."""
    result = _resume_outcome(held, p)
    if result is None:
        return None
    resolution, outcome, window_end = result
    now = p.clock.now()

    def write() -> None:
        current = p.contingencies.get_contingency(held.checkin_id)
        if current is None or not current.pending:
            return
        enrolment = p.enrolments.get_enrolment(held.owner)
        tx = p.uow.begin()
        # What the person answered was kept only to finish the check-in: erase it now.
        tx.put_contingency(replace(current, pending=False, answers=None, resolution=resolution.value,
                                   resolved_at=now))
        tx.add_event(event("control.contingency_resolved", held.checkin_id, now, owner=held.owner,
                           resolution=resolution.value, outcome=outcome,
                           window_end=window_end.isoformat() if window_end else None,
                           language=enrolment.language if enrolment else "es"))
        tx.commit()

    retrying(write)
    return resolution.value


def outage_alert(registry: str, started_at: datetime) -> tuple[str, str]:
    label = REGISTRY_LABELS.get(registry, registry)
    started = peru_time(started_at)
    subject = f"[CVP] Plan de contingencia activado: {label} no disponible"
    body = (f"Desde el {started} no hay acceso al {label}. Se aplica el Plan de Contingencia (anexo 5): los "
            "controles virtuales en curso quedan pendientes con todo lo que la persona envió, se le indica que "
            "será llamada por única vez cuando se restablezcan los sistemas, y cada caso queda en la cola de "
            "devolución de llamadas de los encargados de atención. Al restablecerse, los controles pendientes se "
            "completan solos, pasan a revisión de un encargado, o se invita a la persona a repetirlo dentro de su "
            "periodo. Coordine de inmediato la atención del problema (procedimiento, 5.3 e).\n\n"
            f"Since {started} the {registry} registry cannot be reached. The contingency plan (annex 5) applies: "
            "check-ins in progress are held with everything the person sent, callbacks are queued for the "
            "officers, and pending check-ins complete on their own when the registry is back.")
    return subject, body


def recovery_notice(registry: str, ended_at: datetime) -> tuple[str, str]:
    label = REGISTRY_LABELS.get(registry, registry)
    ended = peru_time(ended_at)
    return (f"[CVP] Restablecido: {label}",
            f"El {label} responde nuevamente desde el {ended}; los controles pendientes se están completando. "
            "Revise la cola de devolución de llamadas.\n\n"
            f"The {registry} registry answers again since {ended}; pending check-ins are being completed.")


# --- the one callback of annex 5 ---------------------------------------------------------------------------

def _callback_view(held: Contingency, measures: Measures, enrolments: Enrolments) -> dict[str, Any]:
    enrolment = enrolments.get_enrolment(held.owner)
    measure = head_of_chain(measures, held.measure_id)
    return {"checkin_id": held.checkin_id, "measure_id": measure.measure_id if measure else held.measure_id,
            "district": held.district, "full_name": measure.person.full_name if measure else None,
            "mobile": enrolment.mobile if enrolment else None, "registry": held.registry,
            "held_at": held.created_at.isoformat(), "check_in_pending": held.pending,
            "resolution": held.resolution, "callback": held.callback, "callback_open": held.callback_open}


def officer_callbacks(*, operator: Operator, officers: Officers, contingencies: Contingencies, measures: Measures,
                      enrolments: Enrolments, audit: AuditLog, clock: Clock, limit: int = 50, after: After = None
                      ) -> tuple[list[dict[str, Any]], After]:
    """A page of the callback queue of the districts where the officer is active and in scope (one call per
    person): one district after the other, each oldest first (one query per page, one more where a district
    ends inside it). Each page read is audited."""
    districts = [d for d in officers.districts_of_officer(operator.subject) if operator.covers_district(d)
                 and (o := officers.get_officer(d, operator.subject)) is not None and o.active]
    items, last = chained_page(districts, lambda d, at, n: contingencies.callbacks_page(d, n, at), limit, after)
    audit.append(audit_entry(operator, clock.now(), "officer.callbacks_read", operator.subject, count=len(items)))
    return [_callback_view(held, measures, enrolments) for held in items], last


def district_callbacks(district: str, *, operator: Operator, contingencies: Contingencies, measures: Measures,
                       enrolments: Enrolments, audit: AuditLog, clock: Clock, limit: int = 50, after: After = None
                       ) -> tuple[list[dict[str, Any]], After]:
    """A page of the district's open callbacks, oldest first; and where the next one starts."""
    district = parse_district(district)
    operator.require_district(district)
    found, last = contingencies.callbacks_page(district, limit, after)
    audit.append(audit_entry(operator, clock.now(), "cvp.callbacks_read", district))
    return [_callback_view(held, measures, enrolments) for held in found], last


def complete_callback(checkin_id: str, payload: Any, *, operator: Operator, officers: Officers,
                      contingencies: Contingencies, measures: Measures, enrolments: Enrolments, uow: UnitOfWork,
                      clock: Clock) -> dict[str, Any]:
    """The officer made the one callback of annex 5: its outcome closes it."""
    outcome, note = parse_call(payload)
    now = clock.now()
    districts = {d for d in officers.districts_of_officer(operator.subject) if operator.covers_district(d)}

    def write() -> Contingency:
        held = contingencies.get_contingency(checkin_id)
        if held is None or held.district not in districts:
            raise NotFound("No such callback in your districts.")
        if not held.callback_open:
            raise DomainError("This callback was already made.", code="callback_done")
        done = replace(held, callback_open=False, callback={"officer": operator.subject, "outcome": outcome.value,
                                                            "note": note, "at": now.isoformat()})
        tx = uow.begin()
        tx.put_contingency(done)
        tx.add_audit(audit_entry(operator, now, "officer.callback", checkin_id, outcome=outcome.value))
        tx.commit()
        return done

    return _callback_view(retrying(write), measures, enrolments)

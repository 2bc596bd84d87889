"""Enrolment (annex 1): one person, one chat, per measure. A chat links to the measure chain of the person it
proves to be; another chat claiming the same person is refused and the officers are told; a chat cannot become
another person; moving the link is an officer's audited act; a name alone waits for an officer's confirmation;
and an enrolment with no measure reaches the CVP head, who asks the court for it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

from ...domain.control.calendar import Window
from ...domain.control.checkins import check_media
from ...domain.control.enrolment import (
    Enrolment,
    EnrolmentForm,
    EnrolmentStatus,
    LinkAttempt,
    UnmatchedEnrolment,
    link_attempt_id,
    needs_confirmation,
    parse_enrolment_form,
    unmatched_id,
)
from ...domain.control.incidents import IncidentType, new_incident, stable_incident_id
from ...domain.control.measures import Measure
from ...domain.control.officers import parse_reason
from ...domain.control.people import parse_district, same_name
from ...domain.control.ports import Calendars, Enrolments, Measures, Officers, UnitOfWork
from ...domain.errors import Conflict, DomainError, NotFound, ValidationError
from ...domain.operators import Operator
from ...domain.pages import After
from ...domain.ports import AlreadyExists, AuditLog, Clock, DocumentStorage
from ...domain.requests import new_id
from .calendar import window_for
from .cases import linked_enrolment, own_case
from .common import audit_entry, event, head_of_chain, peru_today, retrying
from .incidents import record


@dataclass(frozen=True)
class Enrolled:
    enrolment: Enrolment
    measure: Measure
    first_window: Window | None


def _no_measure(form: EnrolmentForm, owner: str, *, enrolments: Enrolments, uow: UnitOfWork, clock: Clock) -> None:
    """No measure matches: with the district the person named, the request joins that CVP head's queue."""
    field = "document_number" if form.person.has_document else "given_names"
    if form.district is None:
        raise DomainError("We found no court measure for this person. Check the data; if it is right, tell us "
                          "the judicial district of the court that imposed your rules.", code="no_measure",
                          field=field, details={"district_needed": True})
    attempt_id = unmatched_id(owner, form.person.key)
    if enrolments.get_unmatched(attempt_id) is None:
        now = clock.now()
        tx = uow.begin()
        tx.put_unmatched(UnmatchedEnrolment(attempt_id, form.district, owner, form.person, form.contact(), now))
        tx.add_event(event("control.unmatched_enrolment", attempt_id, now, district=form.district))
        tx.commit()
    raise DomainError("We found no court measure for this person yet. We passed your data to the virtual "
                      "control office of your district, which will ask the court; you will be told here.",
                      code="no_measure", field=field, details={"queued": True, "district": form.district})


def _claimed_elsewhere(measure: Measure, form: EnrolmentForm, owner: str, *, uow: UnitOfWork, clock: Clock) -> None:
    """Another chat claims a person whose measure is linked: refused, kept for the officer (who may relink),
    and a possible-impersonation incident for the officers, once per claiming chat."""
    now = clock.now()
    attempt = LinkAttempt(link_attempt_id(measure.chain_id, owner), measure.measure_id, measure.chain_id, owner,
                          form.contact(), now)
    tx = uow.begin()
    tx.put_link_attempt(attempt)
    record(tx, new_incident(stable_incident_id("link", attempt.attempt_id), IncidentType.IMPERSONATION, measure, now,
                            "Otra cuenta de chat intentó empadronarse con los datos de esta persona, cuya medida ya "
                            "está vinculada a un chat. Verifique por teléfono; puede revincular si corresponde."),
           new=True)
    with contextlib.suppress(AlreadyExists):  # the same chat tried before: its attempt and incident stand
        tx.commit()
    raise Conflict("This person is already enrolled from another chat account. If you changed your phone or "
                   "account, contact the court's office or your attention officer to move the enrolment.",
                   code="measure_linked_elsewhere", details={"court": measure.court})


def _other_person(current: Measure, claimed: Measure, owner: str, *, uow: UnitOfWork, clock: Clock) -> None:
    """A chat enrolled for one person tries to enrol as another: refused, and the officers are told."""
    now = clock.now()
    tx = uow.begin()
    record(tx, new_incident(stable_incident_id("other-person", claimed.chain_id, owner), IncidentType.IMPERSONATION,
                            claimed, now, "Una cuenta de chat ya empadronada para otra persona intentó "
                            "empadronarse con los datos de esta persona."), new=True)
    with contextlib.suppress(AlreadyExists):
        tx.commit()
    raise Conflict("This chat account is already enrolled for another person and cannot change. Each person "
                   "enrols from their own account.", code="chat_linked_to_other_person")


def enrol(payload: Any, *, owner: str, measures: Measures, enrolments: Enrolments, calendars: Calendars,
          uow: UnitOfWork, clock: Clock) -> Enrolled:
    form = parse_enrolment_form(payload)

    def write() -> Enrolled:
        candidates = measures.active_measures_of_person(form.person.key)
        if not candidates:
            _no_measure(form, owner, enrolments=enrolments, uow=uow, clock=clock)
        # Several open cases: the newest measure is the one this enrolment follows.
        measure = max(candidates, key=lambda m: m.created_at)
        if not same_name(measure.person.full_name, form.person.full_name):
            raise DomainError("The names do not match the court's record for this document.",
                              code="names_mismatch", field="given_names")
        existing = enrolments.get_enrolment(owner)
        if existing is not None and existing.linked and existing.chain_id != measure.chain_id:
            current = head_of_chain(measures, existing.measure_id)
            if current is not None and current.person.key != measure.person.key:
                _other_person(current, measure, owner, uow=uow, clock=clock)
        if measure.linked_owner not in (None, owner):
            _claimed_elsewhere(measure, form, owner, uow=uow, clock=clock)
        now = clock.now()
        same_chain = existing is not None and existing.linked and existing.chain_id == measure.chain_id
        if same_chain and existing is not None:
            # The same person updates their contact details; the link and its status stay as they are.
            enrolment = replace(existing, measure_id=measure.measure_id, mobile=form.mobile, address=form.address,
                                language=form.language)
        else:
            status = EnrolmentStatus.PENDING_CONFIRMATION if needs_confirmation(form.person) \
                else EnrolmentStatus.ACTIVE
            enrolment = Enrolment(owner=owner, measure_id=measure.measure_id, chain_id=measure.chain_id,
                                  mobile=form.mobile, address=form.address, language=form.language,
                                  enrolled_at=now, status=status.value,
                                  version=existing.version if existing else 0)
        tx = uow.begin()
        tx.put_enrolment(enrolment)
        if measure.linked_owner != owner:
            tx.put_measure(replace(measure, linked_owner=owner))
            tx.add_event(event("control.enrolled", measure.measure_id, now, chain_id=measure.chain_id,
                               district=measure.district, owner=owner))
        tx.commit()
        return Enrolled(enrolment, replace(measure, linked_owner=owner),
                        window_for(calendars, measure, peru_today(now)))

    return retrying(write)


def upload_enrolment_photo(raw: bytes, *, owner: str, enrolments: Enrolments, storage: DocumentStorage,
                           uow: UnitOfWork) -> Enrolment:
    enrolment = enrolments.get_enrolment(owner)
    if enrolment is None or not enrolment.linked:
        raise NotFound("You are not enrolled yet.")
    image = check_media(raw)
    key = f"control/enrolments/{new_id()}.jpg"
    storage.put(key, image, "image/jpeg")

    def write() -> Enrolment:
        current = enrolments.get_enrolment(owner)
        if current is None:
            raise NotFound("You are not enrolled yet.")
        updated = replace(current, photo_key=key)
        tx = uow.begin()
        tx.put_enrolment(updated)
        tx.commit()
        return updated

    return retrying(write)


# --- the officer's acts on an enrolment ---------------------------------------------------------------------

def confirm_enrolment(measure_id: str, payload: Any, *, operator: Operator, measures: Measures,
                      enrolments: Enrolments, officers: Officers, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """A name-only enrolment waits until the officer has confirmed, by a call, who is behind the chat:
    confirmed, it becomes active; not confirmed, the link is undone and the person told to contact the court."""
    if not isinstance(payload, dict) or not isinstance(payload.get("confirmed"), bool):
        raise ValidationError("Expected {\"confirmed\": true|false, \"note\": \"...\"}.", field="confirmed")
    note = str(payload.get("note", "")).strip()[:500]

    def write() -> Enrolment:
        case, measure = own_case(measure_id, operator, measures=measures, officers=officers)
        enrolment = linked_enrolment(enrolments, case.chain_id)
        if enrolment is None or enrolment.status != EnrolmentStatus.PENDING_CONFIRMATION:
            raise DomainError("There is no enrolment waiting for confirmation.", code="nothing_to_confirm")
        now = clock.now()
        confirmed = bool(payload["confirmed"])
        updated = replace(enrolment, status=(EnrolmentStatus.ACTIVE if confirmed else EnrolmentStatus.CLOSED).value,
                          confirmed_by=operator.subject)
        tx = uow.begin()
        tx.put_enrolment(updated)
        if not confirmed:
            tx.put_measure(replace(measure, linked_owner=None))
        tx.add_audit(audit_entry(operator, now, "enrolment.confirm" if confirmed else "enrolment.reject",
                                 measure.measure_id, note=note))
        tx.add_event(event("control.enrolment_confirmed" if confirmed else "control.enrolment_rejected",
                           measure.measure_id, now, owner=enrolment.owner))
        tx.commit()
        return updated

    updated = retrying(write)
    return {"measure_id": measure_id, "enrolment": updated.status}


def relink(measure_id: str, payload: Any, *, operator: Operator, measures: Measures, enrolments: Enrolments,
           officers: Officers, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Move the person's enrolment to the chat that claimed them (after the officer verified it by phone):
    the old chat is unlinked, the new one linked, both are told; audited with the reason."""
    reason = parse_reason(payload)
    attempt_id = payload.get("attempt_id") if isinstance(payload, dict) else None
    if not isinstance(attempt_id, str):
        raise ValidationError("Expected the attempt to link (attempt_id).", field="attempt_id")

    def write() -> Enrolment:
        case, measure = own_case(measure_id, operator, measures=measures, officers=officers)
        attempt = enrolments.get_link_attempt(attempt_id)
        if attempt is None or attempt.chain_id != case.chain_id or attempt.resolved is not None:
            raise NotFound("No such open attempt for this person.")
        now = clock.now()
        previous = linked_enrolment(enrolments, case.chain_id)
        target = enrolments.get_enrolment(attempt.owner)
        if target is not None and target.linked and target.chain_id != case.chain_id:
            raise DomainError("That chat account is enrolled for another person.", code="chat_linked_to_other_person")
        new = Enrolment(owner=attempt.owner, measure_id=measure.measure_id, chain_id=case.chain_id,
                        mobile=attempt.form["mobile"], address=attempt.form["address"],
                        language=attempt.form.get("language", "es"), enrolled_at=now,
                        photo_key=previous.photo_key if previous else None, confirmed_by=operator.subject,
                        version=target.version if target else 0)
        tx = uow.begin()
        if previous is not None:
            tx.put_enrolment(replace(previous, status=EnrolmentStatus.CLOSED.value))
        tx.put_enrolment(new)
        tx.put_measure(replace(measure, linked_owner=attempt.owner))
        tx.put_link_attempt(replace(attempt, resolved="relinked"))
        tx.add_audit(audit_entry(operator, now, "enrolment.relink", measure.measure_id, reason=reason,
                                 attempt_id=attempt.attempt_id))
        tx.add_event(event("control.relinked", measure.measure_id, now, owner=attempt.owner,
                           previous_owner=previous.owner if previous else None))
        tx.commit()
        return new

    retrying(write)
    return {"measure_id": measure_id, "linked": True, "attempt_id": attempt_id}


# --- the CVP head's queue of enrolments with no measure yet --------------------------------------------------

def unmatched_queue(district: str, *, operator: Operator, enrolments: Enrolments, audit: AuditLog, clock: Clock,
                    limit: int = 50, after: After = None) -> tuple[list[dict[str, Any]], After]:
    """A page of the district's enrolments with no measure, oldest first; and where the next one starts."""
    district = parse_district(district)
    operator.require_district(district)
    found, last = enrolments.unmatched_page(district, limit, after)
    audit.append(audit_entry(operator, clock.now(), "cvp.unmatched_read", district))
    return [{"attempt_id": u.attempt_id, "at": u.at.isoformat(), "full_name": u.person.full_name,
             "identity_document": u.person.identity_document, "mobile": u.form.get("mobile"),
             "address": u.form.get("address")} for u in found], last


def resolve_unmatched(measure_id: str, *, measures: Measures, enrolments: Enrolments, uow: UnitOfWork,
                      clock: Clock) -> list[str]:
    """Handler of measure.created: the people who had tried to enrol before the court created their measure
    are told they can enrol now; their queue entries close. Returns the chats to tell."""
    measure = measures.get_measure(measure_id)
    if measure is None or not measure.active:
        return []
    told = []
    for waiting in enrolments.unmatched_of_person(measure.person.key):
        now = clock.now()
        tx = uow.begin()
        tx.put_unmatched(replace(waiting, resolved_at=now, resolution="measure_created"))
        tx.add_event(event("control.measure_ready", measure.measure_id, now, owner=waiting.owner,
                           language=waiting.form.get("language", "es")))
        tx.commit()
        told.append(waiting.owner)
    return told

"""An attention officer's list and work on each person (annex 2): the contact log and its SMS, and the first
registration of people without a DNI. Officers reach only the people on their own list; every read of a
person's data is audited."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ...domain.control.checkins import check_media
from ...domain.control.enrolment import Enrolment, e164, needs_photo
from ...domain.control.measures import Measure
from ...domain.control.officers import Case, ContactAttempt, parse_call, parse_features
from ...domain.control.people import parse_district
from ...domain.control.ports import Enrolments, Markers, Measures, Officers, UnitOfWork
from ...domain.errors import DomainError, NotFound, ValidationError
from ...domain.operators import Operator
from ...domain.outbound import SmsSender
from ...domain.pages import After, chained_page
from ...domain.ports import AuditLog, Clock, DocumentStorage
from ...domain.requests import new_id
from ..notifications import push_text
from .common import audit_entry, event, head_of_chain, retrying

log = logging.getLogger(__name__)


def linked_enrolment(enrolments: Enrolments, chain_id: str) -> Enrolment | None:
    linked = [e for e in enrolments.enrolments_of_chain(chain_id) if e.linked]
    return max(linked, key=lambda e: e.enrolled_at) if linked else None


def case_view(case: Case, measure: Measure | None, enrolment: Enrolment | None, *, detail: bool,
              attempts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    person = measure.person if measure else None
    last = case.contacts[-1] if case.contacts else None
    view: dict[str, Any] = {
        "measure_id": measure.measure_id if measure else case.measure_id,
        "district": case.district, "officer": case.officer, "opened_at": case.opened_at.isoformat(),
        "reason": case.reason, "open": case.open,
        "full_name": person.full_name if person else None,
        "identity_document": person.identity_document if person else None,
        "enrolment": enrolment.status if enrolment else "not_enrolled",
        "mobile": enrolment.mobile if enrolment else None,
        "measure_status": measure.status if measure else None,
        "calls": len(case.contacts), "last_call": last.outcome.value if last else None,
        "sms_sent": case.sms_requested_at is not None,
        "needs_first_registration": bool(person and enrolment and needs_photo(person)
                                         and case.first_registered_at is None),
    }
    if detail:
        view.update({
            "address": enrolment.address if enrolment else None,
            "language": enrolment.language if enrolment else None,
            "contacts": [{"at": a.at.isoformat(), "officer": a.officer, "outcome": a.outcome.value, "note": a.note}
                         for a in case.contacts],
            "sms_requested_at": case.sms_requested_at.isoformat() if case.sms_requested_at else None,
            "features": case.features, "has_photo": bool(enrolment and enrolment.photo_key),
            "first_registered_at": case.first_registered_at.isoformat() if case.first_registered_at else None,
            "link_attempts": attempts or [],
        })
    return view


def _view(case: Case, *, measures: Measures, enrolments: Enrolments, detail: bool) -> dict[str, Any]:
    measure = head_of_chain(measures, case.measure_id)
    attempts = None
    if detail:
        attempts = [{"attempt_id": a.attempt_id, "at": a.at.isoformat(), "mobile": a.form.get("mobile")}
                    for a in enrolments.link_attempts_of_chain(case.chain_id) if a.resolved is None]
    return case_view(case, measure, linked_enrolment(enrolments, case.chain_id), detail=detail, attempts=attempts)


def officer_cases(*, operator: Operator, officers: Officers, measures: Measures, enrolments: Enrolments,
                  audit: AuditLog, clock: Clock, limit: int = 50, after: After = None
                  ) -> tuple[list[dict[str, Any]], After]:
    """A page of the officer's own open list, in the districts of their scope (one district after the other,
    each oldest first: one query per page, one more where a district ends inside it); other officers' lists are
    never shown. Each page read is audited."""
    districts = [d for d in officers.districts_of_officer(operator.subject) if operator.covers_district(d)]
    cases, last = chained_page(districts, lambda d, at, n: officers.officer_cases_page(d, operator.subject, n, at),
                               limit, after)
    audit.append(audit_entry(operator, clock.now(), "officer.list_read", operator.subject, count=len(cases)))
    return [_view(case, measures=measures, enrolments=enrolments, detail=False) for case in cases], last


def district_cases(district: str, *, operator: Operator, officers: Officers, measures: Measures,
                   enrolments: Enrolments, audit: AuditLog, clock: Clock, limit: int = 50, after: After = None
                   ) -> tuple[list[dict[str, Any]], After]:
    """A page of the district's cases, oldest first (joined to their measures and enrolments page by page)."""
    district = parse_district(district)
    operator.require_district(district)
    found, last = officers.district_cases_page(district, limit, after)
    audit.append(audit_entry(operator, clock.now(), "cvp.cases_read", district))
    return [_view(case, measures=measures, enrolments=enrolments, detail=False) for case in found], last


def own_case(measure_id: str, operator: Operator, *, measures: Measures, officers: Officers) -> tuple[Case, Measure]:
    """A person on the officer's own list, addressed by any measure of their chain; anyone else's is 404."""
    measure = measures.get_measure(measure_id) if measure_id else None
    case = officers.get_case(measure.chain_id) if measure else None
    if measure is None or case is None or case.officer != operator.subject \
            or not operator.covers_district(case.district):
        raise NotFound("No such person on your list.")
    return case, head_of_chain(measures, measure.measure_id) or measure


def officer_case(measure_id: str, *, operator: Operator, officers: Officers, measures: Measures,
                 enrolments: Enrolments, audit: AuditLog, clock: Clock) -> dict[str, Any]:
    case, measure = own_case(measure_id, operator, measures=measures, officers=officers)
    audit.append(audit_entry(operator, clock.now(), "officer.case_read", measure.measure_id))
    return _view(case, measures=measures, enrolments=enrolments, detail=True)


def log_call(measure_id: str, payload: Any, *, operator: Operator, officers: Officers, measures: Measures,
             enrolments: Enrolments, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Annex 2 (a): a first call, a second one; two unanswered in a row queue the SMS, once per person."""
    outcome, note = parse_call(payload)
    now = clock.now()

    def write() -> tuple[Case, bool, bool]:
        case, measure = own_case(measure_id, operator, measures=measures, officers=officers)
        updated, sms_due = case.log_call(ContactAttempt(now, operator.subject, outcome, note))
        tx = uow.begin()
        tx.put_case(updated)
        tx.add_audit(audit_entry(operator, now, "officer.call", measure.measure_id, outcome=outcome.value))
        if sms_due:
            tx.add_event(event("control.contact_sms", measure.measure_id, now, chain_id=case.chain_id))
        tx.commit()
        return updated, sms_due, case.sms_requested_at is not None

    updated, sms_due, already = retrying(write)
    sms = "queued" if sms_due else ("already_sent" if already else "not_due")
    return {**_view(updated, measures=measures, enrolments=enrolments, detail=True), "sms": sms}


def send_contact_sms(event_id: str, measure_id: str, *, measures: Measures, enrolments: Enrolments,
                     markers: Markers, sms: SmsSender) -> bool:
    """Handler of control.contact_sms: the annex 2 (a) text with the full name on the court's record, sent
    once, to the enrolled mobile."""
    measure = head_of_chain(measures, measure_id)
    enrolment = linked_enrolment(enrolments, measure.chain_id) if measure else None
    if measure is None or enrolment is None:
        return False
    key = f"contact-sms#{event_id}"
    if not markers.claim(key):
        return False
    text = push_text("sms.annex2a", enrolment.language, name=measure.person.full_name)
    try:
        sms.send(e164(enrolment.mobile), text)
    except ValueError:
        # A number no provider accepts: retrying cannot help; the officer sees it in the contact log.
        log.warning("annex 2 (a) SMS refused: the enrolled number is not valid", extra={"event_id": event_id})
        return False
    except Exception:
        markers.release(key)
        raise
    return True


def _first_registration_case(measure_id: str, operator: Operator, *, measures: Measures, officers: Officers,
                             enrolments: Enrolments) -> tuple[Case, Measure, Enrolment]:
    case, measure = own_case(measure_id, operator, measures=measures, officers=officers)
    if not needs_photo(measure.person):
        raise DomainError("First registration is for people without a DNI and for foreigners; this person's "
                          "identity is checked against the identity registry.", code="first_registration_not_needed")
    enrolment = linked_enrolment(enrolments, case.chain_id)
    if enrolment is None:
        raise DomainError("The person has not enrolled yet.", code="not_enrolled")
    return case, measure, enrolment


def first_registration(measure_id: str, payload: Any, *, operator: Operator, officers: Officers,
                       measures: Measures, enrolments: Enrolments, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Annex 2, activity 7.6: for people without a DNI and foreigners, the officer records identifying
    features ("Actualizar — Detalle de la Parte")."""
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"features"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    features = parse_features(payload.get("features"))
    now = clock.now()

    def write() -> Case:
        case, measure, _ = _first_registration_case(measure_id, operator, measures=measures, officers=officers,
                                                    enrolments=enrolments)
        updated = replace(case, features=features, first_registered_at=now, first_registered_by=operator.subject)
        tx = uow.begin()
        tx.put_case(updated)
        tx.add_audit(audit_entry(operator, now, "officer.first_registration", measure.measure_id))
        tx.commit()
        return updated

    return _view(retrying(write), measures=measures, enrolments=enrolments, detail=True)


def first_registration_photo(measure_id: str, raw: bytes, *, operator: Operator, officers: Officers,
                             measures: Measures, enrolments: Enrolments, storage: DocumentStorage, uow: UnitOfWork,
                             clock: Clock) -> dict[str, Any]:
    """Annex 2, activities 7.4–7.5: the photo captured during the video call becomes the photo on file that
    later check-ins' selfies are compared with."""
    image = check_media(raw)
    _first_registration_case(measure_id, operator, measures=measures, officers=officers, enrolments=enrolments)
    now = clock.now()
    key = f"control/enrolments/{new_id()}.jpg"
    storage.put(key, image, "image/jpeg")

    def write() -> Case:
        case, measure, enrolment = _first_registration_case(measure_id, operator, measures=measures,
                                                            officers=officers, enrolments=enrolments)
        tx = uow.begin()
        tx.put_enrolment(replace(enrolment, photo_key=key))
        tx.add_audit(audit_entry(operator, now, "officer.first_registration_photo", measure.measure_id))
        tx.commit()
        return case

    return _view(retrying(write), measures=measures, enrolments=enrolments, detail=True)

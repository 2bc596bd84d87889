"""Court staff's use cases: create a measure (once per person and case), change its legal status (a new measure
of the same chain), authorise another district, change the group once, revoke, import, and read."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC
from typing import Any

from ...domain.control.measures import Measure, parse_authorisation, parse_measure
from ...domain.control.ports import Calendars, Checkins, Enrolments, Incidents, Measures, Officers, UnitOfWork
from ...domain.errors import Conflict, DomainError, Forbidden, ValidationError
from ...domain.matching import normalise_name
from ...domain.operators import Operator, Role
from ...domain.pages import After
from ...domain.ports import AlreadyExists, AuditLog, Clock
from ...domain.requests import new_id
from .calendar import known_groups
from .common import audit_entry, chain_of, event, peru_today, retrying, visible_measure


def _groups_for(payload: Any, calendars: Calendars) -> set[str] | None:
    if not isinstance(payload, dict):
        return None
    district = str(payload.get("district", "")).upper()
    start = payload.get("start_date")
    if isinstance(start, str) and start[:4].isdigit():
        return known_groups(calendars, district, int(start[:4]))
    return None


def _duplicate(existing_id: str) -> Conflict:
    return Conflict("This person already has an active measure for this case file.", code="measure_exists",
                    details={"measure_id": existing_id})


def _check_new(measure: Measure, operator: Operator, measures: Measures) -> None:
    if not operator.covers_court(measure.court_code):
        raise Forbidden("The case file belongs to a court outside your scope.", code="out_of_scope",
                        field="case_file")
    existing = measures.measure_holding_key(measure.identity_key)
    if existing is not None:
        raise _duplicate(existing)


def create_measure(payload: Any, *, operator: Operator, measures: Measures, calendars: Calendars,
                   officers: Officers, uow: UnitOfWork, clock: Clock, via: str = "api") -> Measure:
    """A measure is idempotent: the same person and case file while one is active is a 409 naming it."""
    now = clock.now()
    measure = parse_measure(payload, measure_id=new_id(), now=now, created_by=operator.subject,
                            known_groups=_groups_for(payload, calendars))
    _check_new(measure, operator, measures)
    tx = uow.begin()
    tx.put_measure(measure)
    tx.claim_measure_key(measure.identity_key, measure.measure_id)
    tx.add_audit(audit_entry(operator, now, "measure.create", measure.measure_id, via=via))
    tx.add_event(event("measure.created", measure.measure_id, now, district=measure.district))
    try:
        tx.commit()
    except AlreadyExists:
        # A concurrent duplicate won the race for the person and case file.
        raise _duplicate(measures.measure_holding_key(measure.identity_key) or "") from None
    officers.add_district(measure.district)
    return measure


COURT_CODE = re.compile(r"\d{4}-[A-Z]{2}-[A-Z]{2}-\d{2}")


def court_of(operator: Operator, wanted: str | None) -> str:
    """The court whose list is asked for: the one named, or the operator's only court."""
    text = (wanted or "").strip().upper()
    if not text:
        mine = sorted(c for c in operator.courts if c != "*")
        if len(mine) != 1 or "*" in operator.courts:
            raise ValidationError("Choose the court, e.g. 1801-JR-PE-01.", field="court", code="court_required")
        text = mine[0]
    if not COURT_CODE.fullmatch(text):
        raise ValidationError("Expected a court code such as 1801-JR-PE-01.", field="court")
    if not operator.covers_court(text):
        raise Forbidden("This court is outside your scope.", code="out_of_scope", field="court")
    return text


def court_position(measure: Measure) -> list[str]:
    """A measure's position in its court's list (the index's key, as Measures.court_page says)."""
    return [measure.created_at.astimezone(UTC).isoformat(), measure.measure_id]


SEARCH_READS = 5  # the most queries of the court's index one page of a filtered search makes


def search_measures(court: str | None, query: str, *, operator: Operator, measures: Measures, audit: AuditLog,
                    clock: Clock, status: str = "active", limit: int = 50, after: After = None
                    ) -> tuple[str, list[Measure], After]:
    """A page of a court's measures, newest first, found by document number, name (every word, accents and case
    aside) or case file; ``status`` active (default) or all; and where the next page starts (None: no more).
    The court's index is read in order, ``limit`` entries a query: one query, or for a search that leaves
    measures out at most SEARCH_READS (so a page may hold fewer than ``limit``; its cursor goes on from the last
    entry read, or from the last measure shown when the page filled up). Each page read is audited (what was
    looked for is not kept)."""
    code = court_of(operator, court)
    if status not in ("active", "all"):
        raise ValidationError("Expected active or all.", field="status")
    words = normalise_name(query).split()
    needle = query.strip().upper()

    def wanted(measure: Measure) -> bool:
        if status == "active" and not measure.active:
            return False
        person = measure.person
        by_name = bool(words) and all(w in normalise_name(person.full_name).split() for w in words)
        return not needle or needle in measure.case_file or needle == (person.document_number or "").upper() \
            or by_name

    found: list[Measure] = []
    for _ in range(SEARCH_READS):
        read, following = measures.court_page(code, limit, after)
        full = None
        for n, measure in enumerate(read):
            if wanted(measure):
                found.append(measure)
                if len(found) == limit:
                    full = n
                    break
        if full is not None:  # the page filled up: go on after its last measure, unless the list ended with it
            after = court_position(read[full]) if full + 1 < len(read) or following else None
            break
        after = following
        if following is None:
            break
    audit.append(audit_entry(operator, clock.now(), "court.measures_search", code, count=len(found),
                             searched=bool(needle)))
    return code, found, after


def preview_measure(payload: Any, *, operator: Operator, measures: Measures, calendars: Calendars,
                    clock: Clock) -> Measure:
    """What create_measure would record, checked the same way (fields, area, scope, duplicates), not saved:
    the court sees the area on the map before saving."""
    measure = parse_measure(payload, measure_id="preview", now=clock.now(), created_by=operator.subject,
                            known_groups=_groups_for(payload, calendars))
    _check_new(measure, operator, measures)
    return measure


def read_measure(measure_id: str, *, operator: Operator, measures: Measures, audit: AuditLog,
                 clock: Clock) -> Measure:
    measure = _court_measure(measures, measure_id, operator)
    audit.append(audit_entry(operator, clock.now(), "measure.read", measure_id))
    return measure


COURT_ROLES = frozenset({Role.COURT.value})


def _court_measure(measures: Measures, measure_id: str, operator: Operator) -> Measure:
    """A measure of one of the operator's courts (court staff act for their courts only)."""
    return visible_measure(measures, measure_id, operator, COURT_ROLES)


def change_legal_status(measure_id: str, payload: Any, *, operator: Operator, measures: Measures,
                        enrolments: Enrolments, officers: Officers, uow: UnitOfWork, clock: Clock) -> Measure:
    """A change of legal status creates a new measure of the same chain; the old one is kept, superseded. The
    chat link, the windows already registered and the officer's case carry over."""
    status = payload.get("legal_status") if isinstance(payload, dict) else None

    def write() -> Measure:
        old = _court_measure(measures, measure_id, operator)
        now = clock.now()
        new, superseded = old.successor(new_id(), str(status), now, operator.subject)
        tx = uow.begin()
        tx.put_measure(superseded)
        tx.put_measure(new)
        tx.claim_measure_key(new.identity_key, new.measure_id, replacing=True)
        for enrolment in enrolments.enrolments_of_chain(old.chain_id):
            tx.put_enrolment(replace(enrolment, measure_id=new.measure_id))
        case = officers.get_case(old.chain_id)
        if case is not None:
            tx.put_case(replace(case, measure_id=new.measure_id))
        tx.add_audit(audit_entry(operator, now, "measure.change_status", old.measure_id,
                                 new_measure=new.measure_id, legal_status=new.legal_status))
        tx.add_event(event("control.measure_changed", new.measure_id, now, change="legal_status",
                           owner=new.linked_owner))
        tx.commit()
        return new

    return retrying(write)


def authorise_district(measure_id: str, payload: Any, *, operator: Operator, measures: Measures,
                       uow: UnitOfWork, clock: Clock) -> Measure:
    authorisation = parse_authorisation(payload)

    def write() -> Measure:
        measure = _court_measure(measures, measure_id, operator)
        if not measure.active:
            raise DomainError("Only an active measure can change.", code="measure_not_active")
        updated = replace(measure, authorisations=(*measure.authorisations, authorisation))
        now = clock.now()
        tx = uow.begin()
        tx.put_measure(updated)
        tx.add_audit(audit_entry(operator, now, "measure.authorise_district", measure_id,
                                 district=authorisation.district))
        tx.add_event(event("control.measure_changed", measure_id, now, change="authorisation",
                           owner=measure.linked_owner))
        tx.commit()
        return updated

    return retrying(write)


def change_group(measure_id: str, payload: Any, *, operator: Operator, measures: Measures, calendars: Calendars,
                 uow: UnitOfWork, clock: Clock) -> Measure:
    group = payload.get("group") if isinstance(payload, dict) else None
    if not isinstance(group, str) or not group:
        raise ValidationError("Expected the new group.", field="group")

    def write() -> Measure:
        measure = _court_measure(measures, measure_id, operator)
        now = clock.now()
        known = known_groups(calendars, measure.district, peru_today(now).year)
        if known is not None and group not in known:
            raise ValidationError(f"Unknown group; the calendar has {', '.join(sorted(known))}.", field="group")
        updated = measure.change_group(group)
        tx = uow.begin()
        tx.put_measure(updated)
        tx.add_audit(audit_entry(operator, now, "measure.change_group", measure_id, group=group))
        tx.add_event(event("control.group_changed", measure_id, now, owner=measure.linked_owner, group=group))
        tx.commit()
        return updated

    return retrying(write)


def revoke_measure(measure_id: str, *, operator: Operator, measures: Measures, uow: UnitOfWork,
                   clock: Clock) -> Measure:
    """The measure ends: it no longer finds its person, its slot on the officer's list is freed, and the
    person is told."""

    def write() -> Measure:
        measure = _court_measure(measures, measure_id, operator)
        updated = measure.revoked()
        now = clock.now()
        tx = uow.begin()
        tx.put_measure(updated)
        tx.release_measure_key(measure.identity_key)
        tx.add_audit(audit_entry(operator, now, "measure.revoke", measure_id))
        tx.add_event(event("control.measure_ended", measure_id, now, chain_id=measure.chain_id,
                           owner=measure.linked_owner))
        tx.commit()
        return updated

    return retrying(write)


def compliance(measure_id: str, *, operator: Operator, measures: Measures, checkins: Checkins,
               incidents: Incidents, audit: AuditLog, clock: Clock) -> dict[str, Any]:
    """A person's compliance across the whole chain of measures: each measure, every check-in with its
    evidence, every incident (the read is audited)."""
    measure = _court_measure(measures, measure_id, operator)
    audit.append(audit_entry(operator, clock.now(), "measure.read_compliance", measure_id))
    chain = chain_of(measures, measure)
    found = [k for m in chain for k in checkins.checkins_of_measure(m.measure_id)]
    found.sort(key=lambda k: k.started_at, reverse=True)
    events = sorted((i for m in chain for i in incidents.incidents_of_measure(m.measure_id)),
                    key=lambda i: i.created_at)
    return {
        "measure_id": measure.measure_id, "case_file": measure.case_file, "court": measure.court,
        "person": measure.person.full_name, "status": measure.status, "group": measure.group,
        "superseded_by": measure.superseded_by, "chain_id": measure.chain_id,
        "chain": [{"measure_id": m.measure_id, "legal_status": m.legal_status, "status": m.status,
                   "created_at": m.created_at.isoformat()} for m in chain],
        "checkins": [{"checkin_id": k.checkin_id, "measure_id": k.measure_id, "window": k.window_key,
                      "started_at": k.started_at.isoformat(), "step": k.step.value, "outcome": k.outcome,
                      "identity": k.identity, "evidence": list(k.evidence), "document_id": k.document_id}
                     for k in found],
        "incidents": [{"incident_id": i.incident_id, "measure_id": i.measure_id, "type": i.type.value,
                       "day": i.day.isoformat(), "detail": i.detail, "observations": i.observations,
                       "status": i.status} for i in events],
    }

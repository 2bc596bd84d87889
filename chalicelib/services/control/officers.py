"""The CVP head's roster and the equitable distribution of people among attention officers: a case opens when
a person enrols (or misses the enrolment deadline), goes to the officer with the fewest open cases, moves when
officers join or leave, and frees its slot when the measure ends."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any

from ...domain.control.officers import Case, CaseReason, Officer, parse_officer_change, pick_officer, rebalance_moves
from ...domain.control.people import parse_district
from ...domain.control.ports import Measures, Officers, UnitOfWork
from ...domain.errors import ValidationError
from ...domain.operators import Operator
from ...domain.pages import After
from ...domain.ports import Clock
from .common import audit_entry, head_of_chain, peru_today, retrying

_OFFICER_ID = re.compile(r"[A-Za-z0-9_.@:\-]{1,128}")


def officer_view(officer: Officer) -> dict[str, Any]:
    return {"district": officer.district, "officer_id": officer.officer_id, "name": officer.name,
            "active": officer.active, "assigned": officer.assigned,
            "updated_at": officer.updated_at.isoformat() if officer.updated_at else None}


def list_officers(district: str, *, operator: Operator, officers: Officers, limit: int = 50,
                  after: After = None) -> tuple[list[dict[str, Any]], After]:
    """A page of the district's officers by id, and where the next one starts (None: no more)."""
    district = parse_district(district)
    operator.require_district(district)
    found, last = officers.officers_page(district, limit, after)
    return [officer_view(o) for o in found], last


def open_case(chain_id: str, district: str, measure_id: str, reason: CaseReason, *, officers: Officers,
              uow: UnitOfWork, rng: random.Random, clock: Clock) -> str | None:
    """A person comes onto an officer's list (or waits for one). A case already open stays with its officer;
    a redelivered event assigns nothing twice."""
    officers.add_district(district)

    def assign() -> str | None:
        existing = officers.get_case(chain_id)
        if existing is not None and existing.open:
            if existing.reason != reason and reason is CaseReason.ENROLLED:
                tx = uow.begin()
                tx.put_case(replace(existing, reason=reason.value, measure_id=measure_id))
                tx.commit()
            return existing.officer
        chosen = pick_officer(officers.officers_of_district(district), rng)
        now = clock.now()
        base = existing or Case(chain_id=chain_id, district=district, measure_id=measure_id, opened_at=now)
        case = replace(base, measure_id=measure_id, reason=reason.value, open=True, opened_at=now,
                       officer=chosen.officer_id if chosen else None)
        tx = uow.begin()
        tx.put_case(case)
        if chosen is not None:
            tx.put_officer(replace(chosen, assigned=chosen.assigned + 1))
        tx.commit()
        return case.officer

    return retrying(assign)


def close_case(chain_id: str, *, officers: Officers, uow: UnitOfWork) -> bool:
    """The measure ended: the case leaves the officer's open list and their count drops."""

    def close() -> bool:
        case = officers.get_case(chain_id)
        if case is None or not case.open:
            return False
        tx = uow.begin()
        tx.put_case(replace(case, open=False))
        holder = officers.get_officer(case.district, case.officer) if case.officer else None
        if holder is not None:
            tx.put_officer(replace(holder, assigned=max(0, holder.assigned - 1)))
        tx.commit()
        return True

    return retrying(close)


def _move_case(chain_id: str, from_officer: str | None, to_officer: str | None, *, officers: Officers,
               uow: UnitOfWork, rng: random.Random) -> bool:
    """Move one open case off ``from_officer``'s list (None: the waiting list) to ``to_officer``, or to the
    officer the draw picks among the others when ``to_officer`` is None."""

    def move() -> bool:
        case = officers.get_case(chain_id)
        if case is None or not case.open or case.officer != from_officer:
            return False
        roster = officers.officers_of_district(case.district)
        if to_officer is not None:
            chosen = next((o for o in roster if o.officer_id == to_officer and o.active), None)
        else:
            chosen = pick_officer([o for o in roster if o.officer_id != from_officer], rng)
        if chosen is None and from_officer is None:
            return False
        leaving = next((o for o in roster if o.officer_id == from_officer), None)
        tx = uow.begin()
        tx.put_case(replace(case, officer=chosen.officer_id if chosen else None))
        if chosen is not None:
            tx.put_officer(replace(chosen, assigned=chosen.assigned + 1))
        if leaving is not None:
            tx.put_officer(replace(leaving, assigned=max(0, leaving.assigned - 1)))
        tx.commit()
        return True

    return retrying(move)


def _open_cases_in_force(officers: Officers, measures: Measures, district: str, officer_id: str | None,
                         clock: Clock) -> list[Case]:
    today = peru_today(clock.now())
    result = []
    for case in officers.cases_of_officer(district, officer_id):
        measure = head_of_chain(measures, case.measure_id)
        if measure is not None and measure.in_force(today):
            result.append(case)
    return result


def put_officer(district: str, officer_id: str, payload: Any, *, operator: Operator, officers: Officers,
                measures: Measures, uow: UnitOfWork, rng: random.Random, clock: Clock) -> dict[str, Any]:
    """Add, rename, activate or deactivate an officer. Deactivation hands their open list to the others;
    activation takes the cases waiting for an officer and levels the others' lists with the newcomer.
    Repeating the call finishes a hand-over that stopped half way."""
    district = parse_district(district)
    operator.require_district(district)
    if not _OFFICER_ID.fullmatch(officer_id or ""):
        raise ValidationError("Expected the officer's operator id.", field="officer_id")
    active, name = parse_officer_change(payload)
    now = clock.now()

    def write() -> None:
        existing = officers.get_officer(district, officer_id)
        base = existing or Officer(district=district, officer_id=officer_id)
        officer = replace(base, active=active, name=name if name is not None else base.name, updated_at=now,
                          updated_by=operator.subject)
        tx = uow.begin()
        tx.put_officer(officer)
        tx.add_audit(audit_entry(operator, now, "officer.put", f"{district}#{officer_id}", active=active))
        tx.commit()

    retrying(write)
    officers.add_district(district)
    moved = taken = levelled = 0
    if not active:
        for case in _open_cases_in_force(officers, measures, district, officer_id, clock):
            moved += _move_case(case.chain_id, officer_id, None, officers=officers, uow=uow, rng=rng)
    else:
        for case in officers.cases_of_officer(district, None):
            taken += _move_case(case.chain_id, None, None, officers=officers, uow=uow, rng=rng)
        levelled = _level(district, officer_id, officers=officers, measures=measures, uow=uow, rng=rng, clock=clock)
    officer = officers.get_officer(district, officer_id)
    assert officer is not None
    return {**officer_view(officer), "reassigned": moved, "assigned_from_waiting": taken, "levelled": levelled}


def hand_over(district: str, officer_id: str, payload: Any, *, operator: Operator, officers: Officers,
              measures: Measures, uow: UnitOfWork, rng: random.Random, clock: Clock) -> dict[str, Any]:
    """The CVP head moves an officer's open list: to one named, active officer of the district ({"to": id}),
    or shared among the others by the equitable draw ({"to": ""}). The officer stays as they were."""
    district = parse_district(district)
    operator.require_district(district)
    target = payload.get("to", "") if isinstance(payload, dict) else None
    if not isinstance(target, str) or (target and not _OFFICER_ID.fullmatch(target)) or target == officer_id:
        raise ValidationError("Expected another officer of the district, or none to share the list.", field="to")
    if officers.get_officer(district, officer_id) is None:
        raise ValidationError("No such officer in this district.", field="officer_id", code="unknown_officer")
    if target:
        receiver = officers.get_officer(district, target)
        if receiver is None or not receiver.active:
            raise ValidationError("The receiving officer must be active in this district.", field="to",
                                  code="officer_not_active")
    moved = 0
    for case in _open_cases_in_force(officers, measures, district, officer_id, clock):
        moved += _move_case(case.chain_id, officer_id, target or None, officers=officers, uow=uow, rng=rng)
    tx = uow.begin()
    tx.add_audit(audit_entry(operator, clock.now(), "officer.hand_over", f"{district}#{officer_id}",
                             to=target or "draw", moved=moved))
    tx.commit()
    return {"district": district, "officer_id": officer_id, "to": target or None, "moved": moved}


def _level(district: str, newcomer: str, *, officers: Officers, measures: Measures, uow: UnitOfWork,
           rng: random.Random, clock: Clock) -> int:
    """The backlog is spread when an officer joins: the most loaded officers hand over their cases not yet
    worked (no call made, no first registration), newest first, until the lists are level."""
    moved = 0
    donors = rebalance_moves(officers.officers_of_district(district), newcomer)
    pools: dict[str, list[Case]] = {}
    for donor in donors:
        if donor not in pools:
            cases = [c for c in _open_cases_in_force(officers, measures, district, donor, clock) if c.untouched]
            pools[donor] = sorted(cases, key=lambda c: c.opened_at)
        if pools[donor]:
            moved += _move_case(pools[donor].pop().chain_id, donor, newcomer, officers=officers, uow=uow, rng=rng)
    return moved


def close_ended_cases(*, officers: Officers, measures: Measures, uow: UnitOfWork, clock: Clock) -> int:
    """The daily job: a measure past its end date frees its officer's slot like a revoked one."""
    today = peru_today(clock.now())
    closed = 0
    for district in officers.districts():
        for case in officers.cases_of_district(district):
            if not case.open:
                continue
            measure = head_of_chain(measures, case.measure_id)
            if measure is None or not measure.in_force(today):
                closed += close_case(case.chain_id, officers=officers, uow=uow)
    return closed

"""What the control use cases share: audit entries, retries of read-modify-write, the measure in force, and
events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ...domain.control.calendar import PERU
from ...domain.control.measures import Measure
from ...domain.control.ports import Measures
from ...domain.errors import ConcurrentUpdate, NotFound
from ...domain.operators import Operator
from ...domain.ports import AlreadyExists, AuditEntry
from ...domain.requests import Event, new_id

MAX_RETRIES = 5


@dataclass(frozen=True)
class ControlRules:
    location_max_age_seconds: int = 180
    warrant_name_threshold: float = 92.0


def audit_entry(operator: Operator, at: datetime, action: str, target: str, **details: Any) -> AuditEntry:
    return AuditEntry(at=at, actor=operator.subject, role=",".join(sorted(operator.roles)), action=action,
                      target=target, details=details)


def event(name: str, aggregate_id: str, at: datetime, **data: Any) -> Event:
    return Event(new_id(), name, aggregate_id, at, data)


def retrying[T](action: Callable[[], T]) -> T:
    """Run a read-modify-write again when someone else wrote the same items meanwhile."""
    for attempt in range(MAX_RETRIES):
        try:
            return action()
        except (ConcurrentUpdate, AlreadyExists):
            if attempt == MAX_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def head_of_chain(measures: Measures, measure_id: str) -> Measure | None:
    """The measure in force: a change of legal status supersedes a measure with a new one of its chain."""
    measure = measures.get_measure(measure_id)
    seen = 0
    while measure is not None and measure.superseded_by and seen < 20:
        measure = measures.get_measure(measure.superseded_by)
        seen += 1
    return measure


def chain_of(measures: Measures, measure: Measure) -> list[Measure]:
    """Every measure of a chain, oldest first."""
    chain = [measure]
    while chain[0].previous_id and len(chain) < 20:
        earlier = measures.get_measure(chain[0].previous_id)
        if earlier is None:
            break
        chain.insert(0, earlier)
    while chain[-1].superseded_by and len(chain) < 40:
        later = measures.get_measure(chain[-1].superseded_by)
        if later is None:
            break
        chain.append(later)
    return chain


def visible_measure(measures: Measures, measure_id: str, operator: Operator,
                    as_roles: frozenset[str] | None = None) -> Measure:
    """A measure in the operator's scope; one outside it looks exactly like one that does not exist."""
    measure = measures.get_measure(measure_id)
    if measure is None or not operator.sees(measure.district, measure.court_code, as_roles):
        raise NotFound("No such measure.")
    return measure


def peru_today(moment: datetime) -> date:
    return moment.astimezone(PERU).date()


def peru_time(moment: datetime) -> str:
    return moment.astimezone(PERU).strftime("%d/%m/%Y %H:%M (hora de Perú)")


def chat_id(owner: str | None) -> str | None:
    return owner.split(":", 1)[1] if owner and owner.startswith("telegram:") else None

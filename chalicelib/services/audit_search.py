"""The auditor's search of the audit log: by operator, by person (their document number finds their measures)
or record, and by date, including every read of person-level data. The search itself is audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.control.ports import Measures
from ..domain.errors import ValidationError
from ..domain.identity import DocumentType
from ..domain.operators import Operator
from ..domain.ports import AuditEntry, AuditLog, Clock
from .control.common import chain_of, peru_today
from .time import PERU

MAX_DAYS = 31
MAX_RESULTS = 500
# Actions that read a person's data (SPEC 4.7: every such read is audited, and the auditor can list them).
READ_ACTIONS = ("read", "_read", "open_case", "list_queue", "person.", "search", "photo")


@dataclass(frozen=True)
class AuditQuery:
    operator: str = ""
    person: str = ""  # an identity document number
    record: str = ""  # a measure, request, check-in or incident id
    since: date | None = None
    until: date | None = None
    reads_only: bool = False


def parse_query(values: dict[str, str], today: date) -> AuditQuery:
    def day(name: str) -> date | None:
        raw = (values.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Expected a date as YYYY-MM-DD.", field=name) from None

    since, until = day("from"), day("to")
    until = until or today
    since = since or until
    if since > until:
        raise ValidationError("The first day must not be after the last.", field="from")
    if (until - since).days >= MAX_DAYS:
        raise ValidationError(f"Search at most {MAX_DAYS} days at a time.", field="from", code="range_too_long")
    person = "".join((values.get("person") or "").split()).upper()
    if person and not person.isalnum():
        raise ValidationError("Expected an identity document number.", field="person")
    record = (values.get("record") or "").strip()
    if record and (len(record) > 64 or not all(ch.isalnum() or ch in "-_#:" for ch in record)):
        raise ValidationError("Expected a record id.", field="record")
    return AuditQuery(operator=(values.get("operator") or "").strip()[:128], person=person[:20], record=record,
                      since=since, until=until, reads_only=values.get("reads") in ("1", "on", "true"))


def _targets(query: AuditQuery, measures: Measures) -> list[str] | None:
    """The records a person or record search looks at; None when the search goes by day."""
    if query.record:
        return [query.record]
    if not query.person:
        return None
    targets: list[str] = []
    for kind in DocumentType:
        for measure in measures.active_measures_of_person(f"{kind.value}#{query.person}"):
            targets += [m.measure_id for m in chain_of(measures, measure)]
    return sorted(set(targets))


def is_read(entry: AuditEntry) -> bool:
    return any(marker in entry.action for marker in READ_ACTIONS)


def search_audit(query: AuditQuery, *, operator: Operator, audit: AuditLog, measures: Measures,
                 clock: Clock) -> list[AuditEntry]:
    """Newest first, at most 500 entries."""
    assert query.since is not None and query.until is not None
    first = datetime.combine(query.since, datetime.min.time(), PERU)
    last = datetime.combine(query.until + timedelta(days=1), datetime.min.time(), PERU)
    targets = _targets(query, measures)
    if targets is None:
        # The log is kept by UTC day: Peru's day D (UTC-5) runs from 05:00 UTC on D to 05:00 UTC on D+1.
        span = (query.until - query.since).days + 2
        days = [query.since + timedelta(days=n) for n in range(span)]
        found = [e for d in days for e in audit.entries_for_day(d, 5000)]
    else:
        found = [e for t in targets for e in audit.entries_for_target(t, 2000)]
    entries = [e for e in found if first <= e.at < last and (not query.operator or e.actor == query.operator)
               and (not query.reads_only or is_read(e))]
    entries.sort(key=lambda e: e.at, reverse=True)
    audit.append(AuditEntry(at=clock.now(), actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="audit.search", target="audit", details=_searched(query, len(entries))))
    return entries[:MAX_RESULTS]


def _searched(query: AuditQuery, count: int) -> dict[str, Any]:
    """What the search looked for, without the document number itself (only its hash)."""
    details: dict[str, Any] = {"count": count, "from": str(query.since), "to": str(query.until)}
    if query.operator:
        details["operator"] = query.operator
    if query.record:
        details["record"] = query.record
    if query.person:
        details["person_hash"] = hashlib.sha256(query.person.encode()).hexdigest()[:16]
    return details


def default_range(now: datetime) -> tuple[date, date]:
    today = peru_today(now)
    return today, today

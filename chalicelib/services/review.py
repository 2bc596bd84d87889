"""The record check after payment and the reviewer's decisions on doubtful matches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..domain.errors import ConcurrentUpdate, DomainError, NotFound, ValidationError
from ..domain.identity import Applicant
from ..domain.matching import MatchResult, MatchThresholds, Outcome, RegistryPerson, match_applicant, search_blocks
from ..domain.ports import AuditEntry, AuditLog, Clock, PenitentiaryRegistry, Store
from ..domain.requests import CandidateDecision, CertificateRequest, Result, ReviewCandidate, Status
from ..tracing import subsegment

log = logging.getLogger(__name__)


def registry_match(applicant: Applicant, registry: PenitentiaryRegistry, thresholds: MatchThresholds
                   ) -> tuple[MatchResult, dict[str, RegistryPerson]]:
    """Who in the registry may be the applicant: the people with their document number, and those filed under the
    applicant's blocks (surnames and birth year, the whole name), scored on what the index holds; only the
    candidates' full records (their cases) are read. Answers the match and the candidates' records by id."""
    people = {p.record_id: p for p in registry.by_document_number(applicant.document_number)}
    full = set(people)
    blocks = search_blocks(applicant.full_name, (applicant.first_surname, applicant.second_surname),
                           applicant.birth_date)
    for person in registry.in_blocks(blocks):
        people.setdefault(person.record_id, person)
    with subsegment("record.match"):
        result = match_applicant(applicant.full_name, applicant.document_number, applicant.birth_date,
                                 list(people.values()), thresholds)
    wanted = [c.record_id for c in result.candidates if c.record_id not in full]
    records = {p.record_id: p for p in registry.records(wanted)} if wanted else {}
    return result, {c.record_id: records.get(c.record_id, people[c.record_id]) for c in result.candidates}


def check_records(request_id: str, *, store: Store, registry: PenitentiaryRegistry, clock: Clock,
                  thresholds: MatchThresholds, issue: Callable[[CertificateRequest], Any] | None = None
                  ) -> CertificateRequest | None:
    """Handler of request.paid. Runs once in effect: a request that is no longer paid is left alone.

    With ``issue``, a clean record is issued in the same step: ``issue`` gets the approval (not yet written) and
    writes the issued request with its request.issued event, whose history keeps the approval. Should issuing fail,
    the approval is written with its request.approved event instead, and the issuer's own handler retries it."""
    request = store.get_request(request_id)
    if request is None or request.status is not Status.PAID:
        return request
    result, by_id = registry_match(request.applicant, registry, thresholds)
    now = clock.now()
    if result.outcome is Outcome.NO_RECORD:
        updated, event = request.transition(Status.APPROVED, now, "record-check",
                                            check_outcome=result.outcome.value, result=Result.NO_RECORD)
        if issue is not None:
            try:
                issue(updated)
                return updated  # issued now; the approval it was issued from
            except ConcurrentUpdate:
                raise  # the request changed meanwhile: the event is retried and reads it again
            except Exception:
                log.exception("issuing after the record check failed; the approval goes to the issuer",
                              extra={"request_id": request_id})
    else:
        candidates = tuple(
            ReviewCandidate(record_id=c.record_id, score=c.score, reasons=c.reasons, kind=c.kind.value,
                            cases=by_id[c.record_id].cases, registry_name=by_id[c.record_id].full_name)
            for c in result.candidates)
        updated, event = request.transition(Status.IN_REVIEW, now, "record-check",
                                            check_outcome=result.outcome.value, candidates=candidates)
    tx = store.transaction()
    tx.put_request(updated)
    tx.add_event(event)
    tx.commit()
    return updated


def _audit(audit: AuditLog, clock: Clock, operator: Any, action: str, target: str, **details: Any) -> None:
    audit.append(AuditEntry(at=clock.now(), actor=operator.subject, role=",".join(operator.roles),
                            action=action, target=target, details=details))


def review_queue(*, store: Store, audit: AuditLog, clock: Clock, operator: Any, limit: int = 50,
                 after: list[str] | None = None) -> tuple[list[CertificateRequest], list[str] | None]:
    """A page of the queue, and where the next one starts (None: no more)."""
    queue, following = store.review_queue(limit, after)
    _audit(audit, clock, operator, "review.list_queue", "review-queue", count=len(queue))
    return queue, following


def _case(store: Store, request_id: str) -> CertificateRequest:
    request = store.get_request(request_id) if len(request_id) <= 64 else None
    if request is None or not request.candidates:
        raise NotFound("No such review case.")
    return request


def open_case(request_id: str, *, store: Store, audit: AuditLog, clock: Clock, operator: Any
              ) -> CertificateRequest:
    request = _case(store, request_id)
    _audit(audit, clock, operator, "review.open_case", request_id)
    return request


def decide(request_id: str, record_id: str, payload: Any, *, store: Store, clock: Clock,
           operator: Any) -> CertificateRequest:
    """Confirm or clear one candidate; the last decision settles the request (final and audited)."""
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"decision", "note"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    decision = CandidateDecision.PENDING
    if payload.get("decision") in (CandidateDecision.CONFIRMED.value, CandidateDecision.CLEARED.value):
        decision = CandidateDecision(payload["decision"])
    if decision is CandidateDecision.PENDING:
        raise ValidationError("Expected \"confirmed\" or \"cleared\".", field="decision")
    note = payload.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected text of at most 500 characters.", field="note")
    request = _case(store, request_id)
    if request.status is not Status.IN_REVIEW:
        raise DomainError("This case is already decided; decisions are final.", code="already_decided")
    candidate = next((c for c in request.candidates if c.record_id == record_id), None)
    if candidate is None:
        raise NotFound("No such candidate in this case.")
    if candidate.decision is not CandidateDecision.PENDING:
        raise DomainError("This candidate is already decided; decisions are final.", code="already_decided")
    now = clock.now()
    decided = replace(candidate, decision=decision, decided_by=operator.subject, decided_at=now)
    candidates = tuple(decided if c.record_id == record_id else c for c in request.candidates)
    updated = replace(request, candidates=candidates, updated_at=now)
    tx = store.transaction()
    if not updated.pending_candidates:
        result = Result.HAS_RECORD if updated.confirmed_candidates else Result.NO_RECORD
        updated, event = updated.transition(Status.APPROVED, now, operator.subject, result=result)
        tx.add_event(event)
    tx.put_request(updated)
    # The decision and its audit entry land together: no decision without its record.
    tx.add_audit(AuditEntry(at=now, actor=operator.subject, role=",".join(operator.roles),
                            action=f"review.{decision.value}", target=request_id,
                            details={"record_id": record_id, "note": note}))
    tx.commit()
    return updated

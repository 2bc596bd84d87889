"""The certificate request: its states, the allowed transitions, its history and the events it emits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import InvalidTransition
from .identity import Applicant


class Status(StrEnum):
    PENDING_IDENTITY = "pending_identity"
    IDENTITY_REJECTED = "identity_rejected"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ISSUED = "issued"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING_IDENTITY: frozenset({Status.AWAITING_PAYMENT, Status.IDENTITY_REJECTED, Status.CANCELLED}),
    Status.AWAITING_PAYMENT: frozenset({Status.PAID, Status.EXPIRED, Status.CANCELLED}),
    Status.PAID: frozenset({Status.APPROVED, Status.IN_REVIEW}),
    Status.IN_REVIEW: frozenset({Status.APPROVED}),
    Status.APPROVED: frozenset({Status.ISSUED}),
    Status.ISSUED: frozenset(),
    Status.IDENTITY_REJECTED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# The event each status change announces (consumed by the worker, and later by notifications).
EVENT_FOR_STATUS: dict[Status, str] = {
    Status.AWAITING_PAYMENT: "request.payment_ordered",
    Status.PAID: "request.paid",
    Status.IN_REVIEW: "request.review_required",
    Status.APPROVED: "request.approved",
    Status.ISSUED: "request.issued",
    Status.EXPIRED: "request.expired",
    Status.CANCELLED: "request.cancelled",
    Status.IDENTITY_REJECTED: "request.identity_rejected",
}


class Result(StrEnum):
    NO_RECORD = "NO REGISTRA ANTECEDENTES JUDICIALES"
    HAS_RECORD = "REGISTRA ANTECEDENTES JUDICIALES"


class CandidateDecision(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CLEARED = "cleared"


def new_id() -> str:
    """An unguessable identifier for URLs: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Event:
    event_id: str
    name: str
    aggregate_id: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryEntry:
    status: Status
    at: datetime
    by: str


@dataclass(frozen=True)
class ReviewCandidate:
    record_id: str
    score: float
    reasons: tuple[str, ...]
    kind: str
    decision: CandidateDecision = CandidateDecision.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    cases: tuple[dict[str, str], ...] = ()
    registry_name: str = ""


@dataclass(frozen=True)
class PaymentOrder:
    order_code: str
    request_id: str
    amount: Decimal
    currency: str
    expires_at: datetime
    status: str = "open"  # open | paid | expired
    payment_id: str | None = None
    version: int = 0


@dataclass(frozen=True)
class CertificateRequest:
    request_id: str
    number: str
    owner: str  # "telegram:<id>": the channel user who may see it
    applicant: Applicant
    status: Status
    created_at: datetime
    updated_at: datetime
    history: tuple[HistoryEntry, ...]
    language: str = "es"
    identity_attempts: int = 0
    order_code: str | None = None
    paid_at: datetime | None = None
    check_outcome: str | None = None
    candidates: tuple[ReviewCandidate, ...] = ()
    result: Result | None = None
    document_id: str | None = None
    # How possession of the identity document was proven ("issue_date"), once it was.
    identity_proof: str | None = None
    # Why a request closed without a certificate when it was not the person's doing ("document_expired").
    rejection: str | None = None
    # The payment applied to the order: provider, payment id (the operation number), amount, currency, paid_at.
    receipt: dict[str, Any] | None = None
    # Payments received for this request that could not be applied, and where their refund stands.
    refunds: tuple[dict[str, Any], ...] = ()
    # A free replacement of this request's revoked certificate (its request id), and what this one replaces.
    replaced_by: str | None = None
    replaces: str | None = None
    # A partner's own reference of the request (its file number), when a partner made it.
    partner_reference: str | None = None
    version: int = 0

    def transition(self, to: Status, at: datetime, by: str, **changes: Any) -> tuple[CertificateRequest, Event]:
        if to not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"A request that is {self.status.value} cannot become {to.value}.")
        if to is Status.APPROVED and not self.document_id:
            # The certificate's id is fixed at approval, so issuing it twice can only ever make one document.
            changes.setdefault("document_id", new_id())
        updated = replace(self, status=to, updated_at=at,
                          history=(*self.history, HistoryEntry(to, at, by)), **changes)
        # "email": whether the person gave an address, so a notice consumer knows without reading the request
        # when the chat was answered already and there is no e-mail to send; with the language and number, a chat
        # notice needs no read at all (notifications._from_event).
        event = Event(event_id=new_id(), name=EVENT_FOR_STATUS[to], aggregate_id=self.request_id,
                      occurred_at=at, data={"status": to.value, "owner": self.owner,
                                            "email": bool(self.applicant.email), "language": updated.language,
                                            "number": self.number})
        return updated, event

    @property
    def pending_candidates(self) -> list[ReviewCandidate]:
        return [c for c in self.candidates if c.decision is CandidateDecision.PENDING]

    @property
    def confirmed_candidates(self) -> list[ReviewCandidate]:
        return [c for c in self.candidates if c.decision is CandidateDecision.CONFIRMED]

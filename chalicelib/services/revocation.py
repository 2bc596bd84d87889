"""After a certificate is revoked: what its request says about it, and the free replacement when INPE erred."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.errors import DomainError
from ..domain.issued import IssuedDocument, RevocationReason
from ..domain.ports import AlreadyExists, Clock, IdentityRegistry, Store
from ..domain.requests import CertificateRequest, Event, HistoryEntry, Status, new_id
from .certificate_requests import get_request, request_number

# Revoked because of our own mistake: the holder gets a new certificate without paying again.
FREE_REPLACEMENT = frozenset({RevocationReason.ISSUED_IN_ERROR, RevocationReason.WRONG_DATA})


def document_state(request: CertificateRequest, store: Store, now: datetime) -> dict[str, Any] | None:
    """The issued certificate as its holder must see it: current, expired or revoked (when, why, what next)."""
    if request.status is not Status.ISSUED or not request.document_id:
        return None
    document = store.get_document(request.document_id)
    if document is None:
        return None
    state: dict[str, Any] = {"status": document.verdict(now).value, "number": document.number,
                             "valid_until": document.valid_until.isoformat()}
    if document.revoked_at is not None:
        state.update(revoked_at=document.revoked_at.isoformat(),
                     revocation_reason=document.revocation_reason.value if document.revocation_reason else None,
                     free_replacement=replacement_allowed(document))
    return state


def replacement_allowed(document: IssuedDocument) -> bool:
    return document.revoked_at is not None and document.revocation_reason in FREE_REPLACEMENT


def request_replacement(request_id: str, *, owner: str, store: Store, identity: IdentityRegistry,
                        clock: Clock, language: str | None = None) -> tuple[CertificateRequest, bool]:
    """A new request for a certificate revoked by our error: identity already proven and fee already paid, so it
    starts paid and goes straight to the record check. Asking twice answers the same replacement."""
    original = get_request(request_id, owner=owner, store=store)
    if original.replaced_by:
        replacement = store.get_request(original.replaced_by)
        if replacement is not None:
            return replacement, False
    document = store.get_document(original.document_id) if original.document_id else None
    if original.status is not Status.ISSUED or document is None or not replacement_allowed(document):
        raise DomainError("Only a certificate revoked because of INPE's error is replaced free of charge; "
                          "make a new request instead.", code="replacement_not_allowed")
    now = clock.now()
    applicant = original.applicant
    # The registry may have corrected the name since (a revocation for wrong data): print its current form.
    record = identity.lookup(applicant.document_type.value, applicant.document_number)
    if record is not None:
        applicant = replace(applicant, given_names=record.given_names, first_surname=record.first_surname,
                            second_surname=record.second_surname or "")
    number = request_number(store, now)
    receipt = {"waived": True, "replaces": original.number, "amount": "0.00",
               "currency": (original.receipt or {}).get("currency", "PEN"), "paid_at": now.isoformat()}
    fresh = CertificateRequest(
        request_id=new_id(), number=number, owner=owner, applicant=applicant, status=Status.PAID,
        created_at=now, updated_at=now, history=(HistoryEntry(Status.PAID, now, owner),),
        language=language if language in ("es", "en") else original.language, paid_at=now,
        identity_proof=original.identity_proof, receipt=receipt, replaces=original.request_id)
    tx = store.transaction()
    tx.put_request(fresh)
    tx.put_request(replace(original, replaced_by=fresh.request_id, updated_at=now))
    tx.add_event(Event(new_id(), "request.paid", fresh.request_id, now,
                       {"status": Status.PAID.value, "owner": owner, "actor": owner, "replaces": original.number}))
    try:
        tx.commit()
    except (AlreadyExists, DomainError):
        # Another press of the same button made it meanwhile.
        again = get_request(request_id, owner=owner, store=store)
        if again.replaced_by and (existing := store.get_request(again.replaced_by)):
            return existing, False
        raise
    return fresh, True

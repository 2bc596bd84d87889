"""The record kept of every signed document issued: what verification answers from, and revocation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from .documents import StatusRef
from .errors import DomainError, ValidationError


class RevocationReason(StrEnum):
    ISSUED_IN_ERROR = "issued_in_error"
    WRONG_DATA = "wrong_data"
    IDENTITY_FRAUD = "identity_fraud"
    COURT_ORDER = "court_order"
    OTHER = "other"


class Verdict(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IssuedDocument:
    document_id: str
    kind: str
    title: str
    number: str
    owner: str
    source_id: str  # the certificate request (or check-in) it was issued for
    holder_name: str
    document_type: str
    masked_document_number: str
    result: str
    cases: tuple[dict[str, str], ...]
    issued_at: datetime
    valid_until: datetime
    sha256: str
    storage_key: str
    revoked_at: datetime | None = None
    revocation_reason: RevocationReason | None = None
    version: int = 0
    status: StatusRef | None = None  # its entry in the issuer's status list (QR codes point to it)
    superseded_by: str | None = None  # the document id of the revision that replaces it
    superseded_at: datetime | None = None

    def verdict(self, now: datetime) -> Verdict:
        if self.revoked_at is not None:
            return Verdict.REVOKED
        if self.superseded_by is not None:
            return Verdict.SUPERSEDED
        if now >= self.valid_until:
            return Verdict.EXPIRED
        return Verdict.VALID

    def revoke(self, at: datetime, reason: RevocationReason) -> IssuedDocument:
        if self.revoked_at is not None:
            raise DomainError("This document is already revoked.", code="already_revoked")
        return replace(self, revoked_at=at, revocation_reason=reason)

    def supersede(self, by: str, at: datetime) -> IssuedDocument:
        return replace(self, superseded_by=by, superseded_at=at)


def parse_revocation(payload: Any) -> tuple[RevocationReason, str]:
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"reason", "note"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    allowed = [r.value for r in RevocationReason]
    if payload.get("reason") not in allowed:
        raise ValidationError(f"Expected one of {', '.join(allowed)}.", field="reason")
    reason = RevocationReason(payload["reason"])
    note = payload.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected text of at most 500 characters.", field="note")
    return reason, note

"""The ports the use cases depend on; adapters implement them (DynamoDB, files, registries, providers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from .documents import StatusRef
from .errors import Conflict
from .issued import IssuedDocument
from .matching import RegistryPerson
from .payments import PaymentNotice
from .requests import CertificateRequest, Event, PaymentOrder


class AlreadyExists(Conflict):
    """An insert met an item that is already there (idempotency keys, payment ids, handler markers)."""

    code = "already_exists"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} already exists.")
        self.what = what


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class IdempotentCall:
    """What a client's earlier call with the same Idempotency-Key left: the fingerprint of its request and, once
    it was answered, the answer (None while it is still being served)."""

    fingerprint: str
    response: str | None


class IdempotencyRecords(Protocol):
    """Idempotency-Key records of unsafe HTTP calls (issue 14): claimed before the call runs, answered after."""

    def claim(self, key: str, fingerprint: str, request_id: str) -> IdempotentCall | None:
        """Claims ``key`` for this call (None), or returns what an earlier call with it left."""
        ...

    def answer(self, key: str, response: str) -> None: ...

    def release(self, key: str) -> None:
        """Drops the claim of a call that failed on our side, so that the client's retry runs again."""
        ...


@dataclass(frozen=True)
class PaymentRecord:
    provider: str
    payment_id: str
    order_code: str
    amount: Decimal
    currency: str
    received_at: datetime
    disposition: str  # "applied" | "refund_due"
    reason: str = ""
    request_id: str | None = None
    paid_at: datetime | None = None
    # A payment that could not be applied: "due" → "requested" (sent to the provider) → "refunded" | "failed".
    refund_state: str = ""
    refund_id: str | None = None
    refund_updated_at: datetime | None = None


OPEN_REFUND_STATES = ("due", "requested", "failed")  # a refund still owed or under way


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)


class Transaction(Protocol):
    """All-or-nothing writes: a state change and the events announcing it land together or not at all."""

    def put_request(self, request: CertificateRequest) -> None: ...
    def put_order(self, order: PaymentOrder) -> None: ...
    def add_payment(self, payment: PaymentRecord) -> None: ...
    def update_payment(self, payment: PaymentRecord) -> None: ...
    def add_event(self, event: Event) -> None: ...
    def claim_idempotency_key(self, key: str, request_id: str) -> None: ...
    def mark_processed(self, handler: str, event_id: str) -> None: ...
    def add_audit(self, entry: AuditEntry) -> None: ...
    def put_document(self, document: IssuedDocument) -> None: ...
    def set_document_status(self, issuer: str, status: StatusRef, value: int) -> None: ...
    def commit(self) -> None: ...


class Store(Protocol):
    def get_request(self, request_id: str) -> CertificateRequest | None: ...
    def request_for_idempotency_key(self, key: str) -> str | None: ...
    def requests_of_owner(self, owner: str, limit: int) -> list[CertificateRequest]: ...
    def page_of_owner(self, owner: str, limit: int, after: list[str] | None
                      ) -> tuple[list[CertificateRequest], list[str] | None]:
        """The owner's requests, newest first, after position ``after``; and the position of the last one when
        more follow (the position is [created_at, request_id]: no personal data)."""
        ...

    def review_queue(self, limit: int, after: list[str] | None = None
                     ) -> tuple[list[CertificateRequest], list[str] | None]:
        """The review queue, oldest first, after position ``after``; and the position of the last one when more
        follow ([queued_at, request_id])."""
        ...

    def orders_expiring_before(self, moment: datetime, limit: int) -> list[PaymentOrder]: ...
    def get_order(self, order_code: str) -> PaymentOrder | None: ...
    def get_payment(self, provider: str, payment_id: str) -> PaymentRecord | None: ...
    def payments_due_refund(self, limit: int) -> list[PaymentRecord]: ...
    def refunds_page(self, state: str, limit: int, after: Any) -> tuple[list[PaymentRecord], list[str] | None]:
        """Up to ``limit`` refunds in one open state, oldest first, after position ``after``; and the position of
        the last one when more follow ([received_at, payment key])."""
        ...

    def next_number(self, series: str) -> int: ...
    def prefetch_numbers(self, series: str) -> None:
        """Whatever next_number(series) would fetch before its first number, fetched now (a container's start)."""
        ...
    def get_document(self, document_id: str) -> IssuedDocument | None: ...
    def release_processed(self, handler: str, event_id: str) -> None: ...
    def document_by_hash(self, sha256: str) -> IssuedDocument | None: ...
    def status_entries(self, issuer: str, list_id: int) -> dict[int, int]: ...
    def transaction(self) -> Transaction: ...
    def ping(self) -> None: ...


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None: ...
    def entries_for_day(self, day: date, limit: int) -> list[AuditEntry]: ...
    def page_for_day(self, day: date, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        """Up to ``limit`` entries of the day in time order after position ``after``, and the position of the
        last one when more follow (else None)."""
        ...

    def entries_for_target(self, target: str, limit: int) -> list[AuditEntry]:
        """Every entry about one record (a measure, a request, a check-in), oldest first."""
        ...


@dataclass(frozen=True)
class IdentityRecord:
    """What the identity registry (RENIEC / Migraciones, or the local table) knows of a document."""

    document_type: str
    document_number: str
    given_names: str
    first_surname: str
    second_surname: str
    birth_date: date
    issue_date: date | None = None
    expiry_date: date | None = None
    nationality: str = "PER"
    father_name: str = ""
    mother_name: str = ""


class IdentityRegistry(Protocol):
    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None: ...
    def ping(self) -> None:
        """Raises when the registry cannot be read (the contingency plan's probe)."""
        ...


class IdentityWriter(Protocol):
    """The local identity registry's bulk import (batched, idempotent: a record is keyed by its document). With
    ``stage`` (an import job's id) the records are staged, seen once that job is switched; ``publish_many`` then
    folds them into the records (see domain.jobs)."""

    def put_many(self, records: Sequence[IdentityRecord], stage: str | None = None) -> None: ...
    def publish_many(self, records: Sequence[IdentityRecord], stage: str) -> None: ...
    def discard_many(self, records: Sequence[IdentityRecord], stage: str) -> None:
        """What ``stage`` staged and never switched, undone."""
        ...


class RecordWriter(Protocol):
    """The penitentiary registry's bulk import: each person with the surnames its name index is built from."""

    def put_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str | None = None) -> None:
        """With ``stage``: staged, as IdentityWriter's."""
        ...

    def publish_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str) -> None: ...
    def discard_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str) -> None: ...


class PenitentiaryRegistry(Protocol):
    def by_document_number(self, document_number: str) -> list[RegistryPerson]: ...
    def in_blocks(self, blocks: set[str]) -> list[RegistryPerson]:
        """The people filed under these blocks (matching.filing_blocks), as their index holds them: name, document
        and birth date, without their cases (read those with ``records``)."""
        ...

    def records(self, record_ids: list[str]) -> list[RegistryPerson]: ...
    def get(self, record_id: str) -> RegistryPerson | None: ...


class PaymentProvider(Protocol):
    name: str

    def pay_url(self, order: PaymentOrder) -> str: ...
    def find_voucher(self, operation_number: str, paid_on: date) -> PaymentNotice | None: ...
    def refund(self, payment: PaymentRecord) -> str:
        """Ask the provider to return a payment; answers the provider's refund id. Calling it again for the
        same payment must not refund twice (the payment id is the idempotency key)."""
        ...


class DocumentStorage(Protocol):
    """Where signed PDFs live: a local folder, or S3 in the cloud."""

    def put(self, key: str, data: bytes, content_type: str = "application/pdf") -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def ping(self) -> None: ...


class DocumentProducer(Protocol):
    """Renders, seals and signs a document (the pipeline over pyHanko and the signing keys)."""

    def produce(self, content: Any) -> bytes: ...

"""In-memory fakes of the ports, for unit tests: same interface and same conflict rules as the real adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from chalicelib.domain.documents import StatusRef
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.issued import IssuedDocument
from chalicelib.domain.matching import RegistryPerson, filing_blocks
from chalicelib.domain.pages import checked_position
from chalicelib.domain.payments import PaymentNotice
from chalicelib.domain.ports import AlreadyExists, AuditEntry, IdentityRecord, PaymentRecord
from chalicelib.domain.requests import CertificateRequest, Event, PaymentOrder, Status


def fake_page[T](items: Iterable[T], key: Callable[[T], list[str]], limit: int, after: Any, *,
              newest_first: bool = False) -> tuple[list[T], list[str] | None]:
    """A page as the DynamoDB adapters make it: the items in ``key`` order after the position ``after`` (a key),
    and the last one's key when more follow."""
    ordered = sorted(items, key=key, reverse=newest_first)
    position = checked_position(after, len(key(ordered[0])) if ordered else len(after or []))
    if position is not None:
        ordered = [i for i in ordered if (key(i) < position if newest_first else key(i) > position)]
    return ordered[:limit], key(ordered[limit - 1]) if len(ordered) > limit else None


class FakeTransaction:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.ops: list[tuple[str, Any]] = []

    def put_request(self, request: CertificateRequest) -> None:
        self.ops.append(("request", request))

    def put_order(self, order: PaymentOrder) -> None:
        self.ops.append(("order", order))

    def add_payment(self, payment: PaymentRecord) -> None:
        self.ops.append(("payment", payment))

    def update_payment(self, payment: PaymentRecord) -> None:
        self.ops.append(("payment update", payment))

    def add_event(self, event: Event) -> None:
        self.ops.append(("event", event))

    def claim_idempotency_key(self, key: str, request_id: str) -> None:
        self.ops.append(("key", (key, request_id)))

    def mark_processed(self, handler: str, event_id: str) -> None:
        self.ops.append(("processed", f"{handler}#{event_id}"))

    def add_audit(self, entry: AuditEntry) -> None:
        self.ops.append(("audit", entry))

    def put_document(self, document: IssuedDocument) -> None:
        self.ops.append(("document", document))

    def set_document_status(self, issuer: str, status: StatusRef, value: int) -> None:
        self.ops.append(("status", (issuer, status, value)))

    def commit(self) -> None:
        s = self.store
        for kind, value in self.ops:  # check every condition first: all or nothing
            if kind == "request":
                current = s.requests.get(value.request_id)
                if (current.version if current else 0) != value.version:
                    raise ConcurrentUpdate("The request changed meanwhile; try again.")
            elif kind == "order":
                current = s.orders.get(value.order_code)
                if (current.version if current else 0) != value.version:
                    raise ConcurrentUpdate("The order changed meanwhile; try again.")
            elif kind == "document":
                current = s.documents.get(value.document_id)
                if current is not None and value.version == 0:
                    raise AlreadyExists("document")
                if (current.version if current else 0) != value.version:
                    raise ConcurrentUpdate("The document changed meanwhile; try again.")
            elif kind == "payment" and (value.provider, value.payment_id) in s.payments:
                raise AlreadyExists("payment")
            elif kind == "payment update" and (value.provider, value.payment_id) not in s.payments:
                raise ConcurrentUpdate("The payment is not there.")
            elif kind == "key" and value[0] in s.keys:
                raise AlreadyExists("idempotency key")
            elif kind == "processed" and value in s.processed:
                raise AlreadyExists("processed marker")
        for kind, value in self.ops:
            if kind == "request":
                s.requests[value.request_id] = replace(value, version=value.version + 1)
            elif kind == "order":
                s.orders[value.order_code] = replace(value, version=value.version + 1)
            elif kind == "document":
                s.documents[value.document_id] = replace(value, version=value.version + 1)
            elif kind in ("payment", "payment update"):
                s.payments[(value.provider, value.payment_id)] = value
            elif kind == "event":
                s.events.append(value)
            elif kind == "key":
                s.keys[value[0]] = value[1]
            elif kind == "processed":
                s.processed.add(value)
            elif kind == "audit":
                s.audit.append(value)
            elif kind == "status":
                issuer, ref, status = value
                entries = s.status_lists.setdefault((issuer, ref.list_id), {})
                entries[ref.index] = max(entries.get(ref.index, 0), status) if status != 1 else 1


class FakeStore:
    def __init__(self) -> None:
        self.requests: dict[str, CertificateRequest] = {}
        self.orders: dict[str, PaymentOrder] = {}
        self.payments: dict[tuple[str, str], PaymentRecord] = {}
        self.events: list[Event] = []
        self.keys: dict[str, str] = {}
        self.processed: set[str] = set()
        self.audit: list[AuditEntry] = []
        self.counters: dict[str, int] = {}
        self.documents: dict[str, IssuedDocument] = {}
        self.status_lists: dict[tuple[str, int], dict[int, int]] = {}

    def status_entries(self, issuer: str, list_id: int) -> dict[int, int]:
        return dict(self.status_lists.get((issuer, list_id), {}))

    def get_request(self, request_id: str) -> CertificateRequest | None:
        return self.requests.get(request_id)

    def request_for_idempotency_key(self, key: str) -> str | None:
        return self.keys.get(key)

    def requests_of_owner(self, owner: str, limit: int) -> list[CertificateRequest]:
        mine = [r for r in self.requests.values() if r.owner == owner]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)[:limit]

    def page_of_owner(self, owner: str, limit: int, after: list[str] | None
                      ) -> tuple[list[CertificateRequest], list[str] | None]:
        mine = sorted(((r.created_at.isoformat(), r.request_id, r) for r in self.requests.values()
                       if r.owner == owner), key=lambda t: (t[0], t[1]), reverse=True)
        rest = [t for t in mine if after is None or (t[0], t[1]) < (after[0], after[1])]
        following = [rest[limit - 1][0], rest[limit - 1][1]] if len(rest) > limit else None
        return [t[2] for t in rest[:limit]], following

    def review_queue(self, limit: int, after: list[str] | None = None
                     ) -> tuple[list[CertificateRequest], list[str] | None]:
        queue = sorted(((r.updated_at.isoformat(), r.request_id, r) for r in self.requests.values()
                        if r.status is Status.IN_REVIEW), key=lambda t: (t[0], t[1]))
        rest = [t for t in queue if after is None or (t[0], t[1]) > (after[0], after[1])]
        following = [rest[limit - 1][0], rest[limit - 1][1]] if len(rest) > limit else None
        return [t[2] for t in rest[:limit]], following

    def orders_expiring_before(self, moment: datetime, limit: int) -> list[PaymentOrder]:
        return [o for o in self.orders.values() if o.status == "open" and o.expires_at < moment][:limit]

    def get_order(self, order_code: str) -> PaymentOrder | None:
        return self.orders.get(order_code)

    def get_payment(self, provider: str, payment_id: str) -> PaymentRecord | None:
        return self.payments.get((provider, payment_id))

    def payments_due_refund(self, limit: int) -> list[PaymentRecord]:
        return [p for p in self.payments.values() if p.disposition == "refund_due"][:limit]

    def refunds_page(self, state: str, limit: int, after: Any) -> tuple[list[PaymentRecord], list[str] | None]:
        return fake_page((p for p in self.payments.values() if p.refund_state == state),
                         lambda p: [p.received_at.isoformat(), f"{p.provider}#{p.payment_id}"], limit, after)

    def next_number(self, series: str) -> int:
        self.counters[series] = self.counters.get(series, 0) + 1
        return self.counters[series]

    def prefetch_numbers(self, series: str) -> None:
        """Nothing to fetch in memory."""

    def release_processed(self, handler: str, event_id: str) -> None:
        self.processed.discard(f"{handler}#{event_id}")

    def get_document(self, document_id: str) -> IssuedDocument | None:
        return self.documents.get(document_id)

    def document_by_hash(self, sha256: str) -> IssuedDocument | None:
        return next((d for d in self.documents.values() if d.sha256 == sha256), None)

    def transaction(self) -> FakeTransaction:
        return FakeTransaction(self)

    def ping(self) -> None:
        return None


class FakeIdentityRegistry:
    def __init__(self, *records: IdentityRecord) -> None:
        self.records = {(r.document_type, r.document_number): r for r in records}

    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None:
        return self.records.get((document_type, document_number))


class FakePenitentiaryRegistry:
    def __init__(self, *people: tuple[RegistryPerson, tuple[str, ...]]) -> None:
        self.people = {p.record_id: p for p, _ in people}
        self.index: dict[str, set[str]] = {}
        for person, surnames in people:
            for block in filing_blocks(person.full_name, surnames, person.birth_date):
                self.index.setdefault(block, set()).add(person.record_id)
        self.read = 0  # people handed out, as index entries or records
        self.records_read = 0  # full records (with their cases)
        self.read_units = 0

    def by_document_number(self, document_number: str) -> list[RegistryPerson]:
        found = [p for p in self.people.values() if p.document_number == document_number]
        self.read += len(found)
        return found

    def in_blocks(self, blocks: set[str]) -> list[RegistryPerson]:
        ids = {rid for block in blocks for rid in self.index.get(block, ())}
        self.read += len(ids)
        # As DynamoDB charges a query: a read unit per 4 KB of entries (about 150 bytes each), at least one.
        self.read_units += sum(max(1, -(-len(self.index.get(block, ())) * 150 // 4096)) for block in blocks)
        return [replace(self.people[rid], cases=()) for rid in sorted(ids)]  # the index holds no cases

    def records(self, record_ids: list[str]) -> list[RegistryPerson]:
        found = [self.people[rid] for rid in sorted(set(record_ids)) if rid in self.people]
        self.read += len(found)
        self.records_read += len(found)
        self.read_units += len(found)  # a record (under 4 KB) is a read unit
        return found

    def get(self, record_id: str) -> RegistryPerson | None:
        return self.people.get(record_id)


class FakePaymentProvider:
    name = "local"

    def __init__(self) -> None:
        self.vouchers: dict[tuple[str, date], PaymentNotice] = {}

    def pay_url(self, order: PaymentOrder) -> str:
        return f"http://pay.invalid/{order.order_code}"

    def find_voucher(self, operation_number: str, paid_on: date) -> PaymentNotice | None:
        return self.vouchers.get((operation_number, paid_on))

    def refund(self, payment: PaymentRecord) -> str:
        """Idempotent on the payment, like a real provider: asking twice answers the same refund."""
        self.refunds = getattr(self, "refunds", {})
        return self.refunds.setdefault(payment.payment_id, f"RF-{len(self.refunds) + 1}")


class FakeEmailSuppressions:
    def __init__(self) -> None:
        self.suppressed: dict[str, str] = {}

    def is_suppressed(self, address: str) -> bool:
        from chalicelib.domain.outbound import address_key

        return address_key(address) in self.suppressed

    def suppress(self, address: str, reason: str, at: datetime) -> None:
        from chalicelib.domain.outbound import address_key

        self.suppressed[address_key(address)] = reason

"""The Store, AuditLog and registries over DynamoDB (pynamodb): key lookups and index queries only."""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from ..domain.documents import STATUS_REVOKED, STATUS_SUPERSEDED, StatusRef
from ..domain.errors import ConcurrentUpdate, DomainError, ServiceUnavailable
from ..domain.identity import Applicant
from ..domain.issued import IssuedDocument, RevocationReason
from ..domain.matching import RegistryPerson, filing_blocks
from ..domain.ports import OPEN_REFUND_STATES, AlreadyExists, AuditEntry, IdentityRecord, PaymentRecord
from ..domain.requests import (
    CandidateDecision,
    CertificateRequest,
    Event,
    HistoryEntry,
    PaymentOrder,
    Result,
    ReviewCandidate,
    Status,
)
from ..tracing import traced
from . import dynamo_models as m
from .dynamo_pages import key_page
from .staging import current, publish_rows, stage_rows, unstage_rows

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=7)
COUNTER_SHARDS = 16
NUMBER_BLOCK = 10


def translate_errors[F: Callable[..., Any]](fn: F) -> F:
    """Database failures become one clear domain error; nothing half-written is reported as done."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError:
            raise
        except PynamoDBException as exc:
            log.warning("database call failed", extra={"operation": fn.__qualname__, "cause": _cause(exc)})
            raise ServiceUnavailable("The database is unavailable; nothing was changed. Try again shortly.",
                                     code="database_unavailable") from exc

    return wrapper  # type: ignore[return-value]


def _cause(exc: PynamoDBException) -> str:
    """Why a database call failed, without the message (it may quote keys): DynamoDB's error code, or the kind of
    the connection failure (a timeout, a refused connection)."""
    response = getattr(exc.cause, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    return str(code or type(exc.cause).__name__)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# --- serialisation of the request ------------------------------------------------------------------

def request_to_model(request: CertificateRequest) -> m.RequestModel:
    body = {
        "applicant": request.applicant.to_dict(),
        "language": request.language,
        "history": [{"status": h.status.value, "at": _iso(h.at), "by": h.by} for h in request.history],
        "identity_attempts": request.identity_attempts,
        "order_code": request.order_code,
        "paid_at": _iso(request.paid_at) if request.paid_at else None,
        "check_outcome": request.check_outcome,
        "candidates": [
            {"record_id": c.record_id, "score": c.score, "reasons": list(c.reasons), "kind": c.kind,
             "decision": c.decision.value, "decided_by": c.decided_by,
             "decided_at": _iso(c.decided_at) if c.decided_at else None, "cases": list(c.cases),
             "registry_name": c.registry_name}
            for c in request.candidates],
        "result": request.result.name if request.result else None,
        "document_id": request.document_id,
        "identity_proof": request.identity_proof,
        "rejection": request.rejection,
        "receipt": request.receipt,
        "refunds": list(request.refunds),
        "replaced_by": request.replaced_by,
        "replaces": request.replaces,
        "partner_reference": request.partner_reference,
    }
    in_review = request.status is Status.IN_REVIEW
    item = m.RequestModel(
        request.request_id, number=request.number, owner=request.owner, status=request.status.value,
        created_at=_iso(request.created_at), updated_at=_iso(request.updated_at), body=body,
        queue="review" if in_review else None, queued_at=_iso(request.updated_at) if in_review else None)
    if request.version:
        item.version = request.version
    return item


def request_from_model(item: m.RequestModel) -> CertificateRequest:
    body = item.body
    return CertificateRequest(
        request_id=item.request_id, number=item.number, owner=item.owner,
        applicant=Applicant.from_dict(body["applicant"]), status=Status(item.status),
        created_at=datetime.fromisoformat(item.created_at), updated_at=datetime.fromisoformat(item.updated_at),
        history=tuple(HistoryEntry(Status(h["status"]), datetime.fromisoformat(h["at"]), h["by"])
                      for h in body["history"]),
        language=body.get("language", "es"), identity_attempts=body.get("identity_attempts", 0),
        order_code=body.get("order_code"), paid_at=_dt(body.get("paid_at")),
        check_outcome=body.get("check_outcome"),
        candidates=tuple(
            ReviewCandidate(record_id=c["record_id"], score=c["score"], reasons=tuple(c["reasons"]),
                            kind=c["kind"], decision=CandidateDecision(c["decision"]),
                            decided_by=c.get("decided_by"), decided_at=_dt(c.get("decided_at")),
                            cases=tuple(c.get("cases", ())), registry_name=c.get("registry_name", ""))
            for c in body.get("candidates", [])),
        result=Result[body["result"]] if body.get("result") else None,
        document_id=body.get("document_id"),
        identity_proof=body.get("identity_proof"),
        rejection=body.get("rejection"),
        receipt=body.get("receipt"),
        refunds=tuple(body.get("refunds") or ()),
        replaced_by=body.get("replaced_by"),
        replaces=body.get("replaces"),
        partner_reference=body.get("partner_reference"),
        version=int(item.version or 0),
    )


def order_to_model(order: PaymentOrder) -> m.OrderModel:
    item = m.OrderModel(order.order_code, request_id=order.request_id, amount=f"{order.amount:.2f}",
                        currency=order.currency, expires_at=_iso(order.expires_at), status=order.status,
                        payment_id=order.payment_id, open_bucket="open" if order.status == "open" else None)
    if order.version:
        item.version = order.version
    return item


def order_from_model(item: m.OrderModel) -> PaymentOrder:
    return PaymentOrder(order_code=item.order_code, request_id=item.request_id, amount=Decimal(item.amount),
                        currency=item.currency, expires_at=datetime.fromisoformat(item.expires_at),
                        status=item.status, payment_id=item.payment_id, version=int(item.version or 0))




def payment_to_model(payment: PaymentRecord) -> m.PaymentModel:
    return m.PaymentModel(f"{payment.provider}#{payment.payment_id}", order_code=payment.order_code,
                          amount=f"{payment.amount:.2f}", currency=payment.currency,
                          received_at=_iso(payment.received_at), disposition=payment.disposition,
                          reason=payment.reason or None, request_id=payment.request_id,
                          paid_at=_iso(payment.paid_at) if payment.paid_at else None,
                          refund_state=payment.refund_state or None, refund_id=payment.refund_id,
                          refund_updated_at=_iso(payment.refund_updated_at) if payment.refund_updated_at else None,
                          refund_bucket=payment.refund_state if payment.refund_state in OPEN_REFUND_STATES else None)


def payment_from_model(item: m.PaymentModel) -> PaymentRecord:
    provider, _, payment_id = item.payment_key.partition("#")
    state = item.refund_state or ("due" if item.disposition == "refund_due" else "")
    return PaymentRecord(provider=provider, payment_id=payment_id, order_code=item.order_code,
                         amount=Decimal(item.amount), currency=item.currency,
                         received_at=datetime.fromisoformat(item.received_at), disposition=item.disposition,
                         reason=item.reason or "", request_id=item.request_id, paid_at=_dt(item.paid_at),
                         refund_state=state, refund_id=item.refund_id,
                         refund_updated_at=_dt(item.refund_updated_at))


def event_to_model(event: Event) -> m.OutboxModel:
    return m.OutboxModel(event.aggregate_id, event.event_id, name=event.name,
                         occurred_at=_iso(event.occurred_at), data=event.data,
                         expires=event.occurred_at + EVENT_RETENTION)


def event_from_image(image: dict[str, Any]) -> Event:
    """Build the domain event from a stream record's NewImage (DynamoDB JSON)."""
    item = m.OutboxModel.from_raw_data(image)
    return Event(event_id=item.event_id, name=item.name, aggregate_id=item.aggregate_id,
                 occurred_at=datetime.fromisoformat(item.occurred_at), data=item.data)


def audit_to_model(entry: AuditEntry) -> m.AuditModel:
    return m.AuditModel(entry.at.astimezone(UTC).date().isoformat(),
                        f"{_iso(entry.at)}#{secrets.token_hex(6)}", actor=entry.actor, role=entry.role,
                        action=entry.action, target=entry.target, details=entry.details)


def document_to_model(document: IssuedDocument) -> m.DocumentModel:
    body = {
        "kind": document.kind, "title": document.title, "number": document.number, "owner": document.owner,
        "source_id": document.source_id, "holder_name": document.holder_name,
        "document_type": document.document_type, "masked_document_number": document.masked_document_number,
        "result": document.result, "cases": list(document.cases), "issued_at": _iso(document.issued_at),
        "valid_until": _iso(document.valid_until), "storage_key": document.storage_key,
        "revoked_at": _iso(document.revoked_at) if document.revoked_at else None,
        "revocation_reason": document.revocation_reason.value if document.revocation_reason else None,
        "status": [document.status.list_id, document.status.index] if document.status else None,
        "superseded_by": document.superseded_by,
        "superseded_at": _iso(document.superseded_at) if document.superseded_at else None,
    }
    item = m.DocumentModel(document.document_id, sha256=document.sha256, body=body)
    if document.version:
        item.version = document.version
    return item


def document_from_model(item: m.DocumentModel) -> IssuedDocument:
    b = item.body
    return IssuedDocument(
        document_id=item.document_id, kind=b["kind"], title=b["title"], number=b["number"], owner=b["owner"],
        source_id=b["source_id"], holder_name=b["holder_name"], document_type=b["document_type"],
        masked_document_number=b["masked_document_number"], result=b["result"], cases=tuple(b["cases"]),
        issued_at=datetime.fromisoformat(b["issued_at"]), valid_until=datetime.fromisoformat(b["valid_until"]),
        sha256=item.sha256, storage_key=b["storage_key"], revoked_at=_dt(b.get("revoked_at")),
        revocation_reason=RevocationReason(b["revocation_reason"]) if b.get("revocation_reason") else None,
        version=int(item.version or 0), status=StatusRef(*b["status"]) if b.get("status") else None,
        superseded_by=b.get("superseded_by"), superseded_at=_dt(b.get("superseded_at")))


# --- the store -----------------------------------------------------------------------------------

class DynamoTransaction:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._writes: list[tuple[str, Model, Any]] = []
        self._deletes: set[int] = set()
        self._existing: set[int] = set()  # versioned records that exist: a failed condition is a lost race
        self._updates: list[tuple[Model, list[Any]]] = []

    def put_request(self, request: CertificateRequest) -> None:
        self._writes.append(("request", request_to_model(request), None))

    def put_order(self, order: PaymentOrder) -> None:
        self._writes.append(("order", order_to_model(order), None))

    def add_payment(self, payment: PaymentRecord) -> None:
        self._writes.append(("payment", payment_to_model(payment), m.PaymentModel.payment_key.does_not_exist()))

    def update_payment(self, payment: PaymentRecord) -> None:
        self._writes.append(("payment update", payment_to_model(payment), m.PaymentModel.payment_key.exists()))

    def add_event(self, event: Event) -> None:
        self._writes.append(("event", event_to_model(event), m.OutboxModel.event_id.does_not_exist()))

    def claim_idempotency_key(self, key: str, request_id: str) -> None:
        item = m.IdempotencyModel(key, request_id=request_id, expires=timedelta(days=30))
        self._writes.append(("idempotency key", item, m.IdempotencyModel.key.does_not_exist()))

    def mark_processed(self, handler: str, event_id: str) -> None:
        item = m.ProcessedModel(f"{handler}#{event_id}", expires=timedelta(days=8))
        self._writes.append(("processed marker", item, m.ProcessedModel.key.does_not_exist()))

    def add_audit(self, entry: AuditEntry) -> None:
        item = audit_to_model(entry)
        self._writes.append(("audit entry", item, m.AuditModel.entry.does_not_exist()))

    def put_document(self, document: IssuedDocument) -> None:
        self.put_item("document", document_to_model(document))

    def put_item(self, kind: str, item: Model, condition: Any = None) -> None:
        """Any other model; versioned items are conditional on their version, `condition` adds to it."""
        if getattr(type(item), "_version_attribute_name", None) and getattr(item, "version", None):
            self._existing.add(id(item))
        self._writes.append((kind, item, condition))

    def delete_item(self, kind: str, item: Model, condition: Any = None) -> None:
        self._deletes.add(id(item))
        self._writes.append((kind, item, condition))

    def set_document_status(self, issuer: str, status: StatusRef, value: int) -> None:
        """Mark a document's status-list entry revoked or superseded (entries never return to valid)."""
        attribute = {STATUS_REVOKED: m.StatusListModel.revoked,
                     STATUS_SUPERSEDED: m.StatusListModel.superseded}[value]
        self._updates.append((m.StatusListModel(f"{issuer}#{status.list_id}"), [attribute.add({status.index})]))

    def _conflict(self, kind: str, item: Model) -> DomainError:
        # A versioned item that existed changed meanwhile; anything new was already there.
        if kind in ("request", "order", "payment update") or id(item) in self._existing:
            return ConcurrentUpdate(f"The {kind} changed meanwhile; try again.")
        return AlreadyExists(kind)

    @translate_errors
    def commit(self) -> None:
        if not self._writes and not self._updates:
            return
        if len(self._writes) == 1 and not self._updates:
            # One item is atomic on its own: a conditional write does what a transaction of one would, for a
            # fraction of the work (a processed marker, a request's attempt count).
            kind, item, condition = self._writes[0]
            try:
                if id(item) in self._deletes:
                    item.delete(condition=condition)
                else:
                    item.save(condition=condition)
            except (PutError, DeleteError) as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise self._conflict(kind, item) from exc
                raise
            return
        try:
            with TransactWrite(connection=self._connection) as tx:
                for _, item, condition in self._writes:
                    if id(item) in self._deletes:
                        tx.delete(item, condition=condition)
                    else:
                        tx.save(item, condition=condition)
                for item, actions in self._updates:
                    tx.update(item, actions=actions)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            for (kind, item, _), reason in zip(self._writes, reasons, strict=False):
                if reason is not None and getattr(reason, "code", None) == "ConditionalCheckFailed":
                    raise self._conflict(kind, item) from exc
            raise


class DynamoStore:
    def __init__(self, region: str, host: str | None) -> None:
        # One connection (one botocore client) per process: building a client costs tens of milliseconds.
        self._connection = m.connection_for(region, host)
        self._bases: dict[str, int] = {}
        self._numbers: dict[str, list[int]] = {}  # per series, this process's block, next number last
        self._numbers_lock = threading.Lock()

    @property
    def connection(self) -> Connection:
        return self._connection

    @translate_errors
    def get_request(self, request_id: str) -> CertificateRequest | None:
        try:
            return request_from_model(m.RequestModel.get(request_id, consistent_read=True))
        except m.RequestModel.DoesNotExist:
            return None

    @translate_errors
    def request_for_idempotency_key(self, key: str) -> str | None:
        try:
            return m.IdempotencyModel.get(key, consistent_read=True).request_id
        except m.IdempotencyModel.DoesNotExist:
            return None

    @translate_errors
    def requests_of_owner(self, owner: str, limit: int) -> list[CertificateRequest]:
        keys = list(m.RequestModel.by_owner.query(owner, scan_index_forward=False, limit=limit))
        found = [self.get_request(k.request_id) for k in keys]
        return [r for r in found if r is not None]

    def _index_page(self, index: Any, hash_name: str, hash_value: str, range_name: str, limit: int,
                    after: list[str] | None, forward: bool) -> tuple[list[CertificateRequest], list[str] | None]:
        """One page of requests by a keys-only index: one query (limit + 1 keys tell whether more follow), and
        the position of the page's last key ([range key, request id]) to start the next page after."""
        start = None
        if after and len(after) == 2:
            start = {hash_name: {"S": hash_value}, range_name: {"S": str(after[0])},
                     "request_id": {"S": str(after[1])}}
        keys = list(index.query(hash_value, scan_index_forward=forward, limit=limit + 1, last_evaluated_key=start))
        last = keys[limit - 1] if len(keys) > limit else None
        following = [getattr(last, range_name), last.request_id] if last is not None else None
        found = [self.get_request(k.request_id) for k in keys[:limit]]
        return [r for r in found if r is not None], following

    @translate_errors
    def page_of_owner(self, owner: str, limit: int, after: list[str] | None
                      ) -> tuple[list[CertificateRequest], list[str] | None]:
        return self._index_page(m.RequestModel.by_owner, "owner", owner, "created_at", limit, after, False)

    @translate_errors
    def review_queue(self, limit: int, after: list[str] | None = None
                     ) -> tuple[list[CertificateRequest], list[str] | None]:
        found, following = self._index_page(m.RequestModel.by_queue, "queue", "review", "queued_at", limit, after,
                                            True)
        return [r for r in found if r.status is Status.IN_REVIEW], following

    @translate_errors
    def orders_expiring_before(self, moment: datetime, limit: int) -> list[PaymentOrder]:
        keys = m.OrderModel.by_expiry.query("open", m.OrderModel.expires_at < _iso(moment), limit=limit)
        orders = [self.get_order(k.order_code) for k in keys]
        return [o for o in orders if o is not None]

    @translate_errors
    def get_order(self, order_code: str) -> PaymentOrder | None:
        if not order_code or len(order_code) > 64:
            return None
        try:
            item = m.OrderModel.get(order_code, consistent_read=True)
        except m.OrderModel.DoesNotExist:
            return None
        return order_from_model(item)

    @translate_errors
    def get_payment(self, provider: str, payment_id: str) -> PaymentRecord | None:
        try:
            return payment_from_model(m.PaymentModel.get(f"{provider}#{payment_id}", consistent_read=True))
        except m.PaymentModel.DoesNotExist:
            return None

    @translate_errors
    def payments_due_refund(self, limit: int) -> list[PaymentRecord]:
        return [payment_from_model(p) for p in m.PaymentModel.by_refund.query("due", limit=limit)]

    @translate_errors
    def refunds_page(self, state: str, limit: int, after: Any) -> tuple[list[PaymentRecord], list[str] | None]:
        """A page of the refunds in one open state, oldest first: one query of the sparse index."""
        found, last = key_page(m.PaymentModel.by_refund.query, "refund_bucket", state, ("received_at", "payment_key"),
                               limit, after)
        return [payment_from_model(p) for p in found], last

    @translate_errors
    def next_number(self, series: str) -> int:
        """A number used once in ``series`` (request numbers, status-list entries). Every request takes one, so no
        single item may limit the rate: a process takes a block of NUMBER_BLOCK numbers at a time from one of
        COUNTER_SHARDS counter items picked at random (one write per block, not per number), and hands them out in
        order. The k-th block of shard s is base + (k * COUNTER_SHARDS + s) * NUMBER_BLOCK + 1 onwards: unique,
        increasing within a process, not consecutive (a block a process did not finish leaves a gap). ``base`` is
        what the one counter item of earlier versions reached (read once), so no number comes twice."""
        with self._numbers_lock:
            return self._block(series).pop()

    @translate_errors
    def prefetch_numbers(self, series: str) -> None:
        """Takes this process's block of ``series`` now if it has none (a container's start, not its first
        request, pays the block's two calls); no number is used."""
        with self._numbers_lock:
            self._block(series)

    def _block(self, series: str) -> list[int]:
        """This process's numbers left in ``series``, highest first; a new block when none are left (the caller
        holds the lock)."""
        numbers = self._numbers.setdefault(series, [])
        if not numbers:
            shard = secrets.randbelow(COUNTER_SHARDS)
            counter = m.CounterModel(f"{series}#{shard}")
            counter.update(actions=[m.CounterModel.value.add(1)])
            first = self._counter_base(series) + ((int(counter.value) - 1) * COUNTER_SHARDS + shard) * \
                NUMBER_BLOCK + 1
            numbers.extend(range(first + NUMBER_BLOCK - 1, first - 1, -1))
        return numbers

    def _counter_base(self, series: str) -> int:
        base = self._bases.get(series)
        if base is None:
            try:
                base = int(m.CounterModel.get(series, consistent_read=True).value)
            except m.CounterModel.DoesNotExist:
                base = 0
            self._bases[series] = base
        return base

    @translate_errors
    def release_processed(self, handler: str, event_id: str) -> None:
        m.ProcessedModel(f"{handler}#{event_id}").delete()

    @translate_errors
    def get_document(self, document_id: str) -> IssuedDocument | None:
        try:
            return document_from_model(m.DocumentModel.get(document_id, consistent_read=True))
        except m.DocumentModel.DoesNotExist:
            return None

    @translate_errors
    def document_by_hash(self, sha256: str) -> IssuedDocument | None:
        for key in m.DocumentModel.by_hash.query(sha256, limit=1):
            return self.get_document(key.document_id)
        return None

    def transaction(self) -> DynamoTransaction:
        return DynamoTransaction(self._connection)

    @translate_errors
    def status_entries(self, issuer: str, list_id: int) -> dict[int, int]:
        """The entries of a status list that are not valid (index -> status value)."""
        try:
            item = m.StatusListModel.get(f"{issuer}#{list_id}", consistent_read=True)
        except m.StatusListModel.DoesNotExist:
            return {}
        entries = {int(index): STATUS_SUPERSEDED for index in item.superseded or ()}
        entries.update({int(index): STATUS_REVOKED for index in item.revoked or ()})  # revoked wins
        return entries

    @translate_errors
    def ping(self) -> None:
        m.CounterModel.describe_table()

    @translate_errors
    def recent_events(self, limit: int) -> list[Event]:
        """For tests and the local worker's catch-up only; never on a request path."""
        return [Event(e.event_id, e.name, e.aggregate_id, datetime.fromisoformat(e.occurred_at), e.data)
                for e in m.OutboxModel.scan(limit=limit)]


class DynamoAuditLog:
    @translate_errors
    def append(self, entry: AuditEntry) -> None:
        audit_to_model(entry).save(condition=m.AuditModel.entry.does_not_exist())

    @translate_errors
    def entries_for_day(self, day: date, limit: int) -> list[AuditEntry]:
        return [_audit_entry(e) for e in m.AuditModel.query(day.isoformat(), limit=limit)]

    @translate_errors
    def page_for_day(self, day: date, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        condition = m.AuditModel.entry > after if after else None
        found = list(m.AuditModel.query(day.isoformat(), condition, limit=limit + 1))
        more = len(found) > limit
        return [_audit_entry(e) for e in found[:limit]], found[limit - 1].entry if more else None

    @translate_errors
    def entries_for_target(self, target: str, limit: int) -> list[AuditEntry]:
        return [_audit_entry(e) for e in m.AuditModel.by_target.query(target, limit=limit)]


def _audit_entry(e: m.AuditModel) -> AuditEntry:
    return AuditEntry(at=datetime.fromisoformat(e.entry.split("#")[0]), actor=e.actor, role=e.role, action=e.action,
                      target=e.target, details=e.details)


class DynamoIdentityRegistry:
    @traced("registry.identity.lookup")
    @translate_errors
    def lookup(self, document_type: str, document_number: str) -> IdentityRecord | None:
        try:
            item = m.IdentityModel.get(f"{document_type}#{document_number}")
        except m.IdentityModel.DoesNotExist:
            return None
        body = current(item, ("body",))["body"]  # an import's staged row, once its job is switched
        return identity_from_dict(body) if body else None

    @translate_errors
    def ping(self) -> None:
        """A real read of the registry's table: it answers (with nothing) only when it can be read."""
        with contextlib.suppress(m.IdentityModel.DoesNotExist):
            m.IdentityModel.get("~probe")

    @translate_errors
    def put(self, record: IdentityRecord) -> None:
        m.IdentityModel(f"{record.document_type}#{record.document_number}", body=identity_to_dict(record)).save()

    @translate_errors
    def put_many(self, records: Sequence[IdentityRecord], stage: str | None = None) -> None:
        """Bulk import: batches of 25 (BatchWriteItem); writing a record again replaces it. With ``stage`` (an
        import job's id), staged: readers keep what they see until that job is switched."""
        if stage is not None:
            stage_rows(m.IdentityModel, _identity_rows(records), stage)
            return
        with m.IdentityModel.batch_write() as batch:
            for record in records:
                batch.save(m.IdentityModel(f"{record.document_type}#{record.document_number}",
                                           body=identity_to_dict(record)))

    @translate_errors
    def publish_many(self, records: Sequence[IdentityRecord], stage: str) -> None:
        publish_rows(m.IdentityModel, _identity_rows(records), stage)

    @translate_errors
    def discard_many(self, records: Sequence[IdentityRecord], stage: str) -> None:
        unstage_rows(m.IdentityModel, _identity_rows(records), stage)


def _identity_rows(records: Sequence[IdentityRecord]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    return [((f"{r.document_type}#{r.document_number}",), {"body": identity_to_dict(r)}) for r in records]


def identity_to_dict(record: IdentityRecord) -> dict[str, Any]:
    return {
        "document_type": record.document_type, "document_number": record.document_number,
        "given_names": record.given_names, "first_surname": record.first_surname,
        "second_surname": record.second_surname, "birth_date": record.birth_date.isoformat(),
        "issue_date": record.issue_date.isoformat() if record.issue_date else None,
        "expiry_date": record.expiry_date.isoformat() if record.expiry_date else None,
        "nationality": record.nationality, "father_name": record.father_name, "mother_name": record.mother_name,
    }


def identity_from_dict(body: dict[str, Any]) -> IdentityRecord:
    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return IdentityRecord(
        document_type=body["document_type"], document_number=body["document_number"],
        given_names=body["given_names"], first_surname=body["first_surname"],
        second_surname=body.get("second_surname", ""), birth_date=date.fromisoformat(body["birth_date"]),
        issue_date=day(body.get("issue_date")), expiry_date=day(body.get("expiry_date")),
        nationality=body.get("nationality", "PER"), father_name=body.get("father_name", ""),
        mother_name=body.get("mother_name", ""))


class DynamoPenitentiaryRegistry:
    @traced("registry.penitentiary.by_document_number")
    @translate_errors
    def by_document_number(self, document_number: str) -> list[RegistryPerson]:
        people = [_visible(i) for i in m.RecordModel.by_document.query(document_number)]
        return [p for p in people if p is not None and p.document_number == document_number]

    @traced("registry.penitentiary.by_name_keys")
    @translate_errors
    def in_blocks(self, blocks: set[str]) -> list[RegistryPerson]:
        people: dict[str, RegistryPerson] = {}
        for block in sorted(blocks):
            for entry in m.NameBlockModel.query(block):
                seen = current(entry, _BLOCK_FIELDS)
                if not seen["full_name"]:
                    continue  # a staged entry whose job is not switched
                people.setdefault(entry.record_id, RegistryPerson(
                    record_id=entry.record_id, full_name=seen["full_name"], document_type=None,
                    document_number=seen["document_number"],
                    birth_date=date.fromisoformat(seen["birth_date"]) if seen["birth_date"] else None))
        return [people[rid] for rid in sorted(people)]

    @translate_errors
    def records(self, record_ids: list[str]) -> list[RegistryPerson]:
        if not record_ids:
            return []
        people = [_visible(i) for i in m.RecordModel.batch_get(sorted(set(record_ids)))]
        return sorted((p for p in people if p is not None), key=lambda p: p.record_id)

    @translate_errors
    def get(self, record_id: str) -> RegistryPerson | None:
        try:
            item = m.RecordModel.get(record_id)
        except m.RecordModel.DoesNotExist:
            return None
        return _visible(item)

    def put(self, person: RegistryPerson, surnames: tuple[str, ...]) -> None:
        self.put_many([(person, surnames)])

    @translate_errors
    def put_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str | None = None) -> None:
        """Registry import: the people, then their blocking keys, in batches (re-import is harmless). With
        ``stage`` (an import job's id), both staged: readers keep what they see until that job is switched."""
        if stage is not None:
            records, blocks = _record_rows(people)
            stage_rows(m.RecordModel, records, stage, index_keys=("document_number",))
            stage_rows(m.NameBlockModel, blocks, stage)
            return
        with m.RecordModel.batch_write() as batch:
            for person, _ in people:
                body = {"full_name": person.full_name, "document_type": person.document_type,
                        "document_number": person.document_number,
                        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
                        "cases": list(person.cases)}
                batch.save(m.RecordModel(person.record_id, document_number=person.document_number or None,
                                         body=body))
        with m.NameBlockModel.batch_write() as batch:
            for person, surnames in people:
                for block in filing_blocks(person.full_name, surnames, person.birth_date):
                    batch.save(m.NameBlockModel(
                        block, person.record_id, full_name=person.full_name,
                        document_number=person.document_number or None,
                        birth_date=person.birth_date.isoformat() if person.birth_date else None))


    @translate_errors
    def publish_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str) -> None:
        records, blocks = _record_rows(people)
        publish_rows(m.RecordModel, records, stage)
        publish_rows(m.NameBlockModel, blocks, stage)

    @translate_errors
    def discard_many(self, people: Sequence[tuple[RegistryPerson, tuple[str, ...]]], stage: str) -> None:
        records, blocks = _record_rows(people)
        unstage_rows(m.RecordModel, records, stage, index_keys=("document_number",))
        unstage_rows(m.NameBlockModel, blocks, stage)


_BLOCK_FIELDS = ("full_name", "document_number", "birth_date")
Rows = list[tuple[tuple[str, ...], dict[str, Any]]]


def _record_rows(people: Sequence[tuple[RegistryPerson, tuple[str, ...]]]) -> tuple[Rows, Rows]:
    records: Rows = []
    blocks: dict[tuple[str, ...], dict[str, Any]] = {}
    for person, surnames in people:
        birth = person.birth_date.isoformat() if person.birth_date else None
        records.append(((person.record_id,), {
            "document_number": person.document_number or None,
            "body": {"full_name": person.full_name, "document_type": person.document_type,
                     "document_number": person.document_number, "birth_date": birth, "cases": list(person.cases)}}))
        for block in filing_blocks(person.full_name, surnames, person.birth_date):
            blocks[(block, person.record_id)] = {"full_name": person.full_name,
                                                 "document_number": person.document_number or None,
                                                 "birth_date": birth}
    return records, list(blocks.items())


def _visible(item: m.RecordModel) -> RegistryPerson | None:
    body = current(item, ("body",))["body"]
    return _person(item.record_id, body) if body else None


def _person(record_id: str, body: dict[str, Any]) -> RegistryPerson:
    return RegistryPerson(record_id=record_id, full_name=body["full_name"],
                          document_type=body.get("document_type"), document_number=body.get("document_number"),
                          birth_date=date.fromisoformat(body["birth_date"]) if body.get("birth_date") else None,
                          cases=tuple(body.get("cases", ())))

"""Use cases of a partner's certificate requests (Migraciones first): the partner has already identified the
foreigner, so its identification is the identity proof; payment follows its agreement (a fee waiver or the normal
order); then the usual record check, review and issuing. Each request is its partner's alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..domain.errors import FieldErrors, NotFound, ValidationError
from ..domain.identity import Applicant, validate_applicant
from ..domain.partners import Partner
from ..domain.payments import new_order_code
from ..domain.ports import AlreadyExists, AuditEntry, AuditLog, Clock, Store
from ..domain.requests import CertificateRequest, Event, HistoryEntry, PaymentOrder, Status, new_id
from .certificate_requests import LANGUAGES, RequestRules, request_number
from .time import peru_today

MAX_BATCH = 50
_FIELDS = {"applicant", "partner_reference", "language"}


@dataclass(frozen=True)
class PartnerItem:
    applicant: Applicant
    reference: str
    language: str


def validate_item(payload: Any, today: Any) -> PartnerItem:
    """One request's body, checked whole: every wrong field is named (FieldErrors)."""
    if not isinstance(payload, dict):
        raise ValidationError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    errors: list[ValidationError] = []
    reference = payload.get("partner_reference")
    if not (isinstance(reference, str) and reference.isascii() and reference.isprintable()
            and 1 <= len(reference) <= 64):
        errors.append(ValidationError("Expected your own reference: 1 to 64 printable ASCII characters.",
                                      field="partner_reference"))
    language = payload.get("language", "es")
    if language not in LANGUAGES:
        errors.append(ValidationError('Expected "es" or "en".', field="language"))
    applicant = None
    try:
        applicant = validate_applicant(payload.get("applicant"), today)
    except FieldErrors as error:
        errors.extend(replace_field(e) for e in error.errors)
    except ValidationError as error:
        errors.append(replace_field(error))
    if applicant is not None and not applicant.is_foreigner:
        errors.append(ValidationError("A partner requests for foreigners: CE, PTP or PASSPORT.",
                                      field="applicant.document_type", code="not_a_foreign_document"))
    if errors:
        raise FieldErrors(errors)
    assert applicant is not None and isinstance(reference, str)
    return PartnerItem(applicant, reference, str(language))


def replace_field(error: ValidationError) -> ValidationError:
    """The applicant's fields named from the body's root (applicant.document_number)."""
    field = error.field
    if field and not field.startswith("applicant"):
        return ValidationError(error.message, field=f"applicant.{field}", code=error.code, details=error.details)
    return error


def create(item: PartnerItem, *, partner: Partner, key: str, store: Store, clock: Clock, rules: RequestRules,
           audit: AuditLog, batch: str | None = None) -> tuple[CertificateRequest, bool]:
    """The request, identity proven by the partner; waived (straight to the record check) or ordered for payment.
    Returns it and whether it was made now (False: this idempotency key made it before)."""
    owner = f"partner:{partner.client_id}"
    scoped = f"{owner}#{key}"
    if (earlier := _by_key(store, scoped)) is not None:
        return earlier, False
    now = clock.now()
    request_id = new_id()
    number = request_number(store, now)
    created = CertificateRequest(
        request_id=request_id, number=number, owner=owner, applicant=item.applicant,
        status=Status.PENDING_IDENTITY, created_at=now, updated_at=now,
        history=(HistoryEntry(Status.PENDING_IDENTITY, now, owner),), language=item.language,
        partner_reference=item.reference)
    events = [Event(new_id(), "request.created", request_id, now, {"owner": owner, "email": False})]
    order = None
    proof = f"partner:{partner.client_id}"
    if partner.fee_waived:
        ordered, _ = created.transition(Status.AWAITING_PAYMENT, now, owner, identity_proof=proof)
        request, event = ordered.transition(Status.PAID, now, owner, paid_at=now,
                                            receipt={"waived": True, "agreement": partner.client_id,
                                                     "amount": "0.00", "currency": rules.currency,
                                                     "paid_at": now.isoformat()})
        events.append(replace(event, data={**event.data, "actor": owner}))
    else:
        order = PaymentOrder(order_code=new_order_code(), request_id=request_id, amount=rules.fee,
                             currency=rules.currency, expires_at=now + rules.order_ttl)
        request, event = created.transition(Status.AWAITING_PAYMENT, now, owner, identity_proof=proof,
                                            order_code=order.order_code)
        events.append(replace(event, data={**event.data, "order_code": order.order_code, "actor": owner}))
    tx = store.transaction()
    tx.put_request(request)
    if order is not None:
        tx.put_order(order)
    tx.claim_idempotency_key(scoped, request_id)
    for event in events:
        tx.add_event(event)
    try:
        tx.commit()
    except AlreadyExists:
        if (earlier := _by_key(store, scoped)) is not None:
            return earlier, False
        raise
    audit.append(_entry(partner.client_id, now, "partner.request_created", request_id,
                        fee_waived=partner.fee_waived, **({"batch": batch} if batch else {})))
    return request, True


def owned(request_id: str, *, client_id: str, store: Store) -> CertificateRequest:
    """A partner's own request; another's and one that does not exist look the same."""
    request = store.get_request(request_id) if len(request_id) <= 64 else None
    if request is None or request.owner != f"partner:{client_id}":
        raise NotFound("No such certificate request.")
    return request


def audit_read(audit: AuditLog, client_id: str, now: datetime, action: str, target: str) -> None:
    audit.append(_entry(client_id, now, action, target))


def _entry(client_id: str, now: datetime, action: str, target: str, **details: Any) -> AuditEntry:
    return AuditEntry(at=now, actor=f"partner:{client_id}", role="partner", action=action, target=target,
                      details=details)


def _by_key(store: Store, scoped_key: str) -> CertificateRequest | None:
    request_id = store.request_for_idempotency_key(scoped_key)
    return store.get_request(request_id) if request_id else None


def today(clock: Clock) -> Any:
    return peru_today(clock.now())

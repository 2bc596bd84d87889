"""Use cases of a citizen's certificate request: apply, prove identity, pay, follow the status."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

from ..domain.errors import ConcurrentUpdate, DomainError, NotFound, ValidationError
from ..domain.identity import Applicant, DocumentType, is_valid_dni_check_character, parse_date, validate_applicant
from ..domain.matching import normalise_name
from ..domain.payments import PaymentNotice, new_order_code, validate_voucher
from ..domain.ports import (
    AlreadyExists,
    Clock,
    IdentityRecord,
    IdentityRegistry,
    PaymentProvider,
    PaymentRecord,
    Store,
)
from ..domain.requests import CertificateRequest, Event, HistoryEntry, PaymentOrder, Status, new_id
from .time import peru_today

LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class RequestRules:
    fee: Decimal = Decimal("37.70")
    currency: str = "PEN"
    order_ttl: timedelta = timedelta(hours=24)
    identity_max_attempts: int = 5


def number_series(year: int) -> str:
    """The series a year's request numbers come from (Store.next_number)."""
    return f"certificate-{year}"


def request_number(store: Store, now: datetime) -> str:
    """A request's number, as citizens and partners read it: the year and a number used once (e.g. 2026-000123)."""
    return f"{now.year}-{store.next_number(number_series(now.year)):06d}"


def _owned(store: Store, request_id: str, owner: str) -> CertificateRequest:
    """Someone else's request and a request that does not exist look the same: not found."""
    request = store.get_request(request_id) if len(request_id) <= 64 else None
    if request is None or request.owner != owner:
        raise NotFound("No such certificate request.")
    return request


def create_request(payload: Any, *, owner: str, idempotency_key: str | None, store: Store,
                   clock: Clock) -> tuple[CertificateRequest, bool]:
    """Returns the request and whether it was created now (False: the same key was used before)."""
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"applicant", "terms_accepted", "language"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    if payload.get("terms_accepted") is not True:
        raise ValidationError("The terms and the processing of personal data must be accepted (true).",
                              field="terms_accepted", code="terms_not_accepted")
    language = payload.get("language", "es")
    if language not in LANGUAGES:
        raise ValidationError("Expected \"es\" or \"en\".", field="language")
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 128):
        raise ValidationError("Expected 1 to 128 characters.", field="Idempotency-Key")
    now = clock.now()
    applicant = validate_applicant(payload.get("applicant"), peru_today(now))

    scoped_key = f"{owner}#{idempotency_key}" if idempotency_key else None
    if scoped_key and (existing := _by_key(store, scoped_key)):
        return existing, False

    request_id = new_id()
    number = request_number(store, now)
    request = CertificateRequest(
        request_id=request_id, number=number, owner=owner, applicant=applicant,
        status=Status.PENDING_IDENTITY, created_at=now, updated_at=now,
        history=(HistoryEntry(Status.PENDING_IDENTITY, now, owner),), language=language)
    tx = store.transaction()
    tx.put_request(request)
    if scoped_key:
        tx.claim_idempotency_key(scoped_key, request_id)
    tx.add_event(Event(new_id(), "request.created", request_id, now,
                       {"owner": owner, "email": bool(applicant.email)}))
    try:
        tx.commit()
    except AlreadyExists:
        # A concurrent duplicate won the race for the key: answer with its request.
        if scoped_key and (existing := _by_key(store, scoped_key)):
            return existing, False
        raise
    return request, True


def _by_key(store: Store, scoped_key: str) -> CertificateRequest | None:
    request_id = store.request_for_idempotency_key(scoped_key)
    return store.get_request(request_id) if request_id else None


def get_request(request_id: str, *, owner: str, store: Store) -> CertificateRequest:
    return _owned(store, request_id, owner)


def _identity_matches(applicant: Applicant, record: IdentityRecord) -> bool:
    registered = " ".join((record.given_names, record.first_surname, record.second_surname))
    return (normalise_name(registered) == normalise_name(applicant.full_name)
            and record.birth_date == applicant.birth_date)


def _canonical(applicant: Applicant, record: IdentityRecord) -> Applicant:
    """The applicant as the identity registry writes them: the certificate prints the registry's name."""
    return replace(applicant, given_names=record.given_names, first_surname=record.first_surname,
                   second_surname=record.second_surname or "")


def confirm_identity(request_id: str, payload: Any, *, owner: str, store: Store, identity: IdentityRegistry,
                     provider: PaymentProvider, clock: Clock, rules: RequestRules) -> CertificateRequest:
    """Confirm the applicant against the identity registry and prove they hold the card: its issue date is
    printed on it and known to the registry, but cannot be computed from the number (the DNI's check
    character can, so it is only a typing check). Then refuse an expired document, or order payment."""
    request = _owned(store, request_id, owner)
    if request.status is Status.AWAITING_PAYMENT:
        return request  # a retried confirmation: the order already exists
    if request.status is not Status.PENDING_IDENTITY:
        raise DomainError(f"Identity can no longer be confirmed: the request is {request.status.value}.",
                          code="invalid_state")
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - {"verification_character", "issue_date"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    applicant = request.applicant
    character = payload.get("verification_character")
    if character is not None and (not isinstance(character, str) or len(character.strip()) != 1):
        raise ValidationError("Expected the single character printed after the DNI number.",
                              field="verification_character")
    if character is not None and applicant.document_type is DocumentType.DNI and \
            not is_valid_dni_check_character(applicant.document_number, character):
        # A typo, not a failed proof: the character is public, so it proves nothing and costs no attempt.
        raise ValidationError("That is not the character printed after this DNI number.",
                              field="verification_character", code="check_character_mismatch")
    if not payload.get("issue_date"):
        raise ValidationError("Give the document's issue date (YYYY-MM-DD), as printed on it.",
                              field="issue_date", code="missing_field")
    issue_date = parse_date(payload["issue_date"], "issue_date")
    today = peru_today(clock.now())
    if issue_date > today:
        raise ValidationError("The issue date cannot be in the future.", field="issue_date", code="date_in_future")

    record = identity.lookup(applicant.document_type.value, applicant.document_number)
    now = clock.now()
    proven = (record is not None and record.issue_date is not None and record.issue_date == issue_date
              and _identity_matches(applicant, record))
    if not proven:
        _failed_attempt(request, store, rules, now)
    assert record is not None
    if record.expiry_date is not None and record.expiry_date < today:
        rejected, event = request.transition(Status.IDENTITY_REJECTED, now, owner, rejection="document_expired",
                                             identity_proof="issue_date")
        event = replace(event, data={**event.data, "reason": "document_expired", "actor": owner,
                                     "expiry_date": record.expiry_date.isoformat()})
        tx = store.transaction()
        tx.put_request(rejected)
        tx.add_event(event)
        tx.commit()
        raise ValidationError(f"The document expired on {record.expiry_date.isoformat()}; renew it and apply "
                              "again.", field="document_number", code="document_expired",
                              details={"expiry_date": record.expiry_date.isoformat()})

    order = PaymentOrder(order_code=new_order_code(), request_id=request.request_id, amount=rules.fee,
                         currency=rules.currency, expires_at=now + rules.order_ttl)
    updated, event = request.transition(Status.AWAITING_PAYMENT, now, "system", order_code=order.order_code,
                                        applicant=_canonical(applicant, record), identity_proof="issue_date")
    event = replace(event, data={**event.data, "order_code": order.order_code})
    tx = store.transaction()
    tx.put_order(order)
    tx.put_request(updated)
    tx.add_event(event)
    tx.commit()
    return updated


def _failed_attempt(request: CertificateRequest, store: Store, rules: RequestRules, now: datetime) -> NoReturn:
    attempts = request.identity_attempts + 1
    tx = store.transaction()
    if attempts >= rules.identity_max_attempts:
        rejected, event = request.transition(Status.IDENTITY_REJECTED, now, request.owner,
                                             identity_attempts=attempts, rejection="identity_not_confirmed")
        tx.put_request(rejected)
        tx.add_event(replace(event, data={**event.data, "reason": "identity_not_confirmed",
                                          "actor": request.owner}))
    else:
        tx.put_request(replace(request, identity_attempts=attempts, updated_at=now))
    tx.commit()
    # Deliberately vague: which datum failed would help someone probing another person's identity.
    raise ValidationError(
        "The data does not match the identity registry. Check your names, date of birth and the "
        "document's issue date.",
        field="identity", code="identity_not_confirmed",
        details={"attempts_left": max(0, rules.identity_max_attempts - attempts)})


def payment_order_view(request: CertificateRequest, store: Store, provider: PaymentProvider) -> dict[str, Any] | None:
    if not request.order_code:
        return None
    order = store.get_order(request.order_code)
    if order is None:
        return None
    return {"order_code": order.order_code, "amount": f"{order.amount:.2f}", "currency": order.currency,
            "expires_at": order.expires_at.isoformat(), "status": order.status, "pay_url": provider.pay_url(order)}


def apply_payment(notice: PaymentNotice, *, store: Store, clock: Clock, actor: str | None = None) -> PaymentRecord:
    """Apply a provider's payment once; anything that cannot be applied is kept for refund, never dropped, and
    the request it was meant for records it (so its owner is told, and its status tells the truth about the
    money). `actor` is the channel user who reported the payment (a voucher), already answered in their chat.
    A request that moved on meanwhile (the worker issuing it) is read again: the provider need not retry."""
    for attempt in range(3):
        try:
            return _apply_payment(notice, store=store, clock=clock, actor=actor)
        except ConcurrentUpdate:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _apply_payment(notice: PaymentNotice, *, store: Store, clock: Clock, actor: str | None) -> PaymentRecord:
    existing = store.get_payment(notice.provider, notice.payment_id)
    if existing is not None:
        return _answer(existing)
    now = clock.now()
    order = store.get_order(notice.order_code)
    reason = ""
    request = store.get_request(order.request_id) if order else None
    if order is None or request is None:
        reason = "unknown_order"
    elif order.status == "paid":
        reason = "order_already_paid"
    elif order.status == "expired" or now >= order.expires_at:
        reason = "order_expired"
    elif request.status is not Status.AWAITING_PAYMENT:
        reason = "order_not_payable"
    elif notice.amount != order.amount or notice.currency != order.currency:
        reason = "amount_mismatch"
    record = PaymentRecord(provider=notice.provider, payment_id=notice.payment_id, order_code=notice.order_code,
                           amount=notice.amount, currency=notice.currency, received_at=now,
                           disposition="refund_due" if reason else "applied", reason=reason,
                           request_id=order.request_id if order else None, paid_at=notice.paid_at or now,
                           refund_state="due" if reason else "", refund_updated_at=now if reason else None)
    tx = store.transaction()
    tx.add_payment(record)
    if not reason:
        assert order is not None and request is not None
        receipt = receipt_of(record)
        tx.put_order(replace(order, status="paid", payment_id=notice.payment_id))
        paid, event = request.transition(Status.PAID, now, actor or f"payment:{notice.provider}", paid_at=now,
                                         receipt=receipt)
        tx.put_request(paid)
        tx.add_event(replace(event, data={**event.data, "receipt": receipt, **({"actor": actor} if actor else {})}))
    else:
        if request is not None:
            tx.put_request(replace(request, refunds=(*request.refunds, refund_entry(record)), updated_at=now))
        tx.add_event(Event(new_id(), "payment.refund_due", request.request_id if request else record.order_code,
                           now, {"provider": record.provider, "payment_id": record.payment_id, "reason": reason,
                                 "request_id": request.request_id if request else None,
                                 **({"actor": actor} if actor else {})}))
    try:
        tx.commit()
    except AlreadyExists:
        # The same payment arrived twice at once; the other delivery recorded it.
        again = store.get_payment(notice.provider, notice.payment_id)
        if again is None:
            raise
        record = again
    return _answer(record)


def receipt_of(record: PaymentRecord) -> dict[str, Any]:
    """What the citizen's receipt shows: the amount, the provider's operation number and the date paid."""
    paid_at = record.paid_at or record.received_at
    return {"provider": record.provider, "operation": record.payment_id, "amount": f"{record.amount:.2f}",
            "currency": record.currency, "paid_at": paid_at.isoformat()}


def refund_entry(record: PaymentRecord) -> dict[str, Any]:
    """A payment the request could not use, as its owner sees it: how much, when, why, and the refund's state."""
    return {**receipt_of(record), "reason": record.reason, "state": record.refund_state or "due",
            "updated_at": (record.refund_updated_at or record.received_at).isoformat()}


class PaymentNotApplied(DomainError):
    pass


_REFUND_ERRORS = {
    "unknown_order": (404, "There is no payment order with that code."),
    "order_expired": (409, "The payment order has expired."),
    "order_not_payable": (409, "The request is no longer waiting for payment."),
    "order_already_paid": (409, "The payment order was already paid."),
    "amount_mismatch": (422, "The amount or currency does not match the payment order."),
}


def _answer(record: PaymentRecord) -> PaymentRecord:
    if record.disposition == "applied":
        return record
    status, message = _REFUND_ERRORS[record.reason]
    error = PaymentNotApplied(f"{message} The payment was recorded for refund.", code=record.reason,
                              details={"recorded_for_refund": True, "payment_id": record.payment_id})
    error.status = status
    raise error


def submit_voucher(request_id: str, payload: Any, *, owner: str, store: Store, provider: PaymentProvider,
                   clock: Clock) -> CertificateRequest:
    """A citizen who paid at a bank agent gives the voucher's operation number and date."""
    request = _owned(store, request_id, owner)
    operation, paid_on = validate_voucher(payload)
    if request.status is not Status.AWAITING_PAYMENT:
        if request.paid_at is not None:
            return request
        raise DomainError(f"The request is {request.status.value}; it does not wait for a payment.",
                          code="invalid_state")
    notice = provider.find_voucher(operation, paid_on)
    if notice is None:
        raise ValidationError("No payment with that operation number and date was found at the bank.",
                              field="operation_number", code="voucher_not_found")
    if notice.order_code != request.order_code:
        raise ValidationError("That voucher paid another payment order.", field="operation_number",
                              code="voucher_other_order")
    apply_payment(notice, store=store, clock=clock, actor=owner)
    return _owned(store, request_id, owner)


def cancel_request(request_id: str, *, owner: str, store: Store, clock: Clock) -> CertificateRequest:
    request = _owned(store, request_id, owner)
    if request.status is Status.CANCELLED:
        return request
    cancelled, event = request.transition(Status.CANCELLED, clock.now(), owner)
    tx = store.transaction()
    tx.put_request(cancelled)
    if request.order_code and (order := store.get_order(request.order_code)) and order.status == "open":
        tx.put_order(replace(order, status="expired"))
    tx.add_event(event)
    tx.commit()
    return cancelled


def expire_unpaid_orders(*, store: Store, clock: Clock, limit: int = 100) -> int:
    """Scheduled: unpaid orders past their expiry close, and their requests with them."""
    now = clock.now()
    expired = 0
    for order in store.orders_expiring_before(now, limit):
        request = store.get_request(order.request_id)
        if order.status != "open" or request is None or request.status is not Status.AWAITING_PAYMENT:
            continue
        closed, event = request.transition(Status.EXPIRED, now, "system")
        tx = store.transaction()
        tx.put_order(replace(order, status="expired"))
        tx.put_request(closed)
        tx.add_event(event)
        try:
            tx.commit()
            expired += 1
        except DomainError:
            continue  # paid or changed meanwhile: the payment wins
    return expired

"""Refunds of payments that could not be applied: the operators' list, sending one, the provider's answer.

A payment that cannot be applied (late, twice, wrong amount, unknown order) is recorded with refund state
"due" by `apply_payment`. An operator sends it to the payment provider (state "requested", audited); the
provider confirms through its signed refund webhook ("refunded" or "failed"). Every change is written with
its event in one transaction, and the request the money was meant for keeps the refund's state, so its
owner is told each step and `/estado` says where the money is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.errors import ConcurrentUpdate, DomainError, NotFound, ValidationError
from ..domain.pages import After, chained_page
from ..domain.payments import json_object
from ..domain.ports import OPEN_REFUND_STATES, AuditEntry, Clock, PaymentProvider, PaymentRecord, Store
from ..domain.requests import Event, new_id
from .certificate_requests import refund_entry

REFUND_STATES = ("due", "requested", "refunded", "failed")


def refund_view(payment: PaymentRecord) -> dict[str, Any]:
    """What an operator needs to act: no personal data, only the money and where it stands."""
    return {"provider": payment.provider, "payment_id": payment.payment_id, "order_code": payment.order_code,
            "amount": f"{payment.amount:.2f}", "currency": payment.currency,
            "received_at": payment.received_at.isoformat(), "reason": payment.reason,
            "state": payment.refund_state, "refund_id": payment.refund_id,
            "request_id": payment.request_id,
            "updated_at": payment.refund_updated_at.isoformat() if payment.refund_updated_at else None}


def open_refunds(*, store: Store, limit: int = 100, after: After = None) -> tuple[list[PaymentRecord], After]:
    """A page of the refunds still owed or under way: each open state after the other (due, failed, requested),
    each oldest first (one query per page, one more where a state ends inside it); and where the next page
    starts (None: no more)."""
    return chained_page(OPEN_REFUND_STATES, lambda state, at, n: store.refunds_page(state, n, at), limit, after)


def _record_change(payment: PaymentRecord, updated: PaymentRecord, event_name: str, *, store: Store,
                   now: datetime, audit: AuditEntry | None = None, attempts: int = 4) -> None:
    """The payment, the refund entry on its request and the event, together or not at all. The request may be
    moving on meanwhile (the worker checks and issues it): read it again and retry."""
    for attempt in range(attempts):
        try:
            _write_change(payment, updated, event_name, store=store, now=now, audit=audit)
            return
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise


def _write_change(payment: PaymentRecord, updated: PaymentRecord, event_name: str, *, store: Store,
                  now: datetime, audit: AuditEntry | None) -> None:
    tx = store.transaction()
    tx.update_payment(updated)
    request = store.get_request(payment.request_id) if payment.request_id else None
    if request is not None:
        entries = tuple(refund_entry(updated) if entry.get("operation") == payment.payment_id else entry
                        for entry in request.refunds)
        if not any(entry.get("operation") == payment.payment_id for entry in request.refunds):
            entries = (*entries, refund_entry(updated))
        tx.put_request(replace(request, refunds=entries, updated_at=now))
    if audit is not None:
        tx.add_audit(audit)
    tx.add_event(Event(new_id(), event_name, request.request_id if request else payment.order_code, now,
                       {"provider": payment.provider, "payment_id": payment.payment_id,
                        "request_id": request.request_id if request else None, "state": updated.refund_state}))
    tx.commit()


def send_refund(provider_name: str, payment_id: str, *, operator: Any, store: Store, provider: PaymentProvider,
                clock: Clock) -> PaymentRecord:
    """An operator returns a payment through the provider. Sending it again is harmless: the provider keys the
    refund on the payment, and a refund already under way or done is answered as it stands."""
    payment = store.get_payment(provider_name, payment_id) if len(payment_id) <= 64 else None
    if payment is None or payment.disposition != "refund_due":
        raise NotFound("No payment owed a refund has that id.")
    if payment.refund_state in ("requested", "refunded"):
        return payment
    if provider_name != provider.name:
        raise DomainError("That payment belongs to a provider this system cannot refund through.",
                          code="provider_unavailable", field="provider")
    refund_id = provider.refund(payment)
    now = clock.now()
    updated = replace(payment, refund_state="requested", refund_id=refund_id, refund_updated_at=now)
    audit = AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                       action="refund.send", target=f"{provider_name}#{payment_id}",
                       details={"refund_id": refund_id, "amount": f"{payment.amount:.2f}"})
    _record_change(payment, updated, "payment.refund_requested", store=store, now=now, audit=audit)
    return updated


def parse_refund_notice(body: bytes) -> dict[str, str]:
    """The provider's signed refund confirmation: {"refund_id", "payment_id", "status": refunded|failed}."""
    data = json_object(body)
    for name in ("refund_id", "payment_id", "status"):
        if not isinstance(data.get(name), str) or not 1 <= len(data[name]) <= 64:
            raise ValidationError("Expected text of 1 to 64 characters.", field=name, code="missing_field")
    if data["status"] not in ("refunded", "failed"):
        raise ValidationError("Expected \"refunded\" or \"failed\".", field="status")
    return {name: data[name] for name in ("refund_id", "payment_id", "status")}


def confirm_refund(provider_name: str, notice: dict[str, str], *, store: Store, clock: Clock) -> PaymentRecord:
    """The provider's word on a refund it was asked for; a repeated or stale confirmation changes nothing."""
    payment = store.get_payment(provider_name, notice["payment_id"])
    if payment is None or payment.refund_id != notice["refund_id"]:
        raise NotFound("No refund with that id was requested.")
    if payment.refund_state == notice["status"] or payment.refund_state == "refunded":
        return payment
    now = clock.now()
    updated = replace(payment, refund_state=notice["status"], refund_updated_at=now)
    event = "payment.refunded" if notice["status"] == "refunded" else "payment.refund_failed"
    _record_change(payment, updated, event, store=store, now=now)
    return updated

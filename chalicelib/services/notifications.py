"""Notices to the citizen when their request changes: once per event and channel, in the request's language.

`compose` decides what an event means for its request's owner (a Notice: which text, with which values, and
whether the chat needs it: what the person was just answered in their own chat is not sent there again).
Each channel then delivers it by its own handler, idempotently: `notify` to the chat the request came from
(the channel is a port; Telegram is one adapter), `notify_email` to the address the person gave (unless it
bounced or complained).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from ..domain.errors import DomainError
from ..domain.outbound import ChatChannel, EmailRejected, EmailSender, EmailSuppressions
from ..domain.ports import AlreadyExists, DocumentStorage, PaymentProvider, Store
from ..domain.requests import CertificateRequest, Event, Status
from .time import PERU

log = logging.getLogger(__name__)

# Every event a citizen hears about (by chat, e-mail or both); the name is kept for the event dispatch.
PUSH_FOR_EVENT = {
    "request.created": "created",
    "request.payment_ordered": "payment_ordered",
    "request.paid": "paid",
    "request.review_required": "in_review",
    "request.approved": "approved",
    "request.issued": "issued",
    "request.expired": "expired",
    "request.cancelled": "cancelled",
    "request.identity_rejected": "identity_rejected",
    "document.revoked": "revoked",
    "payment.refund_due": "refund_due",
    "payment.refund_requested": "refund_requested",
    "payment.refunded": "refunded",
    "payment.refund_failed": "refund_failed",
    "control.attendance_issued": "attendance",
}
FREE_REPLACEMENT_REASONS = frozenset({"issued_in_error", "wrong_data"})


@cache
def texts() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (Path(__file__).resolve().parent.parent / "notification_texts.json").read_text(encoding="utf-8"))
    return data


def has_text(key: str) -> bool:
    return key in texts()


def push_text(key: str, language: str, **values: str) -> str:
    entry = texts()[key]
    return entry.get(language, entry["es"]).format(**values)


def _specific(prefix: str, key: str) -> str | None:
    """The most specific text: "email.body.in_review.record_found", else "email.body.in_review"."""
    while True:
        if has_text(f"{prefix}.{key}"):
            return f"{prefix}.{key}"
        if "." not in key:
            return None
        key = key.rsplit(".", 1)[0]


def money(amount: Any, currency: str = "PEN") -> str:
    try:
        value = f"{Decimal(str(amount)):.2f}"
    except InvalidOperation:
        value = str(amount)
    return f"S/ {value}" if currency == "PEN" else f"{currency} {value}"


def lima(moment: datetime | str | None, *, with_time: bool = True) -> str:
    if moment is None:
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(PERU).strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


@dataclass(frozen=True)
class Notice:
    """What to tell whom: the text's key and values, and of the request what the channels need (its owner's chat,
    language, number, certificate, and the e-mail address when one was given)."""

    key: str  # "paid", "in_review.record_found", ...: the catalogue's push.<key>, email.subject/body.<key>
    request_id: str
    owner: str
    language: str
    number: str
    document_id: str | None = None
    email: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    chat: bool = True  # False when the person was just answered in their own chat
    certificate: bool = False  # the signed PDF goes with it

    @classmethod
    def of(cls, request: CertificateRequest, key: str, **kwargs: Any) -> Notice:
        return cls(key=key, request_id=request.request_id, owner=request.owner, language=request.language,
                   number=request.number, document_id=request.document_id, email=request.applicant.email or None,
                   **kwargs)


def _request_for(event: Event, store: Store) -> CertificateRequest | None:
    if event.name.startswith("document."):
        document = store.get_document(event.aggregate_id)
        return store.get_request(document.source_id) if document and document.kind == "certificate" else None
    if event.name.startswith("payment."):
        request_id = event.data.get("request_id")
        return store.get_request(str(request_id)) if request_id else None
    return store.get_request(event.aggregate_id)


# What the person does in their own chat (apply, get the payment order, cancel) is answered there at once: these
# events only ever become an e-mail.
ANSWERED_IN_CHAT = frozenset({"request.created", "request.payment_ordered", "request.cancelled"})


def nothing_to_send(event: Event) -> bool:
    """True when the event surely tells nobody anything (answered in the chat, no e-mail given): no need to compose
    it. Events that do not say whether an address was given are composed."""
    return event.name in ANSWERED_IN_CHAT and event.data.get("email") is False


def _paid_values(receipt: dict[str, Any]) -> dict[str, str]:
    return {"amount": money(receipt.get("amount", ""), receipt.get("currency", "PEN")),
            "operation": str(receipt.get("operation", "")), "date": lima(receipt.get("paid_at"))}


def _from_event(event: Event) -> Notice | None:
    """A certificate's two usual notices, payment received and certificate issued, for a request without an e-mail
    address: the event says everything the chat needs (its owner, language and number, the receipt, the
    certificate's file), so the request is not read. None when the event does not say it all."""
    d = event.data
    owner, language, number = d.get("owner"), d.get("language"), d.get("number")
    if d.get("email") is not False or not (isinstance(owner, str) and isinstance(language, str)
                                           and isinstance(number, str)):
        return None
    fields: dict[str, Any] = {"request_id": event.aggregate_id, "owner": owner, "language": language,
                              "number": number}
    if event.name == "request.paid" and isinstance(d.get("receipt"), dict) and not d["receipt"].get("waived"):
        return Notice(key="paid", values={"number": number, **_paid_values(d["receipt"])},
                      chat=d.get("actor") != owner, **fields)
    if event.name == "request.issued" and d.get("document_id") and d.get("storage_key"):
        return Notice(key="issued", values={"number": number}, certificate=True,
                      document_id=str(d["document_id"]), **fields)
    return None


def compose(event: Event, store: Store, provider: PaymentProvider | None = None) -> Notice | None:
    """What this event tells the request's owner, or None when it tells them nothing."""
    told = _from_event(event)
    if told is not None:
        return told
    base = PUSH_FOR_EVENT.get(event.name)
    request = _request_for(event, store) if base and base != "attendance" else None
    if base is None or request is None:
        return None
    lang = request.language
    values: dict[str, str] = {"number": request.number}
    # The person caused this themselves in their chat (a voucher, an identity answer, a button) and was answered
    # there at once: the chat does not get the same news twice.
    answered = event.data.get("actor") == request.owner
    key = base
    if event.name in ANSWERED_IN_CHAT:
        answered = True
    if base == "payment_ordered":
        order = store.get_order(request.order_code or "")
        if order is None:
            return None
        values.update(name=request.applicant.full_name, order_code=order.order_code,
                      amount=money(order.amount, order.currency), expires=lima(order.expires_at),
                      pay_url=provider.pay_url(order) if provider else "")
    elif base == "paid":
        receipt = request.receipt or {}
        if receipt.get("waived"):
            key, answered = "paid.replacement", True
            values["replaces"] = str(receipt.get("replaces", ""))
        values.update(_paid_values(receipt))
    elif base == "in_review" and request.check_outcome == "record_found":
        key = "in_review.record_found"
    elif base == "approved" and Status.IN_REVIEW not in {h.status for h in request.history}:
        return None  # approved without review: the certificate follows within seconds, one message is enough
    elif base == "identity_rejected" and request.rejection == "document_expired":
        key = "identity_rejected.document_expired"
        expiry = str(event.data.get("expiry_date") or "")
        values["expiry"] = date.fromisoformat(expiry).strftime("%d/%m/%Y") if expiry else ""
    elif base == "revoked":
        document = store.get_document(event.aggregate_id)
        if document is None or document.revoked_at is None:
            return None
        reason = document.revocation_reason.value if document.revocation_reason else "other"
        key = "revoked.free" if reason in FREE_REPLACEMENT_REASONS else "revoked"
        values.update(date=lima(document.revoked_at, with_time=False),
                      reason=push_text(f"revocation.reason.{reason}", lang))
    elif base.startswith("refund"):
        payment = store.get_payment(str(event.data.get("provider", "")), str(event.data.get("payment_id", "")))
        if payment is None:
            return None
        values.update(amount=money(payment.amount, payment.currency), operation=payment.payment_id,
                      date=lima(payment.paid_at or payment.received_at),
                      reason=push_text(f"refund.reason.{payment.reason}", lang)
                      if has_text(f"refund.reason.{payment.reason}") else payment.reason)
    return Notice.of(request, key, values=values, chat=not answered, certificate=base == "issued")


def _claim(store: Store, handler: str, event: Event) -> bool:
    """Mark the event as handled by `handler`; False when it already was (a redelivered event)."""
    tx = store.transaction()
    tx.mark_processed(handler, event.event_id)
    try:
        tx.commit()
    except AlreadyExists:
        return False
    return True


def _certificate(notice: Notice, store: Store, storage: DocumentStorage, event: Event) -> bytes | None:
    if not notice.certificate or not notice.document_id:
        return None
    key = event.data.get("storage_key")  # request.issued names its file: no need to read the document
    if not key:
        document = store.get_document(notice.document_id)
        key = document.storage_key if document else None
    return storage.get(str(key)) if key else None


class _Unset:
    pass


UNSET = _Unset()  # `composed` not given: compose the notice here


def notify(event: Event, *, store: Store, storage: DocumentStorage, notifier: ChatChannel | None = None,
           channels: dict[str, ChatChannel] | None = None, provider: PaymentProvider | None = None,
           composed: Notice | None | _Unset = UNSET) -> bool:
    """The chat notice, to the channel the request came from. Returns whether a message was sent; a second
    delivery of the same event sends nothing. ``composed``: the event's notice, when the caller composed it
    already (one composition serves every channel)."""
    if event.name == "control.attendance_issued":
        return _attendance(event, store, storage, notifier)
    available = dict(channels or {})
    if notifier is not None:
        available.setdefault("telegram", notifier)
    notice = compose(event, store, provider) if isinstance(composed, _Unset) else composed
    if notice is None or not notice.chat:
        return False
    channel_name, _, address = notice.owner.partition(":")
    channel = available.get(channel_name)
    key = _specific("push", notice.key)
    if channel is None or key is None:
        log.info("no chat channel for this notice", extra={"event_id": event.event_id, "channel": channel_name})
        return False
    if not _claim(store, "notify", event):
        return False
    text = push_text(key, notice.language, **notice.values)
    try:
        pdf = _certificate(notice, store, storage, event)
        if pdf is not None:
            channel.send_document(address, f"certificado-{notice.number}.pdf", pdf, text)
        else:
            channel.send_message(address, text)
    except DomainError:
        # Not sent: free the marker so the redelivered event tries again.
        store.release_processed("notify", event.event_id)
        raise
    return True


def email_message(notice: Notice, *, public_base_url: str, bot_username: str | None = None) -> tuple[str, str]:
    """The e-mail's subject and body for a notice, in the request's language."""
    lang = notice.language
    values = {**notice.values, "tracking_url": f"{public_base_url}/track/{notice.request_id}",
              "verification_url": f"{public_base_url}/v/{notice.document_id}" if notice.document_id else ""}
    subject_key, body_key = _specific("email.subject", notice.key), _specific("email.body", notice.key)
    if subject_key is None or body_key is None:
        raise KeyError(f"no e-mail text for {notice.key}")
    lines = [push_text(body_key, lang, **values), "", push_text("email.tracking", lang, **values)]
    if bot_username:
        lines.append(push_text("email.chat", lang,
                               chat_url=f"https://t.me/{bot_username}?start=r_{notice.request_id}"))
    lines += ["", "—", push_text("email.footer", lang)]
    return push_text(subject_key, lang, **values), "\n".join(lines)


def notify_email(event: Event, *, store: Store, storage: DocumentStorage, email: EmailSender | None,
                 suppressions: EmailSuppressions, public_base_url: str, clock: Any,
                 provider: PaymentProvider | None = None, bot_username: str | None = None,
                 composed: Notice | None | _Unset = UNSET) -> bool:
    """The e-mail notice, when the person gave an address that has not bounced or complained. Returns whether
    a message was sent; a second delivery of the same event sends nothing."""
    if email is None or event.name == "control.attendance_issued":
        return False
    notice = compose(event, store, provider) if isinstance(composed, _Unset) else composed
    address = notice.email if notice else None
    if notice is None or not address:
        return False
    if suppressions.is_suppressed(address):
        log.info("e-mail suppressed for this address", extra={"event_id": event.event_id})
        return False
    if not _claim(store, "email", event):
        return False
    subject, body = email_message(notice, public_base_url=public_base_url, bot_username=bot_username)
    try:
        pdf = _certificate(notice, store, storage, event)
        attachments = [(f"certificado-{notice.number}.pdf", pdf, "application/pdf")] if pdf else []
        email.send(address, subject, body, attachments)
    except (EmailRejected, ValueError):
        # Refused for good: no retry, and no more mail to that address.
        suppressions.suppress(address, "rejected", clock.now())
        log.info("e-mail address refused; suppressed", extra={"event_id": event.event_id})
        return False
    except DomainError:
        store.release_processed("email", event.event_id)
        raise
    return True


def _attendance(event: Event, store: Store, storage: DocumentStorage, notifier: Any) -> bool:
    """The attendance certificate goes to the chat that checked in, once."""
    owner = str(event.data.get("owner", ""))
    if not owner.startswith("telegram:") or notifier is None:
        return False
    if not _claim(store, "notify", event):
        return False
    from ..domain.documents import KIND_ATTENDANCE

    try:
        documents = [d for d in [store.get_document(event.data.get("document_id", ""))] if d]
        if not documents:
            return False
        document = documents[0]
        pdf = storage.get(document.storage_key) if document.kind == KIND_ATTENDANCE else None
        if pdf is None:
            return False
        language = str(event.data.get("language", "es"))
        notifier.send_document(owner.split(":", 1)[1], f"constancia-{document.number}.pdf", pdf,
                               push_text("push.attendance", language, number=document.number))
    except DomainError:
        store.release_processed("notify", event.event_id)
        raise
    return True

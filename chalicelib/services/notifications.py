"""Push messages to the citizen's chat when their request changes: once per event, in their language."""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

from ..domain.errors import DomainError
from ..domain.ports import AlreadyExists, DocumentStorage, Store
from ..domain.requests import CertificateRequest, Event, Status

log = logging.getLogger(__name__)

PUSH_FOR_EVENT = {
    "request.paid": "push.paid",
    "request.review_required": "push.in_review",
    "request.approved": "push.approved",
    "request.issued": "push.issued",
    "request.expired": "push.expired",
    "request.identity_rejected": "push.identity_rejected",
    "document.revoked": "push.revoked",
    "control.attendance_issued": "push.attendance",
}


@cache
def texts() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (Path(__file__).resolve().parent.parent / "notification_texts.json").read_text(encoding="utf-8"))
    return data


def push_text(key: str, language: str, **values: str) -> str:
    entry = texts()[key]
    return entry.get(language, entry["es"]).format(**values)


def _attendance(event: Event, store: Store, storage: DocumentStorage, notifier: Any) -> bool:
    """The attendance certificate goes to the chat that checked in, once."""
    owner = str(event.data.get("owner", ""))
    if not owner.startswith("telegram:") or notifier is None:
        return False
    tx = store.transaction()
    tx.mark_processed("notify", event.event_id)
    try:
        tx.commit()
    except AlreadyExists:
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


def _request_for(event: Event, store: Store) -> CertificateRequest | None:
    if event.name.startswith("document."):
        document = store.get_document(event.aggregate_id)
        return store.get_request(document.source_id) if document else None
    return store.get_request(event.aggregate_id)


def notify(event: Event, *, store: Store, storage: DocumentStorage, notifier: Any) -> bool:
    """Returns whether a message was sent. A second delivery of the same event sends nothing."""
    key = PUSH_FOR_EVENT.get(event.name)
    if event.name == "control.attendance_issued":
        return _attendance(event, store, storage, notifier)
    request = _request_for(event, store) if key else None
    if key is None or request is None or not request.owner.startswith("telegram:"):
        return False
    if event.name == "request.approved" and Status.IN_REVIEW not in {h.status for h in request.history}:
        return False  # approved without review: the certificate follows within seconds, one message is enough
    if notifier is None:
        log.info("chat notifications are off (no bot token)", extra={"event_id": event.event_id})
        return False
    tx = store.transaction()
    tx.mark_processed("notify", event.event_id)
    try:
        tx.commit()
    except AlreadyExists:
        return False  # this event's message was already sent
    chat_id = request.owner.split(":", 1)[1]
    text = push_text(key, request.language, number=request.number)
    try:
        if event.name == "request.issued" and request.document_id:
            document = store.get_document(request.document_id)
            pdf = storage.get(document.storage_key) if document else None
            if pdf is not None:
                notifier.send_document(chat_id, f"certificado-{request.number}.pdf", pdf, text)
                return True
        notifier.send_message(chat_id, text)
    except DomainError:
        # Not sent: free the marker so the redelivered event tries again.
        store.release_processed("notify", event.event_id)
        raise
    return True

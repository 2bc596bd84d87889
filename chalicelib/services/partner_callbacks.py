"""Signed callbacks to partners: when one of a partner's requests changes status, its callback URL receives a
POST signed like the payment provider's webhooks (``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>." + body>`` with the partner's callback secret) and an ``X-Event-Id`` to de-duplicate. The first try is made
when the event is handled; a failed one is held, and the retry job (every minute) tries again with doubling waits,
so a partner that is down never holds up the chat notices handled beside its callbacks. After the last try the
callback lands in the dead-letter list, from which an administrator resends it."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..domain.partners import DeadCallback, DeadCallbacks, HeldCallback, HeldCallbacks, Partner
from ..domain.payments import sign_webhook
from ..domain.requests import EVENT_FOR_STATUS, CertificateRequest, Event

log = logging.getLogger(__name__)

# The events a partner is told about: every status change of its requests.
EVENTS = frozenset(EVENT_FOR_STATUS.values())
PARTNER_PREFIX = "partner:"


def callback_body(event: Event, request: CertificateRequest, public_base_url: str) -> bytes:
    """What the partner receives: ids, the new status and its own reference; no personal data."""
    issued = request.status.value == "issued"
    body = {"event_id": event.event_id, "type": event.name, "occurred_at": event.occurred_at.isoformat(),
            "request": {"request_id": request.request_id, "number": request.number,
                        "status": request.status.value, "partner_reference": request.partner_reference,
                        "document_id": request.document_id if issued else None,
                        "pdf_url": (f"{public_base_url}/v1/partner/certificate-requests/{request.request_id}/pdf"
                                    if issued else None)}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def post_once(url: str, secret: str, body: bytes, event_id: str, timeout: float,
              previous_secret: str | None = None) -> str | None:
    """One signed POST; None when the partner answered 2xx, otherwise what went wrong (no body text kept). During a
    rollover of the callback secret a second `v1=` signs with the previous one (the scheme accepts any `v1`)."""
    now = int(time.time())
    signature = sign_webhook(secret, now, body)
    if previous_secret and previous_secret != secret:
        signature += "," + sign_webhook(previous_secret, now, body).split(",", 1)[1]
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Event-Id": event_id, "User-Agent": "antecedentes-callbacks/1",
        "X-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured https URL)
            answer.read(1024)
            return None
    except urllib.error.HTTPError as error:
        return f"http_{error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"unreachable:{type(error).__name__}"


def first_try(partner: Partner, event: Event, body: bytes, *, attempts: int, backoff: float, timeout: float,
              now: datetime, held: HeldCallbacks, dead: DeadCallbacks) -> bool:
    """One try now; a failure is held for the retry job (or, when only one try is allowed, dead-lettered)."""
    assert partner.callback_url and partner.callback_secret
    failure = post_once(partner.callback_url, partner.callback_secret, body, event.event_id, timeout,
                        partner.previous_callback_secret)
    if failure is None:
        return True
    log.warning("partner callback failed", extra={"event_id": event.event_id, "client_id": partner.client_id,
                                                   "attempt": 1, "error": failure})
    letter = HeldCallback(event_id=event.event_id, client_id=partner.client_id, request_id=event.aggregate_id,
                          event_name=event.name, body=body.decode(), attempts=1, last_error=failure,
                          due_at=(now + timedelta(seconds=backoff)).isoformat())
    if attempts <= 1:
        _dead_letter(letter, now, dead)
    else:
        held.hold(letter)
    return False


def retry_due(*, partners: Mapping[str, Partner], held: HeldCallbacks, dead: DeadCallbacks, attempts: int,
              backoff: float, timeout: float, now: datetime, limit: int = 200) -> dict[str, int]:
    """The retry job: each held callback that is due is claimed (so two runs never send it twice), tried once,
    then removed (delivered), held again for twice as long, or dead-lettered after its last try."""
    counts = {"delivered": 0, "held": 0, "dead": 0}
    lease_until = (now + timedelta(seconds=max(60.0, 4 * timeout))).isoformat()
    for letter in held.due(now.isoformat(), limit):
        if not held.claim(letter, lease_until):
            continue
        partner = partners.get(letter.client_id)
        if partner is None or not partner.callback_url or not partner.callback_secret:
            failure: str | None = "no_callback_url"
        else:
            failure = post_once(partner.callback_url, partner.callback_secret, letter.body.encode(), letter.event_id,
                                timeout, partner.previous_callback_secret)
        tries = letter.attempts + 1
        if failure is None:
            held.remove(letter.event_id)
            counts["delivered"] += 1
            continue
        log.warning("partner callback failed", extra={"event_id": letter.event_id, "client_id": letter.client_id,
                                                       "attempt": tries, "error": failure})
        if tries >= attempts or failure == "no_callback_url":
            _dead_letter(replace(letter, attempts=tries, last_error=failure), now, dead)  # first: nothing lost
            held.remove(letter.event_id)
            counts["dead"] += 1
        else:
            held.hold(replace(letter, attempts=tries, last_error=failure,
                              due_at=(now + timedelta(seconds=backoff * 2 ** (tries - 1))).isoformat()))
            counts["held"] += 1
    return counts


def _dead_letter(letter: HeldCallback, now: datetime, dead: DeadCallbacks) -> None:
    dead.add(DeadCallback(event_id=letter.event_id, client_id=letter.client_id, request_id=letter.request_id,
                          event_name=letter.event_name, body=letter.body, attempts=letter.attempts,
                          last_error=letter.last_error, dead_at=now.isoformat()))


def dead_view(letter: DeadCallback) -> dict[str, Any]:
    return {"event_id": letter.event_id, "client_id": letter.client_id, "request_id": letter.request_id,
            "type": letter.event_name, "attempts": letter.attempts, "last_error": letter.last_error,
            "dead_at": letter.dead_at}

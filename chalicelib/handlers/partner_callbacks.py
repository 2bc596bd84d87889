"""The outbox handler of partner callbacks: a status change of a partner's request is POSTed, signed, to the
partner's callback URL (chalicelib/services/partner_callbacks.py). Claimed per event first, so a redelivered event
sends no second callback; one try here, a failure is held for the retry job (``retry``, every minute) and after the
last try lands in the dead-letter list, so nothing is lost and the notices beside it never wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..domain.requests import Event
from ..services import partner_callbacks as callbacks

if TYPE_CHECKING:
    from ..bootstrap import Container

MARKER = "partner-callback"


def deliver(event: Event, c: Container) -> None:
    from ..services.notifications import _claim

    owner = str(event.data.get("owner", ""))
    if not owner.startswith(callbacks.PARTNER_PREFIX):
        return
    partner = c.partners.partners.get(owner.removeprefix(callbacks.PARTNER_PREFIX))
    request = c.store.get_request(event.aggregate_id)
    if partner is None or not partner.callback_url or not partner.callback_secret or request is None:
        return
    if not _claim(c.store, MARKER, event):
        return  # redelivered: sent (or dead-lettered) already
    try:
        body = callbacks.callback_body(event, request, c.settings.public_base_url)
        s = c.settings
        callbacks.first_try(partner, event, body, attempts=s.partner_callback_attempts,
                            backoff=s.partner_callback_backoff_seconds, timeout=s.partner_callback_timeout_seconds,
                            now=c.clock.now(), held=c.held_callbacks, dead=c.dead_callbacks)
    except Exception:
        c.store.release_processed(MARKER, event.event_id)  # not recorded anywhere: the retried event tries again
        raise


HANDLERS: dict[str, list[Callable[[Event, Container], None]]] = {name: [deliver] for name in callbacks.EVENTS}


def retry(c: Container) -> dict[str, int]:
    """The scheduled retry of held callbacks (app.retry_partner_callbacks; every minute locally too)."""
    s = c.settings
    return callbacks.retry_due(partners=c.partners.partners, held=c.held_callbacks, dead=c.dead_callbacks,
                               attempts=s.partner_callback_attempts, backoff=s.partner_callback_backoff_seconds,
                               timeout=s.partner_callback_timeout_seconds, now=c.clock.now())

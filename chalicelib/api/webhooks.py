"""The payment provider's signed confirmations."""

from __future__ import annotations

import time
from typing import Any

from chalice import Blueprint

from ..bootstrap import container
from ..domain.errors import NotFound, PayloadTooLarge
from ..domain.payments import BadSignature, parse_webhook_body, verify_webhook_signature
from ..services.certificate_requests import apply_payment
from .http import handled, json_response

bp = Blueprint(__name__)


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _signed_body(provider: str) -> bytes:
    """The raw body, once its signature by the provider's secret is checked (before anything in it is believed)."""
    request: Any = bp.current_request
    c = container()
    if provider not in c.settings.payment_webhook_secrets:
        raise NotFound("Unknown payment provider.")
    raw = request.raw_body or b""
    if len(raw) > c.settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {c.settings.max_body_bytes} bytes.")
    try:
        _verify(provider, request.headers.get("x-signature"), raw)
    except BadSignature as error:
        # A secret this warm function has not seen yet (the operator rolled it over): read the secrets again.
        if error.code == "stale_signature" or not c.reload_secrets():
            raise
        _verify(provider, request.headers.get("x-signature"), raw)
    return raw


def _verify(provider: str, header: str | None, raw: bytes) -> None:
    """Checked against the provider's current secret, then its previous one while a rollover is under way."""
    settings = container().settings
    secrets = [settings.payment_webhook_secrets.get(provider), settings.previous_payment_webhook_secrets.get(provider)]
    candidates = [secret for secret in secrets if secret]
    for position, secret in enumerate(candidates):
        try:
            verify_webhook_signature(secret, header, raw, time.time(), settings.payment_webhook_tolerance_seconds)
            return
        except BadSignature as error:
            if error.code == "stale_signature" or position == len(candidates) - 1:
                raise


@bp.route("/v1/webhooks/payments/{provider}", methods=["POST"])
@handled(_request)
def payment_webhook(provider):  # type: ignore[no-untyped-def]
    c = container()
    raw = _signed_body(provider)
    record = apply_payment(parse_webhook_body(provider, raw), store=c.store, clock=c.clock)
    return json_response({"payment_id": record.payment_id, "order_code": record.order_code,
                          "disposition": record.disposition})


@bp.route("/v1/webhooks/refunds/{provider}", methods=["POST"])
@handled(_request)
def refund_webhook(provider):  # type: ignore[no-untyped-def]
    """The provider's signed word that a refund it was asked for is done (or failed)."""
    from ..services.refunds import confirm_refund, parse_refund_notice, refund_view

    c = container()
    raw = _signed_body(provider)
    payment = confirm_refund(provider, parse_refund_notice(raw), store=c.store, clock=c.clock)
    return json_response(refund_view(payment))

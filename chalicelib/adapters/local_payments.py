"""The embedded payment provider: pay links to the local simulator, a bank ledger for vouchers, refunds."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from ..domain.errors import DomainError, ServiceUnavailable
from ..domain.payments import PaymentNotice, sign_webhook
from ..domain.ports import PaymentRecord
from ..domain.requests import PaymentOrder
from . import dynamo_models as m
from .dynamo_store import translate_errors


class LocalPaymentProvider:
    name = "local"

    def __init__(self, pay_url_template: str, *, refund_url: str | None = None, secret: str | None = None) -> None:
        self._template = pay_url_template
        # The simulator that serves the pay page also takes refunds: by default, the same origin.
        parts = urlsplit(pay_url_template)
        self._refund_url = refund_url or f"{parts.scheme}://{parts.netloc}/refunds"
        self._secret = secret

    def refund(self, payment: PaymentRecord) -> str:
        """POST the refund to the provider, signed like its webhooks; the payment id makes it idempotent."""
        secret = self._secret
        if secret is None:
            from ..settings import load_settings

            secret = load_settings().payment_webhook_secrets.get(self.name, "")
        body = json.dumps({"payment_id": payment.payment_id, "order_code": payment.order_code,
                           "amount": f"{payment.amount:.2f}", "currency": payment.currency}).encode()
        request = urllib.request.Request(self._refund_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "X-Signature": sign_webhook(secret, int(time.time()), body)})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the configured provider
                refund_id = json.loads(answer.read()).get("refund_id")
        except urllib.error.HTTPError as error:
            raise DomainError("The payment provider refused the refund.", code="refund_refused",
                              details={"provider_status": error.code}) from None
        except (OSError, ValueError):
            raise ServiceUnavailable("The payment provider did not answer; nothing was refunded. Try again.",
                                     code="provider_unavailable") from None
        if not isinstance(refund_id, str) or not refund_id:
            raise ServiceUnavailable("The payment provider gave no refund id; try again.",
                                     code="provider_unavailable")
        return refund_id

    def pay_url(self, order: PaymentOrder) -> str:
        return self._template.format(order_code=order.order_code)

    @translate_errors
    def find_voucher(self, operation_number: str, paid_on: date) -> PaymentNotice | None:
        try:
            entry = m.LedgerModel.get(operation_number)
        except m.LedgerModel.DoesNotExist:
            return None
        if entry.paid_on != paid_on.isoformat():
            return None
        return PaymentNotice(provider=self.name, payment_id=entry.payment_id, order_code=entry.order_code,
                             amount=Decimal(entry.amount), currency=entry.currency)

    @translate_errors
    def record_agent_payment(self, operation_number: str, paid_on: date, payment_id: str, order_code: str,
                             amount: Decimal, currency: str) -> None:
        """What the bank's agent does when a citizen pays with an order code (the simulator calls it)."""
        m.LedgerModel(operation_number, paid_on=paid_on.isoformat(), payment_id=payment_id,
                      order_code=order_code, amount=f"{amount:.2f}", currency=currency).save()

"""The embedded payment provider: pay links to the local simulator and a bank ledger for vouchers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..domain.payments import PaymentNotice
from ..domain.requests import PaymentOrder
from . import dynamo_models as m
from .dynamo_store import translate_errors


class LocalPaymentProvider:
    name = "local"

    def __init__(self, pay_url_template: str) -> None:
        self._template = pay_url_template

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

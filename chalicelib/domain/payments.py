"""Payment orders and the provider's signed confirmations (HMAC-SHA256 over "<t>.<raw body>")."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import DomainError, Unauthenticated, ValidationError

# No 0/O or 1/I: the code is read aloud and typed at bank agents.
_ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_order_code() -> str:
    return "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(10))


class BadSignature(Unauthenticated):
    code = "bad_signature"


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_webhook_signature(secret: str, header: str | None, body: bytes, now: float,
                             tolerance_seconds: int) -> None:
    if not header:
        raise BadSignature("Missing X-Signature header.")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        raw_timestamp = parts["t"][0]
        if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
            raise ValueError(raw_timestamp)
        timestamp = int(raw_timestamp)
    except (KeyError, ValueError, IndexError):
        raise BadSignature("Malformed X-Signature header: expected t=<unix seconds>,v1=<hex>.") from None
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    # A candidate that is not ASCII cannot be our hex digest (and compare_digest refuses to compare it).
    if not any(candidate.isascii() and hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise BadSignature("The signature does not match the body.")
    if abs(now - timestamp) > tolerance_seconds:
        raise BadSignature("The signature timestamp is too old or in the future.", code="stale_signature")


@dataclass(frozen=True)
class PaymentNotice:
    """A payment as the provider reports it (webhook) or as the bank confirms a voucher."""

    provider: str
    payment_id: str
    order_code: str
    amount: Decimal
    currency: str
    paid_at: datetime | None = None


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValidationError("Expected an amount such as \"37.70\".", field=field, code="wrong_type")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("Expected an amount such as \"37.70\".", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError("Expected a positive amount with at most two decimals.", field=field)
    return amount.quantize(Decimal("0.01"))


def json_object(body: bytes) -> dict[str, Any]:
    """A provider's signed body as a JSON object, or the error that says what it is not."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("The body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    return data


def parse_webhook_body(provider: str, body: bytes) -> PaymentNotice:
    data = json_object(body)
    for name in ("payment_id", "order_code", "amount", "currency"):
        if data.get(name) in (None, ""):
            raise ValidationError("This field is required.", field=name, code="missing_field")
    for name in ("payment_id", "order_code", "currency"):
        if not isinstance(data[name], str) or len(data[name]) > 64:
            raise ValidationError("Expected text of at most 64 characters.", field=name, code="wrong_type")
    paid_at = None
    if data.get("paid_at"):
        try:
            paid_at = datetime.fromisoformat(str(data["paid_at"]))
        except ValueError:
            raise ValidationError("Expected an ISO 8601 date and time.", field="paid_at") from None
    return PaymentNotice(provider=provider, payment_id=data["payment_id"], order_code=data["order_code"],
                         amount=parse_amount(data["amount"]), currency=data["currency"].upper(), paid_at=paid_at)


def validate_voucher(data: Any) -> tuple[str, date]:
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    extra = sorted(set(data) - {"operation_number", "date"})
    if extra:
        raise ValidationError("Unknown field.", field=extra[0], code="unknown_field")
    operation = data.get("operation_number")
    if not isinstance(operation, str) or not re.fullmatch(r"\d{6,12}", operation.strip()):
        raise ValidationError("The operation number is 6 to 12 digits, as printed on the voucher.",
                              field="operation_number")
    if not isinstance(data.get("date"), str):
        raise ValidationError("Expected the payment date as YYYY-MM-DD.", field="date", code="missing_field")
    try:
        paid_on = date.fromisoformat(data["date"])
    except ValueError:
        raise ValidationError("Expected the payment date as YYYY-MM-DD.", field="date") from None
    return operation.strip(), paid_on

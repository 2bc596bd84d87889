"""Shared conversions of the control adapters."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def valid_id(value: str) -> bool:
    return bool(value) and len(value) <= 64


def hashed(text: str) -> str:
    """Keys that would otherwise hold a document number or a name."""
    return hashlib.sha256(text.encode()).hexdigest()

"""Officers' work (annex 2): the equitable distribution of people among attention officers, each person's
case (contact log, first registration), and the districts they work in."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import ValidationError


@dataclass(frozen=True)
class Officer:
    """An attention officer ("Encargado de Atención de Control Virtual") of one district."""

    district: str
    officer_id: str  # the operator token's subject
    active: bool = True
    assigned: int = 0  # open cases on the officer's list (measures still in force)
    name: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""
    version: int = 0


def pick_officer(officers: Iterable[Officer], rng: random.Random) -> Officer | None:
    """Random and equitable: uniformly at random among the active officers with the fewest open cases.

    Candidates are sorted by id before the draw, so a seeded generator gives the same picks whatever order
    the database returned them in.
    """
    active = [o for o in officers if o.active]
    if not active:
        return None
    fewest = min(o.assigned for o in active)
    candidates = sorted((o for o in active if o.assigned == fewest), key=lambda o: o.officer_id)
    return rng.choice(candidates)


def distribute(officers: Sequence[Officer], count: int, rng: random.Random) -> tuple[list[str], list[Officer]]:
    """Assign ``count`` new cases one after another; returns the picks and the officers' new counts."""
    current = {o.officer_id: o for o in officers}
    picks: list[str] = []
    for _ in range(count):
        chosen = pick_officer(current.values(), rng)
        if chosen is None:
            break
        picks.append(chosen.officer_id)
        current[chosen.officer_id] = replace(chosen, assigned=chosen.assigned + 1)
    return picks, list(current.values())


def rebalance_moves(officers: Sequence[Officer], newcomer: str) -> list[str]:
    """When an officer joins, the officers above the fair share hand their surplus to them: returns, in
    order, the officer each moved case comes from (the most loaded first), until nobody is more than one
    case above the newcomer."""
    loads = {o.officer_id: o.assigned for o in officers if o.active}
    if newcomer not in loads:
        return []
    moves: list[str] = []
    while True:
        donor = max(sorted(loads), key=lambda k: loads[k])
        if donor == newcomer or loads[donor] - loads[newcomer] <= 1:
            return moves
        moves.append(donor)
        loads[donor] -= 1
        loads[newcomer] += 1


def parse_officer_change(payload: Any) -> tuple[bool, str | None]:
    """{"active": true|false, "name": "..."}: an officer is added, renamed, activated or deactivated."""
    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"active\": true|false}.", field="active", code="invalid_body")
    unknown = sorted(set(payload) - {"active", "name"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    active = payload.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError("Expected true or false.", field="active")
    name = payload.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 120):
        raise ValidationError("Expected a name of at most 120 characters.", field="name")
    return active, name


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"


UNANSWERED = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY})
UNASSIGNED = "~unassigned"


@dataclass(frozen=True)
class ContactAttempt:
    at: datetime
    officer: str
    outcome: CallOutcome
    note: str = ""


class CaseReason(StrEnum):
    """Why a person is on an officer's list."""

    ENROLLED = "enrolled"
    NOT_ENROLLED = "not_enrolled"  # the first-registration deadline passed with no enrolment: phone them


@dataclass(frozen=True)
class Case:
    """One person under virtual control (their measure chain) as an officer works it (annex 2)."""

    chain_id: str
    district: str
    measure_id: str
    opened_at: datetime
    reason: str = CaseReason.ENROLLED.value
    officer: str | None = None
    open: bool = True  # closed when the measure ends: the slot is free again
    contacts: tuple[ContactAttempt, ...] = ()
    sms_requested_at: datetime | None = None
    features: dict[str, Any] | None = None  # "Actualizar — Detalle de la Parte": identifying features
    first_registered_at: datetime | None = None
    first_registered_by: str | None = None
    version: int = 0

    @property
    def untouched(self) -> bool:
        return not self.contacts and self.first_registered_at is None

    def log_call(self, attempt: ContactAttempt) -> tuple[Case, bool]:
        """Record a call; the second unanswered call in a row makes the annex 2 (a) SMS due, once ever."""
        updated = replace(self, contacts=(*self.contacts, attempt))
        if self.sms_requested_at is not None:
            return updated, False
        unanswered = 0
        for contact in reversed(updated.contacts):
            if contact.outcome not in UNANSWERED:
                break
            unanswered += 1
        if unanswered >= 2:
            return replace(updated, sms_requested_at=attempt.at), True
        return updated, False


def parse_call(payload: Any) -> tuple[CallOutcome, str]:
    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"outcome\": ...}.", field="outcome", code="invalid_body")
    unknown = sorted(set(payload) - {"outcome", "note"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    allowed = [o.value for o in CallOutcome]
    if payload.get("outcome") not in allowed:
        raise ValidationError(f"Expected one of {', '.join(allowed)}.", field="outcome")
    note = payload.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationError("Expected a note of at most 500 characters.", field="note")
    return CallOutcome(payload["outcome"]), note.strip()


def parse_reason(payload: Any, field: str = "reason") -> str:
    """An officer's audited action needs its reason in words."""
    value = payload.get(field) if isinstance(payload, dict) else None
    if not isinstance(value, str) or not 5 <= len(value.strip()) <= 500:
        raise ValidationError("Expected the reason, 5 to 500 characters.", field=field)
    return " ".join(value.split())


FEATURE_FIELDS = ("height_cm", "build", "complexion", "eye_colour", "hair", "distinguishing_marks", "other")


def parse_features(data: Any) -> dict[str, Any]:
    """Identifying features of a person without a document (annex 2, activity 7.6), as short texts."""
    if not isinstance(data, dict) or not data:
        raise ValidationError(f"Expected identifying features: some of {', '.join(FEATURE_FIELDS)}.",
                              field="features")
    unknown = sorted(set(data) - set(FEATURE_FIELDS))
    if unknown:
        raise ValidationError("Unknown feature.", field=f"features.{unknown[0]}", code="unknown_field")
    features: dict[str, Any] = {}
    for name, value in data.items():
        if name == "height_cm":
            if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 230:
                raise ValidationError("Expected a height in centimetres (100–230).", field="features.height_cm")
            features[name] = value
        elif not isinstance(value, str) or not value.strip() or len(value) > 300:
            raise ValidationError("Expected text of at most 300 characters.", field=f"features.{name}")
        else:
            features[name] = " ".join(value.split())
    return features

"""Enrolment ("empadronamiento", annexes 1–2): the form, the link between one chat and one measure chain,
and the attempts that must reach a person who can act on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import DomainError, ValidationError
from .people import Person, parse_district, parse_person

ENROLMENT_FIELDS = {"mobile", "has_document", "nationality", "document_type", "document_number", "given_names",
                    "surnames", "address", "language", "district"}
LANGUAGES = ("es", "en")


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    PENDING_CONFIRMATION = "pending_confirmation"  # enrolled by name only: an officer confirms who they are
    CLOSED = "closed"  # unlinked by an officer (relinked elsewhere, or not confirmed)


@dataclass(frozen=True)
class EnrolmentForm:
    """Annex 1 as the person filled it in."""

    person: Person
    mobile: str
    address: str
    language: str
    district: str | None = None  # only asked when no measure is found: where to route the request

    def contact(self) -> dict[str, str]:
        return {"mobile": self.mobile, "address": self.address, "language": self.language}


def parse_enrolment_form(payload: Any) -> EnrolmentForm:
    if not isinstance(payload, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(payload) - ENROLMENT_FIELDS)
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    mobile = str(payload.get("mobile", "")).replace(" ", "")
    if not mobile.lstrip("+").isdigit() or not 9 <= len(mobile.lstrip("+")) <= 15:
        raise ValidationError("Expected a mobile number such as +51987654321.", field="mobile")
    address = " ".join(str(payload.get("address", "")).split())
    if not 5 <= len(address) <= 200:
        raise ValidationError("Expected an address of 5 to 200 characters.", field="address")
    language = payload.get("language", "es")
    if language not in LANGUAGES:
        raise ValidationError("Expected \"es\" or \"en\".", field="language")
    district = parse_district(payload["district"]) if payload.get("district") else None
    return EnrolmentForm(person=parse_person(payload, prefix=""), mobile=mobile, address=address,
                         language=language, district=district)


@dataclass(frozen=True)
class Enrolment:
    owner: str  # the chat account, "telegram:<id>"; never shown in URLs
    measure_id: str  # the chain's measure in force
    chain_id: str
    mobile: str
    address: str
    language: str
    enrolled_at: datetime
    status: str = EnrolmentStatus.ACTIVE.value
    photo_key: str | None = None
    confirmed_by: str | None = None
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE

    @property
    def linked(self) -> bool:
        return self.status != EnrolmentStatus.CLOSED


def needs_photo(person: Person) -> bool:
    """People without an identity document and foreigners send a first-registration photo."""
    return not person.has_dni


def needs_confirmation(person: Person) -> bool:
    """A name is not proof: an enrolment without a document waits for an officer to confirm it."""
    return not person.has_document


@dataclass(frozen=True)
class LinkAttempt:
    """Another chat claimed a person whose measure is already linked: kept for the officers, who may relink."""

    attempt_id: str
    measure_id: str
    chain_id: str
    owner: str
    form: dict[str, str]  # mobile, address, language of the claiming chat
    at: datetime
    resolved: str | None = None  # "relinked" once an officer moved the link here


def link_attempt_id(chain_id: str, owner: str) -> str:
    """The same chat claiming the same person again is the same attempt (one incident, not one per try)."""
    return "a" + hashlib.sha256(f"link#{chain_id}#{owner}".encode()).hexdigest()[:31]


@dataclass(frozen=True)
class UnmatchedEnrolment:
    """An enrolment for which no measure exists yet: the CVP head asks the court for it (procedure 5.3 d)."""

    attempt_id: str
    district: str
    owner: str
    person: Person
    form: dict[str, str]
    at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None  # "measure_created" | "dismissed"


def unmatched_id(owner: str, person_key: str) -> str:
    return "u" + hashlib.sha256(f"unmatched#{owner}#{person_key}".encode()).hexdigest()[:31]


def e164(mobile: str) -> str:
    """A mobile as enrolled (987654321, +51987654321) in E.164; Peruvian numbers may omit +51."""
    digits = mobile.strip().replace(" ", "")
    if digits.startswith("+"):
        return digits
    if len(digits) == 9 and digits.startswith("9"):
        return f"+51{digits}"
    return f"+{digits}"

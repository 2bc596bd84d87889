"""Identity documents and the applicant's data: formats, the DNI check character, field validation."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from .errors import FieldErrors, ValidationError


class DocumentType(StrEnum):
    DNI = "DNI"
    CE = "CE"  # Carné de Extranjería
    PTP = "PTP"  # Permiso Temporal de Permanencia / Carné de Permiso Temporal (CPP)
    PASSPORT = "PASSPORT"


FOREIGN_DOCUMENT_TYPES = frozenset({DocumentType.CE, DocumentType.PTP, DocumentType.PASSPORT})

_DNI_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
# Indexed by the weighted sum modulo 11: the digit and the letter RENIEC prints after the number.
_DNI_DIGITS = "65432110987"
_DNI_LETTERS = "KJIHGFEDCBA"

_FORMATS: dict[DocumentType, tuple[re.Pattern[str], str]] = {
    DocumentType.DNI: (re.compile(r"\d{8}"), "8 digits"),
    DocumentType.CE: (re.compile(r"[A-Z0-9]{6,12}"), "6 to 12 letters or digits"),
    DocumentType.PTP: (re.compile(r"[A-Z0-9]{6,12}"), "6 to 12 letters or digits"),
    DocumentType.PASSPORT: (re.compile(r"[A-Z0-9]{6,9}"), "6 to 9 letters or digits"),
}

_NAME_PUNCTUATION = frozenset(" '’-.")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
_COUNTRY = re.compile(r"[A-Z]{3}")
MAX_NAME_LENGTH = 60
ADULT_AGE = 18


def dni_check_characters(number: str) -> tuple[str, str]:
    """The two accepted check characters (digit, letter) for an 8-digit DNI number."""
    if not re.fullmatch(r"\d{8}", number):
        raise ValidationError("The DNI must be 8 digits.", field="document_number")
    remainder = sum(w * int(d) for w, d in zip(_DNI_WEIGHTS, number, strict=True)) % 11
    return _DNI_DIGITS[remainder], _DNI_LETTERS[remainder]


def is_valid_dni_check_character(number: str, character: str) -> bool:
    return character.strip().upper() in dni_check_characters(number)


def normalise_document_number(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw).upper()


def validate_document(document_type: str, number: str) -> tuple[DocumentType, str]:
    """The document type and its number as printed. A DNI may carry its check character after the number
    ("45678912-4"): it is a typing check only (anyone can compute it), so a wrong one is a typo."""
    try:
        kind = DocumentType(document_type)
    except ValueError:
        allowed = ", ".join(t.value for t in DocumentType)
        raise ValidationError(f"Unknown document type; expected one of {allowed}.",
                              field="document_type", code="unknown_document_type") from None
    cleaned = normalise_document_number(number)
    if kind is DocumentType.DNI and re.fullmatch(r"\d{8}[0-9A-K]", cleaned):
        cleaned, character = cleaned[:8], cleaned[8]
        if not is_valid_dni_check_character(cleaned, character):
            raise ValidationError("The character after the DNI number does not match it: check the number.",
                                  field="document_number", code="check_character_mismatch")
    pattern, expected = _FORMATS[kind]
    if not pattern.fullmatch(cleaned):
        raise ValidationError(f"The {kind.value} number must be {expected}.", field="document_number")
    return kind, cleaned


def clean_name(value: str, field: str, *, required: bool = True) -> str:
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        if required:
            raise ValidationError("This field is required.", field=field, code="missing_field")
        return ""
    if len(text) > MAX_NAME_LENGTH:
        raise ValidationError(f"Must be at most {MAX_NAME_LENGTH} characters.", field=field)
    for ch in text:
        category = unicodedata.category(ch)
        if ch.isdigit():
            raise ValidationError("Names cannot contain digits.", field=field)
        if not (category.startswith("L") or category.startswith("M") or ch in _NAME_PUNCTUATION):
            raise ValidationError("Only letters, spaces, apostrophes and hyphens are allowed.", field=field)
    if not any(unicodedata.category(ch).startswith("L") for ch in text):
        raise ValidationError("Must contain letters.", field=field)
    return text


def parse_date(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise ValidationError("Expected a date as YYYY-MM-DD.", field=field, code="wrong_type")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Expected a real date as YYYY-MM-DD.", field=field) from None


def validate_birth_date(value: Any, today: date) -> date:
    born = parse_date(value, "birth_date")
    if born > today:
        raise ValidationError("The date of birth cannot be in the future.", field="birth_date",
                              code="date_in_future")
    if born.year < 1900:
        raise ValidationError("The date of birth is too far in the past.", field="birth_date")
    adult_from = date(born.year + ADULT_AGE, born.month, 28 if (born.month, born.day) == (2, 29) else born.day)
    if adult_from > today:
        raise ValidationError("The applicant must be at least 18 years old.", field="birth_date",
                              code="not_adult")
    return born


@dataclass(frozen=True)
class Applicant:
    nationality: str
    document_type: DocumentType
    document_number: str
    given_names: str
    first_surname: str
    second_surname: str
    birth_date: date
    email: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_names, self.first_surname, self.second_surname) if p)

    @property
    def is_foreigner(self) -> bool:
        return self.document_type in FOREIGN_DOCUMENT_TYPES

    def to_dict(self) -> dict[str, Any]:
        return {
            "nationality": self.nationality,
            "document_type": self.document_type.value,
            "document_number": self.document_number,
            "given_names": self.given_names,
            "first_surname": self.first_surname,
            "second_surname": self.second_surname,
            "birth_date": self.birth_date.isoformat(),
            "email": self.email,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Applicant:
        return cls(
            nationality=data["nationality"],
            document_type=DocumentType(data["document_type"]),
            document_number=data["document_number"],
            given_names=data["given_names"],
            first_surname=data["first_surname"],
            second_surname=data.get("second_surname") or "",
            birth_date=date.fromisoformat(data["birth_date"]),
            email=data.get("email"),
        )


APPLICANT_FIELDS = ("nationality", "document_type", "document_number", "given_names", "first_surname",
                    "second_surname", "birth_date", "email")
_REQUIRED = ("nationality", "document_type", "document_number", "given_names", "first_surname", "birth_date")


def validate_applicant(data: Any, today: date) -> Applicant:
    """Check every field and report all that are wrong, each naming its field."""
    if not isinstance(data, dict):
        raise ValidationError("Expected an object with the applicant's data.", field="applicant",
                              code="wrong_type")
    errors: list[ValidationError] = []
    for name in sorted(set(data) - set(APPLICANT_FIELDS)):
        errors.append(ValidationError("Unknown field.", field=name, code="unknown_field"))
    for name in _REQUIRED:
        if data.get(name) in (None, ""):
            errors.append(ValidationError("This field is required.", field=name, code="missing_field"))
    for name in APPLICANT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            errors.append(ValidationError("Expected text.", field=name, code="wrong_type"))
    if errors:
        raise FieldErrors(errors)

    values: dict[str, Any] = {}

    def attempt(field: str, fn: Any) -> None:
        try:
            values[field] = fn()
        except ValidationError as exc:
            errors.append(exc)

    nationality = data["nationality"].strip().upper()
    attempt("nationality", lambda: _check_country(nationality))
    attempt("document", lambda: validate_document(data["document_type"], data["document_number"]))
    attempt("given_names", lambda: clean_name(data["given_names"], "given_names"))
    attempt("first_surname", lambda: clean_name(data["first_surname"], "first_surname"))
    attempt("second_surname", lambda: clean_name(data.get("second_surname") or "", "second_surname",
                                                 required=False))
    attempt("birth_date", lambda: validate_birth_date(data["birth_date"], today))
    email = (data.get("email") or "").strip() or None
    if email is not None and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        errors.append(ValidationError("Expected an e-mail address like name@example.com.", field="email"))
    if "document" in values and "nationality" in values:
        kind = values["document"][0]
        if kind is DocumentType.DNI and nationality != "PER":
            errors.append(ValidationError("A DNI belongs to Peruvian nationals; choose the foreigner's "
                                          "document type.", field="document_type", code="document_nationality"))
        if kind is not DocumentType.DNI and nationality == "PER":
            errors.append(ValidationError("Peruvian nationals apply with their DNI.", field="document_type",
                                          code="document_nationality"))
        if kind is DocumentType.DNI and not values.get("second_surname", "x"):
            errors.append(ValidationError("Both surnames are required, as printed on the DNI.",
                                          field="second_surname", code="missing_field"))
    if errors:
        raise FieldErrors(errors)
    kind, number = values["document"]
    return Applicant(nationality=nationality, document_type=kind, document_number=number,
                     given_names=values["given_names"], first_surname=values["first_surname"],
                     second_surname=values["second_surname"], birth_date=values["birth_date"], email=email)


@cache
def countries() -> dict[str, str]:
    """ISO 3166 alpha-3 codes in use (CLDR's list), each with its alpha-2 code."""
    path = Path(__file__).resolve().parent.parent / "data" / "countries.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _check_country(code: str) -> str:
    if not _COUNTRY.fullmatch(code):
        raise ValidationError("Expected a three-letter country code such as PER or VEN.", field="nationality")
    if code not in countries():
        raise ValidationError("No country has that code; expected an ISO 3166 alpha-3 code such as VEN.",
                              field="nationality", code="unknown_country")
    return code


def validate_applicant_fields(data: Any, today: date) -> None:
    """Check only the fields given, each where it is entered (the chat asks one field at a time)."""
    if not isinstance(data, dict):
        raise ValidationError("Expected an object with the applicant's data.", field="applicant",
                              code="wrong_type")
    errors: list[ValidationError] = []
    for name in sorted(set(data) - set(APPLICANT_FIELDS)):
        errors.append(ValidationError("Unknown field.", field=name, code="unknown_field"))
    checks: dict[str, Any] = {
        "nationality": lambda v: _check_country(v.strip().upper()),
        "given_names": lambda v: clean_name(v, "given_names"),
        "first_surname": lambda v: clean_name(v, "first_surname"),
        "second_surname": lambda v: clean_name(v, "second_surname", required=False),
        "birth_date": lambda v: validate_birth_date(v, today),
        "document_type": lambda v: validate_document(v, "00000000" if v == "DNI" else "ABC123"),
    }
    for name, check in checks.items():
        if name in data:
            try:
                if not isinstance(data[name], str):
                    raise ValidationError("Expected text.", field=name, code="wrong_type")
                check(data[name])
            except ValidationError as exc:
                errors.append(exc)
    if "document_number" in data:
        try:
            validate_document(str(data.get("document_type") or "DNI"), str(data["document_number"]))
        except ValidationError as exc:
            errors.append(exc)
    email = (data.get("email") or "").strip() if isinstance(data.get("email"), str) else ""
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        errors.append(ValidationError("Expected an e-mail address like name@example.com.", field="email"))
    if errors:
        raise FieldErrors(errors)

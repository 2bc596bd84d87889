"""The person a court measure is about, the judicial districts, and what a case file number says of its court."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..identity import clean_name, validate_document
from ..matching import normalise_name

# e.g. 00123-2020-0-1801-JR-PE-01: number-year-incident-court district code-body-speciality-court number.
CASE_FILE = re.compile(r"\d{5}-\d{4}-\d{1,2}-(\d{4}-[A-Z]{2}-[A-Z]{2}-\d{2})")


@cache
def judicial_districts() -> dict[str, str]:
    """Code (as measures, calendars and operator scopes write it) → the name a person reads."""
    path = Path(__file__).resolve().parents[2] / "data" / "judicial_districts.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dict(data["districts"])


def parse_district(value: Any, field: str = "district") -> str:
    text = " ".join(str(value or "").replace("_", " ").split()).upper()
    if text not in judicial_districts():
        raise ValidationError("Expected a judicial district such as LIMA, CALLAO or CUSCO.", field=field,
                              code="unknown_district")
    return text


def superior_court(district: str) -> str:
    """Annex 3 (a) greets in the name of the district's Corte Superior de Justicia."""
    name = judicial_districts().get(district, district.title())
    article = "del " if name in ("Callao", "Del Santa") else "de "
    return f"Corte Superior de Justicia {article}{name.removeprefix('Del ')}"


def parse_case_file(value: Any) -> str:
    text = str(value).strip().upper()
    if not CASE_FILE.fullmatch(text):
        raise ValidationError("Expected a case file number like 00123-2020-0-1801-JR-PE-01.", field="case_file")
    return text


def court_code(case_file: str) -> str:
    """The court a case file belongs to (district code, body, speciality, number): 1801-JR-PE-01."""
    match = CASE_FILE.fullmatch(case_file)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Person:
    has_document: bool
    nationality: str
    document_type: str | None
    document_number: str | None
    given_names: str
    surnames: str

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surnames}"

    @property
    def has_dni(self) -> bool:
        return self.has_document and self.document_type == "DNI"

    @property
    def key(self) -> str:
        """What finds this person's measures: the document, or the normalised full name for people with none."""
        if self.has_document and self.document_number:
            return f"{self.document_type}#{self.document_number}"
        return f"NAME#{normalise_name(self.full_name)}"

    @property
    def identity_document(self) -> str:
        return f"{self.document_type} {self.document_number}" if self.has_document else "Sin documento"


def parse_person(data: Any, prefix: str = "person.") -> Person:
    if not isinstance(data, dict):
        raise ValidationError("Expected the person's data.", field=prefix.rstrip("."), code="wrong_type")
    has_document = data.get("has_document", True)
    if not isinstance(has_document, bool):
        raise ValidationError("Expected true or false.", field=f"{prefix}has_document")
    document_type = number = None
    if has_document:
        document_type, number = validate_document(str(data.get("document_type", "")),
                                                  str(data.get("document_number", "")))
    nationality = str(data.get("nationality", "PER")).upper()
    if not re.fullmatch(r"[A-Z]{3}", nationality):
        raise ValidationError("Expected a three-letter country code such as PER.", field=f"{prefix}nationality")
    return Person(has_document=has_document, nationality=nationality,
                  document_type=document_type.value if document_type else None, document_number=number,
                  given_names=clean_name(str(data.get("given_names", "")), f"{prefix}given_names"),
                  surnames=clean_name(str(data.get("surnames", "")), f"{prefix}surnames"))


def same_name(a: str, b: str) -> bool:
    return bool(a.strip()) and normalise_name(a) == normalise_name(b)

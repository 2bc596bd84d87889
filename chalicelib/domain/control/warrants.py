"""The warrants registry ("requisitorias"): what a row holds and how a CSV row is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..identity import parse_date
from .people import parse_person

WARRANT_COLUMNS = ("warrant_id", "given_names", "surnames", "document_number", "issued_by", "issued_on")


@dataclass(frozen=True)
class Warrant:
    warrant_id: str
    full_name: str
    document_number: str | None
    issued_by: str
    issued_on: date | None


def parse_warrant_row(row: dict[str, str], new_id: str) -> tuple[Warrant, str]:
    """A registry row: the warrant and the surnames its name index is built from."""
    number = (row.get("document_number") or "").strip()
    person = parse_person({"has_document": bool(number), "document_type": "DNI", "document_number": number,
                           "given_names": row.get("given_names", ""), "surnames": row.get("surnames", "")},
                          prefix="")
    issued = (row.get("issued_on") or "").strip()
    warrant = Warrant((row.get("warrant_id") or "").strip() or new_id, person.full_name, person.document_number,
                      (row.get("issued_by") or "").strip(), parse_date(issued, "issued_on") if issued else None)
    return warrant, person.surnames

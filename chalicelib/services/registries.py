"""Bulk CSV import of the local registries: all rows are checked first, then all are written, or none."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime
from typing import Any

from ..domain.errors import NotFound, ValidationError
from ..domain.identity import DocumentType, clean_name, parse_date, validate_document
from ..domain.matching import RegistryPerson
from ..domain.ports import AuditEntry, IdentityRecord

IDENTITY_COLUMNS = ("document_type", "document_number", "given_names", "first_surname", "second_surname",
                    "birth_date", "issue_date", "expiry_date", "nationality", "father_name", "mother_name")
RECORD_COLUMNS = ("record_id", "given_names", "first_surname", "second_surname", "document_type",
                  "document_number", "birth_date", "case_file", "court", "offence", "case_date")
MAX_ROWS = 50_000


def columns(registry: str) -> list[str]:
    if registry == "identity":
        return list(IDENTITY_COLUMNS)
    if registry == "penitentiary":
        return list(RECORD_COLUMNS)
    raise NotFound("Unknown registry; expected identity or penitentiary.")


def _rows(text: str, expected: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in expected if c not in header]
    if missing:
        raise ValidationError(f"The CSV header lacks columns: {', '.join(missing)}.", field="header",
                              code="missing_columns")
    rows = []
    for row in reader:
        rows.append({k: (v or "").strip() for k, v in row.items() if k})
        if len(rows) > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} rows per import.", field="rows", code="too_many_rows")
    return rows


def _optional_date(value: str, field: str) -> date | None:
    return parse_date(value, field) if value else None


def parse_identity_row(row: dict[str, str]) -> IdentityRecord:
    kind, number = validate_document(row["document_type"], row["document_number"])
    return IdentityRecord(
        document_type=kind.value, document_number=number,
        given_names=clean_name(row["given_names"], "given_names"),
        first_surname=clean_name(row["first_surname"], "first_surname"),
        second_surname=clean_name(row["second_surname"], "second_surname", required=False),
        birth_date=parse_date(row["birth_date"], "birth_date"),
        issue_date=_optional_date(row["issue_date"], "issue_date"),
        expiry_date=_optional_date(row["expiry_date"], "expiry_date"),
        nationality=(row["nationality"] or ("PER" if kind is DocumentType.DNI else "")).upper(),
        father_name=row.get("father_name", ""), mother_name=row.get("mother_name", ""))


def parse_record_rows(rows: list[dict[str, str]]) -> tuple[list[tuple[RegistryPerson, tuple[str, str]]],
                                                                list[dict[str, Any]]]:
    people: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    for line, row in enumerate(rows, start=2):
        try:
            record_id = row["record_id"] or f"R-{secrets.token_hex(6)}"
            given = clean_name(row["given_names"], "given_names")
            first = clean_name(row["first_surname"], "first_surname")
            second = clean_name(row["second_surname"], "second_surname", required=False)
            number = None
            kind = None
            if row["document_number"]:
                kind, number = validate_document(row["document_type"] or "DNI", row["document_number"])
            birth = _optional_date(row["birth_date"], "birth_date")
            case = {"case_file": row["case_file"], "court": row["court"], "offence": row["offence"],
                    "date": row["case_date"]}
        except ValidationError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
            continue
        entry = people.setdefault(record_id, {
            "full_name": " ".join(p for p in (given, first, second) if p), "document_type": kind,
            "document_number": number, "birth_date": birth, "cases": [], "surnames": (first, second)})
        if any(case.values()):
            entry["cases"].append(case)
    parsed = [
        (RegistryPerson(record_id=rid, full_name=e["full_name"],
                        document_type=e["document_type"].value if e["document_type"] else None,
                        document_number=e["document_number"], birth_date=e["birth_date"], cases=tuple(e["cases"])),
         e["surnames"])
        for rid, e in people.items()]
    return parsed, errors


def import_csv(registry: str, text: str, c: Any) -> dict[str, Any]:
    """Validate every row; write only if all are valid, so a bad file changes nothing."""
    rows = _rows(text, tuple(columns(registry)))
    errors: list[dict[str, Any]] = []
    if registry == "identity":
        records = []
        for line, row in enumerate(rows, start=2):
            try:
                records.append(parse_identity_row(row))
            except ValidationError as exc:
                errors.append({"line": line, "field": exc.field, "message": exc.message})
        if errors:
            raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                                  code="invalid_rows", details={"errors": errors[:100]})
        for record in records:
            c.identity.put(record)
        return {"registry": registry, "imported": len(records)}
    people, errors = parse_record_rows(rows)
    if errors:
        raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                              code="invalid_rows", details={"errors": errors[:100]})
    for person, surnames in people:
        c.registry.put(person, surnames)
    return {"registry": registry, "imported": len(people)}


def audit_entry(who: Any, registry: str, report: dict[str, Any], at: datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=who.subject, role=",".join(sorted(who.roles)), action="registry.import",
                      target=registry, details={"imported": report["imported"]})

"""Bulk CSV imports of the registries (identity and penitentiary for local use, the warrants registry's stand-in):
one importer per registry, each run as a job (services.jobs: every row checked first, then staged and switched,
so that nothing is seen unless everything is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from ..domain.control.ports import WarrantsRegistry
from ..domain.control.warrants import WARRANT_COLUMNS, Warrant, parse_warrant_row
from ..domain.errors import NotFound, ValidationError
from ..domain.identity import DocumentType, clean_name, parse_date, validate_document
from ..domain.jobs import Job, derived_id, error_row
from ..domain.matching import RegistryPerson
from ..domain.ports import IdentityRecord, IdentityWriter, RecordWriter

IDENTITY_COLUMNS = ("document_type", "document_number", "given_names", "first_surname", "second_surname",
                    "birth_date", "issue_date", "expiry_date", "nationality", "father_name", "mother_name")
RECORD_COLUMNS = ("record_id", "given_names", "first_surname", "second_surname", "document_type",
                  "document_number", "birth_date", "case_file", "court", "offence", "case_date")
REGISTRIES = ("identity", "penitentiary", "warrants")


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


def _duplicates(parsed: list[tuple[int, Any]], key: Any, field: str, what: str) -> tuple[list[Any], list[dict]]:
    seen: dict[Any, int] = {}
    units, errors = [], []
    for line, item in parsed:
        k = key(item)
        if k in seen:
            errors.append(error_row(line, ValidationError(f"The same {what} as line {seen[k]}.", field=field,
                                                          code="duplicate_row")))
            continue
        seen[k] = line
        units.append(item)
    return units, errors


class IdentityImporter:
    columns = IDENTITY_COLUMNS

    def __init__(self, writer: IdentityWriter) -> None:
        self.writer = writer

    def parse(self, row: dict[str, str]) -> IdentityRecord:
        return parse_identity_row(row)

    def units(self, parsed: list[tuple[int, Any]], job: Job) -> tuple[list[Any], list[dict[str, Any]]]:
        return _duplicates(parsed, lambda r: (r.document_type, r.document_number), "document_number", "document")

    def write_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.put_many(list(units), stage=stage)

    def publish_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.publish_many(list(units), stage)

    def discard_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.discard_many(list(units), stage)


class PenitentiaryImporter:
    """A person's cases come one per row, under the same record id: rows group into one record each."""

    columns = RECORD_COLUMNS

    def __init__(self, writer: RecordWriter) -> None:
        self.writer = writer

    def parse(self, row: dict[str, str]) -> dict[str, Any]:
        given = clean_name(row["given_names"], "given_names")
        first = clean_name(row["first_surname"], "first_surname")
        second = clean_name(row["second_surname"], "second_surname", required=False)
        kind, number = None, None
        if row["document_number"]:
            kind, number = validate_document(row["document_type"] or "DNI", row["document_number"])
        return {"record_id": row["record_id"],
                "full_name": " ".join(p for p in (given, first, second) if p),
                "document_type": kind.value if kind else None, "document_number": number,
                "birth_date": _optional_date(row["birth_date"], "birth_date"), "surnames": (first, second),
                "case": {"case_file": row["case_file"], "court": row["court"], "offence": row["offence"],
                         "date": row["case_date"]}}

    def units(self, parsed: list[tuple[int, Any]], job: Job) -> tuple[list[Any], list[dict[str, Any]]]:
        people: dict[str, dict[str, Any]] = {}
        for line, row in parsed:
            # A row without a record id is a person of its own, under an id every slice of the job agrees on.
            record_id = row["record_id"] or f"R-{derived_id(job.job_id, line)[:12]}"
            entry = people.setdefault(record_id, {**row, "cases": []})
            if any(row["case"].values()):
                entry["cases"].append(row["case"])
        return [(RegistryPerson(record_id=rid, full_name=e["full_name"], document_type=e["document_type"],
                                document_number=e["document_number"], birth_date=e["birth_date"],
                                cases=tuple(e["cases"])), e["surnames"]) for rid, e in people.items()], []

    def write_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.put_many(list(units), stage=stage)

    def publish_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.publish_many(list(units), stage)

    def discard_batch(self, units: Sequence[Any], stage: str) -> None:
        self.writer.discard_many(list(units), stage)


class WarrantsImporter:
    columns = WARRANT_COLUMNS

    def __init__(self, registry: WarrantsRegistry) -> None:
        self.registry = registry

    def parse(self, row: dict[str, str]) -> tuple[Warrant, str]:
        return parse_warrant_row(row, "")  # a warrant without an id gets one in units()

    def units(self, parsed: list[tuple[int, Any]], job: Job) -> tuple[list[Any], list[dict[str, Any]]]:
        named = [(line, (w if w.warrant_id else replace(w, warrant_id=derived_id(job.job_id, line)), surnames))
                 for line, (w, surnames) in parsed]
        return _duplicates(named, lambda w: w[0].warrant_id, "warrant_id", "warrant")

    def write_batch(self, units: Sequence[Any], stage: str) -> None:
        self.registry.put_warrants(list(units), stage=stage)

    def publish_batch(self, units: Sequence[Any], stage: str) -> None:
        self.registry.publish_warrants(list(units), stage)

    def discard_batch(self, units: Sequence[Any], stage: str) -> None:
        self.registry.discard_warrants(list(units), stage)


def columns(registry: str) -> list[str]:
    if registry not in REGISTRIES:
        raise NotFound("Unknown registry; expected identity, penitentiary or warrants.")
    return list({"identity": IDENTITY_COLUMNS, "penitentiary": RECORD_COLUMNS, "warrants": WARRANT_COLUMNS}[registry])

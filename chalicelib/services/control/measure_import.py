"""A court's CSV of measures, imported as a job (services.jobs) with all rows or none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...domain.control.measures import Measure, parse_measure
from ...domain.control.ports import Calendars, Measures, Officers, UnitOfWork
from ...domain.errors import Conflict, DomainError, Forbidden, ValidationError
from ...domain.jobs import Job, RowRefused, derived_id
from ...domain.operators import Operator, Role
from ...domain.ports import AlreadyExists, Clock
from ...domain.requests import Event
from .calendar import known_groups
from .common import audit_entry

MEASURE_CSV_COLUMNS = ("has_document", "nationality", "document_type", "document_number", "given_names",
                       "surnames", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
                       "first_registration_deadline", "end_date", "area", "group", "resolution_date")


def _csv_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "person": {"has_document": row["has_document"].strip().lower() in ("1", "true", "si", "sí", "yes"),
                   "nationality": row["nationality"], "document_type": row["document_type"],
                   "document_number": row["document_number"], "given_names": row["given_names"],
                   "surnames": row["surnames"]},
        **{k: row[k] for k in ("case_file", "court", "district", "legal_status", "periodicity", "start_date",
                               "first_registration_deadline", "end_date", "group")},
    }
    for optional in ("area", "area_label", "resolution_date"):
        if row.get(optional):
            payload[optional] = row[optional]
    return payload


@dataclass(frozen=True)
class MeasureUnit:
    """One row of a court's import: its line, the measure it makes, and who imports it (the job's submitter)."""

    line: int
    measure: Measure
    operator: Operator


class MeasureImporter:
    """A court's CSV of measures as an import job (services.jobs), all rows or none: every row checked first
    (its fields, the submitter's courts, the same person and case file twice in the file or active in the system);
    staging claims each person and case file for the job's measures (no form nor other import can take them
    meanwhile: one taken since the check refuses the job, and its claims are released); the switch commits the
    job; publishing writes each measure with its audit entry and its event in one transaction (a measure
    published already is skipped, so a resumed slice adds nothing twice). Measures appear as they are published,
    seconds after the switch; none appears for a job that was refused or discarded."""

    columns = MEASURE_CSV_COLUMNS

    def __init__(self, measures: Measures, calendars: Calendars, officers: Officers, uow: UnitOfWork,
                 clock: Clock) -> None:
        self.measures, self.calendars, self.officers, self.uow, self.clock = (measures, calendars, officers, uow,
                                                                              clock)

    def parse(self, row: dict[str, str]) -> Measure:
        return parse_measure(_csv_payload(row), measure_id="", now=self.clock.now(), created_by="")

    def units(self, parsed: list[tuple[int, Any]], job: Job) -> tuple[list[Any], list[dict[str, Any]]]:
        submitter = Operator(job.created_by, frozenset({Role.COURT.value}), courts=frozenset(job.scope))
        groups: dict[tuple[str, int], set[str] | None] = {}
        units: list[MeasureUnit] = []
        errors: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for line, parsed_measure in parsed:
            measure = replace(parsed_measure, measure_id=derived_id(job.job_id, line), created_at=job.created_at,
                              created_by=job.created_by)
            at = (measure.district, measure.start_date.year)
            if at not in groups:
                groups[at] = known_groups(self.calendars, *at)
            known = groups[at]
            problem: DomainError | None = None
            if known is not None and measure.group not in known:
                problem = ValidationError(f"Unknown group; the calendar has {', '.join(sorted(known))}.",
                                          field="group")
            elif not submitter.covers_court(measure.court_code):
                problem = Forbidden("The case file belongs to a court outside your scope.", code="out_of_scope",
                                    field="case_file")
            elif measure.identity_key in seen:
                problem = Conflict(f"The same person and case file as line {seen[measure.identity_key]}.",
                                   field="case_file", code="measure_exists")
            else:
                holder = self.measures.measure_holding_key(measure.identity_key)
                if holder is not None and holder != measure.measure_id:  # (this job's own claim: a resumed job)
                    problem = Conflict("This person already has an active measure for this case file.",
                                       field="case_file", code="measure_exists")
            if problem is not None:
                errors.append({"line": line, "field": problem.field, "code": problem.code,
                               "message": problem.message})
                continue
            seen[measure.identity_key] = line
            units.append(MeasureUnit(line, measure, submitter))
        return units, errors

    def write_batch(self, units: Sequence[MeasureUnit], stage: str) -> None:
        for unit in units:
            tx = self.uow.begin()
            tx.claim_measure_key(unit.measure.identity_key, unit.measure.measure_id)
            try:
                tx.commit()
            except AlreadyExists:
                if self.measures.measure_holding_key(unit.measure.identity_key) != unit.measure.measure_id:
                    raise RowRefused(unit.line, Conflict(
                        "This person was given an active measure for this case file meanwhile; nothing was "
                        "imported.", field="case_file", code="measure_exists")) from None

    def publish_batch(self, units: Sequence[MeasureUnit], stage: str) -> None:
        for unit in units:
            measure, now = unit.measure, self.clock.now()
            tx = self.uow.begin()
            tx.put_measure(measure)  # new (version 0): conditional on not existing
            tx.add_audit(audit_entry(unit.operator, now, "measure.create", measure.measure_id, via="csv",
                                     job=stage))
            tx.add_event(Event(derived_id(stage, unit.line, "created"), "measure.created", measure.measure_id, now,
                               {"district": measure.district}))
            try:
                tx.commit()
            except AlreadyExists:
                continue  # published by an earlier slice
            self.officers.add_district(measure.district)

    def discard_batch(self, units: Sequence[MeasureUnit], stage: str) -> None:
        for unit in units:
            if self.measures.measure_holding_key(unit.measure.identity_key) == unit.measure.measure_id:
                tx = self.uow.begin()
                tx.release_measure_key(unit.measure.identity_key)
                tx.commit()

"""Court measures (rules of conduct): what a court imposes, the chain a change of legal status makes, and
the rules that keep one measure per person and case."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ..errors import DomainError, FieldErrors, ValidationError
from ..identity import clean_name, parse_date
from .areas import Area, area_of, parse_area
from .people import Person, court_code, parse_case_file, parse_district, parse_person

PERIODICITIES = {"monthly": 1, "bimonthly": 2, "quarterly": 3}
LEGAL_STATUSES = ("processed", "sentenced")


class MeasureStatus(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # a change of legal status replaced it with a new measure of the same chain
    REVOKED = "revoked"


@dataclass(frozen=True)
class Authorisation:
    district: str
    valid_from: date
    valid_to: date


@dataclass(frozen=True)
class Measure:
    measure_id: str
    person: Person
    case_file: str
    court: str
    district: str
    legal_status: str
    periodicity_months: int
    start_date: date
    first_registration_deadline: date
    end_date: date
    resolution_date: date | None
    other_names: tuple[str, ...]
    area: dict[str, Any] | None
    area_label: str | None
    group: str
    created_at: datetime
    created_by: str
    status: str = MeasureStatus.ACTIVE.value
    superseded_by: str | None = None
    group_changed: bool = False
    authorisations: tuple[Authorisation, ...] = ()
    # The chain: a change of legal status makes a new measure that continues the same obligation. The chain
    # id is its first measure's id; windows are registered once per chain, and a chat is linked to a chain.
    chain_id: str = ""
    previous_id: str | None = None
    linked_owner: str | None = None  # the one chat account enrolled for this measure, if any
    version: int = 0

    def __post_init__(self) -> None:
        if not self.chain_id:
            object.__setattr__(self, "chain_id", self.measure_id)

    @property
    def court_code(self) -> str:
        return court_code(self.case_file)

    @property
    def identity_key(self) -> str:
        """Same person, same case file (which names the court): the same measure. Kept unique while active."""
        return f"{self.person.key}|{self.case_file}"

    @property
    def active(self) -> bool:
        return self.status == MeasureStatus.ACTIVE

    def in_force(self, day: date) -> bool:
        return self.active and day <= self.end_date

    def permitted_area(self) -> Area | None:
        return area_of(self.area)

    def authorised_districts(self, day: date) -> set[str]:
        return {a.district for a in self.authorisations if a.valid_from <= day <= a.valid_to} - {self.district}

    def change_group(self, group: str) -> Measure:
        if self.group_changed:
            raise DomainError("The group was already changed once; it cannot change again.",
                              code="group_change_used", field="group")
        if group == self.group:
            raise ValidationError("The person is already in that group.", field="group")
        return replace(self, group=group, group_changed=True)

    def successor(self, measure_id: str, legal_status: str, now: datetime, by: str) -> tuple[Measure, Measure]:
        """A change of legal status: the new measure of the chain (keeping the link to the chat) and this one,
        superseded."""
        if not self.active:
            raise DomainError("Only an active measure can change.", code="measure_not_active")
        if legal_status not in LEGAL_STATUSES:
            raise ValidationError("Expected processed or sentenced.", field="legal_status")
        if legal_status == self.legal_status:
            raise ValidationError("The measure already has that legal status.", field="legal_status")
        new = replace(self, measure_id=measure_id, legal_status=legal_status, created_at=now, created_by=by,
                      previous_id=self.measure_id, superseded_by=None, version=0)
        return new, replace(self, status=MeasureStatus.SUPERSEDED.value, superseded_by=measure_id,
                            linked_owner=None)

    def revoked(self) -> Measure:
        if not self.active:
            raise DomainError("Only an active measure can be revoked.", code="measure_not_active")
        return replace(self, status=MeasureStatus.REVOKED.value)


MEASURE_FIELDS = {"person", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
                  "first_registration_deadline", "end_date", "area", "area_label", "group", "resolution_date",
                  "other_names"}
REQUIRED = ("person", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
            "first_registration_deadline", "end_date", "group")


def parse_measure(data: Any, *, measure_id: str, now: datetime, created_by: str,
                  known_groups: set[str] | None = None) -> Measure:
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    errors: list[ValidationError] = []
    for name in sorted(set(data) - MEASURE_FIELDS):
        errors.append(ValidationError("Unknown field.", field=name, code="unknown_field"))
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            errors.append(ValidationError("This field is required.", field=name, code="missing_field"))
    if errors:
        raise FieldErrors(errors)
    values: dict[str, Any] = {}

    def attempt(name: str, fn: Any) -> None:
        try:
            values[name] = fn()
        except ValidationError as exc:
            errors.append(exc)

    attempt("person", lambda: parse_person(data["person"]))
    attempt("case_file", lambda: parse_case_file(data["case_file"]))
    attempt("court", lambda: _text(data["court"], "court", 120))
    attempt("district", lambda: parse_district(data["district"]))
    attempt("legal_status", lambda: _choice(data["legal_status"], "legal_status", LEGAL_STATUSES))
    attempt("periodicity", lambda: PERIODICITIES[_choice(data["periodicity"], "periodicity", tuple(PERIODICITIES))])
    attempt("start_date", lambda: parse_date(data["start_date"], "start_date"))
    attempt("deadline", lambda: parse_date(data["first_registration_deadline"], "first_registration_deadline"))
    attempt("end_date", lambda: parse_date(data["end_date"], "end_date"))
    attempt("resolution_date", lambda: parse_date(data["resolution_date"], "resolution_date")
            if data.get("resolution_date") else None)
    attempt("area", lambda: parse_area(data["area"], data.get("area_label")) if data.get("area") else (None, None))
    attempt("group", lambda: _text(data["group"], "group", 20))
    other = data.get("other_names", [])
    if not isinstance(other, list) or not all(isinstance(n, str) for n in other):
        errors.append(ValidationError("Expected a list of names.", field="other_names", code="wrong_type"))
    if {"start_date", "deadline", "end_date"} <= set(values):
        if values["end_date"] <= values["start_date"]:
            errors.append(ValidationError("The end date must be after the start date.", field="end_date"))
        if not values["start_date"] <= values["deadline"] <= values["end_date"]:
            errors.append(ValidationError("The first registration deadline must fall between start and end.",
                                          field="first_registration_deadline"))
    if known_groups is not None and "group" in values and values["group"] not in known_groups:
        errors.append(ValidationError(f"Unknown group; the calendar has {', '.join(sorted(known_groups))}.",
                                      field="group"))
    if errors:
        raise FieldErrors(errors)
    area, label = values["area"]
    return Measure(
        measure_id=measure_id, person=values["person"], case_file=values["case_file"], court=values["court"],
        district=values["district"], legal_status=values["legal_status"], periodicity_months=values["periodicity"],
        start_date=values["start_date"], first_registration_deadline=values["deadline"],
        end_date=values["end_date"], resolution_date=values["resolution_date"],
        other_names=tuple(clean_name(n, "other_names") for n in other), area=area, area_label=label,
        group=values["group"], created_at=now, created_by=created_by)


def parse_authorisation(payload: Any) -> Authorisation:
    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"district\", \"from\", \"to\"}.", field="district", code="invalid_body")
    district = parse_district(payload.get("district"))
    start, end = parse_date(payload.get("from"), "from"), parse_date(payload.get("to"), "to")
    if end < start:
        raise ValidationError("The period must end after it starts.", field="to")
    return Authorisation(district, start, end)


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError(f"Expected text of at most {limit} characters.", field=name)
    return " ".join(value.split())


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValidationError(f"Expected one of {', '.join(options)}.", field=name)
    return str(value)

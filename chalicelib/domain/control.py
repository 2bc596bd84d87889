"""Virtual penal control: court measures, places, the reporting calendar, check-ins and incidents."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from math import cos, radians
from pathlib import Path
from typing import Any

# shapely (and numpy under it) is imported where an area is used: it is a quarter of the API's import time.
from .errors import DomainError, FieldErrors, ValidationError
from .identity import clean_name, parse_date, validate_document

# e.g. 00123-2020-0-1801-JR-PE-01: number-year-incident-court district code-body-speciality-court number.
CASE_FILE = re.compile(r"\d{5}-\d{4}-\d{1,2}-\d{4}-[A-Z]{2}-[A-Z]{2}-\d{2}")
PERIODICITIES = {"monthly": 1, "bimonthly": 2, "quarterly": 3}
LEGAL_STATUSES = ("processed", "sentenced")
METRES_PER_DEGREE = 111_320.0


class CheckinStep(StrEnum):
    LOCATION = "location"
    FRESH_LOCATION = "fresh_location"
    SELFIE = "selfie"
    QUESTIONS = "questions"
    DONE = "done"
    ENDED = "ended"


class IncidentType(StrEnum):
    IMPERSONATION = "impersonation"  # identidad no validada
    OUT_OF_AREA = "out_of_area"  # fuera de la jurisdicción permitida
    WARRANT = "warrant"  # posible orden de captura
    MISSED = "missed_checkin"  # ventana cerrada sin registro
    CONTINGENCY = "contingency"  # sistemas no disponibles


INCIDENT_DETAIL = {
    IncidentType.IMPERSONATION: "No validación de identidad (posible suplantación)",
    IncidentType.OUT_OF_AREA: "Usuario externo se encuentra fuera de la jurisdicción permitida",
    IncidentType.WARRANT: "Posible orden de captura",
    IncidentType.MISSED: "Control no realizado dentro del rango de fechas programado",
    IncidentType.CONTINGENCY: "Sistemas no disponibles (plan de contingencia)",
}


@cache
def gazetteer() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).resolve().parent.parent / "data" / "gazetteer.json").read_text())
    return dict(data["areas"])


def parse_area(value: Any) -> tuple[dict[str, Any], str]:
    """A named area of the gazetteer or a GeoJSON (Multi)Polygon; returns (geometry, label)."""
    if isinstance(value, str):
        area = gazetteer().get(value.upper())
        if area is None:
            raise ValidationError(f"Unknown area; expected a GeoJSON polygon or one of {', '.join(gazetteer())}.",
                                  field="area")
        return dict(area["geometry"]), str(area["name"])
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError("Expected a GeoJSON Polygon or MultiPolygon, or an area name.", field="area")
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    try:
        geometry = shape(value)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise ValidationError("The polygon's coordinates are not valid GeoJSON.", field="area") from None
    if geometry.is_empty or not geometry.is_valid:
        reason = "empty" if geometry.is_empty else explain_validity(geometry)
        raise ValidationError(f"The polygon is not valid ({reason}).", field="area", code="invalid_polygon")
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValidationError("Coordinates must be longitude, latitude in degrees.", field="area")
    return value, "área dibujada"


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


def parse_person(data: Any) -> Person:
    if not isinstance(data, dict):
        raise ValidationError("Expected the person's data.", field="person", code="wrong_type")
    has_document = data.get("has_document", True)
    if not isinstance(has_document, bool):
        raise ValidationError("Expected true or false.", field="person.has_document")
    document_type = number = None
    if has_document:
        document_type, number = validate_document(str(data.get("document_type", "")),
                                                  str(data.get("document_number", "")))
    nationality = str(data.get("nationality", "PER")).upper()
    if not re.fullmatch(r"[A-Z]{3}", nationality):
        raise ValidationError("Expected a three-letter country code such as PER.", field="person.nationality")
    return Person(has_document=has_document, nationality=nationality,
                  document_type=document_type.value if document_type else None, document_number=number,
                  given_names=clean_name(str(data.get("given_names", "")), "person.given_names"),
                  surnames=clean_name(str(data.get("surnames", "")), "person.surnames"))


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
    status: str = "active"  # active | superseded | revoked
    superseded_by: str | None = None
    group_changed: bool = False
    authorisations: tuple[Authorisation, ...] = ()
    version: int = 0

    def permitted_area(self) -> Area | None:
        return area_of(self.area)

    def authorised_districts(self, day: date) -> set[str]:
        return {self.district} | {a.district for a in self.authorisations if a.valid_from <= day <= a.valid_to}

    def change_group(self, group: str) -> Measure:
        if self.group_changed:
            raise DomainError("The group was already changed once; it cannot change again.",
                              code="group_change_used", field="group")
        if group == self.group:
            raise ValidationError("The person is already in that group.", field="group")
        return replace(self, group=group, group_changed=True)


MEASURE_FIELDS = {"person", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
                  "first_registration_deadline", "end_date", "area", "group", "resolution_date", "other_names"}


def parse_measure(data: Any, *, measure_id: str, now: datetime, created_by: str,
                  known_groups: set[str] | None = None) -> Measure:
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    errors: list[ValidationError] = []
    for name in sorted(set(data) - MEASURE_FIELDS):
        errors.append(ValidationError("Unknown field.", field=name, code="unknown_field"))
    for name in ("person", "case_file", "court", "district", "legal_status", "periodicity", "start_date",
                 "first_registration_deadline", "end_date", "group"):
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
    attempt("case_file", lambda: _case_file(data["case_file"]))
    attempt("court", lambda: _text(data["court"], "court", 120))
    attempt("district", lambda: _district(data["district"]))
    attempt("legal_status", lambda: _choice(data["legal_status"], "legal_status", LEGAL_STATUSES))
    attempt("periodicity", lambda: PERIODICITIES[_choice(data["periodicity"], "periodicity", tuple(PERIODICITIES))])
    attempt("start_date", lambda: parse_date(data["start_date"], "start_date"))
    attempt("deadline", lambda: parse_date(data["first_registration_deadline"], "first_registration_deadline"))
    attempt("end_date", lambda: parse_date(data["end_date"], "end_date"))
    attempt("resolution_date", lambda: parse_date(data["resolution_date"], "resolution_date")
            if data.get("resolution_date") else None)
    attempt("area", lambda: parse_area(data["area"]) if data.get("area") else (None, None))
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


def _case_file(value: Any) -> str:
    text = str(value).strip().upper()
    if not CASE_FILE.fullmatch(text):
        raise ValidationError("Expected a case file number like 00123-2020-0-1801-JR-PE-01.", field="case_file")
    return text


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError(f"Expected text of at most {limit} characters.", field=name)
    return " ".join(value.split())


def _district(value: Any) -> str:
    text = _text(value, "district", 40).upper()
    if not re.fullmatch(r"[A-Z_ ]{3,40}", text):
        raise ValidationError("Expected a judicial district name such as LIMA.", field="district")
    return text


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValidationError(f"Expected one of {', '.join(options)}.", field=name)
    return str(value)


# --- the calendar ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    group: str
    period: int
    start: date
    end: date

    @property
    def key(self) -> str:
        return f"{self.start.year}-P{self.period:02d}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Calendar:
    """The "Calendario de Programación Anual" of one year and district: each group's range per period."""

    year: int
    district: str
    groups: dict[str, tuple[Window, ...]] = field(default_factory=dict)

    def windows(self, group: str) -> tuple[Window, ...]:
        return self.groups.get(group, ())

    def current_or_next(self, group: str, day: date, periodicity_months: int = 1) -> Window | None:
        """The window that contains the day, else the next one; bimonthly reporting uses every other period."""
        candidates = [w for w in self.windows(group) if (w.period - 1) % periodicity_months == 0]
        for window in candidates:
            if window.end >= day:
                return window
        return None

    def next_after(self, window: Window, periodicity_months: int = 1) -> Window | None:
        later = [w for w in self.windows(window.group) if w.start > window.end
                 and (w.period - 1) % periodicity_months == 0]
        return later[0] if later else None


def parse_calendar(year: int, district: str, data: Any) -> Calendar:
    """{"groups": {"A": [{"period": 1, "start": "2026-01-05", "end": "2026-01-09"}, ...], ...}}"""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict) or not data["groups"]:
        raise ValidationError("Expected {\"groups\": {\"<group>\": [{period, start, end}, ...]}}.", field="groups")
    groups: dict[str, tuple[Window, ...]] = {}
    for group, ranges in data["groups"].items():
        if not isinstance(ranges, list) or not ranges:
            raise ValidationError("Expected a list of date ranges.", field=f"groups.{group}")
        windows = []
        for index, item in enumerate(ranges):
            where = f"groups.{group}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("period"), int):
                raise ValidationError("Expected {period, start, end}.", field=where)
            start, end = parse_date(item.get("start"), f"{where}.start"), parse_date(item.get("end"), f"{where}.end")
            if end < start or start.year != year:
                raise ValidationError(f"The range must be inside {year} and end after it starts.", field=where)
            windows.append(Window(group, item["period"], start, end))
        windows.sort(key=lambda w: w.start)
        for a, b in zip(windows, windows[1:], strict=False):
            if b.start <= a.end:
                raise ValidationError("Ranges of a group must not overlap.", field=f"groups.{group}")
        groups[str(group)] = tuple(windows)
    return Calendar(year=year, district=district.upper(), groups=groups)


# --- the place check -------------------------------------------------------------------------------

class PlaceVerdict(StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    BORDERLINE = "borderline"
    UNRESTRICTED = "unrestricted"


@dataclass(frozen=True)
class Area:
    """A permitted area ready for fast checks: shapely geometry, its boundary, and a prepared copy."""

    geometry: Any
    boundary: Any
    prepared: Any

    @classmethod
    def of(cls, geojson: dict[str, Any]) -> Area:
        from shapely.geometry import shape
        from shapely.prepared import prep

        geometry = shape(geojson)
        return cls(geometry, geometry.boundary, prep(geometry))


@cache
def _area_from_json(text: str) -> Area:
    return Area.of(json.loads(text))


def area_of(geojson: dict[str, Any] | None) -> Area | None:
    return _area_from_json(json.dumps(geojson, sort_keys=True)) if geojson else None


def check_place(area: Area | None, lat: float, lon: float, accuracy_m: float) -> tuple[PlaceVerdict, float]:
    """Inside with room for the reported accuracy, clearly outside, or too close to the line to tell.

    Also returns the distance in metres to the boundary. Degrees become metres with the east-west scale at
    that latitude, the smaller of the two, so the distance is never overestimated: when in doubt, the
    person is asked for a fresh location rather than judged.
    """
    if area is None:
        return PlaceVerdict.UNRESTRICTED, 0.0
    from shapely.geometry import Point

    point = Point(lon, lat)
    inside = area.prepared.contains(point)
    distance = area.boundary.distance(point) * METRES_PER_DEGREE * cos(radians(lat))
    if distance <= accuracy_m:
        return PlaceVerdict.BORDERLINE, distance
    return (PlaceVerdict.INSIDE if inside else PlaceVerdict.OUTSIDE), distance


# --- identity questions ----------------------------------------------------------------------------

def questions_for(measure: Measure) -> list[str]:
    """Annex 3 (b): the questions asked when the face comparison is not conclusive."""
    if measure.person.has_dni:
        return ["parents_names", "dni_issue_date", "dni_expiry_date", "dni_check_character"]
    return ["resolution_date", "other_names"]


# --- enrolment, check-ins, incidents ----------------------------------------------------------------

@dataclass(frozen=True)
class Enrolment:
    owner: str  # "telegram:<id>"
    measure_id: str
    mobile: str
    address: str
    language: str
    enrolled_at: datetime
    photo_key: str | None = None
    officer: str | None = None
    version: int = 0


@dataclass(frozen=True)
class Checkin:
    checkin_id: str
    measure_id: str
    owner: str
    window_key: str
    started_at: datetime
    step: CheckinStep
    evidence: tuple[dict[str, Any], ...] = ()  # every step, in order, with its time and result
    location: dict[str, Any] | None = None
    identity: str | None = None  # "face_match" | "questions" once validated
    borderline_attempts: int = 0
    outcome: str | None = None  # registered | impersonation | out_of_area
    document_id: str | None = None
    version: int = 0

    def record(self, at: datetime, step: str, **details: Any) -> Checkin:
        return replace(self, evidence=(*self.evidence, {"at": at.isoformat(), "step": step, **details}))


@dataclass(frozen=True)
class Incident:
    incident_id: str
    type: IncidentType
    district: str
    day: date  # Peru's calendar day
    created_at: datetime
    measure_id: str
    full_name: str
    identity_document: str
    case_file: str
    court: str
    detail: str
    observations: str
    addressed_to: tuple[str, ...]
    status: str = "open"  # open | notified | closed
    notified: tuple[dict[str, str], ...] = ()
    checkin_id: str | None = None
    version: int = 0


@dataclass(frozen=True)
class Warrant:
    warrant_id: str
    full_name: str
    document_number: str | None
    issued_by: str
    issued_on: date | None


LOCATION_FIELDS = {"latitude", "longitude", "accuracy_m", "live_period", "sent_at", "forwarded"}


def parse_location(data: Any, now: datetime, max_age_seconds: int) -> dict[str, Any]:
    """A live location as Telegram reports it: live, not forwarded, fresh, with its accuracy."""
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid_body")
    unknown = sorted(set(data) - LOCATION_FIELDS)
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    try:
        lat, lon = float(data["latitude"]), float(data["longitude"])
        accuracy = float(data.get("accuracy_m") or 50.0)
        sent_at = float(data["sent_at"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("Expected latitude, longitude and sent_at (unix seconds) as numbers.",
                              field="location") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not 0 <= accuracy <= 10_000:
        raise ValidationError("The coordinates or the accuracy are out of range.", field="location")
    if data.get("forwarded"):
        raise DomainError("A forwarded location is not accepted: share your own live location.",
                          code="location_forwarded", field="location")
    if not data.get("live_period"):
        raise DomainError("A fixed pin is not accepted: share your live location.", code="location_not_live",
                          field="location")
    age = now.timestamp() - sent_at
    if age > max_age_seconds or age < -60:
        raise DomainError("This location is too old: share your live location again now.",
                          code="location_stale", field="location")
    return {"latitude": lat, "longitude": lon, "accuracy_m": accuracy, "live_period": int(data["live_period"]),
            "sent_at": sent_at}

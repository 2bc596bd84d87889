"""Place restrictions: the permitted area of a measure and the check of a reported location against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from math import cos, radians
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from .geometry import Polygons

METRES_PER_DEGREE = 111_320.0


@cache
def gazetteer() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "data" / "gazetteer.json").read_text())
    return dict(data["areas"])


def parse_area(value: Any, label: Any = None) -> tuple[dict[str, Any], str]:
    """A named area of the gazetteer or a GeoJSON (Multi)Polygon, and the place name a person can recognise
    (annex 3 d): the court's label, else the gazetteer's name. A drawn polygon needs the court's label."""
    if label is not None and (not isinstance(label, str) or not 3 <= len(label.strip()) <= 80):
        raise ValidationError("Expected the area's name as a person knows it (3 to 80 characters), such as "
                              "\"distrito de Miraflores\".", field="area_label")
    if isinstance(value, str):
        area = gazetteer().get(value.upper())
        if area is None:
            raise ValidationError(f"Unknown area; expected a GeoJSON polygon or one of {', '.join(gazetteer())}.",
                                  field="area")
        return dict(area["geometry"]), (label.strip() if label else str(area["name"]))
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError("Expected a GeoJSON Polygon or MultiPolygon, or an area name.", field="area")
    try:
        geometry = Polygons.of(value)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise ValidationError("The polygon's coordinates are not valid GeoJSON.", field="area") from None
    reason = geometry.problem()
    if reason is not None:
        raise ValidationError(f"The polygon is not valid ({reason}).", field="area", code="invalid_polygon")
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValidationError("Coordinates must be longitude, latitude in degrees.", field="area")
    if not label:
        raise ValidationError("A drawn area needs the name a person knows it by (annex 3 d), such as "
                              "\"distrito de Miraflores\".", field="area_label", code="missing_field")
    return value, label.strip()


class PlaceVerdict(StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"
    BORDERLINE = "borderline"
    UNRESTRICTED = "unrestricted"


@dataclass(frozen=True)
class Area:
    """A permitted area ready for checks (plain-Python geometry: see geometry.py)."""

    geometry: Polygons

    @classmethod
    def of(cls, geojson: dict[str, Any]) -> Area:
        return cls(Polygons.of(geojson))

    def contains(self, lat: float, lon: float) -> bool:
        return self.geometry.contains((lon, lat))

    def centre(self) -> tuple[float, float]:
        """A point surely inside the area (latitude, longitude), for the bot to show where to go."""
        x, y = self.geometry.representative_point()
        return round(float(y), 6), round(float(x), 6)


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
    inside = area.geometry.contains((lon, lat))
    distance = area.geometry.boundary_distance((lon, lat)) * METRES_PER_DEGREE * cos(radians(lat))
    if distance <= accuracy_m:
        return PlaceVerdict.BORDERLINE, distance
    return (PlaceVerdict.INSIDE if inside else PlaceVerdict.OUTSIDE), distance


def check_with_authorisations(area: Area | None, authorised_districts: set[str], lat: float, lon: float,
                              accuracy_m: float) -> tuple[PlaceVerdict, float]:
    """A court may authorise reporting from another district for a period: inside it counts as inside."""
    verdict, distance = check_place(area, lat, lon, accuracy_m)
    if verdict in (PlaceVerdict.OUTSIDE, PlaceVerdict.BORDERLINE):
        for district in sorted(authorised_districts):
            named = gazetteer().get(district)
            if named and check_place(area_of(named["geometry"]), lat, lon, accuracy_m)[0] is PlaceVerdict.INSIDE:
                return PlaceVerdict.INSIDE, distance
    return verdict, distance

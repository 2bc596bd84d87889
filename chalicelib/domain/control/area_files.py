"""A permitted area uploaded by a court as a file: GeoJSON (a geometry, a Feature or a FeatureCollection of
polygons) or KML (Google Earth's polygons). Both become one GeoJSON (Multi)Polygon, then parse_area checks it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from ..errors import ValidationError

MAX_AREA_BYTES = 2 * 1024 * 1024
_KML = "{http://www.opengis.net/kml/2.2}"


def _bad(message: str) -> ValidationError:
    return ValidationError(message, field="area_file", code="invalid_area_file")


def _polygons_of_geojson(node: Any) -> list[list[Any]]:
    if not isinstance(node, dict):
        raise _bad("Expected a GeoJSON object.")
    kind = node.get("type")
    if kind == "FeatureCollection":
        return [p for feature in node.get("features") or [] for p in _polygons_of_geojson(feature)]
    if kind == "Feature":
        return _polygons_of_geojson(node.get("geometry"))
    if kind == "Polygon":
        return [list(node.get("coordinates") or [])]
    if kind == "MultiPolygon":
        return list(node.get("coordinates") or [])
    if kind == "GeometryCollection":
        return [p for g in node.get("geometries") or [] for p in _polygons_of_geojson(g)]
    raise _bad("The file holds no polygon (points and lines cannot be an area).")


def _ring(text: str) -> list[list[float]]:
    ring = []
    for triple in text.split():
        parts = triple.split(",")
        try:
            ring.append([float(parts[0]), float(parts[1])])
        except (IndexError, ValueError):
            raise _bad("A KML coordinate is not longitude,latitude.") from None
    return ring


def _polygons_of_kml(data: bytes) -> list[list[Any]]:
    head = data[:4096].decode("utf-8", errors="replace")
    if re.search(r"<!(DOCTYPE|ENTITY)", head, re.IGNORECASE):
        raise _bad("KML files with a DOCTYPE or entities are not accepted.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise _bad("The KML file is not well-formed XML.") from None
    polygons = []
    for polygon in root.iter(f"{_KML}Polygon"):
        outer = polygon.find(f"{_KML}outerBoundaryIs/{_KML}LinearRing/{_KML}coordinates")
        if outer is None or not (outer.text or "").strip():
            raise _bad("A KML polygon has no outer boundary.")
        rings = [_ring(outer.text or "")]
        for inner in polygon.findall(f"{_KML}innerBoundaryIs/{_KML}LinearRing/{_KML}coordinates"):
            rings.append(_ring(inner.text or ""))
        polygons.append(rings)
    return polygons


def area_from_file(filename: str, data: bytes) -> dict[str, Any]:
    """The uploaded file's polygons as one GeoJSON geometry (not yet validated: parse_area does that)."""
    if not data.strip():
        raise _bad("The file is empty.")
    if len(data) > MAX_AREA_BYTES:
        raise _bad("The file is larger than 2 MB.")
    name = filename.lower()
    if name.endswith(".kml") or data.lstrip()[:5] in (b"<?xml", b"<kml ") or data.lstrip().startswith(b"<kml"):
        polygons = _polygons_of_kml(data)
    else:
        try:
            polygons = _polygons_of_geojson(json.loads(data.decode("utf-8-sig")))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _bad("Expected a GeoJSON (.geojson, .json) or KML (.kml) file.") from None
    if not polygons:
        raise _bad("The file holds no polygon.")
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}

"""Maps that work offline: the permitted area and a reported point (with its accuracy circle) drawn as inline SVG
from the GeoJSON, in a simple local projection (metres east and north of the view's centre) with a scale bar."""

from __future__ import annotations

from dataclasses import dataclass
from math import cos, radians
from typing import Any

from markupsafe import Markup, escape

METRES_PER_DEGREE = 111_320.0
WIDTH, HEIGHT, PAD = 480, 320, 24


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    accuracy_m: float = 0.0


def _rings(geometry: dict[str, Any] | None) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [list(r) for r in geometry.get("coordinates") or []]
    if geometry.get("type") == "MultiPolygon":
        return [list(r) for polygon in geometry.get("coordinates") or [] for r in polygon]
    return []


def _nice(metres: float) -> float:
    """A round length for the scale bar: 1, 2 or 5 times a power of ten."""
    base = 1.0
    while base * 10 <= metres:
        base *= 10
    for factor in (5, 2, 1):
        if base * factor <= metres:
            return base * factor
    return base


def _distance(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def area_map(geometry: dict[str, Any] | None, point: Point | None, *, title: str, description: str,
             uid: str) -> Markup:
    """An accessible SVG (role img, with a title and description) of the area and the point, or of either."""
    rings = _rings(geometry)
    lons = [c[0] for r in rings for c in r]
    lats = [c[1] for r in rings for c in r]
    if point is not None:
        spread = point.accuracy_m / METRES_PER_DEGREE
        lons += [point.longitude - spread, point.longitude + spread]
        lats += [point.latitude - spread, point.latitude + spread]
    if not lons:
        return Markup("")
    centre_lat = (min(lats) + max(lats)) / 2
    centre_lon = (min(lons) + max(lons)) / 2
    east = METRES_PER_DEGREE * cos(radians(centre_lat))

    def metres(lon: float, lat: float) -> tuple[float, float]:
        return (lon - centre_lon) * east, (lat - centre_lat) * METRES_PER_DEGREE

    xs, ys = zip(*(metres(lo, la) for lo, la in zip(lons, lats, strict=True)), strict=True)
    # At least 200 m across, so that a lone point with a small accuracy circle is not drawn as a whole screen.
    scale = min((WIDTH - 2 * PAD) / max(max(xs) - min(xs), 200.0), (HEIGHT - 2 * PAD) / max(max(ys) - min(ys), 200.0))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        x, y = metres(lon, lat)
        return WIDTH / 2 + x * scale, HEIGHT / 2 - y * scale

    parts = [f'<svg class="map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(description)}</desc>']
    if rings:
        path = " ".join("M " + " L ".join(f"{x:.1f} {y:.1f}" for x, y in (xy(c[0], c[1]) for c in ring)) + " Z"
                        for ring in rings)
        parts.append(f'<path d="{path}" fill="#2e7d32" fill-opacity="0.18" stroke="#1b5e20" stroke-width="2" '
                     'fill-rule="evenodd"/>')
    if point is not None:
        x, y = xy(point.longitude, point.latitude)
        if point.accuracy_m:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{max(point.accuracy_m * scale, 2):.1f}" '
                         'fill="#1d4f91" fill-opacity="0.15" stroke="#1d4f91" stroke-dasharray="4 3"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#b10e1e" stroke="#ffffff" stroke-width="2"/>')
    bar = _nice((WIDTH / 4) / scale)
    length = bar * scale
    parts.append(f'<g><rect x="{PAD - 4}" y="{HEIGHT - PAD - 18}" width="{length + 8:.1f}" height="26" '
                 'fill="#ffffff" fill-opacity="0.85"/>'
                 f'<path d="M {PAD} {HEIGHT - PAD} h {length:.1f}" stroke="#0b0c0c" stroke-width="3"/>'
                 f'<text x="{PAD}" y="{HEIGHT - PAD - 6}" font-size="13" fill="#0b0c0c">{_distance(bar)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def public_map_link(point: Point) -> str:
    """An optional link out to a public map (nothing is loaded from it by the page)."""
    return (f"https://www.openstreetmap.org/?mlat={point.latitude:.6f}&mlon={point.longitude:.6f}"
            f"#map=15/{point.latitude:.6f}/{point.longitude:.6f}")

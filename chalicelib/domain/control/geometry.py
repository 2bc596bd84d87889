"""Planar geometry for permitted areas, in plain Python: a GeoJSON (Multi)Polygon's validity, whether a point is
inside, its distance to the boundary, and a point surely inside.

It replaces shapely, which pulled numpy into the API's package (half of it) for these few operations on polygons
of a few hundred vertices. Coordinates are (longitude, latitude) degrees, compared in the plane, as shapely did.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import hypot
from typing import Any

Point = tuple[float, float]
Ring = tuple[Point, ...]  # closed: the last point repeats the first


def _ring(raw: Any) -> Ring:
    points = tuple((float(x), float(y)) for x, y, *_ in raw)
    if points and points[0] != points[-1]:
        points = (*points, points[0])  # GeoJSON says closed; an open ring is closed, as shapely does
    return points


@dataclass(frozen=True)
class Polygons:
    """One or more polygons, each a shell and its holes."""

    parts: tuple[tuple[Ring, ...], ...]

    @classmethod
    def of(cls, geojson: dict[str, Any]) -> Polygons:
        """Raises ValueError, TypeError, KeyError... on coordinates that are not a GeoJSON (Multi)Polygon's."""
        kind, coordinates = geojson["type"], geojson["coordinates"]
        polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
        if polygons is None:
            raise ValueError(f"not a polygon: {kind}")
        return cls(tuple(tuple(_ring(ring) for ring in polygon) for polygon in polygons))

    def rings(self) -> list[Ring]:
        return [ring for polygon in self.parts for ring in polygon]

    def segments(self) -> list[tuple[Point, Point]]:
        return [(ring[i], ring[i + 1]) for ring in self.rings() for i in range(len(ring) - 1)]

    @property
    def is_empty(self) -> bool:
        return not any(self.rings())

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [x for ring in self.rings() for x, _ in ring]
        ys = [y for ring in self.rings() for _, y in ring]
        return min(xs), min(ys), max(xs), max(ys)

    def problem(self) -> str | None:
        """Why this is not a valid (Multi)Polygon, or None: rings of at least three distinct corners that enclose
        an area, no edge crossing or touching another (within a ring or between rings), holes inside their shell,
        parts apart from each other."""
        if self.is_empty:
            return "empty"
        for ring in self.rings():
            if len(set(ring)) < 3 or len(ring) < 4:
                return "Too few points in a ring"
        crossing = _first_crossing(self.segments())
        if crossing is not None:
            return f"Self-intersection[{crossing[0]:g} {crossing[1]:g}]"
        if any(_signed_area(ring) == 0.0 for ring in self.rings()):
            return "A ring encloses no area"
        for index, polygon in enumerate(self.parts):
            shell = polygon[0]
            for hole in polygon[1:]:
                if not _ring_contains(shell, hole[0]):
                    return "Hole lies outside shell"
            for other in self.parts[index + 1:]:
                if _ring_contains(shell, other[0][0]) or _ring_contains(other[0], shell[0]):
                    return "Nested shells"
        return None

    def contains(self, point: Point) -> bool:
        """Strictly or on the edge inside one part (inside its shell, outside its holes)."""
        return any(_ring_contains(polygon[0], point) and not any(_ring_contains(h, point) for h in polygon[1:])
                   for polygon in self.parts)

    def boundary_distance(self, point: Point) -> float:
        return min(_segment_distance(point, a, b) for a, b in self.segments())

    def representative_point(self) -> Point:
        """A point surely inside: on the horizontal line through the middle of the largest part, the middle of the
        widest stretch inside."""
        largest = max(self.parts, key=lambda polygon: abs(_signed_area(polygon[0])))
        ys = sorted({y for ring in largest for _, y in ring})
        lows = [(ys[i] + ys[i + 1]) / 2 for i in range(len(ys) - 1)] or ys
        middle = (ys[0] + ys[-1]) / 2
        best: tuple[float, Point] | None = None
        for y in sorted(lows, key=lambda value: abs(value - middle))[:8]:
            xs = sorted(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                        for ring in largest for a, b in zip(ring, ring[1:], strict=False)
                        if (a[1] > y) != (b[1] > y))
            for left, right in zip(xs[::2], xs[1::2], strict=False):
                if best is None or right - left > best[0]:
                    best = (right - left, ((left + right) / 2, y))
        return best[1] if best else largest[0][0]

    def point_along_boundary(self, fraction: float) -> Point:
        """The point ``fraction`` (0 to 1) of the way along the first shell."""
        shell = self.parts[0][0]
        lengths = [hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(shell, shell[1:], strict=False)]
        remaining = fraction * sum(lengths)
        for (a, b), length in zip(zip(shell, shell[1:], strict=False), lengths, strict=True):
            if remaining <= length and length:
                t = remaining / length
                return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            remaining -= length
        return shell[-1]


def _signed_area(ring: Ring) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def _ring_contains(ring: Ring, point: Point) -> bool:
    """Even-odd ray casting; a point on an edge counts as inside."""
    x, y = point
    inside = False
    for a, b in zip(ring, ring[1:], strict=False):
        if _segment_distance(point, a, b) == 0.0:
            return True
        if (a[1] > y) != (b[1] > y) and x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]):
            inside = not inside
    return inside


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
    return hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _intersection(s: tuple[Point, Point], t: tuple[Point, Point]) -> Point | None:
    (p1, p2), (q1, q2) = s, t
    d1, d2, d3, d4 = _cross(q1, q2, p1), _cross(q1, q2, p2), _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0) and d1 != 0 and d2 != 0) and ((d3 > 0) != (d4 > 0) and d3 != 0 and d4 != 0):
        t_ = d1 / (d1 - d2)
        return p1[0] + t_ * (p2[0] - p1[0]), p1[1] + t_ * (p2[1] - p1[1])
    for point, (a, b) in ((p1, t), (p2, t), (q1, s), (q2, s)):  # touching: an end on the other segment
        if _segment_distance(point, a, b) == 0.0:
            return point
    return None


def _first_crossing(segments: list[tuple[Point, Point]]) -> Point | None:
    """Where two edges meet other than at the corner two consecutive edges of a ring share. Sorted by their left
    end, each edge is compared only with those whose x-ranges overlap."""
    order = sorted(range(len(segments)), key=lambda i: min(segments[i][0][0], segments[i][1][0]))
    active: list[int] = []
    for i in order:
        a, b = segments[i]
        left = min(a[0], b[0])
        active = [j for j in active if max(segments[j][0][0], segments[j][1][0]) >= left]
        for j in active:
            c, d = segments[j]
            meeting = _intersection((a, b), (c, d))
            if meeting is None:
                continue
            # consecutive edges of a ring share exactly one corner, and only that corner
            corner = {a, b} & {c, d}
            if len(corner) == 1 and meeting in corner and _collinear_overlap((a, b), (c, d)) is False:
                continue
            return meeting
        active.append(i)
    return None


def _collinear_overlap(s: tuple[Point, Point], t: tuple[Point, Point]) -> bool:
    """Whether two segments sharing a corner run back over each other (a spike)."""
    (a, b), (c, d) = s, t
    corner = ({a, b} & {c, d}).pop()
    far_s = b if a == corner else a
    far_t = d if c == corner else c
    if _cross(corner, far_s, far_t) != 0:
        return False
    return (far_s[0] - corner[0]) * (far_t[0] - corner[0]) + (far_s[1] - corner[1]) * (far_t[1] - corner[1]) > 0

"""The areas' plain-Python geometry gives what shapely (the library it replaced, kept here as the reference) gives:
inside or not, the distance to the boundary, validity, a point surely inside."""

from __future__ import annotations

import random

import pytest
from shapely.geometry import Point, shape

from chalicelib.domain.control.areas import gazetteer
from chalicelib.domain.control.geometry import Polygons

DONUT = {"type": "Polygon", "coordinates": [
    [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[3, 3], [3, 7], [7, 7], [7, 3], [3, 3]]]}
TWO = {"type": "MultiPolygon", "coordinates": [[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]],
                                               [[[5, 5], [9, 5], [7, 9], [5, 5]]]]}
CONCAVE = {"type": "Polygon", "coordinates": [[[0, 0], [6, 0], [6, 6], [4, 6], [4, 2], [2, 2], [2, 6], [0, 6],
                                               [0, 0]]]}
SHAPES = [area["geometry"] for area in gazetteer().values()] + [DONUT, TWO, CONCAVE]


@pytest.mark.parametrize("geojson", SHAPES)
def test_inside_and_distance_agree_with_shapely(geojson):
    ours, reference = Polygons.of(geojson), shape(geojson)
    minx, miny, maxx, maxy = reference.bounds
    rng = random.Random(11)
    for _ in range(400):
        x = rng.uniform(minx - (maxx - minx) / 4, maxx + (maxx - minx) / 4)
        y = rng.uniform(miny - (maxy - miny) / 4, maxy + (maxy - miny) / 4)
        distance = reference.boundary.distance(Point(x, y))
        assert ours.boundary_distance((x, y)) == pytest.approx(distance, abs=1e-12)
        if distance > 1e-9:
            assert ours.contains((x, y)) is reference.contains(Point(x, y)), (x, y)
    x, y = ours.representative_point()
    assert reference.contains(Point(x, y))
    assert ours.bounds == pytest.approx(reference.bounds)
    assert ours.problem() is None and reference.is_valid


@pytest.mark.parametrize("geojson", [
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},  # bow tie
    {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                                        [[5, 5], [6, 5], [6, 6], [5, 5]]]},  # hole outside its shell
    {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                                        [[3, 1], [5, 1], [5, 2], [3, 1]]]},  # hole across the shell
    {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [2, 0], [2, 3], [0, 0]]]},  # a spike back along an edge
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]],
                                             [[[1, 1], [2, 1], [2, 2], [1, 1]]]]},  # one part inside another
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},  # no area
])
def test_what_shapely_finds_invalid_is_refused(geojson):
    assert not shape(geojson).is_valid
    assert Polygons.of(geojson).problem() is not None


def test_the_api_package_no_longer_needs_shapely():
    from pathlib import Path

    shipped = (Path(__file__).resolve().parents[3] / "requirements.txt").read_text()
    assert "shapely" not in shipped and "numpy" not in shipped

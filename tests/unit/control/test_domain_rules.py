"""Virtual-control rules without I/O: areas, places, calendars, measures, locations, questions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.control.areas import PlaceVerdict, area_of, check_place, gazetteer, parse_area
from chalicelib.domain.control.calendar import parse_calendar
from chalicelib.domain.control.checkins import parse_location, questions_for
from chalicelib.domain.control.measures import parse_measure
from chalicelib.domain.errors import DomainError, FieldErrors, ValidationError

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
SQUARE = {"type": "Polygon", "coordinates": [[[-77.1, -12.1], [-77.0, -12.1], [-77.0, -12.0], [-77.1, -12.0],
                                              [-77.1, -12.1]]]}
PERSON = {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "70112233",
          "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"}


def measure(**changes):  # type: ignore[no-untyped-def]
    body = {"person": PERSON, "case_file": "00123-2020-0-1801-JR-PE-01", "court": "1° Juzgado Penal de Lima",
            "district": "lima", "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
            "first_registration_deadline": "2026-02-01", "end_date": "2027-01-01", "group": "A", **changes}
    return parse_measure(body, measure_id="m1", now=NOW, created_by="judge")


def test_gazetteer_areas_are_valid_and_marked_approximate():
    for area in gazetteer().values():
        geometry, label = parse_area(area["geometry"], area["name"])
        assert geometry["type"] in ("Polygon", "MultiPolygon")
        assert "aproximad" in area["name"]


def test_self_intersecting_polygon_is_refused():
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(ValidationError) as error:
        parse_area(bowtie)
    assert error.value.code == "invalid_polygon" and "intersection" in error.value.message.lower()


def test_multipolygon_and_named_areas_are_accepted():
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}
    assert parse_area(multi, "dos cuadras")[0] == multi
    assert parse_area("cusco")[1].startswith("Provincia del Cusco")
    with pytest.raises(ValidationError):
        parse_area("ATLANTIS")


@pytest.mark.parametrize(("lat", "lon", "accuracy", "verdict"), [
    (-12.05, -77.05, 20, PlaceVerdict.INSIDE),
    (-12.3, -77.05, 20, PlaceVerdict.OUTSIDE),
    (-12.0995, -77.05, 20, PlaceVerdict.INSIDE),  # about 55 m inside the edge, 20 m accuracy
    (-12.0995, -77.05, 200, PlaceVerdict.BORDERLINE),  # same point, accuracy wider than the margin
    (-12.1005, -77.05, 200, PlaceVerdict.BORDERLINE),  # just outside but within the accuracy
])
def test_place_check_allows_for_the_reported_accuracy(lat, lon, accuracy, verdict):
    assert check_place(area_of(SQUARE), lat, lon, accuracy)[0] is verdict


def test_no_area_means_no_place_restriction():
    assert check_place(None, 0, 0, 10)[0] is PlaceVerdict.UNRESTRICTED


def test_calendar_gives_the_current_or_next_window_and_honours_periodicity():
    calendar = parse_calendar(2026, "lima", {"groups": {"A": [
        {"period": p, "start": f"2026-{p:02d}-01", "end": f"2026-{p:02d}-10"} for p in range(1, 13)]}})
    assert calendar.current_or_next("A", date(2026, 3, 5)).start == date(2026, 3, 1)
    assert calendar.current_or_next("A", date(2026, 3, 15)).start == date(2026, 4, 1)
    bimonthly = calendar.current_or_next("A", date(2026, 2, 5), periodicity_months=2)
    assert bimonthly.start == date(2026, 3, 1)
    assert calendar.next_after(bimonthly, 2).start == date(2026, 5, 1)
    assert calendar.current_or_next("A", date(2026, 12, 20)) is None


def test_calendar_ranges_must_not_overlap_or_leave_the_year():
    with pytest.raises(ValidationError):
        parse_calendar(2026, "LIMA", {"groups": {"A": [{"period": 1, "start": "2026-01-01", "end": "2026-01-10"},
                                                       {"period": 2, "start": "2026-01-05", "end": "2026-01-20"}]}})
    with pytest.raises(ValidationError):
        parse_calendar(2026, "LIMA", {"groups": {"A": [{"period": 1, "start": "2025-12-30", "end": "2026-01-02"}]}})


def test_measure_fields_are_checked_and_named():
    with pytest.raises(FieldErrors) as error:
        measure(case_file="1-2020", periodicity="weekly", end_date="2025-01-01")
    fields = {e["field"] for e in error.value.details["errors"]}
    assert {"case_file", "periodicity", "end_date"} <= fields


def test_group_changes_once():
    changed = measure().change_group("B")
    assert changed.group == "B" and changed.group_changed
    with pytest.raises(DomainError) as error:
        changed.change_group("A")
    assert error.value.code == "group_change_used"


def test_questions_depend_on_the_persons_documents():
    assert "dni_check_character" in questions_for(measure().person.has_dni)
    foreigner = measure(person={**PERSON, "nationality": "VEN", "document_type": "CE", "document_number": "001234567"})
    assert questions_for(foreigner.person.has_dni) == ["resolution_date", "other_names"]


def test_live_fresh_own_location_is_accepted_and_others_refused():
    fresh = {"latitude": -12.05, "longitude": -77.03, "accuracy_m": 10, "live_period": 900,
             "sent_at": NOW.timestamp() - 10}
    assert parse_location(fresh, NOW, 180)["accuracy_m"] == 10
    for changes, code in (({"live_period": None}, "location_not_live"), ({"forwarded": True}, "location_forwarded"),
                          ({"sent_at": NOW.timestamp() - 600}, "location_stale")):
        with pytest.raises(DomainError) as error:
            parse_location({**fresh, **changes}, NOW, 180)
        assert error.value.code == code

"""Measures are idempotent and each court reads its own; scope comes from the operator's claims."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from chalicelib.domain.operators import Operator
from chalicelib.services.control import measures
from tests.unit.control.world import COURT_CODE, ROSA, World, court_staff, measure_body


def test_the_same_person_and_case_file_twice_is_a_409_naming_the_existing_measure() -> None:
    w = World()
    first = w.measure()
    with pytest.raises(Conflict) as duplicate:
        w.measure()
    assert duplicate.value.code == "measure_exists" and duplicate.value.details == {"measure_id": first.measure_id}
    # Another case file of the same person is another measure.
    assert w.measure(case_file="00777-2022-0-1801-JR-PE-01").measure_id != first.measure_id


def test_after_a_revocation_the_same_case_can_be_registered_again() -> None:
    w = World()
    first = w.measure()
    k = w.k
    measures.revoke_measure(first.measure_id, operator=court_staff(), measures=k.measures, uow=k.uow, clock=w.clock)
    assert w.measure().measure_id != first.measure_id


def test_a_change_of_legal_status_keeps_the_case_taken_by_the_new_measure() -> None:
    w = World()
    first = w.measure()
    k = w.k
    new = measures.change_legal_status(first.measure_id, {"legal_status": "sentenced"}, operator=court_staff(),
                                       measures=k.measures, enrolments=k.enrolments, officers=k.officers, uow=k.uow,
                                       clock=w.clock)
    with pytest.raises(Conflict) as duplicate:
        w.measure()
    assert duplicate.value.details == {"measure_id": new.measure_id}


def test_court_staff_create_measures_only_for_their_courts() -> None:
    w = World()
    k = w.k
    with pytest.raises(Forbidden) as refused:
        measures.create_measure(measure_body(ROSA), operator=court_staff(court="0401-JR-PE-02"), measures=k.measures,
                                calendars=k.calendars, officers=k.officers, uow=k.uow, clock=w.clock)
    assert refused.value.code == "out_of_scope" and refused.value.field == "case_file"


def test_court_staff_read_their_courts_measures_and_any_other_looks_like_none() -> None:
    w = World()
    measure = w.measure()
    k = w.k
    read = measures.read_measure(measure.measure_id, operator=court_staff(), measures=k.measures, audit=w.audit,
                                 clock=w.clock)
    assert read.measure_id == measure.measure_id
    for outsider in (court_staff("judge-2", "0401-JR-PE-02"),
                     Operator("officer-lima", frozenset({"officer"}), districts=frozenset({"LIMA"}))):
        with pytest.raises(NotFound):
            measures.read_measure(measure.measure_id, operator=outsider, measures=k.measures, audit=w.audit,
                                  clock=w.clock, )
        with pytest.raises(NotFound):
            measures.compliance(measure.measure_id, operator=outsider, measures=k.measures, checkins=k.checkins,
                                incidents=k.incidents, audit=w.audit, clock=w.clock)
    assert w.audit.actions() == ["measure.read"]  # only the read that happened is in the log


def test_scope_claims_decide_what_an_operator_sees() -> None:
    head = Operator("h", frozenset({"cvp_head"}), districts=frozenset({"LIMA"}))
    assert head.sees("LIMA", "0401-JR-PE-02") and not head.sees("CUSCO", COURT_CODE)
    judge = Operator("j", frozenset({"court"}), courts=frozenset({COURT_CODE}))
    assert judge.sees("CUSCO", COURT_CODE) and not judge.sees("LIMA", "1801-JR-PE-02")
    auditor = Operator("a", frozenset({"auditor"}))
    assert auditor.sees("CUSCO", "x") and auditor.covers_district("PUNO")
    everywhere = Operator("h2", frozenset({"cvp_head"}), districts=frozenset({"*"}))
    assert everywhere.covers_district("PUNO")
    # A court role does not lend its scope to routes that admit only district roles.
    both = Operator("x", frozenset({"court", "officer"}), districts=frozenset({"CUSCO"}),
                    courts=frozenset({COURT_CODE}))
    assert not both.sees("LIMA", COURT_CODE, frozenset({"officer"}))


def test_unknown_districts_are_refused_by_name() -> None:
    w = World()
    with pytest.raises(ValidationError) as refused:
        w.measure(district="GOTHAM")
    assert refused.value.field == "district"


def test_a_drawn_area_needs_a_name_people_recognise() -> None:
    w = World()
    polygon = {"type": "Polygon", "coordinates": [[[-77.1, -12.2], [-76.9, -12.2], [-76.9, -12.0], [-77.1, -12.0],
                                                   [-77.1, -12.2]]]}
    with pytest.raises(ValidationError) as refused:
        w.measure(area=polygon)
    assert refused.value.field == "area_label"
    assert w.measure(area=polygon, area_label="distrito de Miraflores").area_label == "distrito de Miraflores"

"""Nobody falls through (SPEC 4.8): people who never enrol, windows that close without registration, and the
notices that reach the person; and the officers' caseloads that stay fair."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from chalicelib.services.control import calendar, incidents, measures, officers
from tests.unit.control.world import JUAN, NOW, World, court_staff, staff


def run_daily(w: World) -> tuple[int, int]:
    k = w.k
    missed = incidents.record_missed_checkins(measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                                              calendars=k.calendars, officers=k.officers, uow=k.uow, clock=w.clock)
    not_enrolled = incidents.record_not_enrolled(measures=k.measures, officers=k.officers, uow=k.uow, rng=w.rng,
                                                 clock=w.clock)
    return missed, not_enrolled


def test_a_measure_never_enrolled_by_its_deadline_becomes_one_incident_and_a_call_on_an_officers_list() -> None:
    w = World()
    w.officer("ana")
    measure = w.measure(first_registration_deadline="2026-11-10")
    assert run_daily(w) == (0, 1)
    assert run_daily(w) == (0, 0)  # once
    [incident] = w.incidents("not_enrolled")
    assert incident.measure_id == measure.measure_id and "10/11/2026" in incident.observations
    [case] = w.k.officers.cases_of_officer("LIMA", "ana")
    assert case.reason == "not_enrolled" and case.chain_id == measure.chain_id
    # When the person finally enrols, the same case goes on, now as an enrolment.
    w.enrol("telegram:1")
    w.run_worker()
    assert w.k.officers.get_case(measure.chain_id).reason == "enrolled"
    assert w.k.officers.get_officer("LIMA", "ana").assigned == 1


def test_missed_windows_are_computed_from_measures_and_the_person_is_told() -> None:
    w = World()
    w.officer("ana")
    enrolled = w.measure(start_date="2026-10-01")
    never = w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01", start_date="2026-10-01",
                      first_registration_deadline="2026-10-20")
    w.enrol("telegram:1")
    w.run_worker()
    w.clock.moment = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # group B's November window closed yesterday
    missed, _ = run_daily(w)
    by_measure = {i.measure_id for i in w.incidents("missed_checkin")}
    assert by_measure == {enrolled.measure_id, never.measure_id} and missed == 2
    assert run_daily(w)[0] == 0
    w.run_worker()
    assert any("terminó sin registro" in text for text in w.chat.to("1"))


def test_a_registered_window_is_not_missed() -> None:
    w = World()
    w.officer("ana")
    w.measure(start_date="2026-10-01")
    w.enrol("telegram:1")
    w.run_worker()
    assert w.check_in("telegram:1")["outcome"] == "registered"
    w.clock.moment = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert run_daily(w)[0] == 0


def test_new_cases_go_to_the_officer_with_fewest_open_cases_and_a_closed_measure_frees_its_slot() -> None:
    w = World()
    w.officer("ana")
    w.officer("bob")
    people = [w.measure(case_file=f"00{n:03d}-2020-0-1801-JR-PE-01") for n in range(100, 104)]
    chain = people[0].chain_id
    w.enrol("telegram:1")
    w.run_worker()
    holder = w.k.officers.get_case(chain).officer
    assert w.k.officers.get_officer("LIMA", holder).assigned == 1
    k = w.k
    measures.revoke_measure(people[0].measure_id, operator=court_staff(), measures=k.measures, uow=k.uow,
                            clock=w.clock)
    w.run_worker()
    assert w.k.officers.get_officer("LIMA", holder).assigned == 0
    assert not w.k.officers.get_case(chain).open


def test_the_backlog_is_spread_when_officers_join() -> None:
    w = World()
    w.rng = random.Random(3)
    w.officer("ana")
    from tests.unit.control.world import ROSA

    for n in range(10):
        person = {**ROSA, "document_number": f"7011{n:04d}"}
        w.measure(person)
        w.enrol(f"telegram:{n}", person)
    w.run_worker()
    assert w.k.officers.get_officer("LIMA", "ana").assigned == 10
    joined = w.officer("bob")
    assert joined["levelled"] == 5
    counts = sorted(o.assigned for o in w.k.officers.officers_of_district("LIMA"))
    assert counts == [5, 5]
    assert sum(1 for c in w.k.officers.cases_of_district("LIMA") if c.officer == "bob") == 5
    w.officer("eva")
    assert sorted(o.assigned for o in w.k.officers.officers_of_district("LIMA")) == [3, 3, 4]


def test_publishing_the_calendar_tells_each_enrolled_person_their_windows() -> None:
    w = World()
    w.officer("ana")
    w.measure()
    w.enrol("telegram:1")
    from infrastructure.local.seed import sample_calendar

    k = w.k
    calendar.put_calendar(2027, "lima", sample_calendar(2027), operator=staff("head", "cvp_head"), uow=k.uow,
                          officers=k.officers, clock=w.clock)
    w.run_worker()
    [text] = [t for t in w.chat.to("1") if "2027" in t]
    assert "grupo B" in text and "16/01/2027" in text and "Rosa Elvira de la Cruz Huamán" in text


def test_the_person_is_told_when_their_group_or_legal_status_changes() -> None:
    w = World()
    w.officer("ana")
    measure = w.measure()
    w.enrol("telegram:1")
    k = w.k
    changed = measures.change_group(measure.measure_id, {"group": "A"}, operator=court_staff(), measures=k.measures,
                                    calendars=k.calendars, uow=k.uow, clock=w.clock)
    measures.change_legal_status(changed.measure_id, {"legal_status": "sentenced"}, operator=court_staff(),
                                 measures=k.measures, enrolments=k.enrolments, officers=k.officers, uow=k.uow,
                                 clock=w.clock)
    w.run_worker()
    texts = w.chat.to("1")
    assert any("grupo A" in t for t in texts) and any("situación jurídica" in t for t in texts)
    w.run_worker()
    assert len(w.chat.to("1")) == len(texts)  # once each


def test_officers_are_limited_to_their_districts() -> None:
    w = World()
    k = w.k
    import pytest

    from chalicelib.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        officers.put_officer("CUSCO", "ana", {"active": True}, operator=staff("head", "cvp_head", "LIMA"),
                             officers=k.officers, measures=k.measures, uow=k.uow, rng=w.rng, clock=w.clock)
    assert NOW.year == 2026

"""The use cases the console added to virtual control, on the fakes: a court's search, a person's file with the
periods due against those registered, the CVP head's desk (open incidents, name-only warrant matches held for a
person), incidents recorded by hand, caseload hand-over and who is in each calendar group."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.control.warrants import Warrant
from chalicelib.domain.errors import DomainError, Forbidden, NotFound, ValidationError
from chalicelib.domain.operators import Operator
from chalicelib.services.control import desk, measures, officers, person_file
from tests.unit.control.world import CUSCO, JUAN, NAMELESS, ROSA, World, court_staff, staff


@pytest.fixture
def w() -> World:
    return World()


def search(w: World, query: str, who: Operator | None = None, **kw: Any) -> list[str]:
    _, found, _ = measures.search_measures(None, query, operator=who or court_staff(), measures=w.k.measures,
                                           audit=w.audit, clock=w.clock, **kw)
    return [m.person.full_name for m in found]


def test_a_court_finds_its_measures_by_document_name_words_or_case_file(w: World) -> None:
    rosa, juan = w.measure(ROSA), w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01")
    assert search(w, "70112233") == ["Rosa Elvira de la Cruz Huamán"]
    assert search(w, "huaman QUISPE") == ["Juan Carlos Quispe Huamán"]
    assert sorted(search(w, "huamán")) == ["Juan Carlos Quispe Huamán", "Rosa Elvira de la Cruz Huamán"]
    assert search(w, "00456-2021") == ["Juan Carlos Quispe Huamán"] and juan.case_file.startswith("00456")
    assert search(w, "nadie") == []
    assert w.audit.actions()[-1] == "court.measures_search" and "70112233" not in str(w.audit.entries[-1].details)
    measures.revoke_measure(rosa.measure_id, operator=court_staff(), measures=w.k.measures, uow=w.k.uow, clock=w.clock)
    assert search(w, "70112233") == [] and search(w, "70112233", status="all") == ["Rosa Elvira de la Cruz Huamán"]


def test_a_court_outside_the_scope_or_an_unnamed_one_is_refused(w: World) -> None:
    w.measure(ROSA)
    with pytest.raises(Forbidden):
        measures.search_measures("0401-JR-PE-02", "", operator=court_staff(), measures=w.k.measures, audit=w.audit,
                                 clock=w.clock)
    two_courts = Operator("judge-2", frozenset({"court"}), courts=frozenset({"1801-JR-PE-01", "1801-JR-PE-02"}))
    with pytest.raises(ValidationError) as refused:
        search(w, "", who=two_courts)
    assert refused.value.field == "court"
    national = Operator("judge-all", frozenset({"court"}), courts=frozenset({"*"}))
    with pytest.raises(ValidationError):
        search(w, "", who=national)  # a national scope still names the court whose list it reads


def test_a_preview_checks_the_measure_as_saving_would_and_writes_nothing(w: World) -> None:
    from tests.unit.control.world import measure_body

    body = measure_body(JUAN)
    preview = measures.preview_measure(body, operator=court_staff(), measures=w.k.measures, calendars=w.k.calendars,
                                       clock=w.clock)
    assert preview.area_label and w.k.measures.court_page("1801-JR-PE-01", 10, None) == ([], None)
    w.measure(JUAN, case_file=body["case_file"])
    with pytest.raises(DomainError) as duplicate:
        measures.preview_measure(body, operator=court_staff(), measures=w.k.measures, calendars=w.k.calendars,
                                 clock=w.clock)
    assert duplicate.value.code == "measure_exists"


def file_of(w: World, measure_id: str, who: Operator, as_role: str) -> person_file.PersonFile:
    k = w.k
    return person_file.person_file(measure_id, operator=who, as_role=as_role, measures=k.measures,
                                   enrolments=k.enrolments, officers=k.officers, checkins=k.checkins,
                                   incidents=k.incidents, calendars=k.calendars, audit=w.audit, clock=w.clock)


def test_a_persons_file_shows_the_periods_due_against_the_periods_registered(w: World) -> None:
    w.officer("ana")
    rosa = w.measure(ROSA, start_date="2026-09-01", first_registration_deadline="2026-09-30")
    w.enrol("telegram:1")
    w.run_worker()
    refused = w.check_in("telegram:1", CUSCO)
    assert refused["outcome"] == "out_of_area"
    pf = file_of(w, rosa.measure_id, staff("ana", "officer"), "officer")
    states = {p.window.key: p.state for p in pf.periods}
    assert states == {"2026-P09": "missed", "2026-P10": "missed", "2026-P11": "refused", "2026-P12": "upcoming"}
    assert pf.registered == 0 and pf.due == 3 and [p.window.key for p in pf.closed_windows] == ["2026-P11"]
    assert pf.checkins[0].outcome == "out_of_area" and pf.incidents[0].type.value == "out_of_area"
    assert w.audit.actions()[-1] == "person.read"


def test_a_persons_file_is_read_only_in_the_readers_scope(w: World) -> None:
    w.officer("ana")
    rosa = w.measure(ROSA)
    w.enrol("telegram:1")
    w.run_worker()
    assert file_of(w, rosa.measure_id, staff("head", "cvp_head"), "cvp_head").measure.measure_id == rosa.measure_id
    assert file_of(w, rosa.measure_id, court_staff(), "court").as_role == "court"
    for who, role in ((staff("bob", "officer"), "officer"), (staff("head", "cvp_head", "CUSCO"), "cvp_head"),
                      (court_staff(court="0401-JR-PE-02"), "court"), (court_staff(), "officer")):
        with pytest.raises(NotFound):
            file_of(w, rosa.measure_id, who, role)


def enrolled_person(w: World, person: dict[str, Any] = ROSA, owner: str = "telegram:1") -> str:
    measure = w.measure(person)
    w.enrol(owner, person)
    w.run_worker()
    return measure.measure_id


def test_a_name_only_warrant_match_waits_for_the_cvp_head_and_a_document_match_goes_to_the_police(
        w: World) -> None:
    w.officer("ana")
    enrolled_person(w)
    w.warrants.warrants.append(Warrant("REQ-9", "Rosa Elvira de la Cruz Huamán", None, "Juzgado", None))
    assert w.check_in("telegram:1")["outcome"] == "registered"
    [held] = w.incidents("warrant")
    assert held.status == "awaiting_review"
    w.run_worker()
    assert w.email.sent == [] and not w.k.incidents.get_incident(held.incident_id).notified
    head = staff("head", "cvp_head")
    k = w.k
    with pytest.raises(ValidationError):
        desk.decide_warrant(held.incident_id, {"decision": "confirmed", "note": "x"}, operator=head,
                            incidents=k.incidents, markers=k.markers, uow=k.uow, clock=w.clock)
    with pytest.raises(NotFound):
        desk.decide_warrant(held.incident_id, {"decision": "confirmed", "note": "Misma persona."},
                            operator=staff("other", "cvp_head", "CUSCO"), incidents=k.incidents, markers=k.markers,
                            uow=k.uow, clock=w.clock)
    decided = desk.decide_warrant(held.incident_id, {"decision": "confirmed", "note": "Misma persona, verificado."},
                                  operator=head, incidents=k.incidents, markers=k.markers, uow=k.uow, clock=w.clock)
    assert decided["status"] == "open" and "verificado" in decided["observations"]
    w.run_worker()
    assert [to for to, *_ in w.email.sent] == ["police@x", "head@x"]
    with pytest.raises(DomainError) as twice:
        desk.decide_warrant(held.incident_id, {"decision": "dismissed", "note": "Otra persona."}, operator=head,
                            incidents=k.incidents, markers=k.markers, uow=k.uow, clock=w.clock)
    assert twice.value.code == "not_awaiting_review"


def test_a_dismissed_name_only_match_is_closed_and_nobody_outside_is_told(w: World) -> None:
    w.officer("ana")
    enrolled_person(w)
    w.warrants.warrants.append(Warrant("REQ-9", "Rosa Elvira de la Cruz Huamán", None, "Juzgado", None))
    w.check_in("telegram:1")
    [held] = w.incidents("warrant")
    k = w.k
    desk.decide_warrant(held.incident_id, {"decision": "dismissed", "note": "Otra fecha de nacimiento."},
                        operator=staff("head", "cvp_head"), incidents=k.incidents, markers=k.markers, uow=k.uow,
                        clock=w.clock)
    w.run_worker()
    assert w.k.incidents.get_incident(held.incident_id).status == "closed" and w.email.sent == []
    assert any(e.action == "warrant.dismissed" for e in w.data.audit)


def test_the_desk_counts_open_incidents_by_type_and_lists_the_matches_awaiting(w: World) -> None:
    w.officer("ana")
    enrolled_person(w)
    w.check_in("telegram:1", CUSCO)
    view, _ = desk.open_incidents("LIMA", operator=staff("head", "cvp_head"), incidents=w.k.incidents,
                                  audit=w.audit, clock=w.clock)
    assert view["counts"]["out_of_area"] == 1 and view["warrants_awaiting"] == []
    with pytest.raises(Forbidden):
        desk.open_incidents("LIMA", operator=staff("head", "cvp_head", "CUSCO"), incidents=w.k.incidents,
                            audit=w.audit, clock=w.clock)


def test_an_officer_records_an_incident_by_hand_for_a_person_on_their_list(w: World) -> None:
    w.officer("ana")
    measure_id = enrolled_person(w)
    k = w.k
    ana = staff("ana", "officer")

    def record(payload: dict[str, Any], who: Operator = ana) -> dict[str, Any]:
        return desk.record_incident(measure_id, payload, operator=who, officers=k.officers, measures=k.measures,
                                    uow=k.uow, clock=w.clock)

    for bad, field in (({"type": "missed_checkin", "observations": "Texto largo"}, "type"),
                       ({"type": "out_of_area"}, "observations"),
                       ({"type": "out_of_area", "observations": "Está en Ica.", "day": "2026-12-31"}, "day")):
        with pytest.raises(ValidationError) as refused:
            record(bad)
        assert refused.value.field == field
    with pytest.raises(NotFound):
        record({"type": "out_of_area", "observations": "Está en Ica."}, staff("bob", "officer"))
    done = record({"type": "out_of_area", "observations": "Está en Ica por trabajo.", "day": "2026-11-19"})
    assert done["day"] == "2026-11-19" and done["status"] == "open" and "registrada por" in done["observations"]
    warrant = record({"type": "warrant", "observations": "Dijo tener una requisitoria."})
    assert warrant["status"] == "awaiting_review"


def test_a_caseload_is_handed_to_a_named_officer_or_shared_by_the_draw(w: World) -> None:
    w.officer("ana")
    for n, person in enumerate((ROSA, JUAN, NAMELESS)):
        w.measure(person)
        w.enrol(f"telegram:{n}", person)
    w.run_worker()
    w.officer("bob")
    w.officer("eva")
    k = w.k
    head = staff("head", "cvp_head")

    def hand(officer_id: str, to: str) -> dict[str, Any]:
        return officers.hand_over("LIMA", officer_id, {"to": to}, operator=head, officers=k.officers,
                                  measures=k.measures, uow=k.uow, rng=w.rng, clock=w.clock)

    loads = {o.officer_id: o.assigned for o in k.officers.officers_of_district("LIMA")}
    assert sum(loads.values()) == 3
    busiest = max(loads, key=lambda o: loads[o])
    moved = hand(busiest, "")
    after = {o.officer_id: o.assigned for o in k.officers.officers_of_district("LIMA")}
    assert after[busiest] == 0 and sum(after.values()) == 3 and moved["moved"] == loads[busiest]
    target = next(o for o in after if o != busiest)
    other = next(o for o in after if o not in (busiest, target))
    hand(other, target)
    final = {o.officer_id: o.assigned for o in k.officers.officers_of_district("LIMA")}
    assert final[other] == 0 and final[target] == 3
    for bad in ((target, target), (target, "nobody")):
        with pytest.raises(ValidationError):
            hand(*bad)
    with pytest.raises(Forbidden):
        officers.hand_over("LIMA", target, {"to": ""}, operator=staff("x", "cvp_head", "CUSCO"), officers=k.officers,
                           measures=k.measures, uow=k.uow, rng=w.rng, clock=w.clock)


def test_who_reports_in_each_group_of_the_calendar(w: World) -> None:
    w.measure(ROSA, group="A")
    w.measure(JUAN)
    members = desk.group_members(2026, "LIMA", operator=staff("head", "cvp_head"), measures=w.k.measures,
                                 audit=w.audit, clock=w.clock)
    assert {g: [p["full_name"] for p in ps] for g, ps in members.items()} == {
        "A": ["Rosa Elvira de la Cruz Huamán"], "B": ["Juan Carlos Quispe Huamán"]}
    assert desk.group_members(2030, "LIMA", operator=staff("head", "cvp_head"), measures=w.k.measures,
                              audit=w.audit, clock=w.clock) == {}

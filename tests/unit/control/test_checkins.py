"""The check-in's integrity rules (SPEC 4.8): a refusal closes self-service for the window until an officer
reopens it, the questions have a small attempt limit, a window is registered once per person across a change of
legal status, and "no record" is never judged as wrong answers."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import DomainError, ValidationError
from chalicelib.services.control import checkins, measures, reviews
from tests.unit.control.world import CUSCO, JPEG, LIMA, ROSA_ANSWERS, World, court_staff, location, staff

WRONG = {**ROSA_ANSWERS, "dni_issue_date": "2001-01-01"}


def enrolled(w: World, owner: str = "telegram:1") -> str:
    w.officer("ana")
    measure = w.measure()
    w.enrol(owner)
    w.run_worker()
    return measure.measure_id


def test_a_registered_check_in_speaks_with_the_courts_name_and_tells_the_next_window() -> None:
    w = World()
    enrolled(w)
    result = w.check_in("telegram:1")
    assert result["message"] == "annex3.f" and result["outcome"] == "registered"
    assert result["name"] == "Rosa Elvira de la Cruz Huamán"
    assert result["court"] == "Corte Superior de Justicia de Lima"
    assert result["next_window"] == {"start": "2026-12-16", "end": "2026-12-31", "group": "B"}
    with pytest.raises(DomainError) as again:
        w.start("telegram:1")
    assert again.value.code == "already_registered"


def test_out_of_area_closes_the_window_until_an_officer_reopens_it_with_a_reason() -> None:
    w = World()
    measure_id = enrolled(w)
    refused = w.check_in("telegram:1", where=CUSCO)
    assert refused["message"] == "annex3.e" and refused["outcome"] == "out_of_area"
    assert len(w.incidents("out_of_area")) == 1
    with pytest.raises(DomainError) as retry:
        w.start("telegram:1")
    assert retry.value.code == "window_closed"
    ops = {"operator": staff("ana", "officer"), "officers": w.k.officers, "p": w.p}
    with pytest.raises(ValidationError):
        reviews.reopen_window(measure_id, {"window": "2026-P11"}, **ops)  # no reason
    with pytest.raises(DomainError):  # another officer's person is not theirs to reopen
        reviews.reopen_window(measure_id, {"window": "2026-P11", "reason": "Se comunicó por teléfono"},
                              **{**ops, "operator": staff("bob", "officer")})
    reopened = reviews.reopen_window(measure_id, {"window": "2026-P11", "reason": "Viajó con autorización verbal"},
                                     **ops)
    assert reopened["state"] == "open" and reopened["opening"] == 1
    assert [e.action for e in w.data.audit].count("window.reopen") == 1
    assert w.check_in("telegram:1")["outcome"] == "registered"


def test_the_questions_allow_one_more_try_then_end_with_annex_3c_and_close_the_window() -> None:
    w = World()
    enrolled(w)
    first = w.check_in("telegram:1", answers=WRONG)
    assert first["message"] == "questions_retry" and first["attempts_left"] == 1 and first["step"] == "questions"
    second = checkins.submit_answers(first["checkin_id"], {"answers": WRONG}, owner="telegram:1", p=w.p)
    assert second["message"] == "annex3.c" and second["outcome"] == "impersonation"
    assert len(w.incidents("impersonation")) == 1
    with pytest.raises(DomainError) as retry:
        w.start("telegram:1")
    assert retry.value.code == "window_closed"


def test_a_new_check_in_does_not_reset_the_attempts_of_the_window() -> None:
    w = World()
    enrolled(w)
    first = w.check_in("telegram:1", answers=WRONG)
    assert first["attempts_left"] == 1
    # The person abandons that check-in and starts another in the same window.
    second = w.check_in("telegram:1", answers=WRONG)
    assert second["message"] == "annex3.c"


def test_a_check_in_left_open_cannot_register_after_the_window_was_refused() -> None:
    w = World()
    enrolled(w)
    parked = w.start("telegram:1")
    checkins.submit_location(parked, location(w.clock, *LIMA), owner="telegram:1", p=w.p)
    checkins.submit_selfie(parked, JPEG, "photo", owner="telegram:1", p=w.p)
    assert w.check_in("telegram:1", where=CUSCO)["outcome"] == "out_of_area"
    with pytest.raises(DomainError) as closed:
        checkins.submit_answers(parked, {"answers": ROSA_ANSWERS}, owner="telegram:1", p=w.p)
    assert closed.value.code == "window_closed"
    assert w.k.checkins.get_checkin(parked).outcome == "window_closed"


def test_a_window_is_registered_once_per_person_across_a_change_of_legal_status() -> None:
    w = World()
    old = enrolled(w)
    assert w.check_in("telegram:1")["outcome"] == "registered"
    k = w.k
    new = measures.change_legal_status(old, {"legal_status": "sentenced"}, operator=court_staff(),
                                       measures=k.measures, enrolments=k.enrolments, officers=k.officers, uow=k.uow,
                                       clock=w.clock)
    assert new.chain_id == old and new.previous_id == old
    with pytest.raises(DomainError) as again:
        w.start("telegram:1")
    assert again.value.code == "already_registered"
    view = measures.compliance(new.measure_id, operator=court_staff(), measures=k.measures, checkins=k.checkins,
                               incidents=k.incidents, audit=w.audit, clock=w.clock)
    assert [m["measure_id"] for m in view["chain"]] == [old, new.measure_id]
    assert [(c["measure_id"], c["outcome"]) for c in view["checkins"]] == [(old, "registered")]


def test_no_record_in_the_identity_registry_goes_to_an_officer_never_to_an_impersonation_incident() -> None:
    w = World()
    enrolled(w)
    w.identity.records.clear()  # the registry answers, with nothing
    held = w.check_in("telegram:1")
    assert held["message"] == "review" and held["step"] == "review" and held["outcome"] is None
    assert w.incidents("impersonation") == []
    with pytest.raises(DomainError) as busy:
        w.start("telegram:1")
    assert busy.value.code == "checkin_under_review"
    ops = {"operator": staff("ana", "officer"), "officers": w.k.officers, "p": w.p}
    assert [i["checkin_id"] for i in reviews.held_for_review(**ops)[0]] == [held["checkin_id"]]
    decided = reviews.review_checkin(held["checkin_id"], {"decision": "confirmed", "note": "Foto y llamada coinciden"},
                                     audit=w.audit, **ops)
    assert decided["outcome"] == "registered"
    assert reviews.held_for_review(**ops) == ([], None)
    assert "checkin.review" in w.audit.actions()


def test_an_officer_who_cannot_confirm_a_held_check_in_ends_it_as_annex_3c() -> None:
    w = World()
    enrolled(w)
    w.identity.records.clear()
    held = w.check_in("telegram:1")
    ops = {"operator": staff("ana", "officer"), "officers": w.k.officers, "p": w.p}
    decided = reviews.review_checkin(held["checkin_id"], {"decision": "not_confirmed",
                                                          "note": "No respondió la llamada"}, audit=w.audit, **ops)
    assert decided["message"] == "annex3.c" and len(w.incidents("impersonation")) == 1


def test_a_borderline_place_asks_to_move_and_names_the_area_with_its_centre() -> None:
    w = World()
    w.officer("ana")
    w.measure(area="LIMA", area_label="distrito judicial de Lima")
    w.enrol("telegram:1")
    checkin_id = w.start("telegram:1")
    lima = w.k.measures.active_measures_of_person("DNI#70112233")[0].permitted_area()
    edge_lon, edge_lat = lima.geometry.point_along_boundary(0.3)
    checkins.submit_location(checkin_id, location(w.clock, edge_lat, edge_lon, accuracy_m=500), owner="telegram:1",
                             p=w.p)
    checkins.submit_selfie(checkin_id, JPEG, "photo", owner="telegram:1", p=w.p)
    result = checkins.submit_answers(checkin_id, {"answers": ROSA_ANSWERS}, owner="telegram:1", p=w.p)
    assert result["message"] == "annex3.d" and result["step"] == "fresh_location"
    place = result["place"]
    assert place["label"] == "distrito judicial de Lima"
    assert lima.contains(place["latitude"], place["longitude"])

"""One person, one chat, per measure (SPEC 4.8): the impostor, the chat that tries to become someone else, the
name-only enrolment that waits for an officer, the officer's relink, and the enrolment with no measure."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict, DomainError, NotFound
from chalicelib.services.control import enrolment
from tests.unit.control.world import JUAN, NAMELESS, ROSA, World, staff


def officer_ops(w: World, officer_id: str = "ana") -> dict:
    k = w.k
    return {"operator": staff(officer_id, "officer"), "measures": k.measures, "enrolments": k.enrolments,
            "officers": k.officers, "uow": k.uow, "clock": w.clock}


def test_a_person_enrols_and_the_chat_is_linked_to_their_measure() -> None:
    w = World()
    measure = w.measure()
    done = w.enrol("telegram:1")
    assert done.enrolment.active and done.measure.linked_owner == "telegram:1"
    assert w.k.measures.get_measure(measure.measure_id).linked_owner == "telegram:1"
    assert done.first_window is not None and done.first_window.key == "2026-P11"
    assert w.data.event_names().count("control.enrolled") == 1


def test_a_second_chat_claiming_the_same_person_is_refused_and_raises_one_impersonation_incident() -> None:
    w = World()
    measure = w.measure()
    w.enrol("telegram:1")
    for _ in range(3):  # trying again does not multiply incidents
        with pytest.raises(Conflict) as refused:
            w.enrol("telegram:666", mobile="+51911111111")
        assert refused.value.code == "measure_linked_elsewhere" and refused.value.status == 409
    assert w.k.measures.get_measure(measure.measure_id).linked_owner == "telegram:1"
    assert w.k.enrolments.get_enrolment("telegram:666") is None
    incidents = w.incidents("impersonation")
    assert len(incidents) == 1 and incidents[0].measure_id == measure.measure_id
    attempts = w.k.enrolments.link_attempts_of_chain(measure.chain_id)
    assert [a.owner for a in attempts] == ["telegram:666"] and attempts[0].form["mobile"] == "+51911111111"


def test_the_linked_chat_updates_its_contact_details_without_a_new_link() -> None:
    w = World()
    w.measure()
    w.enrol("telegram:1")
    again = w.enrol("telegram:1", address="Jr. Lampa 456, Lima")
    assert again.enrolment.address == "Jr. Lampa 456, Lima"
    assert w.data.event_names().count("control.enrolled") == 1


def test_a_chat_cannot_become_another_person_and_the_officers_are_told() -> None:
    w = World()
    w.measure()
    juan = w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01")
    w.enrol("telegram:1")
    with pytest.raises(Conflict) as refused:
        w.enrol("telegram:1", JUAN)
    assert refused.value.code == "chat_linked_to_other_person"
    assert w.k.enrolments.get_enrolment("telegram:1").chain_id != juan.chain_id
    assert w.k.measures.get_measure(juan.measure_id).linked_owner is None
    assert [i.measure_id for i in w.incidents("impersonation")] == [juan.measure_id]


def test_a_person_with_no_document_stays_pending_until_an_officer_confirms() -> None:
    w = World()
    w.officer("ana")
    w.measure(NAMELESS, area="LIMA", resolution_date="2020-05-05")
    done = w.enrol("telegram:9", NAMELESS)
    assert done.enrolment.status == "pending_confirmation"
    with pytest.raises(DomainError) as refused:
        w.start("telegram:9")
    assert refused.value.code == "enrolment_pending"
    w.run_worker()
    case = w.k.officers.cases_of_officer("LIMA", "ana")[0]
    enrolment.confirm_enrolment(done.measure.measure_id, {"confirmed": True, "note": "llamada"},
                                **officer_ops(w, case.officer))
    assert w.k.enrolments.get_enrolment("telegram:9").active
    assert "enrolment.confirm" in [e.action for e in w.data.audit]
    w.run_worker()
    assert any("confirmó su empadronamiento" in text for text in w.chat.to("9"))
    assert w.start("telegram:9")


def test_an_officer_who_cannot_confirm_the_name_undoes_the_link() -> None:
    w = World()
    w.officer("ana")
    measure = w.measure(NAMELESS)
    w.enrol("telegram:9", NAMELESS)
    w.run_worker()
    enrolment.confirm_enrolment(measure.measure_id, {"confirmed": False, "note": "no contesta"}, **officer_ops(w))
    assert w.k.enrolments.get_enrolment("telegram:9").status == "closed"
    assert w.k.measures.get_measure(measure.measure_id).linked_owner is None


def test_only_the_officer_of_the_person_can_confirm() -> None:
    w = World()
    w.officer("ana")
    measure = w.measure(NAMELESS)
    w.enrol("telegram:9", NAMELESS)
    w.run_worker()
    with pytest.raises(NotFound):
        enrolment.confirm_enrolment(measure.measure_id, {"confirmed": True}, **officer_ops(w, "someone-else"))


def test_the_officer_relinks_the_person_to_the_chat_that_claimed_them_with_a_reason() -> None:
    w = World()
    w.officer("ana")
    measure = w.measure()
    w.enrol("telegram:1")
    w.run_worker()
    with pytest.raises(Conflict):
        w.enrol("telegram:2", mobile="+51922222222")
    attempt = w.k.enrolments.link_attempts_of_chain(measure.chain_id)[0]
    with pytest.raises(DomainError):  # a reason is required
        enrolment.relink(measure.measure_id, {"attempt_id": attempt.attempt_id}, **officer_ops(w))
    enrolment.relink(measure.measure_id, {"attempt_id": attempt.attempt_id, "reason": "Cambió de teléfono; "
                                          "verificado por llamada"}, **officer_ops(w))
    assert w.k.measures.get_measure(measure.measure_id).linked_owner == "telegram:2"
    assert w.k.enrolments.get_enrolment("telegram:1").status == "closed"
    assert w.k.enrolments.get_enrolment("telegram:2").mobile == "+51922222222"
    audit = [e for e in w.data.audit if e.action == "enrolment.relink"]
    assert len(audit) == 1 and "verificado" in audit[0].details["reason"]
    w.run_worker()
    assert w.chat.to("2") and w.chat.to("1")  # both chats are told
    with pytest.raises(DomainError) as closed:
        w.start("telegram:1")
    assert closed.value.code == "not_enrolled"
    assert w.start("telegram:2")
    with pytest.raises(NotFound):  # the attempt was used
        enrolment.relink(measure.measure_id, {"attempt_id": attempt.attempt_id, "reason": "otra vez"},
                         **officer_ops(w))


def test_an_enrolment_with_no_measure_asks_for_the_district_then_reaches_the_cvp_head() -> None:
    w = World()
    with pytest.raises(DomainError) as first:
        w.enrol("telegram:5", JUAN)
    assert first.value.code == "no_measure" and first.value.details == {"district_needed": True}
    assert w.k.enrolments.unmatched_page("LIMA", 10, None) == ([], None)
    for _ in range(2):
        with pytest.raises(DomainError) as queued:
            w.enrol("telegram:5", JUAN, district="lima")
        assert queued.value.details == {"queued": True, "district": "LIMA"}
    queue, _ = enrolment.unmatched_queue("LIMA", operator=staff("head", "cvp_head"), enrolments=w.k.enrolments,
                                         audit=w.audit, clock=w.clock)
    assert [q["full_name"] for q in queue] == ["Juan Carlos Quispe Huamán"]
    with pytest.raises(DomainError) as other_district:
        enrolment.unmatched_queue("CUSCO", operator=staff("head", "cvp_head"), enrolments=w.k.enrolments,
                                  audit=w.audit, clock=w.clock)
    assert other_district.value.code == "out_of_scope"
    # The court creates the measure: the person is told they can enrol now, and the queue empties.
    w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01")
    w.run_worker()
    assert w.k.enrolments.unmatched_page("LIMA", 10, None) == ([], None)
    assert any("/control" in text for text in w.chat.to("5"))


def test_names_that_do_not_match_the_courts_record_are_refused() -> None:
    w = World()
    w.measure()
    with pytest.raises(DomainError) as refused:
        w.enrol("telegram:1", {**ROSA, "given_names": "Rosa Maria"})
    assert refused.value.code == "names_mismatch"

"""The control ports' contract, run against both implementations: the DynamoDB adapters on DynamoDB Local and
the in-memory fakes the unit tests use. What the unit tests prove on the fakes holds on the database because both
keep the same rules (versions, conditional inserts, indexes, all-or-nothing transactions)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.control.checkins import WindowRecord, WindowState
from chalicelib.domain.control.enrolment import LinkAttempt, UnmatchedEnrolment
from chalicelib.domain.control.incidents import IncidentType, new_incident, stable_incident_id
from chalicelib.domain.control.measures import parse_measure
from chalicelib.domain.control.officers import Case, Officer
from chalicelib.domain.control.people import parse_person
from chalicelib.domain.control.ports import ControlStores
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.pages import every_page
from chalicelib.domain.ports import AlreadyExists
from chalicelib.domain.requests import new_id
from tests.fakes_control import fake_control

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "fake"])
def stores(request: pytest.FixtureRequest) -> ControlStores:
    if request.param == "fake":
        return fake_control()
    c = request.getfixturevalue("container")
    stores: ControlStores = c.control
    return stores


def a_measure(district: str = "LIMA", **changes: Any) -> Any:
    number = f"9{secrets.randbelow(10**7):07d}"
    body = {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": number,
                       "given_names": "Prueba", "surnames": "Contrato Puerto"},
            "case_file": f"{secrets.randbelow(10**5):05d}-2020-0-1801-JR-PE-01", "court": "1° Juzgado",
            "district": district, "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
            "first_registration_deadline": "2026-12-31", "end_date": "2027-12-31", "group": "B", **changes}
    return parse_measure(body, measure_id=new_id(), now=NOW, created_by="judge")


def held_in(stores: ControlStores, district: str) -> list[Any]:
    return every_page(lambda at: stores.checkins.held_page(district, 200, at))


def unmatched_in(stores: ControlStores, district: str) -> list[Any]:
    return every_page(lambda at: stores.enrolments.unmatched_page(district, 200, at))


def open_in(stores: ControlStores, district: str) -> list[Any]:
    return every_page(lambda at: stores.incidents.open_page(district, 200, at))


def saved(stores: ControlStores, measure: Any) -> Any:
    tx = stores.uow.begin()
    tx.put_measure(measure)
    tx.commit()
    found = stores.measures.get_measure(measure.measure_id)
    assert found is not None
    return found


def test_a_new_versioned_record_goes_in_once_and_a_stale_version_is_refused(stores: ControlStores) -> None:
    measure = saved(stores, a_measure())
    assert measure.version == 1
    again = stores.uow.begin()
    again.put_measure(replace(measure, version=0))
    with pytest.raises(AlreadyExists):
        again.commit()
    fresh = stores.uow.begin()
    fresh.put_measure(replace(measure, group="A"))
    fresh.commit()
    stale = stores.uow.begin()
    stale.put_measure(replace(measure, group="C"))  # still version 1: someone wrote meanwhile
    with pytest.raises(ConcurrentUpdate):
        stale.commit()
    assert stores.measures.get_measure(measure.measure_id).group == "A"


def test_a_failed_condition_cancels_the_whole_transaction(stores: ControlStores) -> None:
    measure = saved(stores, a_measure())
    tx = stores.uow.begin()
    tx.claim(f"contract#{measure.measure_id}")
    tx.commit()
    both = stores.uow.begin()
    both.put_measure(replace(measure, group="A"))
    both.claim(f"contract#{measure.measure_id}")  # already there
    with pytest.raises(AlreadyExists):
        both.commit()
    assert stores.measures.get_measure(measure.measure_id).group == "B"


def test_a_person_and_case_is_held_by_one_measure_until_released_or_handed_over(stores: ControlStores) -> None:
    measure = a_measure()
    key = measure.identity_key
    first = stores.uow.begin()
    first.claim_measure_key(key, measure.measure_id)
    first.commit()
    assert stores.measures.measure_holding_key(key) == measure.measure_id
    second = stores.uow.begin()
    second.claim_measure_key(key, "other")
    with pytest.raises(AlreadyExists):
        second.commit()
    handover = stores.uow.begin()
    handover.claim_measure_key(key, "successor", replacing=True)
    handover.commit()
    assert stores.measures.measure_holding_key(key) == "successor"
    release = stores.uow.begin()
    release.release_measure_key(key)
    release.commit()
    assert stores.measures.measure_holding_key(key) is None


def test_active_measures_are_found_by_person_and_by_district_until_they_end(stores: ControlStores) -> None:
    district = "TUMBES"
    measure = saved(stores, a_measure(district))
    key = parse_person(measure_person(measure), prefix="").key
    assert [m.measure_id for m in stores.measures.active_measures_of_person(key)] == [measure.measure_id]
    assert measure.measure_id in [m.measure_id for m in stores.measures.active_measures_of_district(district)]
    tx = stores.uow.begin()
    tx.put_measure(measure.revoked())
    tx.commit()
    assert stores.measures.active_measures_of_person(key) == []
    assert measure.measure_id not in [m.measure_id for m in stores.measures.active_measures_of_district(district)]


def measure_person(measure: Any) -> dict[str, Any]:
    p = measure.person
    return {"has_document": p.has_document, "document_type": p.document_type, "document_number": p.document_number,
            "given_names": p.given_names, "surnames": p.surnames}


def test_a_window_starts_open_and_a_held_one_is_listed_for_its_district(stores: ControlStores) -> None:
    chain = new_id()
    record = stores.checkins.window(chain, "2026-P11")
    assert record.state is WindowState.OPEN and record.version == 0
    held = replace(record, state=WindowState.HELD, checkin_id="c1")
    tx = stores.uow.begin()
    tx.put_window(held, held_district="PIURA")
    tx.commit()
    assert [w.chain_id for w in held_in(stores, "PIURA") if w.chain_id == chain] == [chain]
    current = stores.checkins.window(chain, "2026-P11")
    done = stores.uow.begin()
    done.put_window(replace(current, state=WindowState.REGISTERED))
    done.commit()
    assert chain not in [w.chain_id for w in held_in(stores, "PIURA")]
    with pytest.raises(AlreadyExists):  # a second "first" record of the same window
        late = stores.uow.begin()
        late.put_window(WindowRecord(chain_id=chain, window_key="2026-P11"))
        late.commit()


def test_link_attempts_and_unmatched_enrolments_are_found_until_resolved(stores: ControlStores) -> None:
    chain = new_id()
    attempt = LinkAttempt(new_id(), "m1", chain, "telegram:9", {"mobile": "+51911111111"}, NOW)
    person = parse_person({"has_document": True, "document_type": "DNI", "document_number": "71234567",
                           "given_names": "Sin", "surnames": "Medida Aun"}, prefix="")
    waiting = UnmatchedEnrolment(new_id(), "PASCO", "telegram:9", person, {"language": "es"}, NOW)
    tx = stores.uow.begin()
    tx.put_link_attempt(attempt)
    tx.put_unmatched(waiting)
    tx.commit()
    assert [a.attempt_id for a in stores.enrolments.link_attempts_of_chain(chain)] == [attempt.attempt_id]
    assert waiting.attempt_id in [u.attempt_id for u in unmatched_in(stores, "PASCO")]
    assert waiting.attempt_id in [u.attempt_id for u in stores.enrolments.unmatched_of_person(person.key)]
    done = stores.uow.begin()
    done.put_unmatched(replace(waiting, resolved_at=NOW, resolution="measure_created"))
    done.commit()
    assert waiting.attempt_id not in [u.attempt_id for u in unmatched_in(stores, "PASCO")]
    assert waiting.attempt_id not in [u.attempt_id for u in stores.enrolments.unmatched_of_person(person.key)]


def test_an_officers_list_holds_their_open_cases_only(stores: ControlStores) -> None:
    district, officer = "MOQUEGUA", f"ana-{secrets.token_hex(3)}"
    case = Case(chain_id=new_id(), district=district, measure_id="m1", opened_at=NOW, officer=officer)
    tx = stores.uow.begin()
    tx.put_officer(Officer(district=district, officer_id=officer, assigned=1))
    tx.put_case(case)
    tx.commit()
    assert [c.chain_id for c in stores.officers.cases_of_officer(district, officer)] == [case.chain_id]
    assert district in stores.officers.districts_of_officer(officer)
    current = stores.officers.get_case(case.chain_id)
    closed = stores.uow.begin()
    closed.put_case(replace(current, open=False))
    closed.commit()
    assert stores.officers.cases_of_officer(district, officer) == []
    assert case.chain_id in [c.chain_id for c in stores.officers.cases_of_district(district)]


def test_an_outage_opens_once_and_closes_once(stores: ControlStores) -> None:
    registry = f"contract-{secrets.token_hex(3)}"
    opened = stores.uow.begin()
    opened.open_outage(registry, NOW)
    opened.commit()
    assert stores.contingencies.outage(registry).open
    twice = stores.uow.begin()
    twice.open_outage(registry, NOW)
    with pytest.raises(AlreadyExists):
        twice.commit()
    closed = stores.uow.begin()
    closed.close_outage(registry, NOW, NOW)
    closed.commit()
    assert not stores.contingencies.outage(registry).open
    again = stores.uow.begin()
    again.close_outage(registry, NOW, NOW)
    with pytest.raises(AlreadyExists):
        again.commit()


def test_an_incident_of_a_stable_id_is_recorded_once_and_found_by_day_and_measure(stores: ControlStores) -> None:
    measure = a_measure("TACNA")
    incident = new_incident(stable_incident_id("contract", measure.measure_id), IncidentType.MISSED, measure, NOW,
                            "prueba")
    for attempt in range(2):
        tx = stores.uow.begin()
        tx.add_incident(incident)
        if attempt:
            with pytest.raises(AlreadyExists):
                tx.commit()
        else:
            tx.commit()
    assert [i.incident_id for i in stores.incidents.incidents_of_measure(measure.measure_id)] == [
        incident.incident_id]
    assert incident.incident_id in [i.incident_id for i in stores.incidents.incidents_of_day("TACNA", date(2026, 11,
                                                                                                            20))]


def test_a_marker_is_claimed_once_until_released(stores: ControlStores) -> None:
    key = f"contract-marker#{secrets.token_hex(4)}"
    assert stores.markers.claim(key, {"by": "x"})
    assert not stores.markers.claim(key)
    assert stores.markers.marker(key)["by"] == "x"
    stores.markers.release(key)
    assert stores.markers.claim(key)


def test_a_courts_measures_are_listed_newest_first_whatever_their_status(stores: ControlStores) -> None:
    court = f"{secrets.randbelow(9000) + 1000}-JR-PE-{secrets.randbelow(90) + 10}"
    older = saved(stores, replace(a_measure(case_file=f"00001-2020-0-{court}"), created_at=NOW.replace(hour=1)))
    newer = saved(stores, a_measure(case_file=f"00002-2020-0-{court}"))
    tx = stores.uow.begin()
    tx.put_measure(older.revoked())
    tx.commit()
    listed = every_page(lambda at: stores.measures.court_page(court, 1, at))  # a page each
    assert [m.measure_id for m in listed] == [newer.measure_id, older.measure_id]
    assert listed[1].status == "revoked"
    assert stores.measures.court_page("9999-XX-XX-99", 10, None) == ([], None)


def test_open_incidents_of_a_district_are_listed_until_closed(stores: ControlStores) -> None:
    measure = a_measure("PUNO")
    first = new_incident(new_id(), IncidentType.OUT_OF_AREA, measure, NOW, "prueba")
    second = new_incident(new_id(), IncidentType.WARRANT, measure, NOW.replace(hour=16), "prueba")
    tx = stores.uow.begin()
    tx.add_incident(first)
    tx.add_incident(replace(second, status="awaiting_review"))
    tx.commit()
    listed = [i.incident_id for i in open_in(stores, "PUNO")]
    assert first.incident_id in listed and second.incident_id in listed
    assert listed.index(first.incident_id) < listed.index(second.incident_id)
    stored = stores.incidents.get_incident(first.incident_id)
    tx = stores.uow.begin()
    tx.put_incident(replace(stored, status="closed"))
    tx.commit()
    assert first.incident_id not in [i.incident_id for i in open_in(stores, "PUNO")]

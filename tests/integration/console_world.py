"""A district of the test's own with something on every console page: a refused check-in (out of area, window
closed), one held for review, one held under the contingency plan (a callback), a name-only warrant match, a
name-only enrolment to confirm, a person who never enrolled, a homonym for the reviewer, a daily report with two
revisions, import jobs (one refused by line, one done), and one operator account per role."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry
from chalicelib.adapters.local_registries import RegistrySwitch
from chalicelib.domain.ports import IdentityRecord
from infrastructure.local.demo_console import photo
from tests.factories import JOSE
from tests.integration.conftest import Api
from tests.integration.console_support import account
from tests.integration.control_support import (
    CUSCO,
    INSIDE_LIMA,
    ROSA,
    ROSA_ANSWERS,
    Person,
    flush_worker,
    location,
    new_district,
    put_officer,
    run_schedule,
    staff,
)

COURT = "1801-JR-PE-01"


def registry_person(api: Api, given: str, first: str, second: str) -> dict[str, Any]:
    """A person the identity registry knows (so the questions can pass), with a DNI of the test's own."""
    number = f"6{secrets.randbelow(10**7):07d}"
    DynamoIdentityRegistry().put_many([IdentityRecord(
        "DNI", number, given, first, second, date(1985, 5, 5), date(2019, 5, 6), date(2029, 5, 6), "PER",
        f"Pedro {first}", f"Ana {second}")])
    return {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": number,
                       "given_names": given, "surnames": f"{first} {second}"},
            "answers": {"parents_names": f"Pedro {first} y Ana {second}", "dni_issue_date": "2019-05-06",
                        "dni_expiry_date": "2029-05-06", "dni_check_character": None}}


def selfie_check_in(api: Api, who: Person, where: tuple[float, float], answers: dict[str, Any]) -> dict[str, Any]:
    """A check-in with a real photo as the selfie."""
    started = who.start()
    assert started.status_code == 201, started.body
    cid = started.json_body["checkin_id"]
    assert who.step(cid, "location", location(api, *where)).status_code == 200
    headers = {**api.channel_headers(who.user), "Content-Type": "image/jpeg"}
    api.client.http.post(f"/v1/control/check-ins/{cid}/selfie", body=photo(1), headers=headers)
    from tests.integration.control_support import answers_of

    result = who.step(cid, "answers", {"answers": answers_of(who.person, answers)})
    assert result.status_code == 200, result.body
    return {**result.json_body, "checkin_id": cid}


def build(api: Api) -> dict[str, Any]:
    flush_worker(api)
    run_schedule(api, "control_recovery")
    district = new_district(api)
    officer_id = staff(district, "ana")
    put_officer(api, district, officer_id)
    world: dict[str, Any] = {"district": district, "officer_id": officer_id}
    world["accounts"] = {
        "reviewer": account(api, "reviewer", name="Rocío Revisora"),
        "officer": account(api, "officer", districts=(district,), username=officer_id, name="Ana Encargada"),
        "cvp_head": account(api, "cvp_head", districts=(district,), name="Carlos Jefe del CVP"),
        "court": account(api, "court", courts=(COURT,), name="Julia Jueza"),
        "admin": account(api, "admin", name="Alberto Administrador"),
        "auditor": account(api, "auditor", name="Aurora Auditora"),
    }
    # Rosa checks in from Cusco: out of the area, the window closes until an officer reopens it.
    rosa = Person(api, ROSA, "telegram:cw-rosa", district=district)
    assert rosa.enrol().status_code == 201
    api.run_worker()
    world["refused"] = selfie_check_in(api, rosa, CUSCO, ROSA_ANSWERS)
    world["rosa"] = rosa.measure["measure_id"]
    # Someone the identity registry does not know: the check-in waits for the officer's review.
    unknown = Person(api, {"has_document": True, "nationality": "PER", "document_type": "DNI",
                           "document_number": f"5{secrets.randbelow(10**7):07d}", "given_names": "Elena",
                           "surnames": "Ramos Tello"}, "telegram:cw-held", district=district)
    assert unknown.enrol().status_code == 201
    api.run_worker()
    world["held"] = selfie_check_in(api, unknown, INSIDE_LIMA, {"parents_names": "x", "dni_issue_date": "2020-01-01",
                                                               "dni_expiry_date": "2030-01-01"})
    world["held_measure"] = unknown.measure["measure_id"]
    # A name-only warrant match (REQ-0002 names Marco Antonio Vílchez Rojas with no document number).
    marco = registry_person(api, "Marco Antonio", "Vílchez", "Rojas")
    vilchez = Person(api, marco["person"], "telegram:cw-marco", district=district)
    assert vilchez.enrol().status_code == 201
    api.run_worker()
    world["warrant"] = selfie_check_in(api, vilchez, INSIDE_LIMA, marco["answers"])
    world["marco"] = vilchez.measure["measure_id"]
    # The identity registry goes down mid check-in: held under annex 5, a callback queued.
    luz = registry_person(api, "Luz Marina", "Quispe", "Condori")
    quispe = Person(api, luz["person"], "telegram:cw-luz", district=district)
    assert quispe.enrol().status_code == 201
    api.run_worker()
    switch = RegistrySwitch(api.c.settings.data_dir / "switches", "identity")
    switch.set_down(True)
    try:
        world["contingency"] = selfie_check_in(api, quispe, INSIDE_LIMA, luz["answers"])
    finally:
        switch.set_down(False)
    # A name-only enrolment waiting for the officer's confirmation, with the photo it sent.
    nameless = {"has_document": False, "nationality": "VEN", "given_names": "Teodoro", "surnames": "Pérez Rojas"}
    teodoro = Person(api, nameless, "telegram:cw-teo", district=district)
    assert teodoro.enrol(**nameless).status_code == 201
    headers = {**api.channel_headers(teodoro.user), "Content-Type": "image/jpeg"}
    api.client.http.post("/v1/control/enrolment/photo", body=photo(4), headers=headers)
    world["teodoro"] = teodoro.measure["measure_id"]
    # Someone who never enrolled, past the deadline: the nightly job puts them on the officer's list.
    never = Person(api, {"has_document": True, "nationality": "PER", "document_type": "DNI",
                         "document_number": f"4{secrets.randbelow(10**7):07d}", "given_names": "Teófilo",
                         "surnames": "Mendoza Ríos"}, "telegram:cw-never", district=district,
                   first_registration_deadline="2026-11-10")
    world["never"] = never.measure["measure_id"]
    run_schedule(api, "control_missed_checkins")
    api.run_worker()
    # The reviewer's homonym case.
    world["request"] = api.paid(JOSE, user="telegram:cw-jose")
    api.run_worker()
    # The day's report, twice: the second revision supersedes the first.
    day = "2026-11-20"
    headers = api.operator_headers("cvp_head", subject="cvp-world", districts=(district,))
    assert api.post(f"/v1/cvp/reports/{district}/{day}", {}, headers=headers).status_code == 201
    api.post(f"/v1/officer/enrolments/{world['held_measure']}/incidents",
             {"type": "out_of_area", "observations": "Informó por llamada que está de viaje en Ica."},
             headers=api.operator_headers("officer", subject=officer_id, districts=(district,)))
    assert api.post(f"/v1/cvp/reports/{district}/{day}", {}, headers=headers).status_code == 201
    world["day"] = day
    # Two imports: one refused by line, one done.
    admin = api.operator_headers("admin", subject="admin-world")
    header = ("warrant_id,given_names,surnames,document_number,issued_by,issued_on\n")
    bad = header + "CW-1,Ana,Pérez Soto,1234,Juzgado,2026-01-01\nCW-2,Luis,Soto Vera,,Juzgado,2026-13-01\n"
    good = header + "CW-3,Ana,Pérez Soto,,Juzgado,2026-01-01\n"
    jobs = []
    for body in (bad, good):
        answer = api.client.http.post("/v1/admin/registries/warrants/jobs", body=body.encode(),
                                      headers={**admin, "Content-Type": "text/csv"})
        assert answer.status_code == 202, answer.body
        jobs.append(answer.json_body["job_id"])
    api.run_worker()
    world["jobs"] = jobs
    return world

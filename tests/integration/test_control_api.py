"""Virtual penal control over the API on DynamoDB Local: measures, enrolment, check-ins, incidents."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.control.areas import gazetteer
from tests.integration.control_support import (
    CUSCO,
    INSIDE_LIMA,
    JORGE,
    JORGE_ANSWERS,
    JPEG,
    ROSA,
    ROSA_ANSWERS,
    Person,
    answers_of,
    location,
    measure_body,
)


@pytest.fixture
def rosa(api):  # type: ignore[no-untyped-def]
    person = Person(api, ROSA, "telegram:5001")
    assert person.enrol().status_code == 201
    return person


def test_measure_needs_a_valid_case_file_and_polygon(api):
    headers = api.operator_headers("court")
    bad_case = api.post("/v1/court/measures", measure_body(ROSA, case_file="123-2020"), headers=headers)
    assert bad_case.status_code == 422 and bad_case.json_body["error"]["field"] == "case_file"
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    bad_area = api.post("/v1/court/measures", measure_body(ROSA, area=bowtie), headers=headers)
    assert bad_area.status_code == 422 and bad_area.json_body["error"]["code"] == "invalid_polygon"
    unknown_group = api.post("/v1/court/measures", measure_body(ROSA, group="Z"), headers=headers)
    assert unknown_group.json_body["error"]["field"] == "group"


def test_measures_need_the_court_role(api):
    answer = api.post("/v1/court/measures", measure_body(ROSA), headers=api.operator_headers("reviewer"))
    assert answer.status_code == 403


def test_measure_accepts_a_drawn_polygon(api):
    polygon = gazetteer()["CALLAO"]["geometry"]
    unnamed = api.post("/v1/court/measures", measure_body(ROSA, area=polygon), headers=api.operator_headers("court"))
    assert unnamed.status_code == 422 and unnamed.json_body["error"]["field"] == "area_label"
    answer = api.post("/v1/court/measures", measure_body(ROSA, area=polygon, area_label="Provincia del Callao"),
                      headers=api.operator_headers("court"))
    assert answer.status_code == 201 and answer.json_body["area"] == "Provincia del Callao"


def test_enrolment_tells_the_first_window(api):
    person = Person(api, ROSA, "telegram:5002")
    answer = person.enrol()
    assert answer.status_code == 201
    assert answer.json_body["first_window"] == {"start": "2026-11-16", "end": "2026-11-30", "group": "B"}
    assert answer.json_body["message"] == "annex2.d" and answer.json_body["needs_photo"] is False


def test_enrolment_for_a_document_with_no_measure_is_refused_clearly(api):
    body = {"mobile": "+51987654321", "address": "Jr. Cusco 456, Lima", **{**ROSA, "document_number": "45678912",
                                                                          "given_names": "Ana Lucía",
                                                                          "surnames": "Quispe Mamani"}}
    answer = api.post("/v1/control/enrolments", body, user="telegram:5003")
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "no_measure"
    assert answer.json_body["error"]["details"] == {"district_needed": True}
    queued = api.post("/v1/control/enrolments", {**body, "district": "LIMA"}, user="telegram:5003")
    assert queued.json_body["error"]["details"] == {"queued": True, "district": "LIMA"}
    queue = api.get("/v1/cvp/districts/LIMA/unmatched-enrolments",
                    headers=api.operator_headers("cvp_head", districts=("LIMA",))).json_body["items"]
    assert "Ana Lucía Quispe Mamani" in [q["full_name"] for q in queue]


def test_check_in_inside_the_area_after_questions_is_registered_with_a_certificate(api, rosa, tmp_path: Path):
    result = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert result["step"] == "done" and result["outcome"] == "registered" and result["message"] == "annex3.f"
    assert result["next_window"] == {"start": "2026-12-16", "end": "2026-12-31", "group": "B"}
    api.run_worker()
    cid = result["checkin_id"]
    pdf = api.client.http.get(f"/v1/control/check-ins/{cid}/document",
                              headers={**api.channel_headers(rosa.user), "Accept": "application/pdf"}).body
    (tmp_path / "a.pdf").write_bytes(pdf)
    assert "Signature is Valid" in subprocess.run(["pdfsig", str(tmp_path / "a.pdf")], capture_output=True,
                                                  text=True).stdout
    text = subprocess.run(["pdftotext", str(tmp_path / "a.pdf"), "-"], capture_output=True, text=True).stdout
    assert "CONSTANCIA DE ANOTACIÓN DE ASISTENCIA" in text and rosa.measure["case_file"] in text
    assert "del 16/11/2026 al 30/11/2026" in " ".join(text.split())  # the period as the calendar dates it
    assert "PODER JUDICIAL DEL PERÚ" in text
    document_id = api.get(f"/v1/control/check-ins/{cid}", user=rosa.user).json_body["document_id"]
    verified = api.client.http.get(f"/v/{document_id}", headers={"Accept": "application/json"}).json_body
    assert verified["status"] == "valid" and verified["document"]["kind"] == "attendance"


def test_second_check_in_in_the_same_period_is_refused(api, rosa):
    rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    again = rosa.start()
    assert again.status_code == 400 and again.json_body["error"]["code"] == "already_registered"


def test_check_in_outside_the_area_is_not_registered_and_raises_an_incident(api, rosa):
    result = rosa.check_in(CUSCO, ROSA_ANSWERS)
    assert result["outcome"] == "out_of_area" and result["message"] == "annex3.e"
    compliance = api.get(f"/v1/court/measures/{rosa.measure['measure_id']}/compliance",
                         headers=api.operator_headers("court")).json_body
    assert [i["type"] for i in compliance["incidents"]] == ["out_of_area"]
    retry = rosa.start()  # the refusal closed self-service for this window: only an officer reopens it
    assert retry.status_code == 400 and retry.json_body["error"]["code"] == "window_closed"


def test_borderline_location_asks_for_a_fresh_one(api, rosa):
    checkin = rosa.start().json_body["checkin_id"]
    south_edge = (-12.2495, -77.0)  # about 50 m from the approximate boundary
    rosa.step(checkin, "location", location(api, *south_edge, accuracy_m=200))
    rosa.selfie(checkin)
    answer = rosa.step(checkin, "answers", {"answers": answers_of(ROSA, ROSA_ANSWERS)}).json_body
    assert answer["step"] == "fresh_location" and answer["message"] == "annex3.d"
    done = rosa.step(checkin, "location", location(api, *INSIDE_LIMA)).json_body
    assert done["outcome"] == "registered"


def test_failed_questions_end_with_annex_3c_and_an_impersonation_incident(api, rosa):
    checkin = rosa.start().json_body["checkin_id"]
    rosa.step(checkin, "location", location(api, *INSIDE_LIMA))
    rosa.selfie(checkin)
    wrong = {**answers_of(ROSA, ROSA_ANSWERS), "dni_issue_date": "2000-01-01"}
    first = rosa.step(checkin, "answers", {"answers": wrong}).json_body
    assert first["message"] == "questions_retry" and first["attempts_left"] == 1
    result = rosa.step(checkin, "answers", {"answers": wrong}).json_body
    assert result["outcome"] == "impersonation" and result["message"] == "annex3.c"
    assert rosa.start().json_body["error"]["code"] == "window_closed"
    compliance = api.get(f"/v1/court/measures/{rosa.measure['measure_id']}/compliance",
                         headers=api.operator_headers("court")).json_body
    assert compliance["incidents"][0]["type"] == "impersonation"


def test_possible_warrant_is_not_revealed_and_becomes_an_incident_for_the_police(api):
    jorge = Person(api, JORGE, "telegram:5010")
    jorge.enrol()
    rosa = Person(api, ROSA, "telegram:5011")
    rosa.enrol()
    with_warrant = jorge.check_in(INSIDE_LIMA, JORGE_ANSWERS)
    without = rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    assert set(with_warrant) == set(without)
    assert {k: v for k, v in with_warrant.items() if k not in ("checkin_id", "name")} == \
        {k: v for k, v in without.items() if k not in ("checkin_id", "name")}
    view = api.get(f"/v1/control/check-ins/{with_warrant['checkin_id']}", user=jorge.user).json_body
    assert "warrant" not in json.dumps(view)
    compliance = api.get(f"/v1/court/measures/{jorge.measure['measure_id']}/compliance",
                         headers=api.operator_headers("court")).json_body
    incident = compliance["incidents"][0]
    assert incident["type"] == "warrant" and "REQ-0001" in incident["observations"]


@pytest.mark.parametrize(("changes", "code"), [
    ({"live_period": 0}, "location_not_live"),
    ({"forwarded": True}, "location_forwarded"),
    ({"sent_at": 0}, "location_stale"),
])
def test_pins_forwarded_and_stale_locations_are_refused_and_kept_as_evidence(api, rosa, changes, code):
    checkin = rosa.start().json_body["checkin_id"]
    answer = rosa.step(checkin, "location", location(api, *INSIDE_LIMA, **changes))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == code
    compliance = api.get(f"/v1/court/measures/{rosa.measure['measure_id']}/compliance",
                         headers=api.operator_headers("court")).json_body
    assert compliance["checkins"][0]["evidence"][-1] == {**compliance["checkins"][0]["evidence"][-1],
                                                         "step": "location_refused", "reason": code}
    assert rosa.step(checkin, "location", location(api, *INSIDE_LIMA)).json_body["step"] == "selfie"


def test_check_in_outside_the_window_is_refused_with_the_next_window(api, rosa, clock):
    clock.advance(days=12)  # 2 December: group B reports from the 16th
    answer = rosa.start()
    assert answer.json_body["error"]["code"] == "outside_window"
    assert answer.json_body["error"]["details"]["next_window"]["start"] == "2026-12-16"


def test_revoked_measure_cannot_check_in(api, rosa):
    api.post(f"/v1/court/measures/{rosa.measure['measure_id']}/revoke", {}, headers=api.operator_headers("court"))
    assert rosa.start().json_body["error"]["code"] == "measure_not_active"


def test_concurrent_submissions_register_once(api, rosa):
    checkins = [rosa.start().json_body["checkin_id"] for _ in range(2)]
    for cid in checkins:
        rosa.step(cid, "location", location(api, *INSIDE_LIMA))
        rosa.selfie(cid)
    results: list[Any] = []

    def submit(cid: str) -> None:
        results.append(rosa.step(cid, "answers", {"answers": answers_of(ROSA, ROSA_ANSWERS)}))

    threads = [threading.Thread(target=submit, args=(cid,)) for cid in checkins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted((r.status_code, r.json_body.get("outcome") or r.json_body["error"]["code"]) for r in results)
    assert outcomes == [(200, "registered"), (400, "already_registered")]


def test_change_of_legal_status_creates_a_new_measure_and_keeps_the_old(api, rosa):
    headers = api.operator_headers("court")
    assert rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)["outcome"] == "registered"
    new = api.post(f"/v1/court/measures/{rosa.measure['measure_id']}/legal-status", {"legal_status": "sentenced"},
                   headers=headers).json_body
    old = api.get(f"/v1/court/measures/{rosa.measure['measure_id']}", headers=headers).json_body
    assert old["status"] == "superseded" and old["superseded_by"] == new["measure_id"]
    assert new["legal_status"] == "sentenced" and new["status"] == "active" and new["previous_id"] == old["measure_id"]
    # The window registered under the old measure counts for the person: not a second time under the new one.
    assert rosa.start().json_body["error"]["code"] == "already_registered"
    compliance = api.get(f"/v1/court/measures/{new['measure_id']}/compliance", headers=headers).json_body
    assert [m["measure_id"] for m in compliance["chain"]] == [old["measure_id"], new["measure_id"]]
    assert [c["outcome"] for c in compliance["checkins"]] == ["registered"]


def test_group_changes_once_only(api, rosa):
    headers = api.operator_headers("court")
    first = api.post(f"/v1/court/measures/{rosa.measure['measure_id']}/group", {"group": "A"}, headers=headers)
    second = api.post(f"/v1/court/measures/{rosa.measure['measure_id']}/group", {"group": "B"}, headers=headers)
    assert first.status_code == 200 and first.json_body["group"] == "A"
    assert second.status_code == 400 and second.json_body["error"]["code"] == "group_change_used"


def test_authorised_other_district_counts_as_inside(api, rosa):
    api.post(f"/v1/court/measures/{rosa.measure['measure_id']}/authorisations",
             {"district": "CUSCO", "from": "2026-11-01", "to": "2026-11-30"}, headers=api.operator_headers("court"))
    assert rosa.check_in(CUSCO, ROSA_ANSWERS)["outcome"] == "registered"


def test_compliance_reads_are_audited(api, rosa):
    api.get(f"/v1/court/measures/{rosa.measure['measure_id']}/compliance",
            headers=api.operator_headers("court", subject="judge-audit"))
    entries = api.get(f"/v1/admin/audit?record={rosa.measure['measure_id']}",
                      headers=api.operator_headers("auditor")).json_body["items"]
    assert ("measure.read_compliance", "judge-audit") in [(e["action"], e["actor"]) for e in entries]


def test_person_without_a_document_enrols_by_name_waits_for_the_officer_then_checks_in(api):
    from tests.integration.control_support import new_district, officer, put_officer, staff

    district = new_district(api)
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    letters = uuid.uuid4().hex[:6].translate(str.maketrans("0123456789", "abcdefghij"))  # names take no digits
    nameless = {"has_document": False, "nationality": "PER", "given_names": "Teodoro",
                "surnames": f"Sin Documento {letters}"}
    headers = api.operator_headers("court")
    created = api.post("/v1/court/measures", measure_body(nameless, district=district, resolution_date="2025-03-14",
                                                          other_names=["Teo", "El Flaco"]), headers=headers)
    assert created.status_code == 201, created.body
    user = f"telegram:nodoc{uuid.uuid4().hex[:6]}"
    enrolled = api.post("/v1/control/enrolments", {**nameless, "mobile": "+51987654321",
                                                   "address": "Jr. Huallaga 200, Lima"}, user=user)
    assert enrolled.status_code == 201 and enrolled.json_body["needs_photo"] is True
    assert enrolled.json_body["status"] == "pending_confirmation"
    assert enrolled.json_body["message"] == "enrolment_pending"
    photo = api.client.http.post("/v1/control/enrolment/photo", body=JPEG,
                                 headers={**api.channel_headers(user), "Content-Type": "image/jpeg"})
    assert photo.json_body == {"has_photo": True}
    # A name is not proof: until the officer confirms it by a call, there is no check-in.
    assert api.post("/v1/control/check-ins", {}, user=user).json_body["error"]["code"] == "enrolment_pending"
    api.run_worker()
    mine = api.get("/v1/officer/enrolments", headers=officer(api, ana)).json_body["items"]
    assert [i["enrolment"] for i in mine] == ["pending_confirmation"]
    confirmed = api.post(f"/v1/officer/enrolments/{created.json_body['measure_id']}/confirm",
                         {"confirmed": True, "note": "Confirmado por videollamada"}, headers=officer(api, ana))
    assert confirmed.status_code == 200 and confirmed.json_body["enrolment"] == "active"
    cid = api.post("/v1/control/check-ins", {}, user=user).json_body["checkin_id"]
    api.post(f"/v1/control/check-ins/{cid}/location", location(api, *INSIDE_LIMA), user=user)
    selfie = api.client.http.post(f"/v1/control/check-ins/{cid}/selfie", body=JPEG,
                                  headers={**api.channel_headers(user), "Content-Type": "image/jpeg"}).json_body
    assert selfie["questions"] == ["resolution_date", "other_names"]
    done = api.post(f"/v1/control/check-ins/{cid}/answers", {"answers": {
        "resolution_date": "2025-03-14", "other_names": "el flaco, Teo"}}, user=user).json_body
    assert done["outcome"] == "registered"
    unknown = api.post("/v1/control/enrolments", {**nameless, "given_names": "Nadie", "mobile": "+51987654321",
                                                  "address": "Jr. Huallaga 200, Lima"}, user=user)
    assert unknown.json_body["error"]["code"] == "no_measure" and unknown.json_body["error"]["field"] == "given_names"

"""Officers' side of virtual control on DynamoDB Local through the API, the outbox worker and the scheduled
functions: distribution, contact log and SMS, reminders, missed check-ins, incident forwarding, daily reports."""

from __future__ import annotations

import csv
import io
import json
import random
import secrets
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.control.checkins import WindowRecord, WindowState
from chalicelib.domain.control.incidents import ANNEX4_COLUMNS
from chalicelib.services.control import enrolment, measures, officers
from chalicelib.services.control import incidents as incidents_service
from tests.integration.conftest import Api
from tests.integration.control_support import (
    ANNEX_2A,
    CUSCO,
    INSIDE_LIMA,
    JORGE,
    JORGE_ANSWERS,
    ROSA,
    ROSA_ANSWERS,
    Person,
    counts,
    cvp,
    emails,
    enrolled,
    flush_worker,
    measure_body,
    new_district,
    officer,
    person,
    put_officer,
    run_schedule,
    sms_sent,
    staff,
)


def enrol_directly(api: Api, district: str, owner: str, group: str = "B") -> str:
    """A measure and its enrolment made by the use cases themselves (no HTTP, for speed); returns the chain."""
    from tests.unit.control.world import court_staff

    c, k = api.c, api.c.control
    measure = measures.create_measure(measure_body(person(), district=district, group=group), operator=court_staff(
        court="1801-JR-PE-01"), measures=k.measures, calendars=k.calendars, officers=k.officers, uow=k.uow,
        clock=c.clock)
    enrolment.enrol({"mobile": "+51987654321", "address": "Av. Abancay 123, Lima", **measure_person(measure)},
                    owner=owner, measures=k.measures, enrolments=k.enrolments, calendars=k.calendars, uow=k.uow,
                    clock=c.clock)
    return measure.chain_id


def measure_person(measure: Any) -> dict[str, Any]:
    p = measure.person
    return {"has_document": p.has_document, "nationality": p.nationality, "document_type": p.document_type,
            "document_number": p.document_number, "given_names": p.given_names, "surnames": p.surnames}


def registered(api: Api, who: Person, window: str = "2026-P11") -> None:
    """The window recorded as registered, as a completed check-in leaves it."""
    tx = api.c.control.uow.begin()
    tx.put_window(WindowRecord(chain_id=who.measure["chain_id"], window_key=window, state=WindowState.REGISTERED,
                               checkin_id="c1", measure_id=who.measure["measure_id"]))
    tx.commit()


# --- 1. distribution ------------------------------------------------------------------------------------

def _distribute(api: Api, district: str, seed: int, people: int) -> list[str]:
    for officer_id in ("ana", "beto", "carla"):
        put_officer(api, district, officer_id)
    api.c.rng = random.Random(seed)
    owners = [f"telegram:{district.lower()}{i:04d}" for i in range(people)]
    chains = [enrol_directly(api, district, owner) for owner in owners]
    api.run_worker()
    return [api.c.control.officers.get_case(chain).officer for chain in chains]


def test_enrolments_go_evenly_to_the_active_officers_and_reproducibly_from_a_seed(api):
    flush_worker(api)
    first = new_district(api)
    picks = _distribute(api, first, seed=2026, people=60)
    assert counts(api, first) == {"ana": 20, "beto": 20, "carla": 20}
    assert sorted(set(picks)) == ["ana", "beto", "carla"]
    rounds = {tuple(picks[i:i + 3]) for i in range(0, len(picks), 3)}
    assert len(rounds) > 1  # the order within each round of three is drawn, not a fixed rotation
    second = new_district(api)
    assert _distribute(api, second, seed=2026, people=60) == picks


def test_a_redelivered_enrolment_event_assigns_nothing_twice(api, district):
    ana = staff(district, "ana")
    beto = staff(district, "beto")
    from chalicelib.domain.control.officers import CaseReason

    put_officer(api, district, ana)
    put_officer(api, district, beto)
    chain = enrol_directly(api, district, "telegram:redeliver1")
    api.run_worker()
    k = api.c.control
    first = k.officers.get_case(chain).officer
    assert officers.open_case(chain, district, chain, CaseReason.ENROLLED, officers=k.officers, uow=k.uow,
                              rng=api.c.rng, clock=api.c.clock) == first
    assert sum(counts(api, district).values()) == 1


def test_deactivating_an_officer_hands_their_open_list_to_the_others(api, district):
    ana = staff(district, "ana")
    beto = staff(district, "beto")
    carla = staff(district, "carla")
    for officer_id in (ana, beto, carla):
        put_officer(api, district, officer_id)
    for i in range(9):
        enrol_directly(api, district, f"telegram:handover{district.lower()}{i}")
    api.run_worker()
    assert counts(api, district) == {ana: 3, beto: 3, carla: 3}
    answer = put_officer(api, district, carla, active=False)
    assert answer["reassigned"] == 3 and answer["active"] is False and answer["assigned"] == 0
    assert sorted(counts(api, district).values()) == [4, 5]
    listed = api.get("/v1/officer/enrolments", headers=officer(api, carla)).json_body["items"]
    assert listed == []


def test_enrolments_wait_without_an_active_officer_and_go_to_the_first_one_activated(api, district):
    dora = staff(district, "dora")
    chain = enrol_directly(api, district, f"telegram:waiting{district.lower()}")
    api.run_worker()
    assert api.c.control.officers.get_case(chain).officer is None
    answer = put_officer(api, district, dora)
    assert answer["assigned_from_waiting"] == 1 and answer["assigned"] == 1


def test_officers_see_only_their_own_list_and_reads_are_audited(api, district):
    ana = staff(district, "ana")
    beto = staff(district, "beto")
    put_officer(api, district, ana)
    rosa = enrolled(api, district, ROSA, user="telegram:6001")
    measure_id = rosa.measure["measure_id"]
    mine = api.get("/v1/officer/enrolments", headers=officer(api, ana)).json_body["items"]
    assert [(i["measure_id"], i["full_name"], i["mobile"]) for i in mine] == [
        (measure_id, "Rosa Elvira de la Cruz Huamán", "987654321")]
    put_officer(api, district, beto)
    assert api.get("/v1/officer/enrolments", headers=officer(api, beto)).json_body["items"] == []
    someone_elses = api.get(f"/v1/officer/enrolments/{measure_id}", headers=officer(api, beto))
    assert someone_elses.status_code == 404
    # Read by record: one day of the session's shared audit table holds thousands of entries.
    entries = api.c.audit.entries_for_target(ana, 100)
    assert ("officer.list_read", ana) in [(e.action, e.actor) for e in entries]


@pytest.mark.parametrize(("method", "path", "role"), [
    ("PUT", "/v1/cvp/districts/LIMA/officers/ana", "officer"),
    ("GET", "/v1/cvp/districts/LIMA/officers", "court"),
    ("GET", "/v1/officer/enrolments", "cvp_head"),
    ("GET", "/v1/officer/enrolments/x", "cvp_head"),
    ("POST", "/v1/officer/callbacks/x", "cvp_head"),
    ("POST", "/v1/officer/enrolments/x/reopen", "cvp_head"),
    ("GET", "/v1/officer/callbacks", "court"),
    ("GET", "/v1/cvp/reports/LIMA/2026-11-20", "officer"),
    ("POST", "/v1/cvp/reports/LIMA/2026-11-20", "court"),
    ("POST", "/v1/cvp/incidents/x/close", "officer"),
])
def test_each_endpoint_refuses_roles_that_may_not_use_it(api, method, path, role):
    headers = api.operator_headers(role)
    answer = api.client.http.request(method, path, headers=headers, body=b"{}")
    assert answer.status_code == 403 and json.loads(answer.body)["error"]["code"] == "missing_role"


def test_operator_endpoints_need_a_token(api):
    assert api.get("/v1/officer/enrolments", headers={"Content-Type": "application/json"}).status_code == 401


# --- 2. contact log and the annex 2 (a) SMS -----------------------------------------------------------------

def test_two_unanswered_calls_send_the_annex_2a_sms_once_with_the_full_name(api, district):
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    someone = person(given_names="Lucía Fernanda", surnames="Quispe Condori")
    who = enrolled(api, district, someone, user="telegram:6101")
    path = f"/v1/officer/enrolments/{who.measure['measure_id']}/calls"
    first = api.post(path, {"outcome": "no_answer"}, headers=officer(api, ana))
    second = api.post(path, {"outcome": "busy", "note": "ocupado"}, headers=officer(api, ana))
    assert (first.json_body["sms"], second.json_body["sms"]) == ("not_due", "queued")
    api.run_worker()
    third = api.post(path, {"outcome": "no_answer"}, headers=officer(api, ana))
    api.run_worker()
    assert third.json_body["sms"] == "already_sent"
    mine = [s for s in sms_sent(api) if "Lucía Fernanda Quispe Condori" in s["text"]]
    assert mine == [{**mine[0], "to": "+51987654321",
                     "text": ANNEX_2A.format(name="Lucía Fernanda Quispe Condori")}]
    detail = api.get(f"/v1/officer/enrolments/{who.measure['measure_id']}", headers=officer(api, ana)).json_body
    assert [c["outcome"] for c in detail["contacts"]] == ["no_answer", "busy", "no_answer"]
    assert detail["sms_sent"] is True and detail["contacts"][1]["note"] == "ocupado"


def test_the_sms_goes_in_english_to_a_person_enrolled_in_english(api, district):
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    who = enrolled(api, district, person(given_names="John", surnames="Smith Taylor"), language="en",
                   user="telegram:6102")
    for outcome in ("no_answer", "no_answer"):
        api.post(f"/v1/officer/enrolments/{who.measure['measure_id']}/calls", {"outcome": outcome},
                 headers=officer(api, ana))
    api.run_worker()
    texts = [s["text"] for s in sms_sent(api) if "John Smith Taylor" in s["text"]]
    assert len(texts) == 1 and texts[0].startswith("Dear Mr./Ms. John Smith Taylor;")


def test_a_call_with_an_unknown_outcome_is_refused(api, district):
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    who = enrolled(api, district, user="telegram:6103")
    answer = api.post(f"/v1/officer/enrolments/{who.measure['measure_id']}/calls", {"outcome": "maybe"},
                      headers=officer(api, ana))
    assert answer.status_code == 422 and answer.json_body["error"]["field"] == "outcome"


def test_first_registration_of_a_foreigner_records_features_and_the_photo_on_file(api, district):
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    foreigner = person(nationality="VEN", document_type="CE", document_number=f"{secrets.randbelow(10**9):09d}",
                       given_names="María José", surnames="Pérez Rojas")
    who = enrolled(api, district, foreigner, user="telegram:6104")
    path = f"/v1/officer/enrolments/{who.measure['measure_id']}/first-registration"
    assert api.get("/v1/officer/enrolments", headers=officer(api, ana)).json_body["items"][0][
        "needs_first_registration"] is True
    answer = api.post(path, {"features": {"height_cm": 162, "distinguishing_marks": "lunar en la mejilla"}},
                      headers=officer(api, ana))
    assert answer.status_code == 200 and answer.json_body["features"]["height_cm"] == 162
    photo = api.client.http.post(f"{path}/photo", body=b"\xff\xd8\xff\xe0" + b"photo" * 50,
                                 headers={**officer(api, ana), "Content-Type": "image/jpeg"})
    assert photo.status_code == 200 and photo.json_body["has_photo"] is True
    enrolment = api.c.control.enrolments.get_enrolment(who.user)
    assert api.c.storage.get(enrolment.photo_key).startswith(b"\xff\xd8")
    assert photo.json_body["needs_first_registration"] is False


def test_first_registration_is_refused_for_a_dni_holder(api, district):
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    who = enrolled(api, district, user="telegram:6105")
    answer = api.post(f"/v1/officer/enrolments/{who.measure['measure_id']}/first-registration",
                      {"features": {"height_cm": 170}}, headers=officer(api, ana))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "first_registration_not_needed"


# --- 3. reminders ---------------------------------------------------------------------------------------

def test_reminder_goes_the_day_before_a_window_opens_once_in_each_persons_language(api, district, chat, clock):
    clock.moment = datetime(2026, 11, 15, 14, 0, tzinfo=UTC)  # 09:00 in Lima; group B opens tomorrow
    spanish = enrolled(api, district, user="telegram:6201")
    english = enrolled(api, district, language="en", user="telegram:6202")
    run_schedule(api, "control_reminders")
    run_schedule(api, "control_reminders")
    api.run_worker()  # the plan's units, sent by the notices consumer
    assert chat.to(spanish.user) == ["Recordatorio: su periodo de control virtual va del 16/11/2026 al 30/11/2026. "
                                     "Ingrese al chat dentro de esas fechas, active su ubicación en tiempo real y "
                                     "realice su control. Es usted quien debe hacerlo para cumplir con su regla de "
                                     "conducta."]
    assert len(chat.to(english.user)) == 1 and chat.to(english.user)[0].startswith("Reminder: your virtual")


def test_no_reminder_in_quiet_hours_and_the_next_run_in_hours_sends_it(api, district, chat, clock):
    clock.moment = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # 20:30 on the 15th in Lima
    who = enrolled(api, district, user="telegram:6203")
    run_schedule(api, "control_reminders")
    api.run_worker()
    assert chat.to(who.user) == []
    clock.advance(hours=12)  # 08:30 on the 16th, the opening day
    run_schedule(api, "control_reminders")
    api.run_worker()
    assert len(chat.to(who.user)) == 1 and "16/11/2026" in chat.to(who.user)[0]


def test_closing_reminder_goes_only_to_people_who_have_not_registered(api, district, chat, clock):
    clock.moment = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    done = enrolled(api, district, user="telegram:6204")
    pending = enrolled(api, district, user="telegram:6205")
    registered(api, done)
    clock.moment = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # the window closes tomorrow
    run_schedule(api, "control_reminders")
    run_schedule(api, "control_reminders")
    api.run_worker()
    assert chat.to(done.user) == []
    assert chat.to(pending.user) == ["Recordatorio: su periodo de control virtual termina el 30/11/2026 y aún no "
                                     "registra su control. Hágalo antes de esa fecha desde este chat, con su "
                                     "ubicación en tiempo real."]


# --- 4. missed check-ins -----------------------------------------------------------------------------------

def test_a_window_closed_without_registration_makes_one_missed_incident_however_often_the_job_runs(api, district,
                                                                                                   clock):
    clock.moment = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
    missed = enrolled(api, district, group="A", user="telegram:6301")
    changed = enrolled(api, district, group="B", user="telegram:6302")
    api.post(f"/v1/court/measures/{changed.measure['measure_id']}/group", {"group": "A"},
             headers=api.operator_headers("court"))
    registered(api, enrolled(api, district, group="A", user="telegram:6303"))
    clock.moment = datetime(2026, 11, 16, 5, 10, tzinfo=UTC)  # 00:10 in Lima: group A's window closed yesterday
    run_schedule(api, "control_missed_checkins")
    run_schedule(api, "control_missed_checkins")
    listed = api.get(f"/v1/cvp/districts/{district}/incidents?day=2026-11-15", headers=cvp(api)).json_body["items"]
    by_measure = {i["measure_id"]: i for i in listed if i["type"] == "missed_checkin"}
    assert set(by_measure) == {missed.measure["measure_id"], changed.measure["measure_id"]}
    assert "por única vez" in by_measure[missed.measure["measure_id"]]["observations"]
    assert "Ya usó el cambio de grupo" in by_measure[changed.measure["measure_id"]]["observations"]
    assert by_measure[missed.measure["measure_id"]]["addressed_to"] == ["court", "cvp_head"]


# --- 5. incidents: forwarding, listing, closing ---------------------------------------------------------------

@pytest.fixture
def incidents(api: Api, district: str) -> dict[str, Any]:
    """A possible warrant and an out-of-area check-in in the test's district."""
    jorge = Person(api, JORGE, "telegram:6401", district=district)
    jorge.enrol()
    rosa = Person(api, ROSA, "telegram:6402", district=district)
    rosa.enrol()
    assert jorge.check_in(INSIDE_LIMA, JORGE_ANSWERS)["outcome"] == "registered"
    assert rosa.check_in(CUSCO, ROSA_ANSWERS)["outcome"] == "out_of_area"
    listed = api.get(f"/v1/cvp/districts/{district}/incidents?day=2026-11-20", headers=cvp(api)).json_body["items"]
    return {i["type"]: i for i in listed}


def test_warrants_go_to_the_police_and_other_incidents_to_the_court_with_the_cvp_head_in_copy(api, district,
                                                                                              incidents):
    api.run_worker()
    api.run_worker()
    sent = [(str(m["To"]), " ".join(str(m["Subject"]).split()), m.get_content()) for m in emails(api, district)]
    warrant_mail = [(to, body) for to, subject, body in sent if "Posible orden de captura" in subject]
    area_mail = [(to, body) for to, subject, body in sent if "fuera de la jurisdicción" in subject]
    settings = api.c.settings
    assert sorted(to for to, _ in warrant_mail) == sorted([settings.police_contact_email, settings.cvp_head_email])
    assert sorted(to for to, _ in area_mail) == sorted([settings.court_mesa_partes_email, settings.cvp_head_email])
    body = dict(warrant_mail)[settings.police_contact_email]
    assert "Nombre completo del usuario externo: Jorge Luis Salazar Paredes" in body
    assert "Documento de identidad: DNI 44556677" in body and "REQ-0001" in body
    listed = api.get(f"/v1/cvp/districts/{district}/incidents?day=2026-11-20", headers=cvp(api)).json_body["items"]
    warrant = next(i for i in listed if i["type"] == "warrant")
    assert warrant["status"] == "notified"
    assert sorted(n["role"] for n in warrant["notified"]) == ["cvp_head", "police"]


def test_a_redelivered_incident_event_sends_no_second_e_mail(api, district, incidents):
    api.run_worker()
    before = len(emails(api, district))
    k = api.c.control
    assert incidents_service.forward_incident(incidents["warrant"]["incident_id"], incidents=k.incidents,
                                              recipients=api.c.recipients, email=api.c.email, markers=k.markers,
                                              uow=k.uow, clock=api.c.clock) == []
    assert len(emails(api, district)) == before == 4


def test_the_cvp_head_closes_an_incident_once(api, district, incidents):
    path = f"/v1/cvp/incidents/{incidents['out_of_area']['incident_id']}/close"
    closed = api.post(path, {"note": "Informado al juzgado por teléfono"}, headers=cvp(api))
    assert closed.status_code == 200 and closed.json_body["status"] == "closed"
    assert closed.json_body["closed"]["by"] == "cvp-head-1"
    again = api.post(path, {}, headers=cvp(api))
    assert again.status_code == 400 and again.json_body["error"]["code"] == "already_closed"
    assert api.post("/v1/cvp/incidents/unknown/close", {}, headers=cvp(api)).status_code == 404


# --- 6. the daily report (annex 4) ---------------------------------------------------------------------------

def _text(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    signature = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    return signature, text


def test_the_daily_report_is_a_signed_pdf_and_a_csv_of_the_days_incidents_and_runs_once(api, district, incidents,
                                                                                        tmp_path):
    first = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api))
    again = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api))
    assert first.status_code == 201 and first.json_body == again.json_body
    assert first.json_body["incident_count"] == 2 and first.json_body["revision"] == 1
    pdf = api.client.http.get(first.json_body["pdf"], headers={**cvp(api),
                                                               "Accept": "application/pdf"}).body
    signature, text = _text(pdf, tmp_path)
    assert "Signature is Valid" in signature
    assert "REPORTE DE INCIDENCIAS DEL DÍA" in text and "PODER JUDICIAL DEL PERÚ" in text
    assert "Jorge Luis Salazar Paredes" in text and "Rosa Elvira de la Cruz Huamán" in text
    assert "-2020-0-1801-JR-PE-01" in text and "Posible orden de captura" in text
    table = api.client.http.get(first.json_body["csv"], headers=api.operator_headers("auditor")).body
    rows = list(csv.reader(io.StringIO(table.decode("utf-8-sig"))))
    assert tuple(rows[0]) == ANNEX4_COLUMNS
    assert sorted(r[1] for r in rows[1:]) == ["Jorge Luis Salazar Paredes", "Rosa Elvira de la Cruz Huamán"]
    assert {r[0] for r in rows[1:]} == {"20/11/2026"}
    verified = api.client.http.get(f"/v/{first.json_body['document_id']}",
                                   headers={"Accept": "application/json"}).json_body
    assert verified["status"] == "valid" and verified["document"]["kind"] == "report"


def test_the_report_is_e_mailed_to_the_cvp_head_with_both_files(api, district, incidents):
    report = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api)).json_body
    api.run_worker()
    api.run_worker()
    mails = [m for m in emails(api, district) if "Reporte de incidencias" in " ".join(str(m["Subject"]).split())]
    assert len(mails) == 1 and str(mails[0]["To"]) == api.c.settings.cvp_head_email
    attachments = {a.get_filename(): a.get_content() for a in mails[0].iter_attachments()}
    assert sorted(name.rsplit(".", 1)[1] for name in attachments) == ["csv", "pdf"]
    pdf = next(data for name, data in attachments.items() if name.endswith(".pdf"))
    assert pdf == api.client.http.get(report["pdf"], headers={**cvp(api), "Accept": "application/pdf"}).body


def test_a_new_incident_after_the_report_makes_a_new_revision_and_the_first_verifies_as_superseded(api, district,
                                                                                           incidents):
    first = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api)).json_body
    extra = Person(api, JORGE, "telegram:6601", district=district)
    extra.enrol()
    assert extra.check_in(CUSCO, JORGE_ANSWERS)["outcome"] == "out_of_area"
    second = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api)).json_body
    assert second["revision"] == 2 and second["incident_count"] == 3 and second["previous"] == [first["document_id"]]
    old = api.client.http.get(f"/v/{first['document_id']}", headers={"Accept": "application/json"}).json_body
    assert old["status"] == "superseded" and old["superseded_by"] == second["document_id"]


def test_the_daily_schedule_reports_yesterday_for_every_district(api, district, incidents, clock):
    api.run_worker()  # the enrolments' events put the district in the directory the job walks
    clock.moment = datetime(2026, 11, 21, 5, 30, tzinfo=UTC)  # 00:30 in Lima on the 21st
    run_schedule(api, "control_daily_reports")
    api.run_worker()  # one unit per district, on the work consumer
    report = api.get(f"/v1/cvp/reports/{district}/2026-11-20", headers=cvp(api))
    assert report.status_code == 200 and report.json_body["incident_count"] == 2
    run_schedule(api, "control_daily_reports")
    api.run_worker()
    assert api.get(f"/v1/cvp/reports/{district}/2026-11-20", headers=cvp(api)).json_body == report.json_body


def test_report_downloads_are_audited_and_unknown_days_are_404(api, district, incidents):
    report = api.post(f"/v1/cvp/reports/{district}/2026-11-20", {}, headers=cvp(api)).json_body
    api.client.http.get(report["csv"], headers=api.operator_headers("auditor", subject="auditor-report"))
    entries = api.get(f"/v1/admin/audit?record={district}%232026-11-20&operator=auditor-report",
                      headers=api.operator_headers("auditor")).json_body["items"]
    assert ("report.download", "auditor-report") in [(e["action"], e["actor"]) for e in entries]
    assert api.get(f"/v1/cvp/reports/{district}/2026-11-19", headers=cvp(api)).status_code == 404
    future = api.post(f"/v1/cvp/reports/{district}/2026-12-24", {}, headers=cvp(api))
    assert future.status_code == 422 and future.json_body["error"]["field"] == "day"

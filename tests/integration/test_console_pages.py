"""Every role's pages of the console, driven over the in-process app on DynamoDB Local: what each shows, and each
act going through the same use cases as the JSON routes (same effects, same audit entries)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.integration import console_world
from tests.integration.conftest import Api
from tests.integration.console_support import Console


@pytest.fixture(scope="module")
def world(module_api: Api) -> dict[str, Any]:
    return console_world.build(module_api)


def as_role(api: Api, world: dict[str, Any], role: str) -> Console:
    browser = Console(api)
    assert browser.sign_in(world["accounts"][role]).status_code == 200
    return browser


def audited(api: Api, action: str, target: str | None = None) -> bool:
    day = api.c.clock.now().date()
    return any(e.action == action and (target is None or e.target == target)
               for e in (api.c.audit.entries_for_target(target, 500) if target
                         else api.c.audit.entries_for_day(day, 100_000)))


# --- the reviewer ------------------------------------------------------------------------------------------

def test_the_reviewer_sees_the_queue_and_a_case_side_by_side_and_decides_with_a_note(module_api: Api,
                                                                                      world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "reviewer")
    request_id = world["request"]["request_id"]
    queue = browser.get("/console/review")
    assert queue.status_code == 200 and request_id in browser.main() and "Posible homonimia" in browser.main()
    case = browser.get(f"/console/review/{request_id}")
    assert case.status_code == 200
    page = browser.main()
    assert "SIP-0002" in page and "Similitud del nombre" in page and "Lo que se le dijo al ciudadano" in page
    assert audited(api, "review.open_case", request_id)
    action = f"/console/review/{request_id}/candidates/SIP-0002"
    refused = browser.post(action, {"decision": "cleared", "note": "", "back": f"/console/review/{request_id}"})
    assert refused.status_code == 422 and "nota" in browser.main().lower()
    assert api.c.store.get_request(request_id).candidates[0].decision.value == "pending"
    done = browser.post(action, {"decision": "cleared", "note": "Otra fecha de nacimiento y otro DNI en SIP.",
                                 "back": f"/console/review/{request_id}"})
    assert done.status_code == 200 and "Decisión registrada" in browser.main()
    assert api.c.store.get_request(request_id).candidates[0].decision.value == "cleared"
    entries = api.c.audit.entries_for_target(request_id, 50)
    assert any(e.action == "review.cleared" and e.details["note"].startswith("Otra fecha") for e in entries)


def test_the_review_queue_exports_to_csv_through_a_short_lived_link(module_api: Api, world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "reviewer")
    first = browser.get("/console/review?format=csv", follow=False)
    assert first.status_code == 303
    link = browser.location(first)
    assert link.startswith("/console/media/")
    data = browser.get(link)
    assert data.status_code == 200 and data.body.decode("utf-8-sig").startswith("number,check_outcome")
    other = as_role(module_api, world, "auditor")
    assert other.get(link).status_code == 404  # a link is for the operator it was made for


# --- the attention officer ------------------------------------------------------------------------------------

def test_the_officer_sees_who_to_phone_what_to_review_the_callbacks_and_recent_check_ins(
        module_api: Api, world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "officer")
    home = browser.get("/console/officer")
    assert home.status_code == 200
    page = browser.main()
    for name in ("Teodoro Pérez Rojas", "Teófilo Mendoza Ríos", "Elena Ramos Tello", "Luz Marina Quispe Condori"):
        assert name in page, name
    assert "Por confirmar" in page and "No empadronado" in page


def test_the_contact_log_takes_one_click_and_the_second_unanswered_call_sends_the_annex_2a_text(
        module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "officer")
    browser.get("/console/officer")
    path = f"/console/officer/people/{world['never']}/calls"
    browser.post(path, {"outcome": "no_answer", "back": "/console/officer"})
    assert "Llamada registrada" in browser.main()
    browser.post(path, {"outcome": "busy", "back": "/console/officer"})
    assert "anexo 2 (a)" in browser.main()
    case = api.c.control.officers.get_case(api.c.control.measures.get_measure(world["never"]).chain_id)
    assert [c.outcome.value for c in case.contacts] == ["no_answer", "busy"] and case.sms_requested_at


def test_a_persons_page_shows_each_steps_evidence_with_the_selfie_beside_the_photo_and_a_map(
        module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "officer")
    page = browser.get(f"/console/officer/people/{world['rosa']}")
    assert page.status_code == 200
    text = browser.main()
    assert '<svg class="map"' in text, text[text.index('<main'):][:3000]
    assert "Fuera del área permitida" in text
    assert "Selfi del control" in text and "/console/media/" in text
    assert "Rechazado (cerrado)" in text and "Reabrir el periodo" in text
    assert "Preguntas de validación: conformes" in text and "dni_issue_date" not in text  # the outcome, never answers
    assert audited(api, "person.read", world["rosa"]) and audited(api, "person.photos_shown", world["rosa"])
    selfie = re.search(r'<img src="(/console/media/[^"]+)" alt="Selfi', text).group(1)  # type: ignore[union-attr]
    image = browser.get(selfie)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg" and image.body[:2] == b"\xff\xd8"


def test_a_person_with_no_photo_on_file_and_a_check_in_with_no_location_still_show(module_api: Api,
                                                                                    world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "officer")
    browser.get(f"/console/officer/people/{world['never']}")
    assert browser.last.status_code == 200
    assert "Sin foto de registro" in browser.main(), browser.main()[browser.main().index("<main"):][:1500]
    assert "Sin controles virtuales aún" in browser.main()


def test_the_officer_reopens_a_closed_window_with_a_reason(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "officer")
    page = f"/console/officer/people/{world['rosa']}"
    browser.get(page)
    window = re.search(r'<option value="(\d{4}-P\d{2})"', browser.main()).group(1)  # type: ignore[union-attr]
    short = browser.post(f"{page}/reopen", {"window": window, "reason": "no", "back": page})
    assert short.status_code == 422 and "reason" in browser.main()
    browser.post(f"{page}/reopen", {"window": window, "reason": "Verificado por llamada: estaba en Lima.",
                                    "back": page})
    assert "Periodo reabierto" in browser.main()
    assert audited(api, "window.reopen", world["rosa"])


def test_the_officer_decides_a_held_check_in_and_records_an_incident_by_hand(module_api: Api,
                                                                            world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "officer")
    page = f"/console/officer/people/{world['held_measure']}"
    browser.get(page)
    assert "Retenido para revisión" in browser.main()
    checkin = world["held"]["checkin_id"]
    browser.post(f"/console/officer/check-ins/{checkin}/review",
                 {"decision": "confirmed", "note": "Confirmado por videollamada.", "measure_id": world["held_measure"],
                  "back": page})
    assert "Revisión registrada" in browser.main()
    assert api.c.control.checkins.get_checkin(checkin).outcome == "registered"
    browser.post(f"{page}/incidents", {"type": "warrant", "day": "2026-11-20",
                                       "observations": "Dijo que tiene una requisitoria en Trujillo.", "back": page})
    assert "Incidencia registrada" in browser.main()
    listed = api.c.control.incidents.incidents_of_measure(world["held_measure"])
    assert any(i.type.value == "warrant" and i.status == "awaiting_review" for i in listed)


def test_the_one_callback_of_annex_5_is_closed_from_my_people(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "officer")
    browser.get("/console/officer")
    checkin = world["contingency"]["checkin_id"]
    assert f"/console/officer/callbacks/{checkin}" in browser.main()
    browser.post(f"/console/officer/callbacks/{checkin}", {"outcome": "answered", "back": "/console/officer"})
    assert "Devolución de llamada registrada" in browser.main()
    assert not api.c.control.contingencies.get_contingency(checkin).callback_open


def test_the_officers_list_exports_as_a_spreadsheet(module_api: Api, world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "officer")
    first = browser.get("/console/officer?format=xlsx", follow=False)
    data = browser.get(browser.location(first))
    assert data.status_code == 200 and data.body[:2] == b"PK"  # a zip: the XLSX container
    import zipfile
    from io import BytesIO

    sheet = zipfile.ZipFile(BytesIO(data.body)).read("xl/sharedStrings.xml").decode()
    assert "Teodoro Pérez Rojas" in sheet


# --- the CVP head ---------------------------------------------------------------------------------------

def test_the_cvp_head_confirms_a_name_only_warrant_match_before_the_police_are_told(module_api: Api,
                                                                                    world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "cvp_head")
    home = browser.get(f"/console/cvp?district={world['district']}")
    assert home.status_code == 200
    text = browser.main()
    assert "Marco Antonio Vílchez Rojas" in text and "solo por nombre" in text
    listed = api.c.control.incidents.incidents_of_measure(world["marco"])
    incident = next(i for i in listed if i.type.value == "warrant")
    assert incident.status == "awaiting_review" and not incident.notified
    api.run_worker()
    assert not api.c.control.incidents.get_incident(incident.incident_id).notified  # not forwarded yet
    browser.post(f"/console/cvp/incidents/{incident.incident_id}/warrant",
                 {"decision": "confirmed", "note": "Misma fecha de nacimiento en el oficio del juzgado.",
                  "back": "/console/cvp"})
    assert "comunica a la policía" in browser.main()
    api.run_worker()
    notified = api.c.control.incidents.get_incident(incident.incident_id)
    assert notified.status == "notified" and any(n["role"] == "police" for n in notified.notified)


def test_the_cvp_head_hands_over_a_caseload_and_adds_an_officer(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    district = world["district"]
    browser = as_role(api, world, "cvp_head")
    browser.get(f"/console/cvp?district={district}")
    browser.post(f"/console/cvp/districts/{district}/officers",
                 {"officer_id": f"beto-{district[-6:].lower()}", "name": "Beto Encargado", "back": "/console/cvp"})
    assert "Encargado de atención guardado" in browser.main()
    before = {o.officer_id: o.assigned for o in api.c.control.officers.officers_of_district(district)}
    browser.post(f"/console/cvp/districts/{district}/officers/{world['officer_id']}/hand-over",
                 {"to": f"beto-{district[-6:].lower()}", "back": "/console/cvp"})
    assert "Lista de casos traspasada" in browser.main()
    after = {o.officer_id: o.assigned for o in api.c.control.officers.officers_of_district(district)}
    assert after[world["officer_id"]] == 0 and sum(after.values()) == sum(before.values())
    assert audited(api, "officer.hand_over")
    # Hand the list back, so later tests find the people on the officer's list again.
    browser.post(f"/console/cvp/districts/{district}/officers/beto-{district[-6:].lower()}/hand-over",
                 {"to": world["officer_id"], "back": "/console/cvp"})


def test_the_cvp_head_reads_the_days_reports_with_their_revisions_and_downloads_them(
        module_api: Api, world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "cvp_head")
    browser.get(f"/console/cvp/reports?district={world['district']}&day={world['day']}")
    text = browser.main()
    assert text.count("/pdf") == 2 and "reemplazada" in text and "vigente" in text
    link = re.search(r'href="(/console/cvp/reports/[^"]+/pdf)"', text).group(1)  # type: ignore[union-attr]
    pdf = browser.get(link)
    assert pdf.status_code == 200 and pdf.body.startswith(b"%PDF-")


def test_the_cvp_head_publishes_the_calendar_and_sees_who_is_in_each_group(module_api: Api,
                                                                         world: dict[str, Any]) -> None:
    api = module_api
    district = world["district"]
    browser = as_role(api, world, "cvp_head")
    browser.get(f"/console/cvp/calendar?district={district}&year=2027")
    assert "Grupo B" in browser.main() and "Marco Antonio Vílchez Rojas" in browser.main()
    fields: list[tuple[str, str]] = [("group", "A"), ("group", "B"), ("back", "/console/cvp/calendar"),
                                     ("district", district), ("year", "2027")]
    for month in range(1, 13):
        fields += [(f"start-A-{month}", f"2027-{month:02d}-01"), (f"end-A-{month}", f"2027-{month:02d}-10"),
                   (f"start-B-{month}", f"2027-{month:02d}-11"), (f"end-B-{month}", f"2027-{month:02d}-25")]
    bad = [*fields[:-2], ("end-B-12", "2027-12-05")]  # ends before it starts
    assert browser.post(f"/console/cvp/calendar/2027/{district}", bad).status_code == 422
    browser.post(f"/console/cvp/calendar/2027/{district}", fields)
    assert "Calendario publicado" in browser.main()
    published = api.c.control.calendars.get_calendar(2027, district)
    assert published.published_at is not None and published.windows("B")[0].end.day == 25


def test_a_cvp_head_of_another_district_gets_the_403_page_and_the_attempt_is_audited(
        module_api: Api, world: dict[str, Any]) -> None:
    from tests.integration.console_support import account

    api = module_api
    browser = Console(api)
    browser.sign_in(account(api, "cvp_head", districts=("CUSCO",)))
    answer = browser.get(f"/console/cvp?district={world['district']}")
    assert answer.status_code == 403 and 'data-code="out_of_scope"' in browser.main()
    assert audited(api, "console.forbidden", "/console/cvp")
    assert browser.get(f"/console/cvp/people/{world['rosa']}").status_code == 404


# --- court staff ---------------------------------------------------------------------------------------

def test_court_staff_search_their_measures_by_document_name_or_case_file(module_api: Api,
                                                                        world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "court")
    for query in ("70112233", "rosa cruz", "huaman de la"):
        browser.get(f"/console/court/measures?q={query}")
        assert "Rosa Elvira de la Cruz Huamán" in browser.main(), query
    browser.get("/console/court/measures?q=nadie+asi")
    assert "Rosa Elvira" not in browser.main()


def test_a_measure_with_a_kml_area_is_previewed_on_the_map_then_saved(module_api: Api,
                                                                       world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "court")
    browser.get("/console/court/measures/new")
    kml = (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs>'
           b'<LinearRing><coordinates>-77.05,-12.13 -77.01,-12.13 -77.01,-12.10 -77.05,-12.10 -77.05,-12.13'
           b'</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>')
    number = f"7{__import__('secrets').randbelow(10**7):07d}"
    fields = {"person.has_document": "true", "person.document_type": "DNI", "person.document_number": number,
              "person.nationality": "PER", "person.given_names": "Mario", "person.surnames": "Prueba Consola",
              "case_file": f"{__import__('secrets').randbelow(10**5):05d}-2021-0-1801-JR-PE-01",
              "court": "1° Juzgado Penal de Lima", "district": world["district"], "legal_status": "processed",
              "periodicity": "monthly", "group": "B", "start_date": "2026-01-01",
              "first_registration_deadline": "2026-12-31", "end_date": "2027-12-31", "area_kind": "file",
              "area_label": "distrito de Miraflores", "back": "/console/court/measures/new"}
    preview = browser.post("/console/court/measures", {**fields, "action": "preview"},
                           files={"area_file": ("miraflores.kml", kml, "application/vnd.google-earth.kml+xml")})
    assert preview.status_code == 200 and '<svg class="map"' in browser.main()
    assert api.c.control.measures.active_measures_of_person(f"DNI#{number}") == []  # nothing saved yet
    kept = re.search(r'name="area_geojson" value="([^"]+)"', browser.main()).group(1)  # type: ignore[union-attr]
    import html

    saved = browser.post("/console/court/measures", {**fields, "action": "save", "area_geojson": html.unescape(kept)},
                         files={})
    assert saved.status_code == 200 and "Medida registrada" in browser.main()
    [measure] = api.c.control.measures.active_measures_of_person(f"DNI#{number}")
    assert measure.area_label == "distrito de Miraflores" and measure.area["type"] == "Polygon"


def test_a_malformed_area_file_is_refused_naming_the_field(module_api: Api, world: dict[str, Any]) -> None:
    browser = as_role(module_api, world, "court")
    browser.get("/console/court/measures/new")
    for name, data in (("a.geojson", b'{"type": "Point", "coordinates": [1, 2]}'), ("a.kml", b"<kml><oops"),
                       ("b.kml", b'<!DOCTYPE kml [<!ENTITY x "y">]><kml/>')):
        answer = browser.post("/console/court/measures", {"area_kind": "file", "action": "preview",
                                                          "back": "/console/court/measures/new"},
                              files={"area_file": (name, data, "application/octet-stream")})
        assert answer.status_code == 422 and 'href="#f-area_file"' in browser.main(), name


def test_court_staff_change_legal_status_and_see_the_chain_and_the_periods(module_api: Api,
                                                                           world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "court")
    page = f"/console/court/measures/{world['marco']}"
    browser.get(page)
    assert "Periodos: debidos y registrados" in browser.main()
    assert "Requisitorias: posible" not in browser.main()  # court staff follow compliance, not warrants
    browser.post(f"{page}/legal-status", {"legal_status": "sentenced", "back": page})
    assert "Nueva medida registrada" in browser.main() and "Cadena de medidas" in browser.main()
    assert api.c.control.measures.get_measure(world["marco"]).status == "superseded"


def test_court_staff_of_another_court_do_not_reach_the_measure(module_api: Api, world: dict[str, Any]) -> None:
    from tests.integration.console_support import account

    browser = Console(module_api)
    browser.sign_in(account(module_api, "court", courts=("0401-JR-PE-02",)))
    assert browser.get(f"/console/court/measures/{world['rosa']}").status_code == 404


# --- the administrator -------------------------------------------------------------------------------------

def test_the_administrator_creates_an_operator_who_can_then_sign_in(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "admin")
    browser.get("/console/admin/operators")
    weak = browser.post("/console/admin/operators", {"username": "nueva.oficial", "name": "Nueva Oficial",
                                                     "roles": ["officer"], "districts": "", "password": "corta",
                                                     "back": "/console/admin/operators"})
    assert weak.status_code == 422 and 'href="#f-password"' in browser.main()
    assert 'href="#f-districts"' in browser.main()
    username = f"oficial.{__import__('secrets').token_hex(3)}"
    browser.post("/console/admin/operators", {"username": username, "name": "Nueva Oficial", "roles": ["officer"],
                                              "districts": world["district"], "password": "Clave-nueva-2026",
                                              "back": "/console/admin/operators"})
    assert "Operador guardado" in browser.main()
    assert api.c.accounts.get_account(username).password_hash.startswith("scrypt$")
    assert audited(api, "operator.create", username)
    newcomer = Console(api)
    assert newcomer.sign_in(username, "Clave-nueva-2026").status_code == 200


def test_an_import_runs_as_a_job_and_reports_a_bad_row_by_line(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    browser = as_role(api, world, "admin")
    browser.get("/console/admin/imports")
    bad, good = world["jobs"]
    browser.get(f"/console/admin/jobs/{bad}")
    assert "Rechazada" in browser.main() and '<td class="num">3</td>' in browser.main()
    progress = browser.get(f"/console/admin/jobs/{good}/progress")
    assert json.loads(progress.body)["status"] == "done" and json.loads(progress.body)["percent"] == 100
    header = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
             "expiry_date,nationality,father_name,mother_name\n"
    body = header + "DNI,61234560,Ana,Pérez,Soto,1990-01-01,,,PER,,\n"
    answer = browser.post("/console/admin/imports", {"registry": "identity", "back": "/console/admin/imports"},
                          files={"file": ("identidad.csv", body.encode(), "text/csv")}, follow=False)
    assert answer.status_code == 303 and "/console/admin/jobs/" in answer.headers["Location"]
    api.run_worker()
    browser.get(browser.location(answer))
    assert "Importación completa: 1 registros" in browser.main()


# --- the auditor -------------------------------------------------------------------------------------------

def test_the_auditor_finds_who_read_a_persons_data_by_document_number(module_api: Api,
                                                                     world: dict[str, Any]) -> None:
    api = module_api
    officer = as_role(api, world, "officer")
    officer.get(f"/console/officer/people/{world['rosa']}")
    browser = as_role(api, world, "auditor")
    browser.get("/console/audit?person=70112233&from=2026-11-20&to=2026-11-20&reads=1")
    text = browser.main()
    assert world["officer_id"] in text and "person.read" in text
    assert audited(api, "audit.search")
    too_long = browser.get("/console/audit?from=2026-01-01&to=2026-11-20")
    assert too_long.status_code == 422 and 'href="#f-from"' in browser.main()



def test_a_form_posted_after_the_session_ran_out_comes_back_filled_in_after_signing_in(
        module_api: Api, world: dict[str, Any]) -> None:
    import html as html_module

    from tests.integration.console_support import _LOGIN

    api = module_api
    browser = as_role(api, world, "officer")
    page = f"/console/officer/people/{world['never']}"
    browser.get(page)
    session_cookie = browser.jar["console_session"]
    api.c.sessions.delete_session(__import__("hashlib").sha256(session_cookie.encode()).hexdigest())  # it ran out
    typed = "Llamé dos veces; la madre dice que vuelve el lunes."
    answer = browser.post(f"{page}/incidents", {"type": "out_of_area", "day": "2026-11-19", "observations": typed,
                                               "back": page})
    assert answer.status_code == 401 and "Iniciar sesión" in browser.main()
    kept = dict(re.findall(r'name="draft\.([a-z_]+)" value="([^"]*)"', browser.text()))
    assert html_module.unescape(kept["observations"]) == typed and "csrf_token" not in kept
    token = _LOGIN.search(browser.text()).group(1)  # type: ignore[union-attr]
    fields = [("username", world["accounts"]["officer"]), ("password", "Clave-de-prueba-2026"),
              ("login_token", token), ("next", page), ("draft_path", f"{page}/incidents"),
              *[(f"draft.{k}", html_module.unescape(v)) for k, v in kept.items()]]
    back = browser.post("/console/login", fields, csrf=False)
    assert back.status_code == 200 and typed in html_module.unescape(browser.main())
    assert 'value="2026-11-19"' in browser.main()
    assert not [i for i in api.c.control.incidents.incidents_of_measure(world["never"]) if typed in i.observations]

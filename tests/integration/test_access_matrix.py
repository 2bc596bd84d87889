"""The README's route × role × scope matrix, walked against the code: every route is written there, every role
is admitted or refused as written, and every scope is tried with a token outside it (SPEC 4.7, 4.8)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.operators import Role
from tests.integration.conftest import Api
from tests.integration.control_support import (
    CUSCO,
    ROSA,
    ROSA_ANSWERS,
    Person,
    forget_created_districts,
    new_district,
    put_officer,
    staff,
)

README = Path(__file__).resolve().parents[2] / "README.md"
PSEUDO_ROLES = {"public", "channel", "provider", "partner"}
SCOPES = {"—", "own", "national", "court", "district", "own list"}


def matrix() -> list[tuple[str, str, frozenset[str], str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Who may call what"):]
    rows = []
    for line in section.splitlines():
        match = re.fullmatch(r"\| `(GET|POST|PUT|DELETE) ([^`]+)` \| ([^|]+) \| ([^|]+) \|", line.strip())
        if match:
            method, path, roles, scope = match.groups()
            rows.append((method, path, frozenset(r.strip() for r in roles.split(",")), scope.strip()))
    return rows


ROWS = matrix()
# The JSON routes are walked with bearer tokens; the console's pages with a signed-in session (a cookie and the
# session's CSRF token on every form).
OPERATOR_ROWS = [r for r in ROWS if not r[2] & PSEUDO_ROLES and not r[1].startswith("/console")]
CONSOLE_ROWS = [r for r in ROWS if not r[2] & PSEUDO_ROLES and r[1].startswith("/console")]
PUBLIC_CONSOLE_ROWS = [r for r in ROWS if "public" in r[2] and r[1].startswith("/console")]


def test_every_route_of_the_app_is_in_the_matrix_and_nothing_else_is() -> None:
    import app

    routes = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    written = {(method, path) for method, path, _, _ in ROWS}
    assert written == routes
    assert len(written) == len(ROWS)  # no route twice
    assert {scope for *_, scope in ROWS} <= SCOPES
    known = {r.value for r in Role} | PSEUDO_ROLES
    assert all(roles <= known for _, _, roles, _ in ROWS)


def fill(path: str, **values: str) -> str:
    defaults = {"district": "LIMA", "day": "2026-11-20", "year": "2026", "registry": "identity",
                "measure_id": "m" * 22, "checkin_id": "c" * 22, "incident_id": "i" * 22, "request_id": "r" * 22,
                "record_id": "x", "document_id": "d" * 22, "event_id": "e" * 22, "officer_id": "someone",
                "job_id": "j" * 22,
                "username": "nobody-here", "token": "t" * 40, "name": "console.css", "code": "es", "kind": "pdf",
                "provider": "local", "payment_id": "p" * 12, "period": "2026-11",
                **({"code": "IOP.04.03"} if "/indicators/" in path else {}), **values}
    return re.sub(r"\{(\w+)\}", lambda m: defaults[m.group(1)], path)


# Well-formed bodies, so that a refusal can only come from the role or the scope, never from the input.
BODIES: dict[str, Any] = {
    "/calls": {"outcome": "answered"}, "/authorisations": {"district": "CUSCO", "from": "2026-11-01",
                                                          "to": "2026-11-30"},
    "/group": {"group": "A"}, "/legal-status": {"legal_status": "sentenced"}, "/confirm": {"confirmed": True},
    "/relink": {"attempt_id": "a" * 32, "reason": "Verificado por teléfono"},
    "/reopen": {"window": "2026-P11", "reason": "Verificado por teléfono"},
    "/first-registration": {"features": {"height_cm": 170}},
    "/review": {"decision": "confirmed", "note": "Verificado por teléfono"},
    "/incidents": {"type": "out_of_area", "observations": "Prueba de acceso por rol."},
    "/warrant-decision": {"decision": "dismissed", "note": "Prueba de acceso por rol."},
    "/hand-over": {"to": ""},
}


def call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    """The route with a body of the media type it takes."""
    bare = path.split("?")[0]
    if method == "POST" and (bare.endswith("/import") or bare.endswith("/jobs")):
        media, body = "text/csv", b"a,b\n"
    elif bare.endswith("/photo"):
        media, body = "image/jpeg", b"\xff\xd8\xff" + b"x" * 64
    else:
        media = "application/json"
        body = json.dumps(next((v for k, v in BODIES.items() if bare.endswith(k)), {})).encode()
    return api.client.http.request(method, path, headers={**headers, "Content-Type": media}, body=body)


@pytest.mark.parametrize(("method", "path", "roles", "scope"), OPERATOR_ROWS, ids=lambda v: str(v))
def test_each_role_is_admitted_or_refused_as_written(api: Api, method: str, path: str, roles: frozenset[str],
                                                    scope: str) -> None:
    url = fill(path)
    for role in Role:
        answer = call(api, method, url + ("?day=2026-11-20" if "/incidents" in url else ""),
                      api.operator_headers(role.value, subject=f"walk-{role.value}"))
        refused = answer.status_code == 403 and json.loads(answer.body)["error"]["code"] == "missing_role"
        assert refused is (role.value not in roles), (role.value, answer.status_code, answer.body)
    assert call(api, method, url, {"Content-Type": "application/json"}).status_code == 401


@pytest.mark.parametrize(("method", "path", "roles", "scope"),
                         [r for r in OPERATOR_ROWS if r[3] == "district" and "{district}" in r[1]], ids=str)
def test_a_district_in_the_path_outside_the_token_is_refused(api: Api, method: str, path: str,
                                                            roles: frozenset[str], scope: str) -> None:
    for role in roles - {"admin", "auditor"}:
        headers = api.operator_headers(role, subject="walk-elsewhere", districts=("CUSCO",))
        answer = call(api, method, fill(path, district="LIMA") + ("?day=2026-11-20" if "/incidents" in path else ""),
                      headers)
        assert answer.status_code == 403 and json.loads(answer.body)["error"]["code"] == "out_of_scope", answer.body


PARTNER_ROWS = [r for r in ROWS if "partner" in r[2]]


@pytest.mark.parametrize(("method", "path", "roles", "scope"), PARTNER_ROWS, ids=lambda v: str(v))
def test_partner_routes_take_only_a_partner_token_with_the_documented_scope(api: Api, method: str, path: str,
                                                                          roles: frozenset[str], scope: str) -> None:
    """No credential, an operator's token of any role or a channel key: 401; a partner token without the scope the
    OpenAPI document names for the route: 403 `insufficient_scope`; with it, past the credential check."""
    from chalicelib.api.contract import document
    from chalicelib.domain.partners import SCOPES

    assert roles == {"partner"} and scope == "own"
    (needed,) = document()["paths"][path][method.lower()]["security"][0]["partnerClientCredentials"]
    url = fill(path)
    partners = api.c.partners
    migraciones = partners.partners["migraciones"]
    for headers in ({}, api.operator_headers(*(r.value for r in Role)), api.channel_headers()):
        answer = call(api, method, url, {**headers, "Idempotency-Key": "walk"})
        assert answer.status_code == 401, (headers, answer.body)
    for scopes in (SCOPES - {needed}, SCOPES):
        headers = {"Authorization": f"Bearer {partners.issue(migraciones, scopes)}",
                   "Idempotency-Key": f"walk-{len(scopes)}"}  # one key each: the same key would replay the first
        answer = call(api, method, url, headers)
        refused = answer.status_code == 403 and json.loads(answer.body)["error"]["code"] == "insufficient_scope"
        assert refused is (needed not in scopes), (scopes, answer.status_code, answer.body)


# --- the console: the same rows, with sessions ---------------------------------------------------------------

def session_of(api: Api, role: str, *, subject: str | None = None, districts: tuple[str, ...] = ("*",),
               courts: tuple[str, ...] = ("*",)) -> tuple[dict[str, str], str]:
    """A signed-in session of the role (made directly: signing in is tested on its own): its cookie header and
    its CSRF token."""
    from chalicelib.domain.operators import Operator
    from chalicelib.domain.sessions import new_session

    operator = Operator(subject or f"walk-{role}", frozenset({role}), frozenset(districts), frozenset(courts))
    token, session = new_session(operator, "Walk", "es", api.c.clock.now())
    api.c.sessions.put_session(session)
    return {"Cookie": f"console_session={token}", "Accept": "*/*"}, session.csrf


def console_call(api: Api, method: str, path: str, headers: dict[str, str], csrf: str) -> Any:
    """The page as a browser asks for it: a GET, or a form (multipart where the route takes only that)."""
    from urllib.parse import urlencode

    import app

    if method == "GET":
        return api.client.http.get(path, headers=headers)
    route = app.app.routes[re.sub(r"\?.*", "", ROUTE_OF[path])][method]
    if "application/x-www-form-urlencoded" in route.content_types:
        body, media = urlencode({"csrf_token": csrf}).encode(), "application/x-www-form-urlencoded"
    else:
        body = (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n--b--\r\n').encode()
        media = "multipart/form-data; boundary=b"
    return api.client.http.request(method, path, headers={**headers, "Content-Type": media}, body=body)


ROUTE_OF = {fill(path): path for _, path, _, _ in CONSOLE_ROWS + PUBLIC_CONSOLE_ROWS}


def refused_by_role(answer: Any) -> bool:
    return answer.status_code == 403 and b'data-code="missing_role"' in answer.body


@pytest.mark.parametrize(("method", "path", "roles", "scope"), CONSOLE_ROWS, ids=lambda v: str(v))
def test_each_role_is_admitted_or_refused_on_the_console_as_written(api: Api, method: str, path: str,
                                                                   roles: frozenset[str], scope: str) -> None:
    url = fill(path)
    for role in Role:
        headers, csrf = session_of(api, role.value)
        answer = console_call(api, method, url, headers, csrf)
        assert refused_by_role(answer) is (role.value not in roles), (role.value, answer.status_code,
                                                                      answer.body[:300])
    # No session: the sign-in page (a form posted then is kept on it).
    anonymous = console_call(api, method, url, {"Accept": "*/*"}, "")
    assert anonymous.status_code == (303 if method == "GET" else 401)
    if method == "GET":
        assert "/console/login?next=" in anonymous.headers["Location"]


@pytest.mark.parametrize(("method", "path", "roles", "scope"), PUBLIC_CONSOLE_ROWS, ids=lambda v: str(v))
def test_the_consoles_public_doors_answer_without_a_session(api: Api, method: str, path: str,
                                                            roles: frozenset[str], scope: str) -> None:
    answer = console_call(api, method, fill(path), {"Accept": "*/*"}, "")
    location = answer.headers.get("Location", "")
    assert answer.status_code in (200, 303, 400, 404) and "next=" not in location, (answer.status_code, location)


@pytest.mark.parametrize(("method", "path", "roles", "scope"),
                         [r for r in CONSOLE_ROWS if r[3] == "district" and ("{district}" in r[1] or r[0] == "GET")
                          and "people" not in r[1] and "/reports/" not in r[1]], ids=str)
def test_a_district_outside_the_session_is_refused_on_the_console(api: Api, method: str, path: str,
                                                                  roles: frozenset[str], scope: str) -> None:
    headers, csrf = session_of(api, "cvp_head", subject="walk-elsewhere", districts=("CUSCO",))
    url = fill(path, district="LIMA") + ("" if "{district}" in path else "?district=LIMA")
    answer = console_call(api, method, url, headers, csrf)
    assert answer.status_code == 403 and b'data-code="out_of_scope"' in answer.body, answer.body[:300]


def test_a_console_form_without_the_csrf_token_is_refused_whatever_the_role(api: Api) -> None:
    for method, path, roles, _ in CONSOLE_ROWS:
        if method != "POST":
            continue
        role = sorted(roles)[0]
        headers, _ = session_of(api, role)
        answer = console_call(api, method, fill(path), headers, "forged-token")
        assert answer.status_code == 403 and b'data-code="csrf_failed"' in answer.body, path


@pytest.fixture
def world(api: Api) -> Any:
    """A person under a LIMA measure of court 1801-JR-PE-01, on officer ana's list, with a refused check-in
    (an out-of-area incident and a closed window)."""
    district = new_district(api)
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    rosa = Person(api, ROSA, "telegram:walk", district=district)
    assert rosa.enrol().status_code == 201
    api.run_worker()
    refused = rosa.check_in(CUSCO, ROSA_ANSWERS)
    assert refused["outcome"] == "out_of_area"
    incidents = api.get(f"/v1/court/measures/{rosa.measure['measure_id']}/compliance",
                        headers=api.operator_headers("court")).json_body["incidents"]
    yield {"district": district, "officer": ana, "measure_id": rosa.measure["measure_id"],
           "checkin_id": refused["checkin_id"], "incident_id": incidents[0]["incident_id"]}
    forget_created_districts()


def test_court_staff_reach_only_their_courts_measures(api: Api, world: dict[str, Any]) -> None:
    rows = [r for r in OPERATOR_ROWS if r[3] == "court"]
    other = api.operator_headers("court", subject="judge-other", courts=("0401-JR-PE-02",))
    mine = api.operator_headers("court", subject="judge-mine", courts=("1801-JR-PE-01",))
    for method, path, _, _ in rows:
        url = fill(path, measure_id=world["measure_id"])
        if "{measure_id}" in path:
            answer = call(api, method, url, other)
            assert answer.status_code == 404, (path, answer.body)
        elif path == "/v1/court/measures":
            body = {"person": ROSA, "case_file": "00999-2020-0-1801-JR-PE-01", "court": "1° Juzgado",
                    "district": "LIMA", "legal_status": "processed", "periodicity": "monthly",
                    "start_date": "2026-01-01", "first_registration_deadline": "2026-12-31",
                    "end_date": "2027-12-31", "group": "B"}
            answer = api.post(path, body, headers=other)
            assert answer.status_code == 403 and answer.json_body["error"]["field"] == "case_file"
    for path in ("/v1/court/measures/{measure_id}", "/v1/court/measures/{measure_id}/compliance"):
        assert api.get(fill(path, measure_id=world["measure_id"]), headers=mine).status_code == 200


def test_officers_reach_only_the_people_on_their_own_list(api: Api, world: dict[str, Any]) -> None:
    stranger = staff(world["district"], "bob")
    put_officer(api, world["district"], stranger)
    theirs = api.operator_headers("officer", subject=stranger, districts=(world["district"],))
    for method, path, _, scope in OPERATOR_ROWS:
        if scope != "own list" or "{" not in path:
            continue
        url = fill(path, measure_id=world["measure_id"], checkin_id=world["checkin_id"])
        answer = call(api, method, url, theirs)
        assert answer.status_code == 404, (path, answer.body)
    listed = api.get("/v1/officer/enrolments", headers=theirs).json_body["items"]
    assert world["measure_id"] not in [i["measure_id"] for i in listed]
    mine = api.operator_headers("officer", subject=world["officer"], districts=(world["district"],))
    assert api.get(f"/v1/officer/enrolments/{world['measure_id']}", headers=mine).status_code == 200
    # An officer whose token does not cover the district does not reach even their own people.
    elsewhere = api.operator_headers("officer", subject=world["officer"], districts=("CUSCO",))
    assert api.get(f"/v1/officer/enrolments/{world['measure_id']}", headers=elsewhere).status_code == 404


def test_a_cvp_head_closes_only_incidents_of_their_districts(api: Api, world: dict[str, Any]) -> None:
    path = f"/v1/cvp/incidents/{world['incident_id']}/close"
    elsewhere = api.operator_headers("cvp_head", subject="head-cusco", districts=("CUSCO",))
    assert api.post(path, {"note": "no"}, headers=elsewhere).status_code == 404
    here = api.operator_headers("cvp_head", subject="head-here", districts=(world["district"],))
    assert api.post(path, {"note": "Informado al juzgado"}, headers=here).status_code == 200


def test_officer_callbacks_follow_the_districts_of_the_token(api: Api, world: dict[str, Any]) -> None:
    elsewhere = api.operator_headers("officer", subject=world["officer"], districts=("CUSCO",))
    assert api.get("/v1/officer/callbacks", headers=elsewhere).json_body["items"] == []
    assert api.post("/v1/officer/callbacks/" + world["checkin_id"], {"outcome": "answered"},
                    headers=elsewhere).status_code == 404

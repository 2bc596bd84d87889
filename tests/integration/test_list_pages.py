"""Cursor pagination of the lists of virtual control and of refunds, on DynamoDB Local (issue 14): a seeded list
of 1,000 walked page by page (every item once, in a stable order, one added between two pages seen once too);
every other list in two pages; a forged cursor, a cursor of another district, officer, court or list, and a
limit out of range are each refused naming the field."""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bench.dynamo_calls import counting_dynamodb_calls
from chalicelib.adapters import dynamo_models as m
from chalicelib.adapters.dynamo_control.checkins import checkin_to_model, incident_to_model, window_to_model
from chalicelib.adapters.dynamo_control.measures import measure_to_model, unmatched_to_model
from chalicelib.adapters.dynamo_control.officers import case_to_model, contingency_to_model, officer_to_model
from chalicelib.adapters.dynamo_store import payment_to_model
from chalicelib.domain.control.checkins import Checkin, CheckinStep, WindowRecord, WindowState
from chalicelib.domain.control.contingency import Contingency
from chalicelib.domain.control.enrolment import UnmatchedEnrolment
from chalicelib.domain.control.incidents import Incident, IncidentType
from chalicelib.domain.control.measures import parse_measure
from chalicelib.domain.control.officers import Case, Officer
from chalicelib.domain.control.people import parse_person
from chalicelib.domain.ports import PaymentRecord
from chalicelib.domain.requests import new_id
from tests.integration.conftest import Api
from tests.integration.console_support import signed_in
from tests.integration.control_support import cvp, new_district, officer, staff

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
DAY = date(2026, 11, 2)
PERSON = parse_person({"has_document": True, "nationality": "PER", "document_type": "DNI",
                       "document_number": "70112233", "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"})


def saved(model: Any, items: list[Any]) -> None:
    with model.batch_write() as batch:
        for item in items:
            batch.save(item)


def walk(api: Api, path: str, headers: dict[str, str], key: str, limit: int,
         between: Any = None) -> tuple[list[str], int]:
    """Every page of a list: the items' ``key`` in order, and how many pages. ``between`` runs after page 1."""
    seen: list[str] = []
    cursor, pages = None, 0
    joiner = "&" if "?" in path else "?"
    while True:
        answer = api.get(f"{path}{joiner}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert answer.status_code == 200, answer.body
        assert set(answer.json_body) >= {"items", "next_cursor"}
        seen += [item[key] for item in answer.json_body["items"]]
        pages += 1
        if pages == 1 and between is not None:
            between()
        if (cursor := answer.json_body["next_cursor"]) is None:
            return seen, pages
        assert len(answer.json_body["items"]) <= limit


def first_cursor(api: Api, path: str, headers: dict[str, str], limit: int = 1) -> str:
    joiner = "&" if "?" in path else "?"
    answer = api.get(f"{path}{joiner}limit={limit}", headers=headers)
    assert answer.status_code == 200, answer.body
    cursor: str = answer.json_body["next_cursor"]
    assert cursor, "the list needs more than one page"
    return cursor


def refused(api: Api, path: str, headers: dict[str, str], cursor: str, field: str = "cursor") -> None:
    joiner = "&" if "?" in path else "?"
    answer = api.get(f"{path}{joiner}cursor={cursor}", headers=headers)
    assert answer.status_code == 422, (path, answer.body)
    assert answer.json_body["error"]["field"] == field


def limits_checked(api: Api, path: str, headers: dict[str, str], most: int) -> None:
    joiner = "&" if "?" in path else "?"
    for bad in ("0", str(most + 1), "-1", "ten"):
        answer = api.get(f"{path}{joiner}limit={bad}", headers=headers)
        assert answer.status_code == 422 and answer.json_body["error"]["field"] == "limit", (path, bad)
    assert api.get(f"{path}{joiner}limit={most}", headers=headers).status_code == 200


def an_incident(district: str, n: int, day: date = DAY, at: datetime | None = None) -> Incident:
    return Incident(incident_id=f"pg{n:04d}-{secrets.token_hex(4)}", type=IncidentType.OUT_OF_AREA, district=district,
                    day=day, created_at=at or T0 + timedelta(seconds=n), measure_id=new_id(),
                    full_name="Rosa Elvira de la Cruz Huamán", identity_document="DNI 70112233",
                    case_file="00123-2020-0-1801-JR-PE-01", court="1° Juzgado", detail="Fuera del área",
                    observations=f"Prueba de páginas {n:04d}", addressed_to=("court", "cvp_head"))


# --- a thousand ------------------------------------------------------------------------------------------------

def test_a_thousand_incidents_of_a_day_come_whole_and_in_order_page_by_page(api):
    district = new_district(api)
    made = [an_incident(district, n) for n in range(1000)]
    saved(m.IncidentModel, [incident_to_model(i) for i in made])
    late = an_incident(district, 5000)  # recorded while the CVP head reads page 1: it comes last, once
    path = f"/v1/cvp/districts/{district}/incidents?day={DAY.isoformat()}"
    seen, pages = walk(api, path, cvp(api, district), "incident_id", 200,
                       between=lambda: saved(m.IncidentModel, [incident_to_model(late)]))
    assert seen == [i.incident_id for i in made] + [late.incident_id] and pages == 6
    again, _ = walk(api, path, cvp(api, district), "incident_id", 200)
    assert again == seen  # a stable order
    with counting_dynamodb_calls() as calls:  # a page: one query of the index, one batch read (100 keys a call)
        assert api.get(f"{path}&limit=200", headers=cvp(api, district)).status_code == 200
    assert calls["Query"] == 1 and calls["BatchGetItem"] == 2 and calls["Scan"] == 0, calls

    cursor = first_cursor(api, path, cvp(api, district), 10)
    assert "pg0" not in cursor and district not in cursor and "70112233" not in cursor
    body, _, tag = cursor.partition(".")
    for forged in (body + "." + tag[::-1], body[:-2] + "AA." + tag, "x" * 2000):
        refused(api, path, cvp(api, district), forged)
    refused(api, f"/v1/cvp/districts/{district}/incidents?day=2026-11-03", cvp(api, district), cursor)  # another day
    other = new_district(api)
    refused(api, f"/v1/cvp/districts/{other}/incidents?day={DAY.isoformat()}", cvp(api), cursor)  # another district
    refused(api, f"/v1/cvp/districts/{district}/open-incidents", cvp(api, district), cursor)  # another list
    limits_checked(api, path, cvp(api, district), 200)
    # A head of another district reaches neither the list nor its pages.
    assert api.get(f"{path}&cursor={cursor}", headers=cvp(api, other)).status_code == 403


def test_a_thousand_measures_of_a_court_come_whole_newest_first_and_stay_with_their_court(api):
    court = f"{9000 + secrets.randbelow(999)}-JR-PE-{10 + secrets.randbelow(89):02d}"
    made = []
    for n in range(1000):
        body = {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI",
                           "document_number": f"9{n:07d}", "given_names": "Prueba", "surnames": "Páginas Corte"},
                "case_file": f"{n:05d}-2020-0-{court}", "court": "Juzgado de prueba", "district": "LIMA",
                "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
                "first_registration_deadline": "2026-12-31", "end_date": "2027-12-31", "group": "B"}
        made.append(parse_measure(body, measure_id=new_id(), now=T0 + timedelta(seconds=n), created_by="judge"))
    saved(m.MeasureModel, [measure_to_model(x) for x in made])
    clerk = api.operator_headers("court", subject="clerk-pages", courts=(court,))
    seen, pages = walk(api, "/v1/court/measures", clerk, "measure_id", 200)
    assert seen == [x.measure_id for x in reversed(made)] and pages == 5
    with counting_dynamodb_calls() as calls:  # one query of the court's index (it holds the measures whole)
        assert api.get("/v1/court/measures?limit=200", headers=clerk).status_code == 200
    assert calls["Query"] == 1 and calls["Scan"] == 0 and calls["GetItem"] == 0, calls

    # A search pages too: the measures whose case file holds "0099" (00990..00999 and 00099), newest first.
    found, _ = walk(api, "/v1/court/measures?q=0099", clerk, "measure_id", 10)
    assert found == [x.measure_id for x in reversed(made) if "0099" in x.case_file]

    cursor = first_cursor(api, "/v1/court/measures", clerk, 50)
    refused(api, "/v1/court/measures?status=all", clerk, cursor)  # another list (all statuses)
    refused(api, "/v1/court/measures?q=0099", clerk, cursor)  # another search
    # A clerk of another court: not this court's list, and this court's cursor is not for theirs.
    other_court = "1801-JR-PE-01"
    other_clerk = api.operator_headers("court", subject="clerk-other", courts=(other_court,))
    assert api.get(f"/v1/court/measures?court={court}&cursor={cursor}", headers=other_clerk).status_code == 403
    refused(api, "/v1/court/measures", other_clerk, cursor)
    limits_checked(api, "/v1/court/measures", clerk, 200)

    # The console's page of the court: its first 100, "more on the next page", and a Next link that goes on.
    browser = signed_in(api, "court", courts=(court,))
    assert browser.get("/console/court/measures").status_code == 200
    assert listed(browser) == seen[:100] and "Hay más en la página siguiente" in browser.main()
    link = NEXT.search(browser.main())
    assert link is not None
    assert browser.get(html.unescape(link.group(1))).status_code == 200
    assert listed(browser) == seen[100:200]


def listed(browser: Any) -> list[str]:
    """The measures a console page of the court links to (not its "new measure" link)."""
    return [x for x in re.findall(r'href="[^"]*/console/court/measures/([^"/?]+)"', browser.main()) if x != "new"]


# --- every other list: two pages and the misuses ---------------------------------------------------------------

def seed_district(district: str, head_officer: str) -> None:
    """Three of each: officers, cases (on ``head_officer``'s list), open incidents, unmatched enrolments, open
    callbacks, and held check-ins of the officer's people."""
    officers = [Officer(district=district, officer_id=f"{head_officer}-{n}" if n else head_officer, active=True,
                        name=f"Encargado {n}") for n in range(3)]
    saved(m.OfficerModel, [officer_to_model(o) for o in officers])
    cases = [Case(chain_id=new_id(), district=district, measure_id=new_id(), opened_at=T0 + timedelta(minutes=n),
                  officer=head_officer) for n in range(3)]
    saved(m.CaseModel, [case_to_model(c) for c in cases])
    saved(m.IncidentModel, [incident_to_model(an_incident(district, n)) for n in range(3)])
    saved(m.UnmatchedEnrolmentModel, [unmatched_to_model(UnmatchedEnrolment(
        new_id(), district, f"telegram:9{n}", PERSON, {"mobile": "987654321"}, T0 + timedelta(minutes=n)))
        for n in range(3)])
    saved(m.ContingencyModel, [contingency_to_model(Contingency(
        checkin_id=new_id(), owner=f"telegram:8{n}", measure_id=new_id(), district=district, registry="identity",
        created_at=T0 + timedelta(minutes=n))) for n in range(3)])
    held = []
    for n, case in enumerate(cases):
        checkin = Checkin(checkin_id=new_id(), measure_id=case.measure_id, chain_id=case.chain_id,
                          owner=f"telegram:7{n}", window_key="2026-11", started_at=T0, step=CheckinStep.REVIEW)
        saved(m.CheckinModel, [checkin_to_model(checkin)])
        held.append(window_to_model(WindowRecord(chain_id=case.chain_id, window_key="2026-11",
                                                 state=WindowState.HELD, checkin_id=checkin.checkin_id,
                                                 measure_id=case.measure_id, at=T0), district))
    saved(m.WindowModel, held)


CVP_LISTS = {"officers": "officer_id", "enrolments": "measure_id", "open-incidents": "incident_id",
             "unmatched-enrolments": "attempt_id", "callbacks": "checkin_id"}
OFFICER_LISTS = {"enrolments": "measure_id", "callbacks": "checkin_id", "reviews": "checkin_id"}


@pytest.fixture
def two_districts(api):  # type: ignore[no-untyped-def]
    first, second = new_district(api), new_district(api)
    seed_district(first, staff(first, "ana"))
    seed_district(second, staff(second, "ana"))
    return first, second


@pytest.mark.parametrize("name", sorted(CVP_LISTS))
def test_each_list_of_a_cvp_head_comes_in_pages_of_its_own_district(api, two_districts, name):
    first, second = two_districts
    path = f"/v1/cvp/districts/{first}/{name}"
    head = cvp(api, first)
    seen, pages = walk(api, path, head, CVP_LISTS[name], 2)
    assert len(seen) == len(set(seen)) == 3 and pages == 2
    cursor = first_cursor(api, path, head)
    refused(api, path, head, "AAAA." + cursor.partition(".")[2])  # forged
    refused(api, f"/v1/cvp/districts/{second}/{name}", cvp(api), cursor)  # another district's list
    for other in set(CVP_LISTS) - {name}:
        refused(api, f"/v1/cvp/districts/{first}/{other}", head, cursor)  # another list of the same district
    limits_checked(api, path, head, 200)
    # An officer of the district replays the head's cursor: the CVP list is not theirs, nor is the cursor.
    ana = officer(api, staff(first, "ana"), first)
    assert api.get(f"{path}?cursor={cursor}", headers=ana).status_code == 403
    mine = {"enrolments": "enrolments", "callbacks": "callbacks"}.get(name)
    if mine:
        refused(api, f"/v1/officer/{mine}", ana, cursor)


@pytest.mark.parametrize("name", sorted(OFFICER_LISTS))
def test_each_list_of_an_officer_comes_in_pages_that_are_the_officers_own(api, two_districts, name):
    first, _ = two_districts
    ana_id = staff(first, "ana")
    ana = officer(api, ana_id, first)
    path = f"/v1/officer/{name}"
    seen, pages = walk(api, path, ana, OFFICER_LISTS[name], 2)
    assert len(seen) == len(set(seen)) == 3 and pages == 2
    cursor = first_cursor(api, path, ana)
    refused(api, path, ana, cursor[:-3] + "abc")  # forged
    colleague = officer(api, f"{ana_id}-1", first)  # an officer of the same district
    refused(api, path, colleague, cursor)
    for other in set(OFFICER_LISTS) - {name}:
        refused(api, f"/v1/officer/{other}", ana, cursor)
    limits_checked(api, path, ana, 200)


def test_open_refunds_come_in_pages_each_once(api):
    made = []
    for n, state in enumerate(("due", "due", "failed", "requested")):
        made.append(PaymentRecord(provider="pagoefectivo", payment_id=f"PG{secrets.token_hex(5)}",
                                  order_code=f"ORD{n}", amount=Decimal("48.50"), currency="PEN",
                                  received_at=T0 + timedelta(seconds=n), disposition="refund_due",
                                  reason="order_expired", refund_state=state))
    saved(m.PaymentModel, [payment_to_model(p) for p in made])
    admin = api.operator_headers("admin")
    seen, pages = walk(api, "/v1/admin/refunds", admin, "payment_id", 2)
    assert len(seen) == len(set(seen)) and {p.payment_id for p in made} <= set(seen) and pages >= 2
    cursor = first_cursor(api, "/v1/admin/refunds", admin)
    refused(api, "/v1/admin/refunds", api.operator_headers("auditor"), cursor[::-1])
    refused(api, "/v1/admin/review-queue", api.operator_headers("reviewer"), cursor)  # another list
    limits_checked(api, "/v1/admin/refunds", admin, 500)


def test_every_paged_list_documents_its_limit_cursor_and_next_cursor(api):
    from chalicelib.api.openapi import PAGED

    document = api.client.http.get("/openapi.json").json_body
    for path, (default, most) in PAGED.items():
        operation = document["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": most, "default": default}
        assert params["cursor"]["schema"]["type"] == "string"
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        page = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert set(page["required"]) == {"items", "next_cursor"}


# --- the console ------------------------------------------------------------------------------------------------

NEXT = re.compile(r'<a href="([^"]+)" rel="next">(Siguiente|Next)</a>')


def test_the_console_shows_a_first_page_and_a_next_link_that_carries_the_cursor(api):
    district = new_district(api)
    saved(m.IncidentModel, [incident_to_model(an_incident(district, n)) for n in range(130)])
    browser = signed_in(api, "cvp_head", districts=(district,))
    first = browser.get(f"/console/cvp/reports?district={district}&day={DAY.isoformat()}")
    assert first.status_code == 200
    shown = re.findall(r"Prueba de páginas (\d{4})", browser.main())
    assert shown == [f"{n:04d}" for n in range(100)]
    link = NEXT.search(browser.main())
    assert link is not None and link.group(2) == "Siguiente"
    href = html.unescape(link.group(1))
    assert "cursor=" in href and district not in href.split("cursor=")[1]
    second = browser.get(href)
    assert second.status_code == 200
    assert re.findall(r"Prueba de páginas (\d{4})", browser.main()) == [f"{n:04d}" for n in range(100, 130)]
    assert NEXT.search(browser.main()) is None
    # The cursor is this list's: the same page of another day refuses it.
    other_day = href.replace(f"day={DAY.isoformat()}", "day=2026-11-03")
    assert browser.get(other_day).status_code == 422


def test_the_cvp_dashboard_pages_each_list_with_a_cursor_of_its_own_and_exports_them_whole(api):
    district = new_district(api)
    saved(m.IncidentModel, [incident_to_model(an_incident(district, n)) for n in range(101)])
    saved(m.ContingencyModel, [contingency_to_model(Contingency(
        checkin_id=f"cb{n:03d}-{secrets.token_hex(3)}", owner=f"telegram:6{n}", measure_id=new_id(),
        district=district, registry="identity", created_at=T0 + timedelta(minutes=n))) for n in range(51)])
    browser = signed_in(api, "cvp_head", districts=(district,))

    def shown() -> list[str]:
        return re.findall(r"Prueba de páginas (\d{4})", browser.main())

    def links() -> dict[str, str]:
        found = {}
        for href, _ in NEXT.findall(browser.main()):
            href = html.unescape(href)
            found[re.findall(r"[?&](\w+)_cursor=[^&]*$", href)[0]] = href
        return found

    assert browser.get(f"/console/cvp?district={district}").status_code == 200
    assert shown() == [f"{n:04d}" for n in range(100)] and set(links()) == {"incidents", "callbacks"}
    assert browser.get(links()["incidents"]).status_code == 200
    assert shown() == ["0100"] and set(links()) == {"callbacks"}  # the callbacks still on their first page
    assert browser.get(links()["callbacks"]).status_code == 200
    assert shown() == ["0100"] and links() == {}  # the incidents' cursor travels along
    exported = browser.get(f"/console/cvp?district={district}&list=incidents&format=csv", follow=False)
    assert exported.status_code == 303
    assert browser.get(browser.location(exported)).body.decode("utf-8-sig").count("Prueba de páginas") == 101


def test_the_officer_console_pages_the_callbacks_of_the_officers_districts(api):
    from tests.integration.console_support import Console, account

    district = new_district(api)
    username = account(api, "officer", districts=(district,))
    saved(m.OfficerModel, [officer_to_model(Officer(district=district, officer_id=username, active=True))])
    made = [f"cb{n:03d}-{secrets.token_hex(3)}" for n in range(51)]
    saved(m.ContingencyModel, [contingency_to_model(Contingency(
        checkin_id=checkin_id, owner=f"telegram:5{n}", measure_id=new_id(), district=district, registry="identity",
        created_at=T0 + timedelta(minutes=n))) for n, checkin_id in enumerate(made)])
    browser = Console(api)
    assert browser.sign_in(username).status_code == 200

    def shown() -> list[str]:
        return re.findall(r"/console/officer/callbacks/([^\"/]+)\"", browser.main())

    assert browser.get("/console/officer").status_code == 200
    assert shown() == made[:50]
    link = NEXT.search(browser.main())
    assert link is not None and "callbacks_cursor=" in link.group(1)
    assert browser.get(html.unescape(link.group(1))).status_code == 200
    assert shown() == made[50:] and NEXT.search(browser.main()) is None

"""The indicators over HTTP on DynamoDB Local: counted from the outbox by the worker once however often an event
comes, read as JSON and CSV within the operator's scope, targets and in-person counts set by an administrator
(audited), the public transparency page and its CSV (suppressed, no personal data), the rebuild agreeing with
the live counters; and the port's contract on both the DynamoDB adapter and the in-memory fake."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.indicators import Fact, Target, contributions, period_of
from chalicelib.domain.ports import AuditEntry
from chalicelib.services import indicators
from tests.factories import LUIS_CE
from tests.fakes_indicators import MemoryIndicators
from tests.integration.conftest import Api
from tests.integration.control_support import (
    CUSCO,
    INSIDE_LIMA,
    ROSA,
    ROSA_ANSWERS,
    enrolled,
    flush_worker,
    forget_created_districts,
    new_district,
    put_officer,
    staff,
)


def figures_of(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.body
    return {f["code"]: f for f in answer.json_body["figures"]}


def text(answer: Any) -> str:
    return answer.body if isinstance(answer.body, str) else answer.body.decode()


def read(api: Api, query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return figures_of(api.get(f"/v1/indicators{query}", headers=headers or api.operator_headers("auditor")))


@pytest.fixture
def district(api: Api) -> Any:
    name = new_district(api)
    put_officer(api, name, staff(name, "ana"))
    yield name
    forget_created_districts()


def test_check_ins_are_counted_per_district_once_however_often_the_stream_delivers_them(api: Api,
                                                                                        district: str) -> None:
    period = period_of(api.c.clock.now())
    rosa = enrolled(api, district, ROSA, area="LIMA")
    assert rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)["outcome"] == "registered"
    api.run_worker()
    head = api.operator_headers("cvp_head", subject="head-ind", districts=(district,))
    mine = read(api, f"?period={period}&district={district}", head)
    assert mine["checkins.registered"]["value"] == 1
    assert (mine["IOP.04.03"]["value"], mine["IOP.04.03"]["numerator"], mine["IOP.04.03"]["denominator"]) == (
        100.0, 1, 1)
    assert mine["IOP.04.03"]["target"]["baseline"] == 41.0
    assert mine["IOP.04.03"]["progress"]["obtained_over_expected"] == 286.5
    # The stream delivers everything again: nothing is added.
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import event_from_image
    from chalicelib.handlers import dispatch

    for item in m.OutboxModel.scan():
        if item.name.startswith("control."):
            dispatch(event_from_image(item.serialize()), api.c)
    assert read(api, f"?period={period}&district={district}", head)["checkins.registered"]["value"] == 1
    # Another district's head is refused this district, and sees nothing of it in their own.
    elsewhere = api.operator_headers("cvp_head", subject="head-cusco", districts=("CUSCO",))
    refused = api.get(f"/v1/indicators?district={district}", headers=elsewhere)
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "out_of_scope"
    other = new_district(api)
    assert read(api, f"?period={period}&district={other}")["checkins.registered"]["value"] == 0


def test_an_out_of_area_check_in_counts_as_an_outcome_and_an_incident(api: Api, district: str) -> None:
    rosa = enrolled(api, district, ROSA, area="LIMA")
    assert rosa.check_in(CUSCO, ROSA_ANSWERS)["outcome"] == "out_of_area"
    api.run_worker()
    mine = read(api, f"?district={district}")
    assert mine["checkins.out_of_area"]["value"] == 1 and mine["incidents.out_of_area"]["value"] == 1
    assert mine["checkins.registered"]["value"] == 0 and mine["IOP.04.03"]["value"] is None


def test_certificates_are_counted_nationally_by_nationality_and_channel(api: Api) -> None:
    flush_worker(api)
    before = read(api)
    api.paid(user="telegram:ind-1")
    api.paid(LUIS_CE, user="telegram:ind-2")
    api.run_worker()
    api.run_worker()
    after = read(api)
    issued = {code: after[code]["value"] - before.get(code, {"value": 0})["value"] for code in
              ("certificates.issued.peruvian", "certificates.issued.foreign", "requests.channel.telegram")}
    assert issued == {"certificates.issued.peruvian": 1, "certificates.issued.foreign": 1,
                      "requests.channel.telegram": 2}
    decided = after["certificates.decided.automatic"]
    assert decided["denominator"] - before["certificates.decided.automatic"]["denominator"] == 2
    assert after["time.payment_to_certificate.median"]["denominator"] >= 2


def test_the_csv_is_the_same_figures_for_a_spreadsheet(api: Api) -> None:
    answer = api.get("/v1/indicators?period=2026-11&format=csv", headers=api.operator_headers("reviewer"))
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="indicadores-2026-11-PERU.csv"'
    rows = list(csv.DictReader(io.StringIO(text(answer).lstrip("\ufeff"))))
    as_json = read(api, "?period=2026-11")
    assert {r["indicator"] for r in rows} == set(as_json)
    compliance = next(r for r in rows if r["indicator"] == "IOP.04.03")
    assert compliance["baseline"] == "41.0" and compliance["expected"] == "34.9"
    assert compliance["value"] == ("" if as_json["IOP.04.03"]["value"] is None else str(as_json["IOP.04.03"]["value"]))


@pytest.mark.parametrize(("query", "field"), [("?period=2026-13", "period"), ("?district=ATLANTIS", "district")])
def test_a_bad_period_or_district_is_named(api: Api, query: str, field: str) -> None:
    answer = api.get(f"/v1/indicators{query}", headers=api.operator_headers("admin"))
    assert answer.status_code == 422 and answer.json_body["error"]["field"] == field


def test_an_administrator_sets_a_target_and_the_in_person_count_both_audited(api: Api) -> None:
    # A day of the test's own, so that its audit entries are found among the session's.
    api.c.clock.moment = datetime(2031, 1 + secrets.randbelow(12), 1 + secrets.randbelow(28), 15, tzinfo=UTC)
    admin = api.operator_headers("admin", subject="admin-ind")
    bad = api.client.http.put("/v1/admin/indicators/targets/OGE4", headers=admin,
                              body=json.dumps({"baseline": 20, "expected": 120}))
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "expected"
    unknown = api.client.http.put("/v1/admin/indicators/targets/checkins.registered", headers=admin,
                                  body=json.dumps({"baseline": 1, "expected": 2}))
    assert unknown.status_code == 404
    refused = api.client.http.put("/v1/admin/indicators/targets/OGE4", headers=api.operator_headers("cvp_head"),
                                  body=json.dumps({"baseline": 20, "expected": 60}))
    assert refused.status_code == 403
    done = api.client.http.put("/v1/admin/indicators/targets/OGE4", headers=admin,
                               body=json.dumps({"baseline": 20, "expected": 60, "expected_year": 2027}))
    assert done.status_code == 200 and done.json_body["expected"] == 60.0
    period = "2031-0" + str(1 + secrets.randbelow(9))  # a month of its own: OGE4 from this count alone
    offices = api.client.http.put(f"/v1/admin/indicators/in-person/{period}", headers=admin,
                                  body=json.dumps({"offices": {"Lima Centro": 300, "Arequipa": 100}}))
    assert offices.status_code == 200 and offices.json_body["total"] == 400
    oge4 = read(api, f"?period={period}")["OGE4"]
    assert (oge4["value"], oge4["denominator"], oge4["target"]["expected"]) == (0.0, 400, 60.0)
    assert oge4["progress"]["formula"] == -50.0
    auditor = api.operator_headers("auditor")
    mine = [e for record in ("OGE4", period)
            for e in api.get(f"/v1/admin/audit?record={record}&operator=admin-ind", headers=auditor).json_body["items"]]
    assert {(e["action"], e["target"]) for e in mine} >= {("indicator.set_target", "OGE4"),
                                                         ("indicator.set_in_person", period)}


def test_the_public_page_and_its_csv_suppress_small_cells_and_hold_no_personal_data(api: Api,
                                                                                  district: str) -> None:
    rosa = enrolled(api, district, ROSA, area="LIMA")
    rosa.check_in(INSIDE_LIMA, ROSA_ANSWERS)
    api.run_worker()
    page = api.client.http.get(f"/transparencia?district={district}")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = text(page)
    assert '<html lang="es">' in html and "Portal de transparencia" in html and "<svg" in html
    assert "&lt;5" in html
    for personal in ("Rosa", "70112233", "de la Cruz", rosa.user, rosa.measure["measure_id"]):
        assert personal not in html
    english = api.client.http.get(f"/transparencia?district={district}&lang=en")
    assert '<html lang="en">' in text(english) and "Transparency portal" in text(english)
    data = api.client.http.get(f"/transparencia/datos.csv?district={district}")
    rows = {r["indicator"]: r for r in csv.DictReader(io.StringIO(text(data).lstrip("\ufeff")))}
    assert rows["checkins.registered"]["value"] == "<5" and rows["IOP.04.03"]["value"] == "<5"
    assert rows["checkins.registered"]["numerator"] == "" and "Rosa" not in text(data)
    assert api.client.http.get("/transparencia?period=11-2026").status_code == 422


def test_the_rebuild_gives_the_live_counters_and_no_event_went_uncounted(api: Api) -> None:
    flush_worker(api)
    period = period_of(api.c.clock.now())
    c = api.c
    rebuilt = indicators.rebuild([period], indicators=c.indicators)
    assert rebuilt["scopes_checked"] >= 2 and rebuilt["differences"] == []
    events = c.store.recent_events(limit=100_000)  # type: ignore[attr-defined]
    assert indicators.replay(events, [period], indicators=c.indicators, store=c.store, checkins=c.control.checkins,
                             measures=c.control.measures) == []


# --- the port's contract, on DynamoDB Local and on the fake ----------------------------------------------

@pytest.fixture(params=["dynamodb", "fake"])
def port(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return MemoryIndicators()
    return request.getfixturevalue("container").indicators


def test_a_fact_and_its_counters_go_in_together_once(port: Any) -> None:
    period = f"20{40 + secrets.randbelow(50)}-0{1 + secrets.randbelow(9)}"
    scope = "ZQ" + secrets.token_hex(4).upper()
    moment = datetime(int(period[:4]), int(period[5:]), 10, 15, tzinfo=UTC)
    fact = Fact(secrets.token_hex(8), "control.incident", moment, scope,
                {"type": "out_of_area", "checkin": True, "month": period})
    assert port.apply(fact, contributions(fact)) is True
    assert port.apply(fact, contributions(fact)) is False
    assert port.counters(period, scope) == {"incidents.out_of_area": 1, "checkins.out_of_area": 1}
    assert port.counters(period, "PERU")["incidents.out_of_area"] >= 1
    [kept] = [f for f in port.facts(period) if f.event_id == fact.event_id]
    assert kept == fact and kept.period == period
    port.replace_counters(period, scope, {"incidents.out_of_area": 1})
    assert port.counters(period, scope) == {"incidents.out_of_area": 1}


def test_targets_and_in_person_counts_are_kept_with_their_audit(port: Any) -> None:
    code = "certificates.decided.reviewer"
    at = datetime(2026, 11, 30, 15, tzinfo=UTC)
    port.put_target(Target(code, 10.0, 5.0, 2025, 2027),
                    AuditEntry(at, "admin-c", "admin", "indicator.set_target", code, {"n": secrets.token_hex(4)}))
    assert port.target(code) == Target(code, 10.0, 5.0, 2025, 2027)
    period = f"20{40 + secrets.randbelow(50)}-1{secrets.randbelow(3)}"
    assert port.in_person(period) == {}
    port.put_in_person(period, {"Lima": 3}, AuditEntry(at, "admin-c", "admin", "indicator.set_in_person", period,
                                                       {"n": secrets.token_hex(4)}))
    assert port.in_person(period) == {"Lima": 3}


def test_an_administrator_runs_the_rebuild_as_a_job_and_reads_its_result(api: Api) -> None:
    flush_worker(api)
    period = period_of(api.c.clock.now())
    admin = api.operator_headers("admin")
    for body, field in (({"from": "2026-1", "to": period}, "from"), ({"from": period, "to": "2020-01"}, "to"),
                        ({"from": period, "to": period, "write": 1}, "write")):
        refused = api.post("/v1/admin/indicators/rebuild", body, headers=admin)
        assert refused.status_code == 422 and refused.json_body["error"]["field"] == field
    head = api.operator_headers("cvp_head", districts=("LIMA",))
    assert api.post("/v1/admin/indicators/rebuild", {"from": period, "to": period}, headers=head).status_code == 403

    answer = api.post("/v1/admin/indicators/rebuild", {"from": period, "to": period}, headers=admin)
    assert answer.status_code == 202 and answer.headers["Location"] == f"/v1/admin/jobs/{answer.json_body['job_id']}"
    assert answer.json_body["status"] == "queued" and answer.json_body["steps"] == 2
    api.run_worker()
    job = api.get(answer.headers["Location"], headers=admin).json_body
    assert job["status"] == "done" and job["steps_done"] == 2 and job["percent"] == 100
    assert job["params"] == {"from": period, "to": period, "write": False}
    assert [r for r in job["result"] if r["kind"] == "difference"] == [], "the live counters agree"


def test_the_rebuild_jobs_page_shows_its_steps_and_findings(api: Api) -> None:
    from tests.integration.console_support import signed_in

    period = period_of(api.c.clock.now())
    answer = api.post("/v1/admin/indicators/rebuild", {"from": period, "to": period},
                      headers=api.operator_headers("admin"))
    api.run_worker()
    browser = signed_in(api, "admin")
    browser.get(f"/console/admin/jobs/{answer.json_body['job_id']}")
    page = browser.main()
    assert "Pasos hechos: 2 de 2" in page and "Terminado:" in page and "Filas revisadas" not in page
    assert "Recálculo de indicadores" in page  # its kind, named (the shared session's job list may not reach it)

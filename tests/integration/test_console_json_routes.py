"""The JSON routes that the console's use cases also serve: a court's searchable list of measures (no longer a 405),
imports as jobs, the audit search, and the CVP head's and officer's new acts."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api
from tests.integration.control_support import (
    ROSA,
    Person,
    cvp,
    officer,
    put_officer,
    staff,
)


def test_a_court_lists_and_searches_its_measures(api: Api, district: str) -> None:
    rosa = Person(api, ROSA, "telegram:json-rosa", district=district)
    headers = api.operator_headers("court", courts=("1801-JR-PE-01",))
    found = api.get("/v1/court/measures?q=70112233", headers=headers).json_body
    assert found["court"] == "1801-JR-PE-01" and [m["measure_id"] for m in found["items"]] == [
        rosa.measure["measure_id"]]
    by_name = api.get("/v1/court/measures?q=cruz%20rosa", headers=headers).json_body["items"]
    assert rosa.measure["measure_id"] in [m["measure_id"] for m in by_name]
    other = api.get("/v1/court/measures?court=0401-JR-PE-02", headers=headers)
    assert other.status_code == 403 and other.json_body["error"]["field"] == "court"
    several = api.get("/v1/court/measures", headers=api.operator_headers("court", courts=("*",)))
    assert several.status_code == 422 and several.json_body["error"]["code"] == "court_required"


def test_an_import_job_returns_at_once_and_reports_its_progress(api: Api) -> None:
    admin = {**api.operator_headers("admin"), "Content-Type": "text/csv"}
    body = b"warrant_id,given_names,surnames,document_number,issued_by,issued_on\nJ-1,Ana,Perez Soto,,J,2026-01-01\n"
    submitted = api.client.http.post("/v1/admin/registries/warrants/jobs", body=body, headers=admin)
    assert submitted.status_code == 202 and submitted.json_body["status"] == "queued"
    job_id = submitted.json_body["job_id"]
    api.run_worker()
    job = api.get(f"/v1/admin/jobs/{job_id}", headers=api.operator_headers("admin")).json_body
    assert job["status"] == "done" and job["written"] == 1 and job["percent"] == 100
    assert api.get("/v1/admin/jobs/nope", headers=api.operator_headers("admin")).status_code == 404


def test_the_audit_log_is_searched_by_record_operator_and_dates(api: Api, district: str) -> None:
    rosa = Person(api, ROSA, "telegram:json-audit", district=district)
    measure_id = rosa.measure["measure_id"]
    judge = f"judge-audit-{measure_id[:8]}"  # this test's own: the shared audit log holds other tests' reads
    api.get(f"/v1/court/measures/{measure_id}", headers=api.operator_headers("court", subject=judge))
    auditor = api.operator_headers("auditor")
    items = api.get(f"/v1/admin/audit?record={measure_id}&from=2026-11-20&to=2026-11-20",
                    headers=auditor).json_body["items"]
    assert {"measure.create", "measure.read"} <= {i["action"] for i in items}
    mine = api.get(f"/v1/admin/audit?operator={judge}&reads=1", headers=auditor).json_body["items"]
    assert [i["action"] for i in mine] == ["measure.read"]
    too_long = api.get("/v1/admin/audit?from=2026-01-01&to=2026-11-20", headers=auditor)
    assert too_long.status_code == 422 and too_long.json_body["error"]["code"] == "range_too_long"


def test_the_officer_records_an_incident_and_the_cvp_head_hands_over_and_reads_the_open_ones(
        api: Api, district: str) -> None:
    ana = staff(district, "ana")
    put_officer(api, district, ana)
    rosa = Person(api, ROSA, "telegram:json-desk", district=district)
    assert rosa.enrol().status_code == 201
    api.run_worker()
    measure_id = rosa.measure["measure_id"]
    recorded = api.post(f"/v1/officer/enrolments/{measure_id}/incidents",
                        {"type": "warrant", "observations": "Dice tener una requisitoria."},
                        headers=officer(api, ana, district))
    assert recorded.status_code == 201 and recorded.json_body["status"] == "awaiting_review"
    desk: dict[str, Any] = api.get(f"/v1/cvp/districts/{district}/open-incidents", headers=cvp(api)).json_body
    assert desk["counts"]["warrant"] == 1 and desk["warrants_awaiting"][0]["incident_id"] == \
        recorded.json_body["incident_id"]
    decided = api.post(f"/v1/cvp/incidents/{recorded.json_body['incident_id']}/warrant-decision",
                       {"decision": "dismissed", "note": "Homónimo: otra fecha de nacimiento."}, headers=cvp(api))
    assert decided.status_code == 200 and decided.json_body["status"] == "closed"
    bob = staff(district, "bob")
    put_officer(api, district, bob)
    moved = api.post(f"/v1/cvp/districts/{district}/officers/{ana}/hand-over", {"to": bob}, headers=cvp(api))
    assert moved.status_code == 200 and moved.json_body["moved"] >= 1
    listed = api.get("/v1/officer/enrolments", headers=officer(api, bob, district)).json_body["items"]
    assert measure_id in [i["measure_id"] for i in listed]

"""A court's CSV of measures is an import job like every registry's, on DynamoDB Local over HTTP: 202 and the
job's Location at once, progress and the errors by line for the court's staff only, all rows or none; and a job
whose runner died (a registry's or a court's) is discarded once stalled, with what it staged removed."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import dynamo_models as m
from chalicelib.adapters import staging
from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.jobs import STALL_SECONDS, JobStatus
from chalicelib.domain.ports import IdentityRecord
from chalicelib.services import jobs
from chalicelib.services.control.measure_import import MEASURE_CSV_COLUMNS, MeasureImporter
from tests.integration.conftest import Api
from tests.integration.console_support import signed_in
from tests.integration.test_import_staging import identity_file, seen, seen_date, staged_items, unique

COURT = "1801-JR-PE-02"


def measure_row(number: str, case: str, group: str = "A") -> str:
    return (f"true,PER,DNI,{number},Juana Rosa,Quispe Huamán,{case},2° Juzgado Penal,LIMA,sentenced,monthly,"
            f"2026-01-01,2026-12-31,2027-12-31,LIMA,{group},\n")


def measures_csv(*rows: str) -> bytes:
    return (",".join(MEASURE_CSV_COLUMNS) + "\n" + "".join(rows)).encode()


def court(api: Api, subject: str = "judge-import", courts: tuple[str, ...] = (COURT,)) -> dict[str, str]:
    return api.operator_headers("court", subject=subject, courts=courts)


def as_csv(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "text/csv"}


def new_case() -> str:
    return f"{secrets.randbelow(10**5):05d}-2021-0-{COURT}"


def imported(api: Api, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Posts the file, lets the worker run the job and reads it back as the court's staff do."""
    answer = api.client.http.post("/v1/court/measures/import", body=data, headers=as_csv(headers))
    assert answer.status_code == 202, answer.body
    location = answer.headers["Location"]
    assert location == f"/v1/court/jobs/{answer.json_body['job_id']}"
    api.run_worker()
    job = api.get(location, headers=headers)
    assert job.status_code == 200, job.body
    return dict(job.json_body)


def found(api: Api, case: str) -> list[dict[str, Any]]:
    page = api.get(f"/v1/court/measures?court={COURT}&q={case}", headers=court(api))
    return list(page.json_body["items"])


def _backdate(api: Api, job_id: str) -> None:
    """The job as a runner that died long ago left it: no progress saved for more than STALL_SECONDS."""
    job = api.c.jobs.get_job(job_id)
    assert job is not None
    api.c.jobs.put_job(replace(job, updated_at=(job.updated_at or job.created_at)
                               - timedelta(seconds=STALL_SECONDS + 60)))


def test_a_courts_csv_is_a_job_all_rows_or_none_that_only_its_court_follows(api: Api) -> None:
    good, bad = new_case(), "777"
    failed = imported(api, measures_csv(measure_row("46677889", good), measure_row("46677889", bad)), court(api))
    assert failed["status"] == "failed" and failed["message"] == "invalid_rows"
    assert [(e["line"], e["field"]) for e in failed["errors"]] == [(3, "case_file")]
    assert found(api, good) == [], "the good row of a refused file is not imported"

    done = imported(api, measures_csv(measure_row("46677889", good)), court(api))
    assert done["status"] == "done" and done["percent"] == 100 and done["units"] == 1
    assert [i["case_file"] for i in found(api, good)] == [good]
    # Staff of the same court follow it; another court's staff and an officer find no such job.
    assert api.get(f"/v1/court/jobs/{done['job_id']}", headers=court(api, "judge-colleague")).status_code == 200
    for outsider in (court(api, "judge-other", ("0401-JR-PE-02",)),
                     api.operator_headers("officer", districts=("LIMA",))):
        assert api.get(f"/v1/court/jobs/{done['job_id']}", headers=outsider).status_code in (403, 404)

    again = imported(api, measures_csv(measure_row("46677889", good)), court(api))
    assert again["status"] == "failed" and again["errors"][0]["code"] == "measure_exists"
    assert len(found(api, good)) == 1, "the same file twice is one measure"

    # An administrator cannot import measures through the registries' routes (no court scope of their own).
    admin = {**api.operator_headers("admin"), "Content-Type": "text/csv"}
    refused = api.client.http.post("/v1/admin/registries/measures/jobs",
                                   body=measures_csv(measure_row("46677889", new_case())), headers=admin)
    assert refused.status_code == 404 and refused.json_body["error"]["code"] == "not_found"


def test_a_file_for_another_court_is_refused_by_line_whoever_runs_it(api: Api) -> None:
    other = f"{secrets.randbelow(10**5):05d}-2021-0-0401-JR-PE-02"
    job = imported(api, measures_csv(measure_row("46677889", other)), court(api))
    assert job["status"] == "failed" and job["errors"][0] == {
        "line": 2, "field": "case_file", "code": "out_of_scope",
        "message": "The case file belongs to a court outside your scope."}


def test_a_stalled_registry_import_is_discarded_and_what_it_staged_removed(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    staging.forget()
    rows = 200
    prefix = unique(rows) + 4_000_000
    registry = DynamoIdentityRegistry()
    old = IdentityRecord("DNI", f"{prefix:08d}", "Antigua", "Carga", "Prueba", seen_date())
    registry.put_many([old])
    original = DynamoIdentityRegistry.put_many
    calls = {"n": 0}

    def dying(self: Any, records: Any, stage: str | None = None) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            raise ServiceUnavailable("the runner's process died")
        original(self, records, stage=stage)

    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", dying)
    admin = api.operator_headers("admin")
    job_id = jobs.submit_import("identity", identity_file(prefix, rows), "identity.csv",
                                operator=_admin(), jobs=api.c.jobs, storage=api.c.storage,
                                importers=api.c.importers(), audit=api.c.audit, clock=api.c.clock).job_id
    with pytest.raises(ServiceUnavailable):
        jobs.run_slice(job_id, jobs=api.c.jobs, storage=api.c.storage, importers=api.c.importers(),
                       clock=api.c.clock)
    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", original)
    assert staged_items(job_id) == 100

    early = api.post(f"/v1/admin/jobs/{job_id}/discard", {}, headers=admin)
    assert early.status_code == 409 and early.json_body["error"]["code"] == "job_not_stalled"
    browser = signed_in(api, "admin")
    browser.get(f"/console/admin/jobs/{job_id}")
    assert "Descartar la importación" not in browser.main(), "no discard offered while it may be running"
    _backdate(api, job_id)
    assert api.post(f"/v1/admin/jobs/{job_id}/discard", {}, headers=court(api)).status_code == 403
    browser.get(f"/console/admin/jobs/{job_id}")
    assert "Descartar la importación" in browser.main()
    browser.post(f"/console/admin/jobs/{job_id}/discard", {"back": f"/console/admin/jobs/{job_id}"})
    assert "Importación descartada: no se importó nada" in browser.main()
    assert "Descartar la importación" not in browser.main()
    again = api.post(f"/v1/admin/jobs/{job_id}/discard", {}, headers=admin)  # a discard that stopped part-way
    assert again.status_code == 200 and again.json_body["status"] == "failed"
    assert again.json_body["message"] == "discarded"
    assert staged_items(job_id) == 0, "nothing of the job is left staged"
    kept = m.IdentityModel.get(f"DNI#{prefix:08d}")
    assert kept.staged is None and kept.staged_by is None and seen(prefix, 1) == [old]
    with pytest.raises(m.IdentityModel.DoesNotExist):
        m.IdentityModel.get(f"DNI#{prefix + 1:08d}")  # a row the job made, gone
    # A late retry of the dead runner does nothing.
    assert jobs.run_slice(job_id, jobs=api.c.jobs, storage=api.c.storage, importers=api.c.importers(),
                          clock=api.c.clock).status is JobStatus.FAILED
    assert staged_items(job_id) == 0


def _admin() -> Any:
    from chalicelib.domain.operators import Operator

    return Operator("admin-discard", frozenset({"admin"}))


def test_a_courts_import_that_died_mid_stage_is_discarded_and_its_people_can_be_registered(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = new_case(), new_case()
    original = MeasureImporter.write_batch

    def dying(self: Any, units: Any, stage: str) -> None:
        original(self, units[:1], stage)
        raise ServiceUnavailable("the runner's process died")

    monkeypatch.setattr(MeasureImporter, "write_batch", dying)
    answer = api.client.http.post("/v1/court/measures/import", headers=as_csv(court(api)),
                                  body=measures_csv(measure_row("46677889", first), measure_row("46677889", second)))
    job_id = answer.json_body["job_id"]
    with pytest.raises(ServiceUnavailable):
        jobs.run_slice(job_id, jobs=api.c.jobs, storage=api.c.storage, importers=api.c.importers(),
                       clock=api.c.clock)
    monkeypatch.setattr(MeasureImporter, "write_batch", original)
    assert api.get(f"/v1/court/jobs/{job_id}", headers=court(api)).json_body["status"] == "writing"
    assert found(api, first) == [], "a claimed person and case file is not a measure"

    _backdate(api, job_id)
    other = api.post(f"/v1/court/jobs/{job_id}/discard", {}, headers=court(api, "judge-x", ("0401-JR-PE-02",)))
    assert other.status_code == 404
    discarded = api.post(f"/v1/court/jobs/{job_id}/discard", {}, headers=court(api))
    assert discarded.status_code == 200 and discarded.json_body["message"] == "discarded"
    # The claim on the first row is released: the measure can be registered again, by file or by hand.
    done = imported(api, measures_csv(measure_row("46677889", first), measure_row("46677889", second)), court(api))
    assert done["status"] == "done", done
    assert [i["case_file"] for i in found(api, first)] == [first]


def test_court_staff_import_a_csv_from_the_console_and_follow_it_on_its_page(api: Api) -> None:
    moment = api.c.clock.moment
    api.c.clock.moment = moment + timedelta(minutes=1)  # the newest job of the session's list, whatever ran before
    try:
        _import_from_the_console(api)
    finally:
        api.c.clock.moment = moment


def _import_from_the_console(api: Api) -> None:
    case, bad = new_case(), "777"
    browser = signed_in(api, "court", courts=(COURT,))
    browser.get("/console/court/measures")
    assert "Importar varias medidas (CSV)" in browser.main()
    browser.get("/console/court/imports")
    answer = browser.post("/console/court/imports", {"back": "/console/court/imports"}, follow=False,
                          files={"file": ("medidas.csv", measures_csv(measure_row("46677889", case),
                                                                      measure_row("46677889", bad)), "text/csv")})
    assert answer.status_code == 303
    job_path = browser.location(answer)
    assert job_path.startswith("/console/court/jobs/")
    api.run_worker()
    browser.get(job_path)
    page = browser.main()
    assert "Línea" in page and "No se importó nada" in page
    # The refused row reads in the page's language: Spanish here, unmarked; English once the operator switches.
    assert "<td>Ingrese un número de expediente como 00123-2020-0-1801-JR-PE-01.</td>" in page
    assert "Expected a case file number" not in page
    browser.get(f"/console/language/en?next={job_path}")
    english = browser.main()
    assert "<td>Expected a case file number like 00123-2020-0-1801-JR-PE-01.</td>" in english
    assert "Ingrese un número de expediente" not in english
    browser.get(f"/console/language/es?next={job_path}")
    assert "Ingrese un número de expediente como" in browser.main()
    browser.get("/console/court/imports")
    assert job_path in browser.text() and "medidas.csv" in browser.main()
    # Staff of another court neither see it listed nor open it.
    other = signed_in(api, "court", courts=("0401-JR-PE-02",))
    other.get("/console/court/imports")
    assert job_path not in other.text()
    assert other.get(job_path).status_code == 404
    # An empty upload is refused on the form, naming the file.
    refused = browser.post("/console/court/imports", {"back": "/console/court/imports"},
                           files={"file": ("vacio.csv", b"", "text/csv")})
    assert refused.status_code == 422 and "Seleccione un archivo CSV." in browser.main()
    assert "Choose a CSV file." not in browser.text() and ' lang="en"' not in browser.main()


def test_neither_the_administrator_nor_court_staff_reach_the_others_jobs(api: Api) -> None:
    """A court's import is the court's: an administrator cannot discard it (nor a court's staff a registry's), and
    court staff cannot read or discard a registry's job through their routes or their console."""
    court_job = api.client.http.post("/v1/court/measures/import", headers=as_csv(court(api)),
                                     body=measures_csv(measure_row("46677889", new_case()))).json_body["job_id"]
    registry_job = jobs.submit_import("identity", identity_file(unique(1) + 6_000_000, 1), "identity.csv",
                                      operator=_admin(), jobs=api.c.jobs, storage=api.c.storage,
                                      importers=api.c.importers(), audit=api.c.audit, clock=api.c.clock).job_id
    api.run_worker()
    admin = api.operator_headers("admin")
    refused = api.post(f"/v1/admin/jobs/{court_job}/discard", {}, headers=admin)
    assert refused.status_code == 404 and refused.json_body["error"]["code"] == "not_found"
    for path in (f"/v1/court/jobs/{registry_job}", f"/v1/court/jobs/{registry_job}/discard"):
        answer = (api.get(path, headers=court(api)) if path.endswith(registry_job)
                  else api.post(path, {}, headers=court(api)))
        assert answer.status_code == 404, path
    browser = signed_in(api, "court", courts=(COURT,))
    assert browser.get(f"/console/court/jobs/{registry_job}").status_code == 404
    browser.get("/console/court/imports")
    other = signed_in(api, "court", courts=("0401-JR-PE-02",))
    other.get("/console/court/imports")
    assert other.post(f"/console/court/jobs/{court_job}/discard", {"back": "/console/court/imports"}).status_code \
        == 404
    assert api.c.jobs.get_job(court_job).message != "discarded"  # type: ignore[union-attr]


def test_a_courts_file_goes_through_its_presigned_upload_and_starts_its_job_once(api: Api) -> None:
    """Court staff reserve an upload, post the file straight to storage and start the job naming it — once, only
    their own, only as a measures import; a registry's upload cannot be started as measures nor the reverse."""
    from tests.integration.test_import_uploads import post_file
    from tests.integration.test_import_uploads import reserve as reserve_registry

    case = new_case()
    reserved = api.post("/v1/court/uploads", {"file_name": "medidas.csv"}, headers=court(api))
    assert reserved.status_code == 201, reserved.body
    ticket = reserved.json_body
    assert ticket["start"] == "/v1/court/measures/import" and ticket["upload"]["url"].startswith("/v1/uploads/")
    assert post_file(api, ticket["upload"], measures_csv(measure_row("46677889", case))).status_code == 204

    for outsider in (court(api, "judge-colleague"), court(api, "judge-other", ("0401-JR-PE-02",))):
        taken = api.post("/v1/court/measures/import", {"upload_id": ticket["upload_id"]}, headers=outsider)
        assert taken.status_code == 404 and taken.json_body["error"]["code"] == "unknown_upload"
    as_registry = api.post("/v1/admin/registries/identity/jobs", {"upload_id": ticket["upload_id"]},
                           headers=api.operator_headers("admin", subject="judge-import"))
    assert as_registry.status_code in (403, 404)

    started = api.post("/v1/court/measures/import", {"upload_id": ticket["upload_id"]}, headers=court(api))
    assert started.status_code == 202 and started.headers["Location"] == f"/v1/court/jobs/{ticket['upload_id']}"
    again = api.post("/v1/court/measures/import", {"upload_id": ticket["upload_id"]}, headers=court(api))
    assert again.status_code == 409 and again.json_body["error"]["code"] == "upload_used"
    api.run_worker()
    job = api.get(started.headers["Location"], headers=court(api)).json_body
    assert job["status"] == "done" and job["file_name"] == "medidas.csv", job
    assert [i["case_file"] for i in found(api, case)] == [case]

    # An administrator's registry upload is not a court's to start, and only court staff reserve one.
    registry = reserve_registry(api, subject="judge-import")
    assert api.post("/v1/court/measures/import", {"upload_id": registry["upload_id"]},
                    headers=court(api)).status_code == 404
    assert api.post("/v1/court/uploads", {}, headers=api.operator_headers("officer", districts=("LIMA",))) \
        .status_code == 403


def test_an_administrators_console_imports_registries_never_a_courts_measures(api: Api) -> None:
    """The console's registry import takes only a registry: naming ``measures`` is refused on the field, by the
    form, by its script's reservation and at the start, and no job is made."""
    browser = signed_in(api, "admin")
    browser.get("/console/admin/imports")
    before = len(api.c.jobs.recent_jobs(500))
    refused = browser.post("/console/admin/imports", {"registry": "measures", "back": "/console/admin/imports"},
                           files={"file": ("medidas.csv", measures_csv(measure_row("46677889", new_case())),
                                           "text/csv")})
    assert refused.status_code == 422 and "Registro desconocido." in browser.main()
    reserved = browser.post("/console/admin/imports/upload", {"registry": "measures", "file_name": "m.csv"},
                            follow=False)
    assert reserved.status_code == 404 and reserved.json_body["error"]["code"] == "not_found"
    assert len(api.c.jobs.recent_jobs(500)) == before

"""A 50,000-row registry import on DynamoDB Local, as a job: the upload returns at once, the worker runs it in
slices that hand on through the outbox, its progress moves while it runs, a file with one bad row is refused
by that row's line number with nothing written, and a crash half-way through the writes is resumed from the
job's checkpoint (no row lost, none written twice in effect, none seen before the job's switch)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.integration.console_support import signed_in

ROWS = 50_000
HEADER = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
         "expiry_date,nationality,father_name,mother_name\n"


def registry_file(prefix: int, bad_line: int | None = None, rows: int = ROWS) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        birth = "1990-02-30" if bad_line is not None and n + 2 == bad_line else "1990-01-01"
        lines.append(f"DNI,{prefix + n:08d},Persona,Prueba,Carga,{birth},2020-01-01,2030-01-01,PER,,\n")
    return "".join(lines).encode()


def upload(api: Api, data: bytes) -> tuple[Any, str]:
    browser = signed_in(api, "admin")
    browser.get("/console/admin/imports")
    answer = browser.post("/console/admin/imports", {"registry": "identity", "back": "/console/admin/imports"},
                          files={"file": ("padron.csv", data, "text/csv")}, follow=False)
    assert answer.status_code == 303, answer.body[:300]
    return browser, browser.location(answer).rsplit("/", 1)[1]


@pytest.mark.timeout(900)
def test_a_50000_row_import_runs_as_a_job_in_slices_with_its_progress_shown(api: Api, monkeypatch: Any) -> None:
    monkeypatch.setattr(api.c, "settings", replace(api.c.settings, job_slice_seconds=4.0))
    prefix = 20_000_000 + int(time.time()) % 1000 * 50_000
    browser, job_id = upload(api, registry_file(prefix))
    seen: list[int] = []
    worker = threading.Thread(target=api.run_worker)
    started = time.monotonic()
    worker.start()
    while worker.is_alive():
        job = api.c.jobs.get_job(job_id)
        if job is not None and job.percent not in seen:
            seen.append(job.percent)
        time.sleep(0.3)
    worker.join()
    elapsed = time.monotonic() - started
    job = api.c.jobs.get_job(job_id)
    assert job is not None and job.status.value == "done", job
    assert job.total == job.written == ROWS and job.slices >= 2  # it handed on at least once
    assert len([p for p in seen if 0 < p < 100]) >= 3, seen  # the bar moved while it ran
    page = browser.get(f"/console/admin/jobs/{job_id}")
    assert page.status_code == 200 and "Importación completa: 50000 registros" in browser.main()
    for n in (0, 31_337, ROWS - 1):
        assert api.c.registries.identity.lookup("DNI", f"{prefix + n:08d}") is not None
    print(f"\n50,000-row identity import: {elapsed:.1f} s over {job.slices} slices; progress seen {seen}")


@pytest.mark.timeout(600)
def test_a_50000_row_file_with_one_bad_row_is_refused_by_its_line_and_nothing_is_written(api: Api) -> None:
    prefix = 70_000_000 + int(time.time()) % 500 * 50_000
    browser, job_id = upload(api, registry_file(prefix, bad_line=31_337))
    api.run_worker()
    job = api.c.jobs.get_job(job_id)
    assert job is not None and job.status.value == "failed" and job.written == 0
    assert [(e["line"], e["field"]) for e in job.errors] == [(31_337, "birth_date")]
    browser.get(f"/console/admin/jobs/{job_id}")
    assert '<td class="num">31337</td>' in browser.main() and "No se importó nada" in browser.main()
    assert api.c.registries.identity.lookup("DNI", f"{prefix:08d}") is None


@pytest.mark.timeout(600)
def test_a_crash_half_way_through_the_writes_is_resumed_from_the_checkpoint(api: Api, monkeypatch: Any) -> None:
    """The database fails at the 21st batch of 100 (2,000 rows in), every try of that delivery: the job is left
    writing at its last checkpoint, never "done"; delivered again (the dead-letter redrive), it resumes from the
    checkpoint and ends with every row, each once."""
    from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry
    from chalicelib.domain.errors import ServiceUnavailable
    from chalicelib.handlers import jobs as job_handlers

    rows = 4_000
    prefix = 90_000_000 + int(time.time()) % 200 * rows
    original = DynamoIdentityRegistry.put_many
    state = {"batches": 0, "down": True, "at_crash": None}

    def failing(self: Any, records: Any, stage: str | None = None) -> None:
        state["batches"] += 1
        if state["down"] and state["batches"] > 20:
            state["at_crash"] = api.c.jobs.get_job(job_id)
            raise ServiceUnavailable("the registry's table does not answer")
        original(self, records, stage=stage)

    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", failing)
    browser, job_id = upload(api, registry_file(prefix, rows=rows))
    monkeypatch.setattr("infrastructure.local.worker.time.sleep", lambda seconds: None)
    api.run_worker()  # three tries of the delivery, all failing: the event goes to the dead letters

    crashed = api.c.jobs.get_job(job_id)
    assert crashed is not None and crashed.status.value == "writing" and crashed.written < rows, crashed
    assert state["at_crash"] is not None and api.c.registries.identity.lookup("DNI", f"{prefix + rows - 1:08d}") \
        is None, "the rows after the crash are not there, and the job does not claim them"
    assert api.c.registries.identity.lookup("DNI", f"{prefix:08d}") is None, "the staged rows are not seen either"
    browser.get(f"/console/admin/jobs/{job_id}")
    assert "Importación completa" not in browser.main()

    state["down"] = False
    job_handlers.run_job(_job_event(job_id), api.c)  # the redriven event

    done = api.c.jobs.get_job(job_id)
    assert done is not None and done.status.value == "done" and done.written == done.total == rows, done
    assert done.slices >= crashed.slices
    for n in (0, 1_999, 2_000, rows - 1):
        assert api.c.registries.identity.lookup("DNI", f"{prefix + n:08d}") is not None, n


def _job_event(job_id: str) -> Any:
    from datetime import UTC, datetime

    from chalicelib.domain.requests import Event

    return Event("redrive-" + job_id[:8], "job.continue", job_id, datetime.now(UTC), {"kind": "identity"})

"""All rows or none, as readers see it, on DynamoDB Local (stage, then switch): an import job stages its rows under
its id, seen by no reader (the identity lookup, the record check's reads, the warrants search) until one
conditional write of the job switches them all; a crash half-way leaves readers on the old records and the retry
resumes; a second runner racing the first changes nothing; a file with a bad row never stages anything."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chalicelib.adapters import dynamo_models as m
from chalicelib.adapters import staging
from chalicelib.adapters.dynamo_control.warrants import DynamoWarrantsRegistry
from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry, DynamoPenitentiaryRegistry
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.jobs import JobStatus
from chalicelib.domain.matching import RegistryPerson
from chalicelib.domain.operators import Operator
from chalicelib.domain.ports import IdentityRecord
from chalicelib.services import jobs
from tests.integration.conftest import Api

ADMIN = Operator("admin-1", frozenset({"admin"}))
IDENTITY = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
           "expiry_date,nationality,father_name,mother_name\n"
RECORDS = "record_id,given_names,first_surname,second_surname,document_type,document_number,birth_date,case_file," \
          "court,offence,case_date\n"
WARRANTS = "warrant_id,given_names,surnames,document_number,issued_by,issued_on\n"


def unique(rows: int) -> int:
    return 30_000_000 + (time.time_ns() // 1000) % 10_000 * 1_000 + rows % 7


def identity_file(prefix: int, rows: int, bad_line: int | None = None) -> bytes:
    lines = [IDENTITY]
    for n in range(rows):
        birth = "1990-02-30" if n + 2 == bad_line else "1990-01-01"
        lines.append(f"DNI,{prefix + n:08d},Nueva,Carga,Prueba,{birth},2020-01-01,2030-01-01,PER,,\n")
    return "".join(lines).encode()


def submit(api: Api, kind: str, data: bytes) -> str:
    job = jobs.submit_import(kind, data, f"{kind}.csv", operator=ADMIN, jobs=api.c.jobs, storage=api.c.storage,
                             importers=api.c.importers(), audit=api.c.audit, clock=api.c.clock)
    return job.job_id


def run(api: Api, job_id: str, budget: float = 600.0) -> Any:
    return jobs.run_slice(job_id, jobs=api.c.jobs, storage=api.c.storage, importers=api.c.importers(),
                          clock=api.c.clock, budget_seconds=budget)


def seen(prefix: int, rows: int) -> list[IdentityRecord | None]:
    registry = DynamoIdentityRegistry()
    return [registry.lookup("DNI", f"{prefix + n:08d}") for n in range(rows)]


def staged_items(job_id: str) -> int:
    return sum(1 for _ in m.IdentityModel.scan(m.IdentityModel.staged_by == job_id))


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    staging.forget()
    yield
    staging.forget()


def test_a_crash_half_way_leaves_readers_on_the_old_records_then_the_retry_resumes_and_one_switch_shows_all(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 200
    prefix = unique(rows)
    registry = DynamoIdentityRegistry()
    old = IdentityRecord("DNI", f"{prefix:08d}", "Antigua", "Carga", "Prueba", seen_date())
    registry.put_many([old])  # a record the registry had before this import
    original = DynamoIdentityRegistry.put_many
    state = {"batches": 0, "down": True}

    def failing(self: Any, records: Any, stage: str | None = None) -> None:
        state["batches"] += 1
        if state["down"] and state["batches"] > 1:  # 100 rows staged, then the table stops answering
            raise ServiceUnavailable("the registry's table does not answer")
        original(self, records, stage=stage)

    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", failing)
    job_id = submit(api, "identity", identity_file(prefix, rows))
    with pytest.raises(ServiceUnavailable):
        run(api, job_id)

    crashed = api.c.jobs.get_job(job_id)
    assert crashed is not None and crashed.status is JobStatus.WRITING and not crashed.switched
    assert staged_items(job_id) == 100, "half the rows are in the table, staged"
    readers = seen(prefix, rows)
    assert readers[0] == old, "the record as it was, not the staged one"
    assert readers[1:] == [None] * (rows - 1), "none of the staged rows is seen"

    state["down"] = False
    reads = staging.reads
    done = run(api, job_id)  # the retry: resumes the stage from its checkpoint, switches, publishes
    assert done is not None and done.status is JobStatus.DONE and done.switched and done.published == rows
    after = seen(prefix, rows)
    assert all(r is not None for r in after) and after[0] is not None and after[0].given_names == "Nueva"
    assert staged_items(job_id) == 0, "published: the rows no longer point at the job"
    assert staging.reads - reads <= 1, "reading the published rows asks nothing of the job"
    assert run(api, job_id) == api.c.jobs.get_job(job_id), "running a done job again changes nothing"


def seen_date() -> Any:
    from datetime import date

    return date(1970, 1, 1)


def test_between_the_switch_and_publishing_readers_see_every_row_at_one_cached_read(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 120
    prefix = unique(rows) + 1_000_000

    def down(self: Any, records: Any, stage: str) -> None:
        raise ServiceUnavailable("the registry's table does not answer")

    original = DynamoIdentityRegistry.publish_many
    monkeypatch.setattr(DynamoIdentityRegistry, "publish_many", down)
    job_id = submit(api, "identity", identity_file(prefix, rows))
    with pytest.raises(ServiceUnavailable):
        run(api, job_id)
    switched = api.c.jobs.get_job(job_id)
    assert switched is not None and switched.status is JobStatus.PUBLISHING and switched.switched
    reads = staging.reads
    assert all(r is not None for r in seen(prefix, rows)), "switched: every staged row is seen"
    assert staging.reads - reads == 1, "one read of the job for all those lookups (cached once switched)"

    monkeypatch.setattr(DynamoIdentityRegistry, "publish_many", original)
    done = run(api, job_id)
    assert done is not None and done.status is JobStatus.DONE and done.switched_at == switched.switched_at
    assert staged_items(job_id) == 0 and all(r is not None for r in seen(prefix, rows))


def test_a_second_runner_racing_the_first_stops_and_the_rows_are_switched_once(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 300
    prefix = unique(rows) + 2_000_000
    job_id = submit(api, "identity", identity_file(prefix, rows))
    original = DynamoIdentityRegistry.put_many
    both_in = threading.Barrier(2, timeout=120)
    first_batch: dict[int, bool] = {}

    def meeting(self: Any, records: Any, stage: str | None = None) -> None:
        me = threading.get_ident()
        if me not in first_batch:
            first_batch[me] = True
            both_in.wait()  # both runners are staging the same job at the same time
        original(self, records, stage=stage)

    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", meeting)
    first_batch[threading.get_ident()] = True  # this thread does not take part in the race
    first = run(api, job_id, budget=0.0)  # one batch, then hands on: the job is staging, at its checkpoint
    assert first is not None and first.status is JobStatus.WRITING and first.written == jobs.BATCH, first
    answers: list[Any] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            answers.append(run(api, job_id))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    done = api.c.jobs.get_job(job_id)
    assert done is not None and done.status is JobStatus.DONE and done.written == done.published == rows
    assert all(r is not None for r in seen(prefix, rows)) and staged_items(job_id) == 0
    assert len(answers) == 2


def test_a_file_with_a_bad_row_never_stages_anything(api: Api) -> None:
    rows = 150
    prefix = unique(rows) + 3_000_000
    job_id = submit(api, "identity", identity_file(prefix, rows, bad_line=120))
    failed = run(api, job_id)
    assert failed is not None and failed.status is JobStatus.FAILED and not failed.switched
    assert [e["line"] for e in failed.errors] == [120]
    assert staged_items(job_id) == 0 and seen(prefix, rows) == [None] * rows


def test_the_record_check_reads_and_the_warrants_search_see_a_staged_import_only_after_its_switch(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The penitentiary registry (records, the by-document index, the name blocks) and the warrants registry."""
    tag = f"{unique(1):08d}"
    registry = DynamoPenitentiaryRegistry()
    before = RegistryPerson(record_id=f"R-{tag}-0", full_name="Quispe Huamani Rosa", document_type="DNI",
                            document_number=tag, birth_date=seen_date(), cases=())
    registry.put_many([(before, ("Quispe", "Huamani"))])
    people = RECORDS + "".join(
        f"R-{tag}-{n},{given},Quispe,Huamani,DNI,{int(tag) + n:08d},1970-01-01,EXP-{n},Lima,Robo,2020-01-01\n"
        for n, given in enumerate(("Rosa", "Rosaura", "Rosalinda")))
    warrants = WARRANTS + f"W-{tag},Rosa,Quispe Huamani,{tag},Juzgado Penal,2026-01-01\n"

    def stop_publishing(self: Any, *args: Any) -> None:
        raise ServiceUnavailable("stopped before publishing")

    monkeypatch.setattr(DynamoPenitentiaryRegistry, "publish_many", stop_publishing)
    monkeypatch.setattr(DynamoWarrantsRegistry, "publish_warrants", stop_publishing)
    original_stage = DynamoPenitentiaryRegistry.put_many
    seen_while_staging: dict[str, Any] = {}

    def watching(self: Any, batch: Any, stage: str | None = None) -> None:
        original_stage(self, batch, stage=stage)
        seen_while_staging.update(by_document=registry.by_document_number(f"{int(tag) + 1:08d}"),
                                  own=registry.get(f"R-{tag}-0"), blocks=registry.in_blocks(_blocks()),
                                  records=registry.records([f"R-{tag}-{n}" for n in range(3)]))

    monkeypatch.setattr(DynamoPenitentiaryRegistry, "put_many", watching)
    for kind, data in (("penitentiary", people), ("warrants", warrants)):
        job_id = submit(api, kind, data.encode())
        with pytest.raises(ServiceUnavailable):
            run(api, job_id)

    assert seen_while_staging["by_document"] == [], "a staged new record is not found by its document"
    assert seen_while_staging["own"] == before, "a record being re-imported reads as it was"
    assert {p.record_id for p in seen_while_staging["blocks"]} & {f"R-{tag}-{n}" for n in range(3)} == \
        {f"R-{tag}-0"}, "the name blocks show the old entry, not the staged ones"
    assert [p.record_id for p in seen_while_staging["records"]] == [f"R-{tag}-0"]

    # Both jobs stopped after their switch, before publishing: readers see every row (this process read the job
    # as not switched while it staged, and remembers that for a second: a reader started now, or a second later).
    staging.forget()
    assert [p.record_id for p in registry.by_document_number(f"{int(tag) + 1:08d}")] == [f"R-{tag}-1"]
    assert registry.get(f"R-{tag}-0").cases[0]["case_file"] == "EXP-0"  # type: ignore[union-attr]
    assert {f"R-{tag}-{n}" for n in range(3)} <= {p.record_id for p in registry.in_blocks(_blocks())}
    found = DynamoWarrantsRegistry().possible_warrants(tag, "Rosa Quispe Huamani", "Quispe Huamani", 0.9)
    assert mine(tag, found) == [f"W-{tag}"]


def mine(tag: str, found: list[Any]) -> list[str]:
    """The warrants of this test (others of earlier runs may bear the same name)."""
    return [w.warrant_id for w in found if w.warrant_id == f"W-{tag}"]


def _blocks() -> set[str]:
    from chalicelib.domain.matching import search_blocks

    return search_blocks("Rosa Quispe Huamani", ("Quispe", "Huamani"), seen_date())


def test_a_warrants_import_staged_but_not_switched_is_not_found(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = f"{unique(2) + 5_000_000:08d}"
    original = DynamoWarrantsRegistry.put_warrants

    def then_down(self: Any, batch: Any, stage: str | None = None) -> None:
        original(self, batch, stage=stage)
        raise ServiceUnavailable("the table stopped answering after the batch")

    monkeypatch.setattr(DynamoWarrantsRegistry, "put_warrants", then_down)
    job_id = submit(api, "warrants", (WARRANTS + f"W-{tag},Rosa,Quispe Huamani,{tag},Juzgado,2026-01-01\n").encode())
    with pytest.raises(ServiceUnavailable):
        run(api, job_id)
    assert mine(tag, DynamoWarrantsRegistry().possible_warrants(tag, "Rosa Quispe Huamani", "Quispe Huamani", 0.9)) \
        == []
    monkeypatch.setattr(DynamoWarrantsRegistry, "put_warrants", original)
    done = run(api, job_id)
    assert done is not None and done.status is JobStatus.DONE
    found = DynamoWarrantsRegistry().possible_warrants(tag, "Rosa Quispe Huamani", "Quispe Huamani", 0.9)
    assert mine(tag, found) == [f"W-{tag}"]


def test_a_row_restaged_by_a_second_job_reads_as_the_first_jobs_switched_values_until_the_second_switch(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = 3
    prefix = unique(rows) + 6_000_000

    def stop(self: Any, records: Any, stage: str) -> None:
        raise ServiceUnavailable("stopped before publishing")

    monkeypatch.setattr(DynamoIdentityRegistry, "publish_many", stop)
    first = submit(api, "identity", identity_file(prefix, rows))
    with pytest.raises(ServiceUnavailable):
        run(api, first)  # switched, not published: the rows read through the first job
    second = submit(api, "identity", identity_file(prefix, rows).replace(b"Nueva", b"Otra"))
    original = DynamoIdentityRegistry.put_many

    def then_down(self: Any, records: Any, stage: str | None = None) -> None:
        original(self, records, stage=stage)
        raise ServiceUnavailable("down after staging")

    monkeypatch.setattr(DynamoIdentityRegistry, "put_many", then_down)
    with pytest.raises(ServiceUnavailable):
        run(api, second)
    staging.forget()
    assert [r.given_names for r in seen(prefix, rows) if r] == ["Nueva"] * rows, "the first job's rows, still"
    monkeypatch.undo()  # the table answers again, publishing too
    assert run(api, second).status is JobStatus.DONE
    staging.forget()
    assert [r.given_names for r in seen(prefix, rows) if r] == ["Otra"] * rows
    assert run(api, first).status is JobStatus.DONE  # the first job publishes: the second's rows are kept
    assert [r.given_names for r in seen(prefix, rows) if r] == ["Otra"] * rows, \
        "publishing an older job does not undo a newer one's rows"


def test_publishing_never_overwrites_a_row_a_later_job_staged_after_it_was_read(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Job 1 publishes; between its read of the rows and its write, job 2 stages one of them: job 2's staged values
    stay (its switch will show them), and job 1's other rows are published."""
    prefix = unique(2) + 5_000_000
    first, second = f"DNI#{prefix:08d}", f"DNI#{prefix + 1:08d}"

    def rows(name: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
        return [((key,), {"body": {"given_names": name, "n": n}}) for n, key in enumerate((first, second))]

    staging.stage_rows(m.IdentityModel, rows("Uno"), "job-one-000000000")
    stale = staging._existing(m.IdentityModel, [(first,), (second,)])  # job 1's read, before job 2 stages
    staging.stage_rows(m.IdentityModel, rows("Dos")[:1], "job-two-000000000")
    monkeypatch.setattr(staging, "_existing", lambda model, keys: stale)
    staging.publish_rows(m.IdentityModel, rows("Uno"), "job-one-000000000")

    restaged = m.IdentityModel.get(first)
    assert restaged.staged_by == "job-two-000000000" and restaged.staged == {"body": {"given_names": "Dos", "n": 0}}
    published = m.IdentityModel.get(second)
    assert published.staged_by is None and published.body == {"given_names": "Uno", "n": 1}


def test_publishing_again_changes_nothing_and_creates_no_row_it_never_staged(api: Api) -> None:
    """A resumed slice publishes rows it had published already, and a key it never staged: the condition alone
    (no read first) leaves the published rows as they are, a later edit included, and creates nothing."""
    prefix = unique(3) + 6_000_000
    keys = [f"DNI#{prefix + n:08d}" for n in range(3)]
    rows = [((key,), {"body": {"given_names": "Uno", "n": n}}) for n, key in enumerate(keys)]
    staging.stage_rows(m.IdentityModel, rows[:2], "job-again-0000000")
    staging.publish_rows(m.IdentityModel, rows[:2], "job-again-0000000")
    edited = m.IdentityModel.get(keys[0])
    edited.body = {"given_names": "Editado", "n": 0}
    edited.save()  # changed since, by hand or by a later job's publishing

    staging.publish_rows(m.IdentityModel, rows, "job-again-0000000")  # the replay

    assert m.IdentityModel.get(keys[0]).body == {"given_names": "Editado", "n": 0}
    again = m.IdentityModel.get(keys[1])
    assert again.staged_by is None and again.body == {"given_names": "Uno", "n": 1}
    with pytest.raises(m.IdentityModel.DoesNotExist):
        m.IdentityModel.get(keys[2])

"""Imports as jobs, on the fakes: every row checked before anything is written, bad rows reported by line, batches
written from a checkpoint in slices that hand on through the outbox, and a second runner that stops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.errors import NotFound, ValidationError
from chalicelib.domain.jobs import JobStatus, read_rows
from chalicelib.domain.operators import Operator
from chalicelib.services import jobs, registries
from chalicelib.services.time import FixedClock
from tests.fakes_console import FakeJobs
from tests.fakes_control import FakeWarrantsRegistry, MemoryAudit, MemoryStorage

ADMIN = Operator("admin-1", frozenset({"admin"}))
HEADER = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
         "expiry_date,nationality,father_name,mother_name\n"


class RecordingIdentity:
    """The identity writer, staging as the real one does: ``records`` is what readers see."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.published: list[int] = []
        self.records: dict[str, Any] = {}
        self.staged: dict[str, dict[str, Any]] = {}

    def put_many(self, records: Sequence[Any], stage: str | None = None) -> None:
        self.batches.append(len(records))
        for r in records:
            if stage is None:
                self.records[r.document_number] = r
            else:
                self.staged.setdefault(stage, {})[r.document_number] = r

    def publish_many(self, records: Sequence[Any], stage: str) -> None:
        self.published.append(len(records))
        for r in records:
            self.records[r.document_number] = self.staged[stage][r.document_number]

    def discard_many(self, records: Sequence[Any], stage: str) -> None:
        for r in records:
            self.staged.get(stage, {}).pop(r.document_number, None)


def rows(count: int, bad_line: int | None = None) -> bytes:
    lines = [HEADER]
    for n in range(count):
        number = f"{10000000 + n}"
        birth = "1990-13-01" if bad_line is not None and n + 2 == bad_line else "1990-01-01"
        lines.append(f"DNI,{number},Ana,Pérez,Soto,{birth},,,PER,,\n")
    return "".join(lines).encode()


class Timer:
    """A clock for the slice budget that moves a second at each reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def setup() -> dict[str, Any]:
    identity = RecordingIdentity()
    return {"jobs": FakeJobs(), "storage": MemoryStorage(), "audit": MemoryAudit(), "identity": identity,
            "clock": FixedClock(datetime(2026, 11, 20, 15, tzinfo=UTC)),
            "importers": {"identity": registries.IdentityImporter(identity),
                          "warrants": registries.WarrantsImporter(FakeWarrantsRegistry())}}


def submit(s: dict[str, Any], data: bytes, kind: str = "identity") -> Any:
    return jobs.submit_import(kind, data, "registro.csv", operator=ADMIN, jobs=s["jobs"], storage=s["storage"],
                              importers=s["importers"], audit=s["audit"], clock=s["clock"])


def run(s: dict[str, Any], job_id: str, budget: float = 1000.0, timer: Any = None) -> Any:
    return jobs.run_slice(job_id, jobs=s["jobs"], storage=s["storage"], importers=s["importers"], clock=s["clock"],
                          budget_seconds=budget, **({"timer": timer} if timer else {}))


def test_a_submitted_import_is_stored_queued_announced_and_audited(setup: dict[str, Any]) -> None:
    job = submit(setup, rows(3))
    assert job.status is JobStatus.QUEUED and setup["storage"].get(job.input_key) == rows(3)
    assert [e.name for e in setup["jobs"].events] == ["job.submitted"]
    assert setup["audit"].actions() == ["job.submit"]
    with pytest.raises(NotFound):
        submit(setup, rows(1), kind="nonsense")
    with pytest.raises(ValidationError):
        submit(setup, b"  ")


def test_a_good_file_is_written_in_batches_and_the_job_ends_done(setup: dict[str, Any]) -> None:
    job = submit(setup, rows(60))
    done = run(setup, job.job_id)
    assert done.status is JobStatus.DONE and done.percent == 100 and done.written == done.units == 60
    assert setup["identity"].batches == [60] and len(setup["identity"].records) == 60
    assert setup["identity"].published == [60] and done.switched and done.published == 60
    assert run(setup, job.job_id).written == 60  # a redelivered event does nothing more


def test_a_bad_row_is_reported_by_its_line_and_nothing_is_written(setup: dict[str, Any]) -> None:
    job = submit(setup, rows(40, bad_line=17))
    failed = run(setup, job.job_id)
    assert failed.status is JobStatus.FAILED and failed.error_count == 1 and setup["identity"].records == {}
    assert failed.errors[0]["line"] == 17 and failed.errors[0]["field"] == "birth_date"
    report = setup["storage"].get(failed.report_key).decode("utf-8-sig")
    assert report.splitlines()[0] == "line,field,code,message" and report.splitlines()[1].startswith("17,birth_date")


def test_duplicates_in_the_file_and_a_missing_column_are_reported(setup: dict[str, Any]) -> None:
    data = rows(2) + b"DNI,10000000,Ana,Perez,Soto,1990-01-01,,,PER,,\n"
    failed = run(setup, submit(setup, data).job_id)
    assert failed.errors[0]["line"] == 4 and failed.errors[0]["code"] == "duplicate_row"
    header_only = run(setup, submit(setup, b"document_number,given_names\n1,Ana\n").job_id)
    assert header_only.status is JobStatus.FAILED and header_only.errors[0]["code"] == "missing_columns"
    empty = run(setup, submit(setup, HEADER.encode()).job_id)
    assert empty.status is JobStatus.FAILED and empty.errors[0]["code"] == "empty_file"


def test_a_slice_out_of_time_saves_its_checkpoint_and_hands_on_and_the_next_one_resumes(
        setup: dict[str, Any]) -> None:
    job = submit(setup, rows(300))
    first = run(setup, job.job_id, budget=2.5, timer=Timer())
    assert first.status is JobStatus.WRITING and 0 < first.written < 300 and not first.switched
    assert [e.name for e in setup["jobs"].events] == ["job.submitted", "job.continue"]
    assert setup["identity"].records == {}, "staged rows are seen by no reader before the switch"
    written = first.written
    second = run(setup, job.job_id)
    assert second.status is JobStatus.DONE and second.written == 300 and second.slices == 2
    assert sum(setup["identity"].batches) == 300 and written % jobs.BATCH == 0
    assert len(setup["identity"].records) == 300


def test_a_slice_out_of_time_after_the_switch_hands_on_and_the_next_one_publishes_the_rest(
        setup: dict[str, Any]) -> None:
    job = submit(setup, rows(300))
    # Time runs out once publishing has begun: a timer that moves only as batches are published.
    first = run(setup, job.job_id, budget=500.0, timer=lambda: 1000.0 * len(setup["identity"].published))
    assert first.status is JobStatus.PUBLISHING and first.switched and 0 < first.published < 300, first
    assert first.written == 300 and 0 < first.percent < 100
    second = run(setup, job.job_id)
    assert second.status is JobStatus.DONE and second.published == 300 and second.switched_at == first.switched_at
    assert sum(setup["identity"].published) == 300 and len(setup["identity"].records) == 300


def test_a_crash_while_staging_leaves_readers_on_the_old_records_and_the_retry_resumes(
        setup: dict[str, Any]) -> None:
    identity = setup["identity"]
    old = registries.parse_identity_row(dict(zip(HEADER.strip().split(","), [
        "DNI", "10000000", "Vieja", "Pérez", "Soto", "1980-01-01", "", "", "PER", "", ""], strict=True)))
    identity.records[old.document_number] = old
    original = identity.put_many
    calls = {"n": 0}

    def failing(records: Sequence[Any], stage: str | None = None) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the table does not answer")
        original(records, stage)

    identity.put_many = failing  # type: ignore[method-assign]
    job = submit(setup, rows(300))
    with pytest.raises(RuntimeError):
        run(setup, job.job_id)
    assert identity.records == {"10000000": old}, "readers still see the record as it was"
    crashed = setup["jobs"].get_job(job.job_id)
    assert crashed.status is JobStatus.WRITING and not crashed.switched
    done = run(setup, job.job_id)
    assert done.status is JobStatus.DONE and identity.records["10000000"].given_names == "Ana"
    assert len(identity.records) == 300


def test_a_second_runner_of_the_same_job_stops_at_its_first_save(setup: dict[str, Any]) -> None:
    from dataclasses import replace

    job = submit(setup, rows(30))
    store = setup["jobs"]
    stale = store.get_job(job.job_id)
    # Another runner has the job meanwhile: it saved since this one read it.
    store.jobs[job.job_id] = replace(stale, status=JobStatus.VALIDATING, version=stale.version + 1)

    class Racing(FakeJobs):
        def get_job(self, job_id: str) -> Any:
            self.reads += 1
            return stale if self.reads == 1 else store.get_job(job_id)

    racing = Racing()
    racing.jobs, racing.reads = store.jobs, 0
    saves = store.saves
    answer = jobs.run_slice(job.job_id, jobs=racing, storage=setup["storage"], importers=setup["importers"],
                            clock=setup["clock"])
    assert answer is not None and answer.status is JobStatus.VALIDATING
    assert setup["identity"].records == {} and racing.saves == 0 and store.saves == saves


def test_a_csv_from_a_spanish_spreadsheet_uses_semicolons_and_a_byte_order_mark() -> None:
    data = "\ufeffa;b\r\n1;x\r\n2;y\r\n".encode()
    assert [row for _, row in read_rows(data, ("a", "b"))] == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]
    with pytest.raises(ValidationError) as latin:
        list(read_rows("a,b\n1,Peña\n".encode("latin-1"), ("a", "b")))
    assert latin.value.code == "not_utf8"


def test_the_warrants_import_rejects_a_file_with_a_bad_date_by_line(setup: dict[str, Any]) -> None:
    data = b"warrant_id,given_names,surnames,document_number,issued_by,issued_on\n" \
           b"W1,Ana,Perez Soto,,Juzgado,2026-01-01\nW2,Luis,Soto Vera,,Juzgado,2026-02-30\n"
    failed = run(setup, submit(setup, data, "warrants").job_id)
    assert failed.status is JobStatus.FAILED and [e["line"] for e in failed.errors] == [3]


def test_a_job_counted_in_units_shows_its_share_of_units_done_and_an_import_its_phases() -> None:
    from chalicelib.domain.jobs import Job

    at = datetime(2026, 11, 20, 15, tzinfo=UTC)
    fanned = Job("reminders-20261120T10", "notices:reminders", "system", at, "", status=JobStatus.WRITING,
                 total=4, checked=4, units=4, written=1)
    assert fanned.stepwise and fanned.percent == 25
    task = Job("j" * 22, "indicators-rebuild", "admin-1", at, "jobs/x/", status=JobStatus.WRITING, units=3,
               written=2, params={"from": "2026-10", "to": "2026-11", "write": False})
    assert task.stepwise and task.percent == 66
    rows = Job("k" * 22, "identity", "admin-1", at, "jobs/k/input.csv", status=JobStatus.WRITING, total=100,
               checked=100, units=100, written=50)
    assert not rows.stepwise and rows.percent == 20 + 30  # checked (a fifth) and half the staging (three fifths)

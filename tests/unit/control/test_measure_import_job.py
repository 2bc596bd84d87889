"""A court's CSV of measures runs as an import job (services.jobs), on the fakes: every row checked against the
file, the submitter's courts and the system; the people and case files claimed (staged), the job switched, the
measures published with one event each; a claim taken meanwhile refuses the job and releases what it claimed; a
job whose runner died can be discarded once stalled, and resuming never makes a measure twice."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import Conflict, NotFound, ValidationError
from chalicelib.domain.jobs import STALL_SECONDS, JobStatus
from chalicelib.services import jobs
from chalicelib.services.control.measure_import import MEASURE_CSV_COLUMNS, MeasureImporter
from tests.fakes_console import FakeJobs
from tests.unit.control.world import COURT_CODE, JUAN, ROSA, World, court_staff

OTHER_COURT = "0401-JR-PE-02"


def row(person: dict[str, Any], case_file: str, group: str = "B") -> str:
    return ",".join(["true", "PER", "DNI", person["document_number"], person["given_names"], person["surnames"],
                     case_file, "1° Juzgado Penal de Lima", "LIMA", "processed", "monthly", "2026-01-01",
                     "2026-12-31", "2027-12-31", "LIMA", group, ""])


def csv(*rows: str) -> bytes:
    return "\n".join([",".join(MEASURE_CSV_COLUMNS), *rows]).encode()


class Flaky(MeasureImporter):
    """The real importer, whose process dies after ``claims`` claims (a crash half-way through the stage)."""

    def __init__(self, inner: MeasureImporter, claims: int) -> None:
        super().__init__(inner.measures, inner.calendars, inner.officers, inner.uow, inner.clock)
        self.left = claims

    def write_batch(self, units: Any, stage: str) -> None:
        for unit in units:
            if self.left == 0:
                raise RuntimeError("the process died")
            self.left -= 1
            super().write_batch([unit], stage)


class Setup:
    def __init__(self) -> None:
        self.w = World()
        k = self.w.k
        self.jobs = FakeJobs()
        self.importer = MeasureImporter(k.measures, k.calendars, k.officers, k.uow, self.w.clock)
        self.importers: dict[str, Any] = {"measures": self.importer}

    def submit(self, data: bytes, operator: Any = None) -> Any:
        return jobs.submit_import("measures", data, "medidas.csv", operator=operator or court_staff(), jobs=self.jobs,
                                  storage=self.w.storage, importers=self.importers, audit=self.w.audit,
                                  clock=self.w.clock)

    def run(self, job_id: str) -> Any:
        return jobs.run_slice(job_id, jobs=self.jobs, storage=self.w.storage, importers=self.importers,
                              clock=self.w.clock, budget_seconds=3600.0)

    def holder(self, person: dict[str, Any], case_file: str) -> str | None:
        return self.w.k.measures.measure_holding_key(f"DNI#{person['document_number']}|{case_file}")

    def events(self, name: str) -> list[Any]:
        return [e for e in self.w.data.events if e.name == name]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    jobs._CHECKED.clear()  # each test its own process, as far as the checked rows go


def test_a_good_file_becomes_one_measure_per_row_with_its_event_once() -> None:
    s = Setup()
    case_a, case_b = f"00456-2021-0-{COURT_CODE}", f"00123-2020-0-{COURT_CODE}"
    job = s.run(s.submit(csv(row(JUAN, case_a), row(ROSA, case_b))).job_id)
    assert job.status is JobStatus.DONE and job.units == 2 and job.published == 2
    juan, rosa = s.holder(JUAN, case_a), s.holder(ROSA, case_b)
    assert juan and rosa and s.w.k.measures.get_measure(juan).case_file == case_a
    assert s.w.k.measures.get_measure(rosa).created_by == "judge-1"
    created = [a for a in s.w.data.audit if a.action == "measure.create"]
    assert {a.target for a in created} == {juan, rosa} and {a.details["via"] for a in created} == {"csv"}
    assert sorted(e.aggregate_id for e in s.events("measure.created")) == sorted([juan, rosa])
    # Publishing the same batch again (a slice that resumes) writes nothing twice.
    s.importer.publish_batch(s.importer.units([(2, s.importer.parse(dict(zip(
        MEASURE_CSV_COLUMNS, row(JUAN, case_a).split(","), strict=True))))], job)[0], job.job_id)
    assert len([a for a in s.w.data.audit if a.action == "measure.create"]) == 2
    assert len(s.events("measure.created")) == 2


def test_duplicates_in_the_file_and_in_the_system_and_another_court_are_refused_by_line_nothing_written() -> None:
    s = Setup()
    s.w.measure()  # Rosa's 00123-2020 is active already
    case = f"00456-2021-0-{COURT_CODE}"
    job = s.run(s.submit(csv(row(JUAN, case), row(JUAN, case), row(ROSA, f"00123-2020-0-{COURT_CODE}"),
                             row(JUAN, f"00999-2022-0-{OTHER_COURT}"), row(JUAN, f"00888-2022-0-{COURT_CODE}",
                                                                            group="Z"))).job_id)
    assert job.status is JobStatus.FAILED and job.message == "invalid_rows"
    assert [(e["line"], e["code"]) for e in job.errors] == [
        (3, "measure_exists"), (4, "measure_exists"), (5, "out_of_scope"), (6, "invalid_field")]
    assert job.errors[3]["field"] == "group"
    assert s.holder(JUAN, case) is None and len(s.w.k.measures.active_measures_of_person("DNI#46677889")) == 0
    assert b"measure_exists" in s.w.storage.get(job.report_key)


def test_a_claim_taken_between_the_check_and_the_stage_refuses_the_job_and_releases_its_own_claims() -> None:
    s = Setup()
    case_a, case_b = f"00456-2021-0-{COURT_CODE}", f"00123-2020-0-{COURT_CODE}"
    submitted = s.submit(csv(row(JUAN, case_a), row(ROSA, case_b)))

    class Racing(MeasureImporter):
        def write_batch(self, units: Any, stage: str) -> None:
            s.w.measure()  # a form registers Rosa's 00123-2020 after the rows were checked
            super().write_batch(units, stage)

    k = s.w.k
    s.importers["measures"] = Racing(k.measures, k.calendars, k.officers, k.uow, s.w.clock)
    job = s.run(submitted.job_id)
    assert job.status is JobStatus.FAILED and job.message == "refused"
    assert [(e["line"], e["code"]) for e in job.errors] == [(3, "measure_exists")]
    assert s.holder(JUAN, case_a) is None  # Juan's claim, made first, is released
    assert len(k.measures.active_measures_of_person("DNI#46677889")) == 0
    # Juan can now be registered by hand.
    assert s.w.measure(person=JUAN, case_file=case_a).measure_id


def test_a_crash_half_way_resumes_without_a_second_measure_or_is_discarded_once_stalled() -> None:
    s = Setup()
    case_a, case_b = f"00456-2021-0-{COURT_CODE}", f"00123-2020-0-{COURT_CODE}"
    data = csv(row(JUAN, case_a), row(ROSA, case_b))
    # Resumed: the second runner (a new process: nothing cached) claims what the first did not and publishes.
    first = s.submit(data)
    s.importers["measures"] = Flaky(s.importer, claims=1)
    with pytest.raises(RuntimeError):
        s.run(first.job_id)
    juan = s.holder(JUAN, case_a)
    assert juan is not None and s.w.k.measures.get_measure(juan) is None  # claimed, not visible
    jobs._CHECKED.clear()
    s.importers["measures"] = s.importer
    done = s.run(first.job_id)
    assert done.status is JobStatus.DONE and s.holder(JUAN, case_a) == juan  # the same measure id
    assert len(s.w.k.measures.active_measures_of_person("DNI#46677889")) == 1

    # Discarded: another file dies half-way and nobody retries it.
    s2 = Setup()
    job = s2.submit(data)
    s2.importers["measures"] = Flaky(s2.importer, claims=1)
    with pytest.raises(RuntimeError):
        s2.run(job.job_id)
    assert s2.holder(JUAN, case_a) is not None
    args = {"operator": court_staff(), "jobs": s2.jobs, "storage": s2.w.storage, "importers": s2.importers,
            "audit": s2.w.audit, "clock": s2.w.clock}
    with pytest.raises(Conflict) as running:
        jobs.discard_job(job.job_id, **args)  # not stalled yet: it may still be running
    assert running.value.code == "job_not_stalled"
    s2.w.clock.advance(seconds=STALL_SECONDS)
    discarded = jobs.discard_job(job.job_id, **args)
    assert discarded.status is JobStatus.FAILED and discarded.message == "discarded"
    assert s2.holder(JUAN, case_a) is None and s2.w.k.measures.active_measures_of_person("DNI#46677889") == []
    assert jobs.discard_job(job.job_id, **args).message == "discarded"  # again: harmless
    assert s2.run(job.job_id).status is JobStatus.FAILED  # a late retry of the dead runner does nothing
    assert s2.holder(JUAN, case_a) is None
    assert [a.action for a in s2.w.audit.entries if a.target == job.job_id][-1] == "job.discard"


def test_a_switched_or_finished_job_cannot_be_discarded() -> None:
    s = Setup()
    job = s.run(s.submit(csv(row(JUAN, f"00456-2021-0-{COURT_CODE}"))).job_id)
    s.w.clock.advance(seconds=STALL_SECONDS)
    with pytest.raises(Conflict) as refused:
        jobs.discard_job(job.job_id, operator=court_staff(), jobs=s.jobs, storage=s.w.storage,
                         importers=s.importers, audit=s.w.audit, clock=s.w.clock)
    assert refused.value.code in ("job_switched", "job_not_stalled")


def test_a_courts_job_is_read_by_its_submitter_or_its_courts_staff_only() -> None:
    s = Setup()
    job = s.submit(csv(row(JUAN, f"00456-2021-0-{COURT_CODE}")))
    assert job.scope == (COURT_CODE,)
    assert jobs.court_job(job.job_id, operator=court_staff("judge-2"), jobs=s.jobs).job_id == job.job_id
    for outsider in (court_staff("judge-3", OTHER_COURT),):
        with pytest.raises(NotFound):
            jobs.court_job(job.job_id, operator=outsider, jobs=s.jobs)
    with pytest.raises(NotFound):
        jobs.court_job("x" * 22, operator=court_staff(), jobs=s.jobs)


def test_the_scope_is_the_submitters_at_submission_not_the_runners() -> None:
    s = Setup()
    # A file for another court from staff of this one: every row out of scope, whoever runs the job.
    job = s.run(s.submit(csv(row(JUAN, f"00999-2022-0-{OTHER_COURT}"))).job_id)
    assert job.status is JobStatus.FAILED and job.errors[0]["code"] == "out_of_scope"
    with pytest.raises(ValidationError):
        jobs.run_import("measures", csv(row(JUAN, f"00999-2022-0-{OTHER_COURT}")), "m.csv", operator=court_staff(),
                        jobs=s.jobs, storage=s.w.storage, importers=s.importers, audit=s.w.audit, clock=s.w.clock)

"""Jobs: submit a CSV import (stored, queued, announced on the outbox) and run it in slices — every row checked
first and reported by line, nothing written if any row is wrong, then batches staged from a checkpoint (seen by no
reader), one conditional write of the job that switches them all visible, and the staged rows published (folded
into the records), with progress saved as it goes. A slice that runs out of time hands on to the next through the
outbox; a second runner of the same job stops at its first save (the saves are conditional on the version)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..domain.errors import ConcurrentUpdate, Conflict, NotFound, ValidationError
from ..domain.jobs import (
    KEPT_ERRORS,
    KEPT_RESULT,
    MAX_BYTES,
    Job,
    Jobs,
    JobStatus,
    RowImporter,
    RowRefused,
    StepTask,
    error_row,
    read_rows,
    report_csv,
)
from ..domain.operators import ALL, Operator
from ..domain.ports import AuditEntry, AuditLog, Clock, DocumentStorage
from ..domain.requests import Event, new_id
from ..domain.uploads import UPLOAD_CONTENT_TYPE, UPLOAD_SECONDS, UploadLinks

log = logging.getLogger(__name__)

# Rows per batch: one BatchGetItem (up to 100 keys: what a staged row keeps of the record) and four BatchWriteItem
# calls (25 items each) to stage them, as many again to publish them; the checkpoint moves a batch at a time.
BATCH = 100
PROGRESS_ROWS = 5_000  # rows checked between two progress saves in the checking phase
PROGRESS_SECONDS = 1.0  # at most one progress save a second while writing


def submit_import(kind: str, data: bytes, file_name: str, *, operator: Operator, jobs: Jobs,
                  storage: DocumentStorage, importers: Mapping[str, RowImporter], audit: AuditLog,
                  clock: Clock) -> Job:
    """The upload is kept beside the job and the job announced; the request returns at once."""
    if kind not in importers:
        raise NotFound("Unknown registry.")
    if not data.strip():
        raise ValidationError("Choose a CSV file.", field="file", code="missing_file")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file",
                              code="too_large")
    now = clock.now()
    job_id = new_id()
    key = f"jobs/{job_id}/input.csv"
    storage.put(key, data, "text/csv")
    job = Job(job_id=job_id, kind=kind, created_by=operator.subject, created_at=now, input_key=key,
              file_name=_clean_name(file_name), updated_at=now, scope=scope_of(operator))
    jobs.put_job(job, event=Event(new_id(), "job.submitted", job_id, now, {"kind": kind}))
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="job.submit", target=job_id, details={"kind": kind, "bytes": len(data)}))
    return replace(job, version=1)


def scope_of(operator: Operator) -> tuple[str, ...]:
    """The courts a job acts for: its submitter's (every court for a national role)."""
    return (ALL,) if operator.national or ALL in operator.courts else tuple(sorted(operator.courts))


def submit_task(kind: str, params: Any, *, operator: Operator, jobs: Jobs, tasks: Mapping[str, StepTask],
                audit: AuditLog, clock: Clock) -> Job:
    """Long work that is not a CSV: its parameters checked now (a 422 naming the field), the job queued and
    announced; the request returns at once and the worker runs its steps."""
    task = tasks.get(kind)
    if task is None:
        raise NotFound("Unknown task.")
    checked = task.check(params)
    now = clock.now()
    job_id = new_id()
    job = Job(job_id=job_id, kind=kind, created_by=operator.subject, created_at=now, input_key=f"jobs/{job_id}/",
              file_name=kind, updated_at=now, scope=scope_of(operator), params=checked,
              units=len(task.steps(checked)))
    jobs.put_job(job, event=Event(new_id(), "job.submitted", job_id, now, {"kind": kind}))
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="job.submit", target=job_id, details={"kind": kind, **checked}))
    return replace(job, version=1)


def _clean_name(file_name: str) -> str:
    return "".join(ch for ch in file_name[-120:] if ch.isprintable()) or "import.csv"


def upload_key(job_id: str) -> str:
    """Where a reserved job's presigned upload lands (the job runs on its own copy, taken when it starts)."""
    return f"uploads/{job_id}/file.csv"


def reserve_upload(kind: str, file_name: str, *, operator: Operator, jobs: Jobs, uploads: UploadLinks,
                   importers: Mapping[str, RowImporter], audit: AuditLog, clock: Clock) -> tuple[Job, dict[str, Any]]:
    """A job reserved for a file the client uploads straight to storage: the job (awaiting its upload) and the
    presigned upload (short-lived; only this key, a CSV, at most MAX_BYTES)."""
    if kind not in importers:
        raise NotFound("Unknown registry.")
    now = clock.now()
    job_id = new_id()
    job = Job(job_id=job_id, kind=kind, created_by=operator.subject, created_at=now,
              input_key=f"jobs/{job_id}/input.csv", file_name=_clean_name(file_name),
              status=JobStatus.AWAITING_UPLOAD, updated_at=now, scope=scope_of(operator),
              upload_expires_at=now + timedelta(seconds=UPLOAD_SECONDS))
    jobs.put_job(job)
    ticket = uploads.presign(upload_key(job_id), content_type=UPLOAD_CONTENT_TYPE, max_bytes=MAX_BYTES,
                             seconds=UPLOAD_SECONDS)
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="job.reserve_upload", target=job_id, details={"kind": kind}))
    return replace(job, version=1), ticket


def start_upload(kind: str, upload_id: Any, *, operator: Operator, jobs: Jobs, storage: DocumentStorage,
                 audit: AuditLog, clock: Clock) -> Job:
    """Starts a reserved job on its uploaded file, once: an unknown or another operator's upload, one of another
    registry, one used already, expired or never uploaded is refused."""
    if not isinstance(upload_id, str) or not 8 <= len(upload_id) <= 64:
        raise ValidationError("Expected the upload's id.", field="upload_id")
    job = jobs.get_job(upload_id)
    if job is None or job.kind != kind or job.created_by != operator.subject:
        raise NotFound("No such upload.", code="unknown_upload")
    if job.status is not JobStatus.AWAITING_UPLOAD:
        raise Conflict("This upload has started its job already.", field="upload_id", code="upload_used")
    now = clock.now()
    if job.upload_expires_at is None or now > job.upload_expires_at:
        raise ValidationError("The upload expired: upload the file again.", field="upload_id",
                              code="upload_expired")
    data = storage.get(upload_key(job.job_id))
    if not data or not data.strip():
        raise ValidationError("Nothing was uploaded.", field="upload_id", code="upload_missing")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file",
                              code="too_large")
    storage.put(job.input_key, data, UPLOAD_CONTENT_TYPE)  # its own copy: a later post to the upload changes nothing
    started = replace(job, status=JobStatus.QUEUED, updated_at=now)
    try:
        jobs.put_job(started, event=Event(new_id(), "job.submitted", job.job_id, now, {"kind": kind}))
    except ConcurrentUpdate:
        raise Conflict("This upload has started its job already.", field="upload_id", code="upload_used") from None
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="job.submit", target=job.job_id,
                            details={"kind": kind, "bytes": len(data), "via": "upload"}))
    return replace(started, version=started.version + 1)


def run_import(kind: str, data: bytes, file_name: str, *, operator: Operator, jobs: Jobs,
               storage: DocumentStorage, importers: Mapping[str, RowImporter], audit: AuditLog,
               clock: Clock) -> Job:
    """The same job run to its end in this process (the local seed): submitted, then sliced until finished. A
    file with a bad row raises the job's errors, nothing written."""
    job: Job | None = submit_import(kind, data, file_name, operator=operator, jobs=jobs, storage=storage,
                                    importers=importers, audit=audit, clock=clock)
    while job is not None and not job.finished:
        job = run_slice(job.job_id, jobs=jobs, storage=storage, importers=importers, clock=clock,
                        budget_seconds=3600.0)
    if job is None or job.status is not JobStatus.DONE:
        errors = list(job.errors) if job else []
        raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                              code="invalid_rows", details={"errors": errors})
    return job


def get_job(job_id: str, *, jobs: Jobs) -> Job:
    job = jobs.get_job(job_id) if 8 <= len(job_id) <= 64 else None
    if job is None:
        raise NotFound("No such job.")
    return job


def court_job(job_id: str, *, operator: Operator, jobs: Jobs) -> Job:
    """A court's measures import, for its submitter or for court staff of every court it acts for; any other
    job, or another court's, reads as none."""
    job = get_job(job_id, jobs=jobs)
    if not court_follows(job, operator):
        raise NotFound("No such job.")
    return job


def court_follows(job: Job, operator: Operator) -> bool:
    return job.kind == "measures" and (
        job.created_by == operator.subject or bool(job.scope and all(operator.covers_court(c) for c in job.scope)))


class _Saver:
    """Saves the job's progress (versioned: a second runner of the same job stops at its first save)."""

    def __init__(self, jobs: Jobs, clock: Clock, timer: Callable[[], float]) -> None:
        self.jobs, self.clock, self.timer = jobs, clock, timer
        self.last = timer()
        self.latest: Job | None = None  # the job as last saved

    def __call__(self, job: Job, event: Event | None = None, **changes: Any) -> Job:
        updated = job.progressed(self.clock.now(), **changes)
        self.jobs.put_job(updated, event=event)
        self.last = self.timer()
        self.latest = replace(updated, version=updated.version + 1)
        return self.latest


def run_slice(job_id: str, *, jobs: Jobs, storage: DocumentStorage, importers: Mapping[str, RowImporter],
              clock: Clock, budget_seconds: float = 60.0, timer: Callable[[], float] = time.monotonic,
              tasks: Mapping[str, StepTask] | None = None) -> Job | None:
    """One slice of a job: check every row (first slice), then write from the checkpoint until done or the
    budget is spent (a task: its steps from the checkpoint); then a job.continue event hands on. Running a slice
    of a finished job does nothing."""
    job = jobs.get_job(job_id)
    if job is None or job.finished or job.status is JobStatus.AWAITING_UPLOAD:
        return job
    started = timer()
    save = _Saver(jobs, clock, timer)
    try:
        if job.task:
            task = (tasks or {}).get(job.kind)
            if task is None:
                return save(job, status=JobStatus.FAILED, message="unknown_task", finished_at=clock.now())
            return _run_task(job, task, save, started, budget_seconds, timer)
        return _run(job, importers[job.kind], storage, save, started, budget_seconds, timer)
    except ConcurrentUpdate:
        log.info("another runner has this job", extra={"job_id": job_id})
        return jobs.get_job(job_id)


def _run(job: Job, importer: RowImporter, storage: DocumentStorage, save: _Saver, started: float,
         budget: float, timer: Callable[[], float]) -> Job:
    data = storage.get(job.input_key)
    if data is None:
        return save(job, status=JobStatus.FAILED, message="input_missing", finished_at=save.clock.now())
    first = job.status is JobStatus.QUEUED
    job = save(job, status=JobStatus.VALIDATING, slices=1) if first else replace(job, slices=job.slices + 1)
    job, (total, units, errors) = _checked(job, data, importer, save, first)
    if errors or total == 0:
        if not errors:
            errors = [{"line": 1, "field": "rows", "code": "empty_file", "message": "The file has no rows."}]
        return _failed(job, errors, "invalid_rows", storage, save, total=total, checked=total)
    if first or job.status not in (JobStatus.WRITING, JobStatus.PUBLISHING):
        job = save(job, status=JobStatus.WRITING, total=total, checked=total, units=len(units))
    if job.status is JobStatus.WRITING:
        try:
            job = _batches(job, units, "written", lambda batch: importer.write_batch(batch, job.job_id), save,
                           started, budget, timer)
        except RowRefused as refused:
            # Taken meanwhile by someone else: nothing of the job may show. What it staged goes first (a crash
            # here leaves the job writing: the retry is refused again and discards again), then the job fails.
            _discard(importer, units, job.job_id)
            return _failed(save.latest or job, [error_row(refused.line, refused.error)], "refused", storage, save)
        if job.written < len(units):
            return job  # handed on
        # The switch: one conditional write (on the job's version) after which readers see every staged row.
        job = save(job, status=JobStatus.PUBLISHING, switched_at=save.clock.now())
    job = _batches(job, units, "published", lambda batch: importer.publish_batch(batch, job.job_id), save,
                   started, budget, timer)
    if job.published < len(units):
        return job
    return save(job, status=JobStatus.DONE, slices=job.slices, finished_at=save.clock.now())


def _run_task(job: Job, task: StepTask, save: _Saver, started: float, budget: float,
              timer: Callable[[], float]) -> Job:
    params = job.params or {}
    steps = task.steps(params)
    if job.status is JobStatus.QUEUED:
        job = save(job, status=JobStatus.WRITING, units=len(steps), slices=1)
    else:
        job = replace(job, slices=job.slices + 1)
    done = job.written
    while done < len(steps):
        rows = task.run_step(steps[done], params)
        done += 1
        at: dict[str, Any] = {"written": done, "result_rows": (*job.result_rows, *rows)[:KEPT_RESULT],
                              "result_count": job.result_count + len(rows)}
        if done < len(steps) and timer() - started > budget:
            return save(job, slices=job.slices, **at,
                        event=Event(new_id(), "job.continue", job.job_id, save.clock.now(), {"kind": job.kind}))
        job = save(job, **at)  # each step's rows saved with its checkpoint (steps are few)
    return save(job, status=JobStatus.DONE, finished_at=save.clock.now())


def _failed(job: Job, errors: list[dict[str, Any]], message: str, storage: DocumentStorage, save: _Saver,
            **changes: Any) -> Job:
    """The job ends failed with its errors by line: the first KEPT_ERRORS on the job, all in a CSV beside it."""
    report_key = job.input_key.rsplit("/", 1)[0] + "/errors.csv"
    storage.put(report_key, report_csv(errors), "text/csv")
    return save(job, status=JobStatus.FAILED, error_count=len(errors), errors=tuple(errors[:KEPT_ERRORS]),
                report_key=report_key, message=message, finished_at=save.clock.now(), **changes)


def _discard(importer: RowImporter, units: list[Any], stage: str) -> None:
    """Everything the job may have staged removed, batch by batch (past its checkpoint too: a runner that
    stopped mid-batch wrote beyond it)."""
    for start in range(0, len(units), BATCH):
        importer.discard_batch(units[start:start + BATCH], stage)


DISCARDABLE = ("discarded", "refused")  # a failed job whose discard can run again (it stopped part-way)


def discard_job(job_id: str, *, operator: Operator, jobs: Jobs, storage: DocumentStorage,
                importers: Mapping[str, RowImporter], audit: AuditLog, clock: Clock) -> Job:
    """A job whose runner crashed and was never retried (no progress for STALL_SECONDS, not switched) ends
    failed and what it staged is removed; readers never saw any of it. A running, switched or finished job is
    refused (a switched job only rolls forward: its next slice publishes). Running it again after a discard
    that stopped part-way finishes the removal."""
    job = get_job(job_id, jobs=jobs)
    now = clock.now()
    again = job.status is JobStatus.FAILED and job.message in DISCARDABLE
    if not again:
        if job.switched:
            raise Conflict("The job has switched its rows in: it can only finish.", field="job_id",
                           code="job_switched")
        if not job.stalled(now):
            raise Conflict("The job is not stalled: it is finished or still running.", field="job_id",
                           code="job_not_stalled")
        try:
            jobs.put_job(job.progressed(now, status=JobStatus.FAILED, message="discarded", finished_at=now))
        except ConcurrentUpdate:
            raise Conflict("The job moved meanwhile: it is running.", field="job_id",
                           code="job_not_stalled") from None
        job = replace(job, status=JobStatus.FAILED, message="discarded", finished_at=now, updated_at=now,
                      version=job.version + 1)
    data = storage.get(job.input_key)
    if data is not None and job.kind in importers:
        _CHECKED.pop(job.job_id, None)
        _, (_, units, _) = _checked(job, data, importers[job.kind], _Saver(jobs, clock, time.monotonic), False)
        _discard(importers[job.kind], units, job.job_id)
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="job.discard", target=job.job_id, details={"kind": job.kind}))
    return job


_CHECKED: dict[str, tuple[int, list[Any], list[dict[str, Any]]]] = {}  # the last job's checked rows, this process


def _checked(job: Job, data: bytes, importer: RowImporter, save: _Saver, first: bool
             ) -> tuple[Job, tuple[int, list[Any], list[dict[str, Any]]]]:
    """Every row checked: the total, the records to write and the errors by line (and the job, as saved with its
    progress). A later slice in the same process takes them from the first (one job kept), rather than checking
    the whole file again."""
    if job.job_id in _CHECKED:
        return job, _CHECKED[job.job_id]
    parsed: list[tuple[int, Any]] = []
    errors: list[dict[str, Any]] = []
    total = 0
    try:
        for line, row in read_rows(data, importer.columns):
            total += 1
            try:
                parsed.append((line, importer.parse(row)))
            except ValidationError as exc:
                errors.append(error_row(line, exc))
            if first and total % PROGRESS_ROWS == 0:
                job = save(job, checked=total)
    except ValidationError as whole:
        errors.append(error_row(1, whole))
    units, file_errors = importer.units(parsed, job)
    errors = sorted([*errors, *file_errors], key=lambda e: int(e["line"]))
    _CHECKED.clear()
    _CHECKED[job.job_id] = (total, units, errors)
    return job, (total, units, errors)


def _batches(job: Job, units: list[Any], checkpoint: str, write: Callable[[list[Any]], None], save: _Saver,
             started: float, budget: float, timer: Callable[[], float]) -> Job:
    """Writes the units in batches from the job's checkpoint (``written`` or ``published``), saving it as it
    goes; out of time, saves it and hands on to the next slice (job.continue, in the same transaction)."""
    done: int = getattr(job, checkpoint)
    while done < len(units):
        batch = units[done:done + BATCH]
        write(batch)
        done += len(batch)
        at: dict[str, Any] = {checkpoint: done}
        if done < len(units) and timer() - started > budget:
            return save(job, slices=job.slices, **at,
                        event=Event(new_id(), "job.continue", job.job_id, save.clock.now(), {"kind": job.kind}))
        if timer() - save.last >= PROGRESS_SECONDS and done < len(units):
            job = save(job, **at)
    final: dict[str, Any] = {checkpoint: done}
    return replace(job, **final)


def job_view(job: Job) -> dict[str, Any]:
    return {"job_id": job.job_id, "kind": job.kind, "file_name": job.file_name, "status": job.status.value,
            "percent": job.percent, "total": job.total, "checked": job.checked, "units": job.units,
            "written": job.written, "error_count": job.error_count, "errors": list(job.errors),
            "message": job.message, "created_by": job.created_by, "created_at": job.created_at.isoformat(),
            "updated_at": job.updated_at.isoformat() if job.updated_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None, "slices": job.slices,
            "switched_at": job.switched_at.isoformat() if job.switched_at else None, "published": job.published,
            "units_failed": len(job.failed_units),
            "failed_units": [{"unit": index, "label": label} for index, label in job.failures],
            **({"params": job.params, "steps": job.units, "steps_done": job.written, "result": list(job.result_rows),
                "result_count": job.result_count} if job.task else {})}

"""Long work as a job (ARCHITECTURE: "never inside one HTTP request"): a bulk CSV import is checked row by row,
reported by line, and written in batches from a checkpoint, in slices a worker runs one after another. Any kind
of import plugs in as a :class:`RowImporter`.

All rows or none, as readers see it (stage, then switch): the rows are written *staged* under the job's id, a
version of each record no reader takes; then one conditional write of the job (``switched_at``, status
``publishing``) switches every staged row at once, for readers ask whether a row's stage was switched (a read of
the job, cached once it was: a switch is never undone). Publishing then folds the staged rows into the records
(so that reads no longer look at the job) and the job is done. A crash before the switch leaves readers on the old
records; the next slice resumes the stage from its checkpoint; a second runner stops at its first save."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from .errors import DomainError, ValidationError

MAX_ROWS = 50_000
MAX_BYTES = 8 * 1024 * 1024
KEPT_ERRORS = 100  # on the job itself; the whole report is a CSV beside the input


class JobStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"  # reserved with a presigned upload; started by naming it, once
    QUEUED = "queued"
    VALIDATING = "validating"  # every row is checked before anything is written
    WRITING = "writing"  # staging: rows written under the job's id, seen by no reader
    PUBLISHING = "publishing"  # switched (readers see every row); staged rows folded into the records
    DONE = "done"
    FAILED = "failed"  # bad rows (nothing written) or a fault; the report says which


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str  # e.g. "import:identity"
    created_by: str
    created_at: datetime
    input_key: str
    file_name: str = ""
    status: JobStatus = JobStatus.QUEUED
    total: int = 0  # rows in the file
    checked: int = 0  # rows validated
    units: int = 0  # records to write (rows may group, e.g. one person's cases)
    written: int = 0  # records written: the checkpoint a next slice resumes from
    error_count: int = 0
    errors: tuple[dict[str, Any], ...] = ()
    report_key: str | None = None
    message: str = ""
    slices: int = 0
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    switched_at: datetime | None = None  # the one write that makes every staged row visible
    published: int = 0  # records folded after the switch: the checkpoint of the publishing phase
    upload_expires_at: datetime | None = None  # a reserved job's presigned upload: unusable after this
    scope: tuple[str, ...] = ()  # the courts the submitter acts for (a court's import checks each row against them)
    # A task (long work that is not a CSV: StepTask): its checked parameters, and the rows its steps found (the
    # first KEPT_RESULT of result_count). ``units`` counts its steps and ``written`` the steps done.
    params: dict[str, Any] | None = None
    result_rows: tuple[dict[str, Any], ...] = ()
    result_count: int = 0
    # Bulk work fanned out: the units whose handling raised and that have not counted done since (unit_tag: an
    # index, and for a district's unit its code; never a person). Once every unit is done or failed, the job
    # ends failed (message UNITS_FAILED); a failed unit retried with success later counts done and clears here.
    failed_units: tuple[str, ...] = ()
    version: int = 0

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def failures(self) -> list[tuple[int, str]]:
        """The failed units, by index: (index, label)."""
        units = [(int(index), label) for index, _, label in (tag.partition(":") for tag in self.failed_units)]
        return sorted(units)

    @property
    def shown_status(self) -> str:
        """The status as people read it (the catalogue's ``job.status.<this>``): a fan-out ended with failed units
        is not a refused import."""
        if self.status is JobStatus.FAILED and self.message == UNITS_FAILED:
            return UNITS_FAILED
        return self.status.value

    @property
    def switched(self) -> bool:
        return self.switched_at is not None

    @property
    def task(self) -> bool:
        return self.params is not None

    @property
    def stepwise(self) -> bool:
        """A job counted in steps or units (``written`` of ``units``) rather than rows: a task, or bulk work fanned
        out (services.fanout: no input file)."""
        return self.task or not self.input_key

    @property
    def percent(self) -> int:
        """Progress over the phases: checking is the first fifth, staging the next three, publishing the last (a
        task's, over its steps)."""
        if self.status is JobStatus.DONE:
            return 100
        if self.stepwise:
            return min(99, 100 * self.written // self.units) if self.units else 0
        checking = 20 * self.checked // self.total if self.total else 0
        writing = 60 * self.written // self.units if self.units else 0
        publishing = 20 * self.published // self.units if self.units else 0
        started = self.status not in (JobStatus.QUEUED, JobStatus.AWAITING_UPLOAD)
        return min(99, checking + writing + publishing) if started else 0

    def progressed(self, now: datetime, **changes: Any) -> Job:
        return replace(self, updated_at=now, **changes)

    def stalled(self, now: datetime) -> bool:
        """Whether a job that is neither finished nor switched has made no progress for STALL_SECONDS: its
        runner crashed and was not retried (a running slice saves progress at least every few seconds)."""
        if self.finished or self.switched or self.status is JobStatus.AWAITING_UPLOAD:
            return False
        return (now - (self.updated_at or self.created_at)).total_seconds() >= STALL_SECONDS


STALL_SECONDS = 15 * 60  # longer than any slice (a Lambda stops at 15 minutes)
UNITS_FAILED = "units_failed"  # the message of a fan-out job that ended with failed units


def unit_tag(index: int, label: str = "") -> str:
    """A unit of a fan-out as its job lists it among the failed: its index, and a label that names no one."""
    return f"{index}:{label}" if label else str(index)


def derived_id(job_id: str, *parts: object) -> str:
    """An id for what a job creates, the same in every slice and every process that runs the job (a slice that
    resumes writes the same records again, not new ones): 128 bits of a hash of the job's id (itself
    unguessable) and the parts, in the form of domain.requests.new_id."""
    digest = hashlib.sha256("#".join((job_id, *map(str, parts))).encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class RowRefused(Exception):
    """Raised by a RowImporter's write_batch when the system refuses a row that passed the checks (someone else
    took it meanwhile): the job stops, what it staged is discarded, and the row is reported."""

    def __init__(self, line: int, error: DomainError) -> None:
        super().__init__(error.message)
        self.line, self.error = line, error


class Jobs(Protocol):
    def get_job(self, job_id: str) -> Job | None: ...
    def put_job(self, job: Job, event: Any = None) -> None:
        """Conditional on ``version`` (0: new); with ``event``, the outbox event lands in the same transaction."""
        ...
    def recent_jobs(self, limit: int = 50) -> list[Job]: ...
    def add_done(self, job_id: str, n: int = 1, *, once: str | None = None, cleared: str | None = None) -> bool:
        """Adds ``n`` to the job's ``written`` as one atomic add (units of a fan-out finish in parallel consumers);
        with ``once``, only the first time that key comes (a redelivered unit counts once); with ``cleared`` (a
        :func:`unit_tag`), that unit leaves the failed units in the same write. True when counted."""
        ...
    def add_failed(self, job_id: str, unit: str, *, unless: str) -> bool:
        """Adds ``unit`` (a :func:`unit_tag`) to the job's failed units, a set (a unit failing again is listed
        once), unless the key ``unless`` has come to add_done (the unit counted done meanwhile); the version moves,
        as add_done's. True when listed."""
        ...


class RowImporter(Protocol):
    """One kind of import: its columns, how a row is read (raising ValidationError naming the field), how read
    rows become the records to write, and how a batch of them is written: staged under ``stage`` (the job's id),
    seen by no reader until that stage is switched, then published (folded into the records). Both idempotent:
    a slice that stopped half-way writes its batch again from its checkpoint."""

    @property
    def columns(self) -> tuple[str, ...]: ...

    def parse(self, row: dict[str, str]) -> Any: ...
    def units(self, parsed: list[tuple[int, Any]], job: Job) -> tuple[list[Any], list[dict[str, Any]]]:
        """Records to write, and errors that only the whole file, the job (its submitter's scope) or the
        system shows (duplicates), by line. Ids a record needs come from :func:`derived_id`, so that every slice
        of the job makes the same records."""
        ...
    def write_batch(self, units: Sequence[Any], stage: str) -> None:
        """May raise :class:`RowRefused`."""
        ...
    def publish_batch(self, units: Sequence[Any], stage: str) -> None: ...
    def discard_batch(self, units: Sequence[Any], stage: str) -> None:
        """Undoes write_batch for a job that will never be switched (refused, or stalled and discarded): what it
        staged is removed (only what this stage still holds)."""
        ...


KEPT_RESULT = 500  # a task's result rows kept on the job


class StepTask(Protocol):
    """Long work that is not a CSV (a rebuild of reports, say), run as a job: parameters checked when it is
    submitted (ValidationError naming the field), then named steps run one after another from a checkpoint, in
    slices, each step idempotent (a slice that stopped runs its step again) and adding rows to the job's result."""

    def check(self, params: Any) -> dict[str, Any]: ...
    def steps(self, params: dict[str, Any]) -> list[str]: ...
    def run_step(self, step: str, params: dict[str, Any]) -> list[dict[str, Any]]: ...


def read_rows(data: bytes, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """The CSV's rows with their line numbers (the header is line 1); UTF-8 with or without a byte-order mark,
    commas or semicolons (what a spreadsheet in Spanish saves)."""
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", field="file",
                              code="too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text: save it as CSV UTF-8.", field="file",
                              code="not_utf8") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValidationError(f"The CSV header lacks columns: {', '.join(missing)}.", field="header",
                              code="missing_columns")
    for count, row in enumerate(reader, start=1):
        if count > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} rows per import.", field="rows", code="too_many_rows")
        yield reader.line_num, {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}


def error_row(line: int, error: DomainError) -> dict[str, Any]:
    return {"line": line, "field": error.field, "code": error.code, "message": error.message}


def report_csv(errors: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("line", "field", "code", "message"))
    writer.writerows((e["line"], e.get("field") or "", e.get("code") or "", e.get("message") or "") for e in errors)
    return out.getvalue().encode("utf-8-sig")

"""Fan-out jobs: a plan records the job and writes one outbox event per unit; each unit, handled by a consumer,
counts itself done once; the job is done when every unit is.

A unit whose handling raises is listed among the job's failed units before the exception goes on to the consumer,
which retries it (in the cloud 5 times, then the dead-letter queue; the local worker likewise). Once every unit is
done or failed, the job ends failed, listing them, rather than staying in writing for ever; a retry that succeeds
later (a unit's work is idempotent) takes its unit off the list and counts it done, once, and the job is done when
every unit is.

The plan is resumable: the job is written first (status queued, its number of units fixed), then the units'
events with ids derived from the job's, so a plan run again after a crash adds only the missing ones; then the
job moves to writing. A plan run again after that finds its job and does nothing (no second job, no unit twice)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..domain.control.ports import UnitOfWork
from ..domain.errors import ConcurrentUpdate
from ..domain.fanout import SYSTEM, chunks, unit_event_id, unit_marker
from ..domain.jobs import UNITS_FAILED, Job, Jobs, JobStatus, unit_tag
from ..domain.ports import AlreadyExists, Clock
from ..domain.requests import Event

log = logging.getLogger(__name__)

EVENTS_PER_WRITE = 25  # unit events per transaction (DynamoDB takes up to 100 items in one)
SETTLE_TRIES = 20  # saves of the job's state lost to a unit counting meanwhile, before giving up to the next


def plan(job_id: str, kind: str, label: str, units: Sequence[dict[str, Any]], event_name: str, *, jobs: Jobs,
         uow: UnitOfWork, clock: Clock) -> Job | None:
    """Record the job and announce its units (each event's data: the unit's plus ``job_id`` and ``unit``). No units
    and no job yet: no job. Returns the job (None when there was nothing to do)."""
    existing = jobs.get_job(job_id)
    if existing is not None and existing.status is not JobStatus.QUEUED:
        return existing  # planned already
    if existing is None:
        if not units:
            return None
        now = clock.now()
        job = Job(job_id=job_id, kind=kind, created_by=SYSTEM, created_at=now, input_key="", file_name=label,
                  status=JobStatus.QUEUED, total=len(units), units=len(units), updated_at=now)
        try:
            jobs.put_job(job)
        except (AlreadyExists, ConcurrentUpdate):
            log.info("another run is planning this job", extra={"job_id": job_id})
            return jobs.get_job(job_id)
        existing = replace(job, version=1)
    # A resumed plan keeps the number of units first recorded: an index that no longer has work is an empty unit,
    # so that the count still reaches the total.
    count = existing.units
    events = [Event(unit_event_id(job_id, i), event_name, unit_event_id(job_id, i), clock.now(),
                    {**(units[i] if i < len(units) else {}), "job_id": job_id, "unit": i}) for i in range(count)]
    for batch in chunks(events, EVENTS_PER_WRITE):
        _emit(batch, uow)
    log.info("fan-out planned", extra={"job_id": job_id, "kind": kind, "units": count})
    return settle(job_id, jobs=jobs, clock=clock, planned=True)


def _emit(events: list[Event], uow: UnitOfWork) -> None:
    tx = uow.begin()
    for event in events:
        tx.add_event(event)
    try:
        tx.commit()
        return
    except AlreadyExists:
        pass  # a resumed plan: some of these were written; add the others one by one
    for event in events:
        tx = uow.begin()
        tx.add_event(event)
        try:
            tx.commit()
        except AlreadyExists:
            continue


def run_unit[T](data: dict[str, Any], work: Callable[[], T], *, jobs: Jobs, clock: Clock, label: str = "") -> T:
    """One unit of a job (its event's ``data``): its work, then the unit counted done once. When that raises, the
    unit is listed among the job's failed (``label``: what names the unit besides its index, never a person, e.g.
    a district's code) and the exception goes on, so the consumer retries the unit."""
    job_id, index = str(data["job_id"]), int(data["unit"])
    try:
        result = work()
        unit_done(job_id, index, jobs=jobs, clock=clock, label=label)
    except Exception:
        unit_failed(job_id, index, jobs=jobs, clock=clock, label=label)
        raise
    return result


def unit_done(job_id: str, index: int, *, jobs: Jobs, clock: Clock, label: str = "") -> bool:
    """The unit counts once (a redelivered unit finds its marker) and leaves the failed units; the last one
    finishes the job."""
    counted = jobs.add_done(job_id, 1, once=unit_marker(job_id, index), cleared=unit_tag(index, label))
    if counted:
        settle(job_id, jobs=jobs, clock=clock)
    return counted


def unit_failed(job_id: str, index: int, *, jobs: Jobs, clock: Clock, label: str = "") -> bool:
    """The unit listed among the job's failed (once however often it fails, and not once it counted done), and
    the job settled. Never raises: the unit's own exception is what its consumer must see. True when listed."""
    try:
        listed = jobs.add_failed(job_id, unit_tag(index, label), unless=unit_marker(job_id, index))
        if listed:
            settle(job_id, jobs=jobs, clock=clock)
        return listed
    except Exception as exc:  # not logged with its traceback: that would quote the unit's exception too
        log.warning("unit failure not recorded on its job",
                    extra={"job_id": job_id, "unit": index, "cause": type(exc).__name__})
        return False


def settle(job_id: str, *, jobs: Jobs, clock: Clock, planned: bool = False) -> Job | None:
    """The job's status from its counts: done once every unit is; failed once every unit is done or failed
    (and done again if the failed ones succeed later); writing once planned. Saves are conditional on the version,
    which every count moves: a lost race reads again."""
    job = jobs.get_job(job_id)
    for _ in range(SETTLE_TRIES):
        if job is None or (job.finished and job.shown_status != UNITS_FAILED):
            return job
        now = clock.now()
        failed = len(job.failed_units)
        if job.written >= job.units:
            settled = job.progressed(now, status=JobStatus.DONE, checked=job.total, written=job.units, message="",
                                     finished_at=now)
        elif failed and job.written + failed >= job.units and job.status is not JobStatus.FAILED:
            settled = job.progressed(now, status=JobStatus.FAILED, checked=job.total, message=UNITS_FAILED,
                                     finished_at=now)
        elif planned and job.status is JobStatus.QUEUED:
            settled = job.progressed(now, status=JobStatus.WRITING, checked=job.total)
        else:
            return job
        try:
            jobs.put_job(settled)
        except ConcurrentUpdate:
            job = jobs.get_job(job_id)
            continue
        if settled.status is JobStatus.FAILED:
            log.warning("fan-out job ended with failed units", extra={"job_id": job_id, "failed": failed})
        return replace(settled, version=settled.version + 1)
    log.warning("job state not saved; the next unit will", extra={"job_id": job_id})
    return job

"""Fan-out jobs: a plan records the job and writes one outbox event per unit; each unit, handled by a consumer,
counts itself done once; the job is done when every unit is.

The plan is resumable: the job is written first (status queued, its number of units fixed), then the units'
events with ids derived from the job's, so a plan run again after a crash adds only the missing ones; then the
job moves to writing. A plan run again after that finds its job and does nothing (no second job, no unit twice)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..domain.control.ports import UnitOfWork
from ..domain.errors import ConcurrentUpdate
from ..domain.fanout import SYSTEM, chunks, unit_event_id, unit_marker
from ..domain.jobs import Job, Jobs, JobStatus
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


def unit_done(job_id: str, index: int, *, jobs: Jobs, clock: Clock) -> bool:
    """The unit counts once (a redelivered unit finds its marker); the last one finishes the job."""
    counted = jobs.add_done(job_id, 1, once=unit_marker(job_id, index))
    if counted:
        settle(job_id, jobs=jobs, clock=clock)
    return counted


def settle(job_id: str, *, jobs: Jobs, clock: Clock, planned: bool = False) -> Job | None:
    """The job's status from its counts: done once every unit is; writing once planned. Saves are conditional
    on the version, which every count moves: a lost race reads again."""
    job = jobs.get_job(job_id)
    for _ in range(SETTLE_TRIES):
        if job is None or job.finished:
            return job
        now = clock.now()
        if job.written >= job.units:
            settled = job.progressed(now, status=JobStatus.DONE, checked=job.total, written=job.units,
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
        return replace(settled, version=settled.version + 1)
    log.warning("job state not saved; the next unit will", extra={"job_id": job_id})
    return job

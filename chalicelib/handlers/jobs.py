"""Jobs on the outbox: job.submitted starts a job, job.continue runs its next slice (a slice that ran out of
time hands on with that event, so no Lambda invocation runs longer than the slice)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.requests import Event

if TYPE_CHECKING:
    from ..bootstrap import Container


def run_job(event: Event, c: Container) -> None:
    from ..services.jobs import run_slice

    run_slice(event.aggregate_id, jobs=c.jobs, storage=c.storage, importers=c.importers(), clock=c.clock,
              budget_seconds=c.settings.job_slice_seconds, tasks=c.tasks())

"""Stage, then switch (issue 16, item 1), on DynamoDB Local, in one process: what it costs the hot path and an import.

The hot path is the identity lookup every check-in and certificate makes (the record check reads its rows the same
way, through adapters.staging.current). Measured in the same run:

- ``lookup_before_us``: main's lookup (one GetItem, the body decoded), the baseline;
- ``lookup_after_us``: this tree's lookup of a row no import is staging (published: every row, once its job is done);
- ``lookup_switched_staged_us``: a row staged by a job that is switched but not yet published (its job read once,
  then cached); ``lookup_staging_us``: a row staged by a job not yet switched (its job read at most once a second);
- ``job_reads_per_1000_lookups_*``: reads of a job those lookups made; ``*_ratio``: over the baseline.

The import: BENCH_IMPORT_ROWS identity rows (default 20,000) as a job, checked then written directly (main's job:
``import_direct_seconds``, the baseline) and checked, staged, switched and published (``import_staged_seconds``).
``publish_before_seconds`` / ``publish_after_seconds``: BENCH_PUBLISH_ROWS (5,000) staged rows published by
unconditional batch writes (before) and by conditional transactions of up to 100 (after, what publishing does since
a later job's stage must not be overwritten).

Figures of one run on the shared 2-core machine (20,000 rows, 300 lookups of each kind; lookups are network
round trips to DynamoDB Local, so their medians move by some 10% from run to run):
  lookup_before_us: 1570 · lookup_after_us: 1498 (ratio 0.95) · lookup_switched_staged_us: 1363 (0.87) ·
  lookup_staging_us: 1419 (0.90); job_reads_per_1000_lookups: after 0, switched_staged 3, staging 3 (one read of
  the job for 300 lookups of its rows); import_direct_seconds: 10.43 (main's job: rows written once, unstaged) ·
  import_staged_seconds: 22.64 (ratio 2.17: each batch read once, written staged, then published; the writes of
  a batch go four at a time). An earlier run, batches of 25 written one call at a time: 10.17 vs 26.63 s (2.62).
A run on 1 December 2026, publishing by conditional transactions with no read before them: import_direct_seconds
9.54 · import_staged_seconds 24.42 (2.56) · publish_before_seconds 2.00 · publish_after_seconds 2.81 (1.41; it was
5.95 against 2.56, 2.32, while publishing read every row first).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container  # noqa: E402
from bench.flows import show  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
LOOKUPS = 300
PUBLISH_ROWS = int(os.environ.get("BENCH_PUBLISH_ROWS", "5000"))
HEADER = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
         "expiry_date,nationality,father_name,mother_name\n"


def csv_rows(prefix: int, rows: int) -> bytes:
    return (HEADER + "".join(f"DNI,{prefix + n:08d},Persona,Prueba,Carga,1990-01-01,,,PER,,\n"
                             for n in range(rows))).encode()


class Direct:
    """Main's job: the rows written as they are, no stage (the baseline of the import figure)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.columns = inner, inner.columns

    def parse(self, row: dict[str, str]) -> Any:
        return self.inner.parse(row)

    def units(self, parsed: list[tuple[int, Any]], job: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        return self.inner.units(parsed, job)  # type: ignore[no-any-return]

    def write_batch(self, units: Any, stage: str) -> None:
        self.inner.writer.put_many(list(units))

    def publish_batch(self, units: Any, stage: str) -> None:
        return None

    def discard_batch(self, units: Any, stage: str) -> None:
        return None


def timed_lookups(lookup: Any, numbers: list[str]) -> float:
    """Median microseconds of a lookup over the numbers (each looked up once, in turn)."""
    samples = []
    for number in numbers:
        started = time.perf_counter()
        lookup(number)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> int:
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters import staging
    from chalicelib.adapters.dynamo_store import DynamoIdentityRegistry, identity_from_dict
    from chalicelib.domain.operators import Operator
    from chalicelib.services import jobs

    with local_container(seeded=False) as c:
        admin = Operator("bench", frozenset({"admin"}))
        registry = DynamoIdentityRegistry()
        importers = c.importers()

        def submit(prefix: int, rows: int, chosen: Any) -> Any:
            return jobs.submit_import("identity", csv_rows(prefix, rows), "bench.csv", operator=admin, jobs=c.jobs,
                                      storage=c.storage, importers=chosen, audit=c.audit, clock=c.clock)

        def run(job_id: str, chosen: Any) -> Any:
            job = c.jobs.get_job(job_id)
            while job is not None and not job.finished:
                job = jobs.run_slice(job_id, jobs=c.jobs, storage=c.storage, importers=chosen, clock=c.clock,
                                     budget_seconds=3600.0)
            return job

        # The import, both ways.
        direct = {"identity": Direct(importers["identity"])}
        started = time.perf_counter()
        run(submit(10_000_000, ROWS, direct).job_id, direct)
        direct_seconds = time.perf_counter() - started
        started = time.perf_counter()
        done = run(submit(20_000_000, ROWS, importers).job_id, importers)
        staged_seconds = time.perf_counter() - started
        assert done.status.value == "done", done

        # The hot path: published rows (before: main's read of them; after: this tree's), switched-staged rows,
        # staging rows.
        def before(number: str) -> Any:
            return identity_from_dict(m.IdentityModel.get(f"DNI#{number}").body)

        def after(number: str) -> Any:
            return registry.lookup("DNI", number)

        published = [f"{20_000_000 + n:08d}" for n in range(0, ROWS, max(1, ROWS // LOOKUPS))][:LOOKUPS]
        figures: dict[str, Any] = {}
        figures["lookup_before_us"] = timed_lookups(before, published)
        reads = staging.reads
        figures["lookup_after_us"] = timed_lookups(after, published)
        figures["job_reads_per_1000_lookups_after"] = (staging.reads - reads) * 1000 // LOOKUPS

        def stopped_before(publishing: bool, prefix: int) -> list[str]:
            """LOOKUPS rows staged by a job stopped before its switch, or after it (before publishing)."""
            inner = importers["identity"]

            class Stop(Exception):
                pass

            class Stopping(Direct):
                def write_batch(self, units: Any, stage: str) -> None:
                    inner.write_batch(units, stage)

                def publish_batch(self, units: Any, stage: str) -> None:
                    raise Stop

            chosen = {"identity": Stopping(inner)}
            job = submit(prefix, LOOKUPS, chosen)
            if not publishing:
                original = jobs._Saver.__call__

                def no_switch(self: Any, job: Any, event: Any = None, **changes: Any) -> Any:
                    if changes.get("switched_at"):
                        raise Stop
                    return original(self, job, event, **changes)

                jobs._Saver.__call__ = no_switch  # type: ignore[method-assign]
            try:
                run(job.job_id, chosen)
            except Stop:
                pass
            finally:
                if not publishing:
                    jobs._Saver.__call__ = original  # type: ignore[method-assign]
            return [f"{prefix + n:08d}" for n in range(LOOKUPS)]

        switched_rows = stopped_before(True, 30_000_000)
        staging.forget()
        reads = staging.reads
        figures["lookup_switched_staged_us"] = timed_lookups(after, switched_rows)
        figures["job_reads_per_1000_lookups_switched_staged"] = (staging.reads - reads) * 1000 // LOOKUPS
        staging_rows = stopped_before(False, 40_000_000)
        staging.forget()
        reads = staging.reads
        figures["lookup_staging_us"] = timed_lookups(after, staging_rows)
        figures["job_reads_per_1000_lookups_staging"] = (staging.reads - reads) * 1000 // LOOKUPS
        assert all(after(n) is not None for n in switched_rows[:5]) and after(staging_rows[0]) is None

        # Publishing the same number of staged rows: unconditional batch writes (before) against transactions of
        # up to 100, each row conditional on still being the job's (after).
        for side in ("before", "after"):
            rows = [((f"DNI#P{side[0]}{n:08d}",), {"body": {"n": n}}) for n in range(PUBLISH_ROWS)]
            staging.stage_rows(m.IdentityModel, rows, f"bench-publish-{side}")
            started = time.perf_counter()
            if side == "before":  # the former publish_rows: the rows read, then written back unconditionally
                existing = staging._existing(m.IdentityModel, [key for key, _ in rows])
                staging._write(m.IdentityModel, [m.IdentityModel(key[0], **values, staged=None, staged_by=None)
                                                 for key, values in rows if existing[key].staged_by])
            else:
                staging.publish_rows(m.IdentityModel, rows, f"bench-publish-{side}")
            figures[f"publish_{side}_seconds"] = time.perf_counter() - started
    base = figures["lookup_before_us"]
    for name in ("lookup_before_us", "lookup_after_us", "lookup_switched_staged_us", "lookup_staging_us"):
        print(f"{name}: {show(figures[name])}")
        if name != "lookup_before_us":
            print(f"{name}_ratio: {figures[name] / base:.2f}")
    for name in ("after", "switched_staged", "staging"):
        print(f"job_reads_per_1000_lookups_{name}: {figures[f'job_reads_per_1000_lookups_{name}']}")
    print(f"import_rows: {ROWS}")
    print(f"import_direct_seconds: {show(direct_seconds)}")
    print(f"import_staged_seconds: {show(staged_seconds)}")
    print(f"import_staged_ratio: {staged_seconds / direct_seconds:.2f}")
    print(f"publish_rows: {PUBLISH_ROWS}")
    print(f"publish_before_seconds: {show(figures['publish_before_seconds'])}")
    print(f"publish_after_seconds: {show(figures['publish_after_seconds'])}")
    print(f"publish_after_ratio: {figures['publish_after_seconds'] / figures['publish_before_seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage, then switch, for the registries' tables (see domain.jobs): an import job writes each row *staged* — the
new values in ``staged`` and the job's id in ``staged_by``, beside the values readers take now (none, for a new
row) — and readers take the staged values only once that job is switched (one conditional write of the job).
Publishing folds the staged values into the row, so that reading it no longer asks about the job.

On the hot path (an identity lookup, the record check) a row nobody is importing costs nothing more; a staged row
costs one read of its job, cached for good once the job is switched (a switch is never undone) and for a second
while it is not, so at most one extra read per job per process (per second while the job is staging); a row
whose job is not switched (or gone: expired, never switched) reads as it did before the import.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from . import dynamo_models as m

_SWITCHED: set[str] = set()
_NOT_YET: dict[str, float] = {}  # jobs read as not switched, and when
_KEPT = 4096  # jobs remembered per process
NOT_YET_SECONDS = 1.0
reads = 0  # reads of a job made to settle a staged row (the benchmark counts them)


def switched(stage: str) -> bool:
    """Whether the job ``stage`` was switched: cached once it was, read each time until then."""
    global reads
    if stage in _SWITCHED:
        return True
    now = time.monotonic()
    if now - _NOT_YET.get(stage, -NOT_YET_SECONDS) < NOT_YET_SECONDS:
        return False
    reads += 1
    try:
        body = m.JobModel.get(stage).body or {}
    except m.JobModel.DoesNotExist:
        body = {}
    if not body.get("switched_at"):
        if len(_NOT_YET) >= _KEPT:
            _NOT_YET.clear()
        _NOT_YET[stage] = now
        return False
    if len(_SWITCHED) >= _KEPT:
        _SWITCHED.clear()
    _SWITCHED.add(stage)
    _NOT_YET.pop(stage, None)
    return True


def forget() -> None:
    """Empties this process's caches of jobs (tests, benchmarks)."""
    _SWITCHED.clear()
    _NOT_YET.clear()


def current(item: Model, names: Sequence[str]) -> dict[str, Any]:
    """What readers see of a row: its staged values once their job is switched, else its own."""
    staged, stage = getattr(item, "staged", None), getattr(item, "staged_by", None)
    if stage and staged is not None and switched(stage):
        return dict(staged)
    return {name: getattr(item, name) for name in names}


def _key(item: Any, ranged: bool) -> tuple[str, ...]:
    hash_name: str = item._hash_keyname
    if not ranged:
        return (getattr(item, hash_name),)
    range_name: str = item._range_keyname
    return getattr(item, hash_name), getattr(item, range_name)


def _existing(model: type[Model], keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
    ranged = len(keys[0]) == 2
    wanted = sorted(set(keys))
    found = model.batch_get([k if ranged else k[0] for k in wanted])
    return {_key(item, ranged): item for item in found}


_WRITERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="staging")
BATCH_WRITE = 25  # items per BatchWriteItem
TRANSACT_WRITE = 100  # items per TransactWriteItems (its most)


def _write(model: type[Model], items: list[Any]) -> None:
    """The items in BatchWriteItem calls of 25, up to four at once (each waits on the database, not the CPU)."""
    def one(chunk: list[Any]) -> None:
        with model.batch_write() as batch:
            for item in chunk:
                batch.save(item)

    chunks = [items[i:i + BATCH_WRITE] for i in range(0, len(items), BATCH_WRITE)]
    for done in [_WRITERS.submit(one, chunk) for chunk in chunks]:
        done.result()


def stage_rows(model: type[Model], rows: Sequence[tuple[tuple[str, ...], dict[str, Any]]], stage: str,
               index_keys: Sequence[str] = ()) -> None:
    """Writes each row's new values staged under ``stage``, keeping what readers see now. A new row gets its
    index keys (``index_keys``) at once, so that the index finds it after the switch; readers drop it until then."""
    if not rows:
        return
    existing = _existing(model, [k for k, _ in rows])
    make: Any = model
    items = []
    for key, values in rows:
        old = existing.get(key)
        # What readers see now stays (a row another switched job staged reads as that job's values).
        now = current(old, list(values)) if old is not None else \
            {n: (values[n] if n in index_keys else None) for n in values}
        items.append(make(*key, **now, staged=values, staged_by=stage))
    _write(model, items)


def publish_rows(model: type[Model], rows: Sequence[tuple[tuple[str, ...], dict[str, Any]]], stage: str) -> None:
    """After the switch: a row still staged by ``stage`` takes those values as its own. A row published already,
    or staged since by a later job (which kept these values as what readers see until its own switch), is left —
    checked by the write itself, with no read before it (a read would only spare the rare resumed slice's
    cancelled transactions, and cost 11 s of a 50,000-row import's 53 s)."""
    if not rows:
        return
    make: Any = model
    items = [make(*key, **values, staged=None, staged_by=None) for key, values in rows]
    condition = model.staged_by == stage  # type: ignore[attr-defined]
    connection = m.connection_for(str(model.Meta.region), model.Meta.host)

    def one(chunk: list[Any]) -> None:
        # Conditional, so that a later job staging one of these rows since it was read is never overwritten: one
        # transaction of up to 100 (fewer calls than batch writes of 25); cancelled (such a row), row by row.
        try:
            with TransactWrite(connection=connection) as tx:
                for item in chunk:
                    tx.save(item, condition=condition)
        except TransactWriteError as exc:
            if not any(getattr(r, "code", "") == "ConditionalCheckFailed" for r in exc.cancellation_reasons or []):
                raise
            for item in chunk:
                try:
                    item.save(condition=condition)
                except PutError as lost:
                    if lost.cause_response_code != "ConditionalCheckFailedException":
                        raise  # else staged by a later job since: that job publishes it

    chunks = [items[i:i + TRANSACT_WRITE] for i in range(0, len(items), TRANSACT_WRITE)]
    for done in [_WRITERS.submit(one, chunk) for chunk in chunks]:
        done.result()


def unstage_rows(model: type[Model], rows: Sequence[tuple[tuple[str, ...], dict[str, Any]]], stage: str,
                 index_keys: Sequence[str] = ()) -> None:
    """A job that will never be switched (refused, discarded): each row still staged by ``stage`` goes back to
    what readers saw — a row the stage made (nothing of its own yet) is deleted, another loses its staged values.
    Each write is conditional on the row still being ``stage``'s, so a later job's stage is never touched."""
    if not rows:
        return
    existing = _existing(model, [k for k, _ in rows])
    mine = [item for item in existing.values() if item.staged_by == stage]
    condition = model.staged_by == stage  # type: ignore[attr-defined]

    def one(item: Any) -> None:
        own = [name for name in item.get_attributes()
               if name not in ("staged", "staged_by", item._hash_keyname, item._range_keyname)]
        try:
            if all(getattr(item, name) is None for name in own if name not in index_keys):
                item.delete(condition=condition)
            else:
                item.update(actions=[model.staged.remove(), model.staged_by.remove()],  # type: ignore[attr-defined]
                            condition=condition)
        except (DeleteError, UpdateError) as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise  # else staged by another job since: not ours to undo

    for done in [_WRITERS.submit(one, item) for item in mine]:
        done.result()

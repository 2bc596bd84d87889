"""The console's operator accounts and sessions, and the jobs, over DynamoDB (key lookups and index queries)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.accounts import OperatorAccount
from ..domain.control.ports import MARKER_RETENTION
from ..domain.errors import DomainError, NotFound
from ..domain.jobs import Job, JobStatus
from ..domain.operators import Operator
from ..domain.requests import Event
from ..domain.sessions import MAX_LIFETIME, ConsoleSession
from . import dynamo_models as m
from .dynamo_control.codec import dt, iso, iso_or_none, valid_id
from .dynamo_store import DynamoTransaction, event_to_model, translate_errors

JOB_RETENTION = timedelta(days=90)
CONFLICT_TRIES = 5


def account_to_model(a: OperatorAccount) -> m.OperatorAccountModel:
    item = m.OperatorAccountModel(a.username, body={
        "name": a.name, "roles": sorted(a.roles), "districts": sorted(a.districts), "courts": sorted(a.courts),
        "password_hash": a.password_hash, "active": a.active, "failures": a.failures,
        "locked_until": iso_or_none(a.locked_until), "updated_at": iso_or_none(a.updated_at),
        "updated_by": a.updated_by})
    if a.version:
        item.version = a.version
    return item


def account_from_model(item: m.OperatorAccountModel) -> OperatorAccount:
    b = item.body
    return OperatorAccount(username=item.username, name=b["name"], roles=frozenset(b["roles"]),
                           districts=frozenset(b["districts"]), courts=frozenset(b["courts"]),
                           password_hash=b["password_hash"], active=b["active"], failures=int(b["failures"]),
                           locked_until=dt(b.get("locked_until")), updated_at=dt(b.get("updated_at")),
                           updated_by=b.get("updated_by", ""), version=int(item.version or 0))


class DynamoOperatorAccounts:
    manages_passwords = True

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @translate_errors
    def get_account(self, username: str) -> OperatorAccount | None:
        if not valid_id(username):
            return None
        try:
            return account_from_model(m.OperatorAccountModel.get(username, consistent_read=True))
        except m.OperatorAccountModel.DoesNotExist:
            return None

    def put_account(self, account: OperatorAccount) -> None:
        tx = DynamoTransaction(self._connection)
        tx.put_item("operator account", account_to_model(account),
                    None if account.version else m.OperatorAccountModel.username.does_not_exist())
        tx.commit()

    @translate_errors
    def list_accounts(self, limit: int = 500) -> list[OperatorAccount]:
        return [account_from_model(i) for i in m.OperatorAccountModel.listed.query("operators", limit=limit)]

    def reset_password(self, username: str) -> None:
        raise DomainError("Type a new password to reset a local account.", code="password_required",
                          field="password")


def session_to_model(s: ConsoleSession) -> m.ConsoleSessionModel:
    o = s.operator
    # The TTL only collects old rows (a session's expiry is decided by the domain's clock when it is read), so it
    # counts from the wall clock of the write: a row is never reaped while it can still be valid.
    expires = datetime.now(UTC) + MAX_LIFETIME
    return m.ConsoleSessionModel(s.session_id, expires=expires, body={
        "subject": o.subject, "roles": sorted(o.roles), "districts": sorted(o.districts), "courts": sorted(o.courts),
        "name": s.name, "csrf": s.csrf, "language": s.language, "created_at": iso(s.created_at),
        "last_seen_at": iso(s.last_seen_at), "via": s.via, "draft": s.draft, "notice": s.notice, "extra": s.extra})


def session_from_model(item: m.ConsoleSessionModel) -> ConsoleSession:
    b = item.body
    operator = Operator(b["subject"], frozenset(b["roles"]), frozenset(b["districts"]), frozenset(b["courts"]))
    return ConsoleSession(session_id=item.session_id, operator=operator, name=b["name"], csrf=b["csrf"],
                          language=b["language"], created_at=dt(b["created_at"]),  # type: ignore[arg-type]
                          last_seen_at=dt(b["last_seen_at"]), via=b.get("via", "password"),  # type: ignore[arg-type]
                          draft=b.get("draft"), notice=b.get("notice"), extra=b.get("extra") or {})


class DynamoConsoleSessions:
    @translate_errors
    def get_session(self, session_id: str) -> ConsoleSession | None:
        if len(session_id) != 64:
            return None
        try:
            return session_from_model(m.ConsoleSessionModel.get(session_id, consistent_read=True))
        except m.ConsoleSessionModel.DoesNotExist:
            return None

    @translate_errors
    def put_session(self, session: ConsoleSession) -> None:
        session_to_model(session).save()

    @translate_errors
    def delete_session(self, session_id: str) -> None:
        m.ConsoleSessionModel(session_id).delete()


def job_to_model(job: Job) -> m.JobModel:
    body: dict[str, Any] = {
        "kind": job.kind, "created_by": job.created_by, "input_key": job.input_key, "file_name": job.file_name,
        "status": job.status.value, "total": job.total, "checked": job.checked, "units": job.units,
        "written": job.written, "error_count": job.error_count, "errors": list(job.errors),
        "report_key": job.report_key, "message": job.message, "slices": job.slices,
        "updated_at": iso_or_none(job.updated_at), "finished_at": iso_or_none(job.finished_at),
        "switched_at": iso_or_none(job.switched_at), "published": job.published,
        "upload_expires_at": iso_or_none(job.upload_expires_at), "scope": list(job.scope), "params": job.params,
        "result_rows": list(job.result_rows), "result_count": job.result_count}
    item = m.JobModel(job.job_id, created_at=iso(job.created_at), body=body, failed=set(job.failed_units) or None,
                      expires=job.created_at + JOB_RETENTION)
    if job.version:
        item.version = job.version
    return item


def job_from_model(item: m.JobModel) -> Job:
    b = item.body
    return Job(job_id=item.job_id, kind=b["kind"], created_by=b["created_by"],
               created_at=dt(item.created_at),  # type: ignore[arg-type]
               input_key=b["input_key"], file_name=b.get("file_name", ""), status=JobStatus(b["status"]),
               total=int(b["total"]), checked=int(b["checked"]), units=int(b["units"]),
               written=int(b["written"]) + int(item.done or 0),
               error_count=int(b["error_count"]), errors=tuple(b.get("errors") or ()), report_key=b.get("report_key"),
               message=b.get("message", ""), slices=int(b.get("slices", 0)), updated_at=dt(b.get("updated_at")),
               finished_at=dt(b.get("finished_at")), switched_at=dt(b.get("switched_at")),
               published=int(b.get("published", 0)), upload_expires_at=dt(b.get("upload_expires_at")),
               scope=tuple(b.get("scope") or ()), params=b.get("params"), result_rows=tuple(b.get("result_rows") or ()),
               result_count=int(b.get("result_count", 0)), failed_units=tuple(sorted(item.failed or ())),
               version=int(item.version or 0))


class DynamoJobs:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @translate_errors
    def get_job(self, job_id: str) -> Job | None:
        if not valid_id(job_id):
            return None
        try:
            return job_from_model(m.JobModel.get(job_id, consistent_read=True))
        except m.JobModel.DoesNotExist:
            return None

    def put_job(self, job: Job, event: Event | None = None) -> None:
        tx = DynamoTransaction(self._connection)
        tx.put_item("job", job_to_model(job), None if job.version else m.JobModel.job_id.does_not_exist())
        if event is not None:
            tx.put_item("event", event_to_model(event), m.OutboxModel.event_id.does_not_exist())
        tx.commit()

    @translate_errors
    def recent_jobs(self, limit: int = 50) -> list[Job]:
        return [job_from_model(i) for i in m.JobModel.recent.query("jobs", scan_index_forward=False, limit=limit)]

    def add_done(self, job_id: str, n: int = 1, *, once: str | None = None, cleared: str | None = None) -> bool:
        """One transaction: the ``once`` marker (control markers, where each unit's "done" belongs with the
        messages it sent), ADD on the job's counter and DELETE of ``cleared`` from its failed units."""
        actions: list[Action] = [m.JobModel.done.add(n)]
        if cleared is not None:
            actions.append(m.JobModel.failed.delete({cleared}))
        if once is None:
            return self._update_job(job_id, actions)
        marker = m.ControlMarkerModel(once, expires=MARKER_RETENTION)
        return self._update_job(job_id, actions, lambda tx: tx.save(
            marker, condition=m.ControlMarkerModel.key.does_not_exist()))

    def add_failed(self, job_id: str, unit: str, *, unless: str) -> bool:
        """One transaction: a check that the ``unless`` marker (the unit's done) is absent, and ADD of ``unit`` to
        the job's failed units."""
        return self._update_job(job_id, [m.JobModel.failed.add({unit})], lambda tx: tx.condition_check(
            m.ControlMarkerModel, unless, condition=m.ControlMarkerModel.key.does_not_exist()))

    @translate_errors
    def _update_job(self, job_id: str, actions: list[Action],
                    marker: Callable[[TransactWrite], None] | None = None) -> bool:
        """``actions`` on the job, and ADD on its version so that a save from an older read fails, in one
        transaction with what ``marker`` writes or checks first: False when that condition fails. Units finishing
        at the same moment conflict (TransactionConflict): all or nothing, so it is simply tried again."""
        for attempt in range(CONFLICT_TRIES):
            job = m.JobModel(job_id)
            job.version = 0  # not None: pynamodb then adds 1 to the version instead of setting it
            try:
                with TransactWrite(connection=self._connection) as tx:
                    if marker is not None:
                        marker(tx)
                    tx.update(job, actions, condition=m.JobModel.job_id.exists(), add_version_condition=False)
                return True
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) if r is not None else None
                           for r in exc.cancellation_reasons or []]
                if marker is not None and reasons[:1] == ["ConditionalCheckFailed"]:
                    return False
                if reasons and reasons[-1] == "ConditionalCheckFailed":
                    raise NotFound("No such job.") from exc
                if "TransactionConflict" not in reasons or attempt == CONFLICT_TRIES - 1:
                    raise
                time.sleep(0.02 * (attempt + 1) * (0.5 + random.random()))
        return False  # not reached

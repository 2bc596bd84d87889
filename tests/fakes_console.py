"""In-memory fakes of the console's ports (operator accounts, sessions) and of the jobs port."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.accounts import OperatorAccount
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.jobs import Job
from chalicelib.domain.ports import AlreadyExists
from chalicelib.domain.sessions import ConsoleSession


class FakeOperatorAccounts:
    manages_passwords = True

    def __init__(self) -> None:
        self.accounts: dict[str, OperatorAccount] = {}

    def get_account(self, username: str) -> OperatorAccount | None:
        return self.accounts.get(username)

    def put_account(self, account: OperatorAccount) -> None:
        current = self.accounts.get(account.username)
        if account.version == 0 and current is not None:
            raise AlreadyExists("operator account")
        if (current.version if current else 0) != account.version:
            raise ConcurrentUpdate("The account changed meanwhile.")
        self.accounts[account.username] = replace(account, version=account.version + 1)

    def list_accounts(self, limit: int = 500) -> list[OperatorAccount]:
        return sorted(self.accounts.values(), key=lambda a: a.username)[:limit]

    def reset_password(self, username: str) -> None:
        raise NotImplementedError("local accounts are reset by typing a new password")


class FakeConsoleSessions:
    def __init__(self) -> None:
        self.sessions: dict[str, ConsoleSession] = {}

    def get_session(self, session_id: str) -> ConsoleSession | None:
        return self.sessions.get(session_id)

    def put_session(self, session: ConsoleSession) -> None:
        self.sessions[session.session_id] = session

    def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


class FakeJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.events: list[Any] = []
        self.saves = 0
        self.counted: set[str] = set()

    def get_job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def put_job(self, job: Job, event: Any = None) -> None:
        current = self.jobs.get(job.job_id)
        if job.version == 0 and current is not None:
            raise AlreadyExists("job")
        if (current.version if current else 0) != job.version:
            raise ConcurrentUpdate("The job changed meanwhile.")
        self.jobs[job.job_id] = replace(job, version=job.version + 1)
        self.saves += 1
        if event is not None:
            self.events.append(event)

    def recent_jobs(self, limit: int = 50) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)[:limit]

    def add_done(self, job_id: str, n: int = 1, *, once: str | None = None, cleared: str | None = None) -> bool:
        """As the adapter: the marker, the add and the cleared failure together, and the version moves (an older
        read cannot save)."""
        current = self.jobs.get(job_id)
        if once is not None and once in self.counted:
            return False
        if current is None:
            raise NotFound("No such job.")
        if once is not None:
            self.counted.add(once)
        failed = tuple(u for u in current.failed_units if u != cleared)
        self.jobs[job_id] = replace(current, written=current.written + n, failed_units=failed,
                                    version=current.version + 1)
        return True

    def add_failed(self, job_id: str, unit: str, *, unless: str) -> bool:
        """As the adapter: nothing once the unit counted done; a set, and the version moves."""
        current = self.jobs.get(job_id)
        if unless in self.counted:
            return False
        if current is None:
            raise NotFound("No such job.")
        self.jobs[job_id] = replace(current, failed_units=tuple(sorted({*current.failed_units, unit})),
                                    version=current.version + 1)
        return True

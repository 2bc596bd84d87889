"""Signing in to the console and the session that follows: password check with lockout, a new session at every
sign-in, idle timeout and sign-out; every attempt audited. (In the cloud Cognito's hosted UI signs people in,
with MFA, and :func:`start_session` opens the same session.)"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.accounts import DECOY_HASH, OperatorAccount, OperatorAccounts, password_matches
from ..domain.errors import ConcurrentUpdate, Unauthenticated
from ..domain.operators import Operator
from ..domain.ports import AuditEntry, AuditLog, Clock
from ..domain.sessions import ConsoleSession, ConsoleSessions, new_session, token_hash


def _audit(audit: AuditLog, at: datetime, actor: str, roles: frozenset[str], action: str, **details: Any) -> None:
    audit.append(AuditEntry(at=at, actor=actor, role=",".join(sorted(roles)), action=action, target="console",
                            details=details))


def _bad() -> Unauthenticated:
    return Unauthenticated("Wrong username or password.", code="bad_credentials", field="password")


def _record_failure(account: OperatorAccount, accounts: OperatorAccounts, now: datetime) -> OperatorAccount:
    for _ in range(3):
        updated = account.failed(now)
        try:
            accounts.put_account(updated)
            return updated
        except ConcurrentUpdate:
            current = accounts.get_account(account.username)
            if current is None:
                return updated
            account = current
    return account


def sign_in(username: str, password: str, language: str, *, accounts: OperatorAccounts, sessions: ConsoleSessions,
            audit: AuditLog, clock: Clock, draft: dict[str, Any] | None = None) -> tuple[str, ConsoleSession]:
    """Returns the new session's cookie token. Five wrong passwords in a row lock the account for 15 minutes;
    a locked account is refused without looking at the password."""
    now = clock.now()
    name = username.strip().lower()[:64]
    account = accounts.get_account(name) if name else None
    if account is None or not account.active:
        password_matches(password, DECOY_HASH)  # the same time whether the account exists or not
        who = name if account is not None else "unknown"
        _audit(audit, now, who, frozenset(), "console.sign_in_failed", reason="unknown_or_inactive",
               username_hash=hashlib.sha256(name.encode()).hexdigest()[:16])
        raise _bad()
    if account.locked(now):
        _audit(audit, now, account.username, account.roles, "console.sign_in_refused", reason="locked")
        raise Unauthenticated("Too many failed attempts: try again in 15 minutes, or ask an administrator to unlock "
                              "the account.", code="account_locked", field="username")
    if not password_matches(password, account.password_hash):
        updated = _record_failure(account, accounts, now)
        locked = updated.locked(now)
        _audit(audit, now, account.username, account.roles, "console.sign_in_failed",
               reason="locked" if locked else "wrong_password")
        if locked:
            raise Unauthenticated("Too many failed attempts: the account is locked for 15 minutes.",
                                  code="account_locked", field="username")
        raise _bad()
    if account.failures:
        with contextlib.suppress(ConcurrentUpdate):  # another attempt wrote meanwhile: reset at the next success
            accounts.put_account(account.succeeded())
    token, session = new_session(account.operator(), account.name, language, now, draft=draft)
    sessions.put_session(session)
    _audit(audit, now, account.username, account.roles, "console.sign_in", via="password")
    return token, session


def start_session(operator: Operator, name: str, language: str, *, sessions: ConsoleSessions, audit: AuditLog,
                  clock: Clock, via: str) -> tuple[str, ConsoleSession]:
    """A session for an operator whom an identity provider (Cognito, with MFA) has signed in."""
    now = clock.now()
    token, session = new_session(operator, name, language, now, via=via)
    sessions.put_session(session)
    _audit(audit, now, operator.subject, operator.roles, "console.sign_in", via=via)
    return token, session


def current_session(token: str | None, *, sessions: ConsoleSessions, clock: Clock) -> tuple[ConsoleSession | None,
                                                                                         bool]:
    """The session of a cookie, and whether one existed but ran out (idle or too old)."""
    if not token or len(token) > 128:
        return None, False
    session = sessions.get_session(token_hash(token))
    if session is None:
        return None, False
    now = clock.now()
    if session.expired(now):
        sessions.delete_session(session.session_id)
        return None, True
    if session.needs_touch(now):
        session = session.touched(now)
        sessions.put_session(session)
    return session, False


def sign_out(session: ConsoleSession, *, sessions: ConsoleSessions, audit: AuditLog, clock: Clock) -> None:
    sessions.delete_session(session.session_id)
    _audit(audit, clock.now(), session.operator.subject, session.operator.roles, "console.sign_out")


def update_session(session: ConsoleSession, *, sessions: ConsoleSessions, **changes: Any) -> ConsoleSession:
    updated = replace(session, **changes)
    sessions.put_session(updated)
    return updated

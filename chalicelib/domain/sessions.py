"""Console sessions: a random token in an HttpOnly cookie, kept server-side by its hash, with a CSRF token, an
idle timeout and an absolute lifetime; and what a form held when its session ran out, so nothing typed is lost."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from .operators import Operator

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last activity is written at most this often (one write a minute at most)
MAX_DRAFT_FIELDS = 40
MAX_DRAFT_VALUE = 4000


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str  # the hash of the cookie's token: the token itself is never stored
    operator: Operator
    name: str
    csrf: str
    language: str
    created_at: datetime
    last_seen_at: datetime
    via: str = "password"  # password | cognito
    # A form posted after the session ran out: {"path": ..., "fields": {...}}, shown again after signing in.
    draft: dict[str, Any] | None = None
    notice: str | None = None  # one message for the next page ("saved", ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def expired(self, now: datetime) -> bool:
        return now - self.last_seen_at > IDLE_TIMEOUT or now - self.created_at > MAX_LIFETIME

    def needs_touch(self, now: datetime) -> bool:
        return now - self.last_seen_at >= TOUCH_EVERY

    def touched(self, now: datetime) -> ConsoleSession:
        return replace(self, last_seen_at=now)

    def csrf_ok(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf.encode(), str(submitted).encode())

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + IDLE_TIMEOUT, self.created_at + MAX_LIFETIME)


def new_session(operator: Operator, name: str, language: str, now: datetime, via: str = "password",
                draft: dict[str, Any] | None = None) -> tuple[str, ConsoleSession]:
    """A fresh session (a new token at every sign-in: no fixation); returns the cookie's token and the record."""
    token = new_token()
    return token, ConsoleSession(session_id=token_hash(token), operator=operator, name=name,
                                 csrf=secrets.token_urlsafe(24), language=language, created_at=now,
                                 last_seen_at=now, via=via, draft=draft)


def draft_of(path: str, fields: dict[str, str]) -> dict[str, Any] | None:
    """What a form held, minus its CSRF token and anything oversized; None when nothing was typed."""
    kept = {k: v[:MAX_DRAFT_VALUE] for k, v in list(fields.items())[:MAX_DRAFT_FIELDS]
            if k not in ("csrf_token", "password") and isinstance(v, str)}
    if not path.startswith("/console/") or not any(v.strip() for v in kept.values()):
        return None
    return {"path": path, "fields": kept}


class ConsoleSessions(Protocol):
    def get_session(self, session_id: str) -> ConsoleSession | None: ...
    def put_session(self, session: ConsoleSession) -> None: ...
    def delete_session(self, session_id: str) -> None: ...

"""Partner systems (Migraciones first): who they are, what they may do, and what their agreement says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The scopes a partner's access token may carry (Cognito's resource server "antecedentes-partners" in the cloud).
SCOPE_REQUEST = "certificates/request"
SCOPE_READ = "certificates/read"
SCOPES = frozenset({SCOPE_REQUEST, SCOPE_READ})


@dataclass(frozen=True)
class Partner:
    """A partner's configuration. ``secrets`` holds every client secret valid now: two during a rotation."""

    client_id: str
    secrets: tuple[str, ...]
    scopes: frozenset[str] = SCOPES
    fee_waived: bool = False  # the agreement: no payment order (True) or the normal one
    callback_url: str | None = None
    callback_secret: str | None = None
    # While the callback secret rolls over, callbacks carry a second signature by the previous one (issue 14 item 8),
    # so a partner that has not switched yet still accepts them.
    previous_callback_secret: str | None = None
    per_minute: int = 60
    per_day: int = 10_000
    name: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartnerCaller:
    """An authenticated partner call: its client id and the scopes its token carries."""

    client_id: str
    scopes: frozenset[str]

    @property
    def owner(self) -> str:
        """The owner written on the partner's requests (only it may read them)."""
        return f"partner:{self.client_id}"


@dataclass(frozen=True)
class DeadCallback:
    """A callback that failed every try: what was sent, to whom, and why it failed last."""

    event_id: str
    client_id: str
    request_id: str
    event_name: str
    body: str
    attempts: int
    last_error: str
    dead_at: str


@dataclass(frozen=True)
class HeldCallback:
    """A callback whose last try failed, held for its next try at ``due_at`` (ISO time) by the retry job."""

    event_id: str
    client_id: str
    request_id: str
    event_name: str
    body: str
    attempts: int  # tries made so far
    last_error: str
    due_at: str


class HeldCallbacks(Protocol):
    """Callbacks waiting for their next try: the outbox's notices consumer never waits for a partner."""

    def hold(self, held: HeldCallback) -> None: ...
    def due(self, now: str, limit: int) -> list[HeldCallback]:
        """Up to ``limit`` held callbacks whose next try is due at ``now`` (ISO time)."""
        ...
    def claim(self, held: HeldCallback, lease_until: str) -> bool:
        """Take ``held`` for one try (its due time moves to ``lease_until``); False when another runner took it."""
        ...
    def remove(self, event_id: str) -> None: ...


class DeadCallbacks(Protocol):
    """The dead-letter list of partner callbacks."""

    def add(self, letter: DeadCallback) -> None: ...
    def get(self, event_id: str) -> DeadCallback | None: ...
    def remove(self, event_id: str) -> None: ...
    def page(self, limit: int, after: str | None) -> tuple[list[DeadCallback], str | None]:
        """Up to ``limit`` letters after the event id ``after``, and the last one's id when more follow."""
        ...


@dataclass(frozen=True)
class QuotaWindow:
    """One fixed window of a partner's quota: its counter's key, how many calls it allows, when it may be forgotten."""

    key: str  # client id # window name # window start (epoch seconds)
    limit: int
    expires_at: int  # epoch seconds


class QuotaWindows(Protocol):
    """Counters of partners' calls, shared by every process that serves the API."""

    def add(self, windows: tuple[QuotaWindow, ...], calls: int) -> int | None:
        """Count ``calls`` in every window at once, or in none: the index of the first window they would overflow
        (nothing counted), None when counted."""
        ...

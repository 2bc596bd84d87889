"""Partner systems (Migraciones first): who they are, what they may do, and what their agreement says."""

from __future__ import annotations

from dataclasses import dataclass, field

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

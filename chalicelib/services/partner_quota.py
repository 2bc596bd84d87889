"""Per-partner quotas: calls per minute and per day from the partner's configuration, in fixed windows of the
clock, counted in the partners' quota table that every API process shares (one conditional transaction per call,
so the limit holds however many processes or containers serve the API); over either window, a 429 with
Retry-After (the seconds until that window ends). In the cloud API Gateway's usage plan of each partner throttles
at the edge as well (infrastructure/cdk/stack.py). A batch counts one call per certificate request in it."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import DomainError, ValidationError
from ..domain.partners import Partner, QuotaWindow, QuotaWindows

KEEP_SECONDS = 2 * 86_400  # a window's counter is forgotten (TTL) two days after it starts


class QuotaExceeded(DomainError):
    status = 429
    code = "quota_exceeded"


class QuotaLimiter:
    def __init__(self, windows: QuotaWindows) -> None:
        self._windows = windows

    def take(self, partner: Partner, now: datetime, calls: int = 1, taken: int = 0) -> None:
        """Count ``calls`` of ``partner``, or raise QuotaExceeded (and count nothing) when a window has no room.
        ``taken``: calls of the same request counted already (a batch's first, taken when the call came in)."""
        epoch = int(now.timestamp())
        sizes = (("minute", 60, partner.per_minute), ("day", 86_400, partner.per_day))
        for name, _, limit in sizes:
            if calls + taken > limit:  # could never pass, even in an empty window: no Retry-After would help
                raise ValidationError(f"At most {limit} certificate requests fit in the quota per {name}.",
                                      field="items", code="over_quota")
        windows = tuple(QuotaWindow(f"{partner.client_id}#{name}#{epoch - epoch % size}", limit,
                                    epoch - epoch % size + KEEP_SECONDS) for name, size, limit in sizes)
        full = self._windows.add(windows, calls)
        if full is None:
            return
        name, size, limit = sizes[full]
        retry = epoch - epoch % size + size - epoch
        error = QuotaExceeded(f"The quota of {limit} calls per {name} is used up; retry in {retry} s.",
                              details={"limit": limit, "window": name, "retry_after": retry})
        error.headers = {"Retry-After": str(max(1, retry))}  # type: ignore[attr-defined]
        raise error

"""Per-partner quotas on the local stack: requests per minute and per day from the partner's configuration, in
fixed windows of the clock; over either, a 429 with Retry-After (the seconds until that window ends). In the cloud
API Gateway's usage plan of each partner does this (infrastructure/cdk/stack.py); this limiter counts in one
process, which is what the local server is."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from ..domain.errors import DomainError
from ..domain.partners import Partner


class QuotaExceeded(DomainError):
    status = 429
    code = "quota_exceeded"


class QuotaLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = {}

    def take(self, partner: Partner, now: datetime) -> None:
        """Count one call of ``partner``, or raise QuotaExceeded (and count nothing) when a window is full."""
        epoch = int(now.timestamp())
        windows = (("minute", 60, partner.per_minute), ("day", 86_400, partner.per_day))
        with self._lock:
            keys = [(partner.client_id, name, epoch - epoch % size) for name, size, _ in windows]
            for (name, size, limit), key in zip(windows, keys, strict=True):
                if self._counts.get(key, 0) >= limit:
                    retry = key[2] + size - epoch
                    error = QuotaExceeded(f"The quota of {limit} calls per {name} is used up; retry in {retry} s.",
                                          details={"limit": limit, "window": name, "retry_after": retry})
                    error.headers = {"Retry-After": str(max(1, retry))}  # type: ignore[attr-defined]
                    raise error
            for key in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
            if len(self._counts) > 10_000:  # windows long past
                oldest = epoch - int(timedelta(days=2).total_seconds())
                self._counts = {k: v for k, v in self._counts.items() if k[2] >= oldest}

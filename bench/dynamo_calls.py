"""Count the DynamoDB operations a piece of code makes (shared by the API benchmark and a test)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.connection.base import Connection


@contextmanager
def counting_dynamodb_calls() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    original = Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict[str, Any], *args: Any, **kw: Any) -> Any:
        counts[operation_name] += 1
        return original(self, operation_name, operation_kwargs, *args, **kw)

    Connection._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]

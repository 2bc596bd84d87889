"""Pages of a list in the store's own order (issue 14): a page is what follows a position, the position being a
key of that order (never an offset, so an item added between two pages is neither skipped nor repeated)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .errors import ValidationError

Position = list[str]
After = list[Any] | None  # where a page starts: a position, or [partition, position] for a chained list


def checked_position(after: Any, size: int) -> Position | None:
    """``after`` as a position of ``size`` key values; a 422 naming `cursor` when it is not one."""
    if after is None:
        return None
    if not (isinstance(after, list) and len(after) == size and all(isinstance(v, str) and v for v in after)):
        raise _invalid()
    return after


def _invalid() -> ValidationError:
    return ValidationError("This cursor is not one this list gave: start again without it.", field="cursor",
                           code="invalid_cursor")


def chained_page[T](partitions: Sequence[str], fetch: Callable[[str, Position | None, int], tuple[list[T], Any]],
                    limit: int, after: Any) -> tuple[list[T], Any]:
    """A page of a list that is the union of a few partitions (an officer's districts, the states of a refund),
    read one partition after the other in sorted order: at most one query per partition, and usually one. The
    position is [partition, position in it] (None: its start); a partition that left the list is stepped over."""
    parts = sorted(partitions)
    start, inner = 0, None
    if after is not None:
        if not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], str)):
            raise _invalid()
        part, inner = after[0], after[1]
        start = next((n for n, p in enumerate(parts) if p >= part), len(parts))
        if start < len(parts) and parts[start] != part:
            inner = None
    items: list[T] = []
    for n in range(start, len(parts)):
        got, last = fetch(parts[n], inner if n == start else None, limit - len(items))
        items += got
        if last is not None:
            return items, [parts[n], last]
        if len(items) >= limit:
            return items, [parts[n + 1], None] if n + 1 < len(parts) else None
    return items, None


def every_page[T](fetch: Callable[[Any], tuple[list[T], Any]], most: int = 100) -> list[T]:
    """A whole list (for a spreadsheet, a test), read page by page (``fetch(position)`` answers a page and the
    position of the next, None at the end), at most ``most`` pages."""
    items: list[T] = []
    after = None
    for _ in range(most):
        got, after = fetch(after)
        items += got
        if not after:
            break
    return items

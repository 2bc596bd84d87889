"""One page of a DynamoDB partition (a table's or an index's) after a position: ONE query of limit + 1 items
(the extra one tells whether more follow), never a scan. The position is the page's last key without the
partition value (the range key, then the table's own key), so the next page starts exactly after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain.pages import checked_position


def key_page(query: Callable[..., Any], hash_name: str, hash_value: str, keys: tuple[str, ...], limit: int,
             after: Any, *, forward: bool = True, consistent: bool = False) -> tuple[list[Any], list[str] | None]:
    """``query`` is a model's or an index's query; ``keys`` the names that with ``hash_name`` make a key of it."""
    position = checked_position(after, len(keys))
    start = None
    if position is not None:
        start = {hash_name: {"S": hash_value}, **{k: {"S": v} for k, v in zip(keys, position, strict=True)}}
    options: dict[str, Any] = {"scan_index_forward": forward, "limit": limit + 1, "last_evaluated_key": start}
    if consistent:
        options["consistent_read"] = True
    found = list(query(hash_value, **options))
    if len(found) <= limit:
        return found, None
    return found[:limit], [str(getattr(found[limit - 1], k)) for k in keys]

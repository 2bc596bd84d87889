"""Opaque, signed cursors for list routes (issue 14): a client passes back `next_cursor` as `?cursor=` to get
the next page. The cursor names where the previous page stopped (a key of the table's own order, so a page is
one query, never a scan) and the list it belongs to, signed so that it can be neither forged nor moved to
another list; it holds no personal data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalice.app import Request

from ..bootstrap import container
from ..domain.errors import ValidationError

MAX_CURSOR = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _tag(body: str, secret: str | None = None) -> str:
    secret = container().settings.console_link_secret if secret is None else secret
    key = hashlib.sha256(b"list-cursor\n" + secret.encode()).digest()
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:16])


def _signed_by_us(body: str, tag: str) -> bool:
    """Signed with the current key, or the previous one while it rolls over (issue 16: the key rotates); a key
    this function has not read yet (another function rotated first) makes it read the secrets again."""
    for attempt in range(2):
        settings = container().settings
        secrets = [settings.console_link_secret, settings.previous_console_link_secret]
        if any([hmac.compare_digest(_tag(body, secret), tag) for secret in secrets if secret]):
            return True
        if attempt or not container().reload_secrets():
            return False
    return False


def _scope(scope: str) -> str:
    """The list a cursor belongs to, hashed: a scope may name its caller, and a cursor travels in URLs."""
    return _b64(hashlib.sha256(scope.encode("utf-8")).digest()[:12])


def encode_cursor(scope: str, position: Any) -> str:
    body = _b64(json.dumps({"s": _scope(scope), "p": position}, separators=(",", ":")).encode())
    return f"{body}.{_tag(body)}"


def decode_cursor(request: Request, scope: str, name: str = "cursor") -> Any:
    """The position in ``?cursor=`` (or the parameter ``name``) for the list ``scope``; None on the first page; a
    422 naming `cursor` when it was not made by us for this list."""
    raw = dict(request.query_params or {}).get(name)
    if raw is None:
        return None
    body, _, tag = raw.partition(".")
    invalid = ValidationError("This cursor is not one this list gave: start again without it.", field=name,
                              code="invalid_cursor")
    if len(raw) > MAX_CURSOR or not raw.isascii() or not _signed_by_us(body, tag):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise invalid from None
    if not isinstance(data, dict) or data.get("s") != _scope(scope):
        raise invalid
    return data.get("p")


def page_request(request: Request, scope: str, default: int, most: int) -> tuple[int, Any]:
    """A list route's ``?limit=`` (``default`` when absent; a 422 naming `limit` outside 1..``most``) and the
    position of its ``?cursor=`` for the list ``scope``."""
    from .http import query_int

    return query_int(request, "limit", default, 1, most), decode_cursor(request, scope)


def page_answer(items: list[Any], scope: str, last: Any, **extra: Any) -> dict[str, Any]:
    """The body of a page: its items and the cursor of the next page (null on the last)."""
    return {**extra, "items": items, "next_cursor": encode_cursor(scope, last) if last else None}

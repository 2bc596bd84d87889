"""HTTP plumbing shared by every route: errors to JSON, bodies, channel and operator authentication."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from ..bootstrap import container
from ..domain.errors import DomainError, InvalidRequestBody, PayloadTooLarge, Unauthenticated, ValidationError
from ..domain.operators import Operator

log = logging.getLogger("api")

_CHANNEL_USER = re.compile(r"([a-z]{2,20}):([A-Za-z0-9_\-]{1,64})")
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8",
                                            "Cache-Control": "no-store"}


def request_id(request: Request | None) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or secrets.token_hex(8))


def error_response(error: DomainError, rid: str) -> Response:
    body = {"error": {**error.to_dict(), "request_id": rid}}
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=error.status, headers=JSON_HEADERS)


def json_response(body: Any, status: int = 200, headers: dict[str, str | list[str]] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    headers={**JSON_HEADERS, **(headers or {})})


def handled(current: Callable[[], Request]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view: domain errors become their JSON answer; anything else a logged 500 with no detail."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = current()
            rid = request_id(request)
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                log.info("request refused", extra={"request_id": rid, "code": error.code,
                                                   "status": error.status, "route": view.__name__})
                return error_response(error, rid)
            except Exception:
                # The exception's text may hold personal data: log its type and stack only.
                log.exception("unhandled error", extra={"request_id": rid, "route": view.__name__})
                internal = DomainError("Something went wrong on our side; nothing was changed. Try again.",
                                       code="internal_error")
                internal.status = 500
                return error_response(internal, rid)

        return wrapper

    return decorate


def json_body(request: Request, *, required: bool = True) -> Any:
    raw = request.raw_body or b""
    limit = container().settings.max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    if not raw.strip():
        if required:
            raise InvalidRequestBody("Expected a JSON body.", code="missing_body")
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestBody("The body is not valid JSON.", code="invalid_json") from None


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Expected an Authorization: Bearer header.")
    return token.strip()


def channel_user(request: Request) -> str:
    """The authenticated channel's end user, e.g. "telegram:12345"; the key decides which channel."""
    token = _bearer(request)
    channel = next((name for name, key in container().settings.channel_keys.items()
                    if hmac.compare_digest(token.encode(), key.encode())), None)
    if channel is None:
        raise Unauthenticated("Unknown channel key.", code="invalid_channel_key")
    user = request.headers.get("x-channel-user") or ""
    match = _CHANNEL_USER.fullmatch(user)
    if not match or match.group(1) != channel:
        raise ValidationError(f"Expected X-Channel-User: {channel}:<user id>.", field="X-Channel-User",
                              code="invalid_channel_user")
    return user


def operator(request: Request) -> Operator:
    verified: Operator = container().tokens.verify(_bearer(request))
    return verified


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = dict(request.query_params or {}).get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(f"Expected a whole number from {low} to {high}.", field=name)
    return int(raw)

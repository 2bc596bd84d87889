"""HTTP plumbing shared by every route: one error shape for every error (the views', the framework's), the
standard headers, request ids, bodies checked before use, channel and operator authentication."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from .. import logs
from ..bootstrap import container
from ..domain.errors import DomainError, InvalidRequestBody, PayloadTooLarge, Unauthenticated, ValidationError
from ..domain.operators import Operator

log = logging.getLogger("api")

_CHANNEL_USER = re.compile(r"([a-z]{2,20}):([A-Za-z0-9_\-]{1,64})")
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8",
                                            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# JSON nested deeper than this is refused before it is parsed (Python's parser would recurse to a crash).
MAX_JSON_DEPTH = 32
# A path parameter longer than this names nothing we hold (ids are 22 to 64 characters, signed media links a few
# hundred): not found, before any lookup (DynamoDB refuses keys over 2 KB with an error of its own).
MAX_PATH_PARAMETER = 1024
REALM = 'Bearer realm="antecedentes"'
# The public read endpoints a verifier in any browser may fetch (an employer's page, Migraciones' own tools):
# the verdict's JSON, the keys and the CA. Every other route sends no CORS header, so browsers keep other sites out.
CORS_ROUTES = frozenset({"/v/{document_id}", "/.well-known/jwks.json", "/.well-known/ca.pem",
                         "/.well-known/status/{issuer}/{list_id}", "/openapi.json"})
CORS_HEADERS: dict[str, str | list[str]] = {"Access-Control-Allow-Origin": "*",
                                            "Access-Control-Expose-Headers": "X-Request-Id"}
# Unsafe calls a client may retry honour an Idempotency-Key: every POST under /v1/ but these (read-only checks, and
# the providers' webhooks, which carry their own payment id).
NOT_IDEMPOTENT = frozenset({"/v1/verify", "/v1/certificate-requests/validation", "/v1/webhooks/payments/{provider}",
                            "/v1/webhooks/refunds/{provider}"})
MAX_REPLAYED_RESPONSE = 300_000  # characters; a larger answer is not kept, and a retry runs again
# Routes whose answer depends on the Accept header (HTML page or JSON verdict): caches must keep them apart.
VARY_ACCEPT = frozenset({"/v/{document_id}"})
# What the framework answers with its own shape, in ours: (status, code, field, message).
_FRAMEWORK_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "MethodNotAllowedError": (405, "method_not_allowed", None, "This method is not allowed on this path."),
    "UnsupportedMediaType": (415, "unsupported_media_type", "Content-Type",
                             "This route does not take a body of this media type."),
    "BadRequest": (406, "not_acceptable", "Accept",
                   "This answer is binary: send an Accept header naming its media type."),
    "BadRequestError": (400, "bad_request", None, "The request could not be read."),
    "InternalServerError": (500, "internal_error", None, "Something went wrong on our side; nothing was changed."),
}


def request_id(request: Request | None = None) -> str:
    """This request's id: the gateway's own (its access logs carry it), or one made here for the local server."""
    current = logs.REQUEST_ID.get()
    if current:
        return current
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4())


def _standard_headers(status: int, code: str | None) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {}
    if status == 401:
        error = "invalid_token" if code in ("invalid_token", "token_expired", "invalid_channel_key") else None
        headers["WWW-Authenticate"] = REALM + (f', error="{error}"' if error else "")
    if status in (429, 503):
        headers["Retry-After"] = "60" if status == 429 else "30"
    return headers


def error_body(code: str, message: str, rid: str, field: str | None = None,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    error["request_id"] = rid
    return {"error": error}


def error_response(error: DomainError, rid: str) -> Response:
    body = {"error": {**error.to_dict(), "request_id": rid}}
    headers = {**JSON_HEADERS, **_standard_headers(error.status, error.code), **getattr(error, "headers", {})}
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=error.status, headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str | list[str]] | None = None,
                  location: str | None = None) -> Response:
    extra: dict[str, str | list[str]] = {"Location": location} if location else {}
    return Response(body=json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    headers={**JSON_HEADERS, **extra, **(headers or {})})


def middleware(request: Request | None, get_response: Callable[[Any], Response]) -> Response:
    """Every HTTP answer passes here: its request id (in the logs meanwhile, and in X-Request-Id), framework
    errors in the one error shape, and the standard headers of its status."""
    context = getattr(request, "context", None)
    rid = str((context or {}).get("requestId") or uuid.uuid4())
    if isinstance(context, dict):
        context["requestId"] = rid
    token = logs.REQUEST_ID.set(rid)
    try:
        too_long = next((name for name, value in (getattr(request, "uri_params", None) or {}).items()
                         if len(str(value)) > MAX_PATH_PARAMETER), None)
        if too_long is not None:
            response = json_response(error_body("not_found", "No such resource.", rid), 404)
        elif request is not None and takes_idempotency_key(request) and "idempotency-key" in request.headers:
            response = _idempotent(request, get_response, rid)
        else:
            response = get_response(request)
        response = finish(response, rid)
        route = getattr(request, "path", None)
        if route in CORS_ROUTES and getattr(request, "method", "") in ("GET", "HEAD"):
            response.headers.update(CORS_HEADERS)
        if route in VARY_ACCEPT:
            response.headers["Vary"] = "Accept"
        return response
    finally:
        logs.REQUEST_ID.reset(token)


def takes_idempotency_key(request: Any) -> bool:
    path = str(getattr(request, "path", ""))
    return getattr(request, "method", "") == "POST" and path.startswith("/v1/") and path not in NOT_IDEMPOTENT


def _idempotent(request: Request, get_response: Callable[[Any], Response], rid: str) -> Response:
    """An unsafe call with an Idempotency-Key: run once; a retry with the same key and body gets the first answer
    again, the same key with another body a 422, and a retry while the first still runs a 409.

    The key is scoped to the authenticated caller (so no one else can read an answer back with a guessed key, and a
    refreshed token keeps its keys), to the route and its path parameters."""
    records = container().idempotency
    key = request.headers.get("idempotency-key") or ""
    if not (key.isascii() and key.isprintable() and 1 <= len(key) <= 128):
        return error_response(ValidationError("Expected 1 to 128 printable ASCII characters.",
                                              field="Idempotency-Key", code="invalid_header"), rid)
    if records is None:
        return get_response(request)
    headers = request.headers
    scope = "\n".join((_caller(request), request.path, json.dumps(request.uri_params or {}, sort_keys=True), key))
    scoped = "http#" + hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()
    raw = request.raw_body or b""
    fingerprint = hashlib.sha256((headers.get("content-type") or "").encode() + b"\n"
                                 + (raw if isinstance(raw, bytes) else raw.encode())).hexdigest()
    try:
        earlier = records.claim(scoped, fingerprint, rid)
    except DomainError as error:
        return error_response(error, rid)
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            return error_response(ValidationError(
                "This Idempotency-Key was used with another request body: use a new key for a new request.",
                field="Idempotency-Key", code="idempotency_key_reused"), rid)
        if earlier.response is None:
            conflict = DomainError("A request with this Idempotency-Key is still being served; retry shortly.",
                                   code="request_in_progress")
            conflict.status = 409
            conflict.headers = {"Retry-After": "1"}  # type: ignore[attr-defined]
            return error_response(conflict, rid)
        kept = json.loads(earlier.response)
        return Response(body=kept["body"], status_code=kept["status"],
                        headers={**kept["headers"], "Idempotent-Replayed": "true"})
    response = get_response(request)
    body = response.body
    kept_text = None
    # A 5xx or a 429 is not the request's answer but a "not now": the retry that Retry-After invites must run.
    if response.status_code < 500 and response.status_code != 429 and isinstance(body, (str, dict, list)):
        kept_text = json.dumps({"status": response.status_code,
                                "body": body if isinstance(body, str) else json.dumps(body),
                                "headers": {k: v for k, v in response.headers.items() if isinstance(v, str)}})
    try:
        if kept_text is not None and len(kept_text) <= MAX_REPLAYED_RESPONSE:
            records.answer(scoped, kept_text)
        else:
            records.release(scoped)
    except DomainError:
        log.warning("idempotency record not saved", extra={"request_id": rid})
    return response


def _caller(request: Request) -> str:
    """Who calls, for scoping its Idempotency-Keys: a channel's end user, an operator's subject, or (a credential
    that does not authenticate: the view will refuse it) a hash of what was sent."""
    headers = request.headers
    try:
        token = _bearer(request)
        channel = channel_of_key(token)
        if channel is not None:
            return f"channel:{channel}:{headers.get('x-channel-user') or ''}"
        if request.path.startswith("/v1/partner/"):
            return f"partner:{container().partners.verify(token).client_id}"
        return f"operator:{operator(request).subject}"
    except DomainError:
        sent = (headers.get("authorization") or "") + "\n" + (headers.get("x-channel-user") or "")
        return "unauthenticated:" + hashlib.sha256(sent.encode("utf-8", "surrogatepass")).hexdigest()


def finish(response: Response, rid: str) -> Response:
    headers = response.headers
    body = response.body
    if isinstance(body, dict) and "Code" in body and "error" not in body:
        # Raised by the framework before (or around) a view: 405, 415, a binary answer without its Accept, 500.
        status, code, field, message = _FRAMEWORK_ERRORS.get(
            str(body.get("Code")), (response.status_code, "bad_request", None, str(body.get("Message", ""))))
        if status >= 500:
            log.error("framework error", extra={"request_id": rid, "code": body.get("Code")})
        response = json_response(error_body(code, message, rid, field), status,
                                 headers={k: v for k, v in headers.items()
                                          if k.lower() not in ("content-type", "content-length")})
        headers = response.headers
        if status == 406:
            headers.pop("Allow", None)
    # A view's own bodies stay as they are, whatever the status: the verification's 404 is its verdict
    # ({"status": "unknown"}), /health's 503 names the component that is down.
    lowered = {k.lower() for k in headers}
    for name, value in _standard_headers(response.status_code, None).items():
        if name.lower() not in lowered:
            headers[name] = value
    headers["X-Request-Id"] = rid
    return response


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


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (checked before parsing: the parser recurses)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def sends_json(request: Request) -> bool:
    """Whether the body is JSON (routes that also take a file body: a CSV, a PDF, a photo)."""
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower() == "application/json"


def json_body(request: Request, *, required: bool = True) -> Any:
    raw = request.raw_body or b""
    limit = container().settings.max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    if not raw.strip():
        if required:
            raise InvalidRequestBody("Expected a JSON body.", code="missing_body")
        return {}
    if json_depth_exceeds(raw):
        raise InvalidRequestBody(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.", code="too_deep")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequestBody("The body is not valid JSON.", code="invalid_json") from None


def csv_text(raw: bytes, *, field: str = "file") -> str:
    """A CSV upload as text: UTF-8 (a byte-order mark is dropped), or a clear error naming what to fix."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"The file is not UTF-8 text (byte {error.start + 1} is not): save it as CSV UTF-8.",
                              code="not_utf8", field=field) from None


def header_text(request: Request, name: str, *, max_length: int = 256) -> str | None:
    """A header's value when it is printable ASCII of at most ``max_length``; otherwise a 400 naming it."""
    value = request.headers.get(name.lower())
    if value is None:
        return None
    if not value.isascii() or not value.isprintable() or not 1 <= len(value) <= max_length:
        raise ValidationError(f"Expected 1 to {max_length} printable ASCII characters.", field=name,
                              code="invalid_header")
    return value


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Expected an Authorization: Bearer header.")
    if not token.isascii() or len(token) > 8192:
        raise Unauthenticated("The token is not valid.", code="invalid_token")
    return token.strip()


def channel_of_key(token: str) -> str | None:
    """The channel a key belongs to: its current key, or the previous one while a rotation is under way. A key
    this function does not know may be one a rotation just made: the secrets are read again (rate-limited)."""
    found = _channel_of_key(token)
    if found is None and container().reload_secrets():
        found = _channel_of_key(token)
    return found


def _channel_of_key(token: str) -> str | None:
    settings = container().settings
    candidates = [*settings.channel_keys.items(), *settings.previous_channel_keys.items()]
    # Every key is compared (no early exit): the time taken says nothing about which one was close.
    found = [name for name, key in candidates if hmac.compare_digest(token.encode(), key.encode())]
    return found[0] if found else None


def channel_user(request: Request) -> str:
    """The authenticated channel's end user, e.g. "telegram:12345"; the key decides which channel."""
    token = _bearer(request)
    channel = channel_of_key(token)
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
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not low <= int(raw) <= high:
        raise ValidationError(f"Expected a whole number from {low} to {high}.", field=name)
    return int(raw)

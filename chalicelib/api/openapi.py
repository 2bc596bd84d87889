"""The OpenAPI 3.1 document of every route, generated from the app's own route table and request/response models
(chalicelib/api/models.py), served at /openapi.json; and a short human page of it at /docs."""

from __future__ import annotations

import html
import re
from typing import Any

from pydantic import BaseModel

from . import models
from .http import NOT_IDEMPOTENT

# Request bodies validated with a model (the route calls models.parse with it) and answers described by one.
REQUEST_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/certificate-requests"): models.CertificateRequestCreate,
    ("POST", "/v1/verify"): models.QrCheck,
    ("POST", "/v1/partner/certificate-requests"): models.PartnerRequestCreate,
    ("POST", "/v1/partner/certificate-request-batches"): models.PartnerBatchCreate,
}
RESPONSE_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("GET", "/v/{document_id}"): models.Verification,
    ("GET", "/.well-known/jwks.json"): models.Jwks,
    ("POST", "/oauth2/token"): models.PartnerToken,
}
# The lists read a page at a time: ?limit= (the default, the most) and ?cursor=; they answer a Page.
PAGED: dict[str, tuple[int, int]] = {
    "/v1/certificate-requests": (10, 100), "/v1/admin/review-queue": (50, 200), "/v1/admin/audit": (200, 1000),
    "/v1/admin/partner-callbacks/dead": (50, 200), "/v1/admin/refunds": (100, 500), "/v1/court/measures": (50, 200),
    "/v1/cvp/districts/{district}/officers": (50, 200), "/v1/cvp/districts/{district}/enrolments": (50, 200),
    "/v1/cvp/districts/{district}/open-incidents": (100, 200), "/v1/cvp/districts/{district}/incidents": (100, 200),
    "/v1/cvp/districts/{district}/callbacks": (50, 200),
    "/v1/cvp/districts/{district}/unmatched-enrolments": (50, 200), "/v1/officer/enrolments": (50, 200),
    "/v1/officer/callbacks": (50, 200), "/v1/officer/reviews": (50, 200),
}
CHANNEL = re.compile(r"^/v1/(certificate-requests|control)(/|$)")
OPERATOR = re.compile(r"^/v1/(admin|court|cvp|officer|indicators)(/|$)")
WEBHOOK = re.compile(r"^/v1/webhooks/")
PARTNER = re.compile(r"^/v1/partner/")
BINARY = {"application/pdf", "image/jpeg", "image/png", "video/mp4", "application/octet-stream"}
# The errors every route may answer, and those of each kind of caller (the codes are in each error's `code`).
ERRORS_COMMON = {"404": "Not found (`not_found`, `route_not_found`).",
                 "405": "Method not allowed (`method_not_allowed`).",
                 "500": "Something failed on our side (`internal_error`); nothing was changed.",
                 "503": "A dependency is down (`database_unavailable`, `registry_unavailable`); see Retry-After."}
ERRORS_BODY = {"400": "The body cannot be read (`invalid_json`, `too_deep`, `missing_body`).",
               "409": "A conflict with the current state (`conflict`, `request_in_progress`).",
               "413": "The body is too large (`payload_too_large`).",
               "415": "This media type is not taken (`unsupported_media_type`).",
               "422": "A field, header or parameter is invalid; `field` names it (`invalid_field`, "
                      "`unknown_field`, `idempotency_key_reused`, `not_utf8`, ...)."}
ERRORS_QUOTA = {"429": "The partner's quota is used up (`quota_exceeded`); see Retry-After."}
ERRORS_AUTH = {"401": "No or an invalid credential (`unauthenticated`, `invalid_token`, `invalid_channel_key`); "
                      "see WWW-Authenticate.",
               "403": "Authenticated but not allowed (`missing_role`, `out_of_scope`, `csrf`)."}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _body_schema(content_type: str, model: type[BaseModel] | None, components: dict[str, Any]) -> dict[str, Any]:
    if content_type == "application/json":
        return _schema(model, components) if model else {"type": "object"}
    if content_type == "multipart/form-data":
        return {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
    if content_type == "application/x-www-form-urlencoded":
        return {"type": "object", "additionalProperties": {"type": "string"}}
    return {"type": "string", "format": "binary"} if content_type in BINARY else {"type": "string"}


def _security(path: str) -> list[dict[str, list[str]]] | None:
    if CHANNEL.match(path):
        return [{"channelKey": []}]
    if OPERATOR.match(path):
        return [{"operatorToken": []}]
    if PARTNER.match(path):
        scope = "certificates/request" if path.endswith(("requests", "batches")) else "certificates/read"
        return [{"partnerClientCredentials": [scope]}]
    return None


def _operation(method: str, path: str, entry: Any, components: dict[str, Any]) -> dict[str, Any]:
    doc = (entry.view_function.__doc__ or "").strip()
    summary = doc.split("\n\n")[0].replace("\n", " ") if doc else entry.view_name.replace("_", " ").capitalize()
    operation_id = method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_")
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary[:300], "tags": [_tag(path)]}
    if doc and "\n\n" in doc:
        operation["description"] = doc.split("\n\n", 1)[1]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in entry.view_args]
    if CHANNEL.match(path):
        parameters.append({"name": "X-Channel-User", "in": "header", "required": True,
                           "description": "The channel's end user, e.g. `telegram:12345`.",
                           "schema": {"type": "string", "pattern": "^[a-z]{2,20}:[A-Za-z0-9_-]{1,64}$"}})
    if WEBHOOK.match(path):
        parameters.append({"name": "X-Signature", "in": "header", "required": True,
                           "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.\" + body>`.",
                           "schema": {"type": "string"}})
    if method == "POST" and path.startswith("/v1/") and path not in NOT_IDEMPOTENT:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": bool(PARTNER.match(path)),
                           "description": "1 to 128 printable ASCII characters; a retry with the same key and body "
                                          "gets the first answer again (`Idempotent-Replayed: true`), another body "
                                          "a 422.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 128}})
    if path == "/v/{document_id}":
        parameters.append({"name": "Accept", "in": "header", "required": False,
                           "description": "`application/json` for the verdict as JSON; otherwise an HTML page.",
                           "schema": {"type": "string", "enum": ["application/json", "text/html"]}})
    paged = PAGED.get(path) if method == "GET" else None
    if paged is not None:
        parameters += [
            {"name": "limit", "in": "query", "required": False,
             "description": f"Items on a page: 1 to {paged[1]} (default {paged[0]}); outside, a 422 naming `limit`.",
             "schema": {"type": "integer", "minimum": 1, "maximum": paged[1], "default": paged[0]}},
            {"name": "cursor", "in": "query", "required": False,
             "description": "The `next_cursor` of the previous page; one of another list, district, officer or "
                            "court, or altered, is a 422 `invalid_cursor` naming `cursor`.",
             "schema": {"type": "string", "maxLength": 1024}}]
    if parameters:
        operation["parameters"] = parameters
    if method in ("POST", "PUT", "PATCH"):
        model = REQUEST_MODELS.get((method, path))
        types = entry.content_types or ["application/json"]
        operation["requestBody"] = {"required": False, "content": {
            t: {"schema": _body_schema(t, model if t == "application/json" else None, components)} for t in types}}
    answer = RESPONSE_MODELS.get((method, path)) or (models.Page if paged is not None else None)
    success: dict[str, Any] = {"description": "Done."}
    if answer is not None:
        success["content"] = {"application/json": {"schema": _schema(answer, components)}}
    responses: dict[str, Any] = {"200": success}
    if method == "POST":
        responses["201"] = {**success, "description": "Created; the Location header names it."}
    errors = {**ERRORS_COMMON, **(ERRORS_BODY if method in ("POST", "PUT", "PATCH") else
                                  {"422": "A parameter is invalid; `field` names it."})}
    if _security(path) or path.startswith("/console") or WEBHOOK.match(path) or path == "/oauth2/token":
        errors.update(ERRORS_AUTH)
    if PARTNER.match(path):
        errors.update(ERRORS_QUOTA)
    for code, text in sorted(errors.items()):
        responses[code] = {"$ref": f"#/components/responses/E{code}"}
        components.setdefault("_responses", {})[f"E{code}"] = text
    if answer is not None and path == "/v/{document_id}":
        # An unknown document is a verdict too: {"status": "unknown"}, with 404.
        responses["404"] = {"description": "No such document: the verdict `unknown` (or, for a malformed request, "
                                           "an error).", "content": {"application/json": {"schema": {"oneOf": [
                                               _schema(answer, components), _schema(models.ErrorResponse,
                                                                                    components)]}}}}
    if path == "/health":
        responses["503"] = {"description": "A component is down: each component's state, as on a 200.",
                            "content": {"application/json": {"schema": {"type": "object"}}}}
    operation["responses"] = responses
    if (security := _security(path)) is not None:
        operation["security"] = security
    return operation


def _tag(path: str) -> str:
    if path.startswith("/console"):
        return "console (HTML)"
    if CHANNEL.match(path):
        return "channels"
    if OPERATOR.match(path):
        return "operators"
    if WEBHOOK.match(path):
        return "providers"
    if PARTNER.match(path) or path == "/oauth2/token":
        return "partners"
    return "public"


def build_document(app: Any, server_url: str = "/") -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, entry, components)
    texts = components.pop("_responses")
    error_ref = _schema(models.ErrorResponse, components)
    headers = {"X-Request-Id": {"description": "This request's id (also in the error body and the logs).",
                                "schema": {"type": "string"}}}
    responses = {name: {"description": text, "headers": headers,
                        "content": {"application/json": {"schema": error_ref}}} for name, text in texts.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Antecedentes: certificates and virtual penal control", "version": "1",
                 "description": "Every error has one shape (`ErrorResponse`) and every answer an `X-Request-Id`. "
                                "The QR format is specified in docs/qr-format.md."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components, "responses": responses,
            "securitySchemes": {
                "channelKey": {"type": "http", "scheme": "bearer",
                               "description": "A channel's key (the Telegram bot's); with X-Channel-User. In the "
                                              "cloud, API Gateway also asks for the channel's API key in "
                                              "X-API-Key (its usage plan); the local stack does not."},
                "operatorToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                  "description": "An operator's access token (Cognito; the local issuer locally)."},
                "partnerClientCredentials": {
                    "type": "oauth2", "description": "A partner's access token (OAuth2 client credentials). In "
                                                      "the cloud, API Gateway also asks for the partner's API key "
                                                      "in X-API-Key (its usage plan); the local stack does not.",
                    "flows": {"clientCredentials": {"tokenUrl": "/oauth2/token", "scopes": {
                        "certificates/request": "Submit certificate requests (one or a batch).",
                        "certificates/read": "Read the partner's own requests and their PDFs."}}}},
            },
        },
    }


def render_page(document: dict[str, Any]) -> str:
    """A short human page of the document: each route, what it does, who may call it and what it may answer."""
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            who = ", ".join(name for entry in operation.get("security", []) for name in entry) or "public"
            errors = " ".join(code for code in operation["responses"] if code.startswith(("4", "5")))
            rows.append(f"<tr><td><code>{method.upper()} {html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation['summary'])}</td><td>{who}</td><td>{errors}</td></tr>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>API</title></head><body>"
            f"<h1>{html.escape(document['info']['title'])}</h1><p>{html.escape(document['info']['description'])} "
            "The machine-readable document: <a href=\"openapi.json\">openapi.json</a>.</p>"
            "<table><thead><tr><th>route</th><th>what it does</th><th>credential</th><th>errors</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></body></html>")

"""The partner API (Migraciones first): OAuth2 client credentials at /oauth2/token (the local issuer; Cognito's
token endpoint in the cloud), certificate requests for the foreigners a partner identified, one at a time or in
batches, their status and their signed PDF. Every action is audited with the partner's client id as the actor."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.errors import DomainError, FieldErrors, Forbidden, PayloadTooLarge, Unauthenticated, ValidationError
from ..domain.operators import Role
from ..domain.partners import SCOPE_READ, SCOPE_REQUEST, PartnerCaller
from ..services import partner_requests as service
from .http import _bearer, handled, header_text, json_body, json_response
from .views import request_view

bp = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def partner(request: Any, scope: str) -> PartnerCaller:
    """The calling partner, whose token must carry ``scope`` (403 ``insufficient_scope`` otherwise), within its
    quota (429 ``quota_exceeded`` with Retry-After otherwise)."""
    caller: PartnerCaller = container().partners.verify(_bearer(request))
    if scope not in caller.scopes:
        error = Forbidden(f"This call needs the scope {scope}.", code="insufficient_scope")
        error.headers = {"WWW-Authenticate": f'Bearer realm="antecedentes", error="insufficient_scope", '  # type: ignore[attr-defined]
                                             f'scope="{scope}"'}
        raise error
    c = container()
    c.partner_quota.take(c.partners.partners[caller.client_id], c.clock.now())
    return caller


def _client_credentials(request: Any, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Unauthenticated("Unknown client or wrong secret.", code="invalid_client") from None
        if sep:
            return client_id, secret
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    raise Unauthenticated("Give the client id and secret (HTTP Basic, or client_id and client_secret).",
                          code="invalid_client")


@bp.route("/oauth2/token", methods=["POST"], content_types=[FORM])
@handled(_request)
def token():  # type: ignore[no-untyped-def]
    """A partner's access token (OAuth2 client credentials).

    `grant_type=client_credentials`, optional `scope` (space-separated, e.g. `certificates/request
    certificates/read`); the client authenticates with HTTP Basic or `client_id` and `client_secret`."""
    request, c = bp.current_request, container()
    raw = request.raw_body or b""
    if len(raw) > 4096:
        raise PayloadTooLarge("The body is larger than 4096 bytes.")
    try:
        form = dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise ValidationError("Expected a form of ASCII text.", field="body", code="invalid_form") from None
    if form.get("grant_type") != "client_credentials":
        raise ValidationError('Expected grant_type "client_credentials".', field="grant_type",
                              code="unsupported_grant_type")
    client_id, secret = _client_credentials(request, form)
    found = c.partners.authenticate(client_id, secret)
    scopes = form["scope"].split() if form.get("scope") else None
    issued = c.partners.issue(found, scopes)
    granted = sorted(set(scopes) if scopes else found.scopes)
    service.audit_read(c.audit, found.client_id, c.clock.now(), "partner.token_issued", found.client_id)
    return json_response({"access_token": issued, "token_type": "Bearer",
                          "expires_in": c.settings.partner_token_ttl_seconds, "scope": " ".join(granted)})


def _key(request: Any) -> str:
    key = header_text(request, "Idempotency-Key", max_length=128)
    if key is None:
        raise ValidationError("An Idempotency-Key is required: a retry with the same key makes nothing twice.",
                              field="Idempotency-Key", code="missing_idempotency_key")
    return key


def _view(found: Any, c: Any) -> dict[str, Any]:
    return {**request_view(found, c), "partner_reference": found.partner_reference}


@bp.route("/v1/partner/certificate-requests", methods=["POST"], api_key_required=True)
@handled(_request)
def create_partner_request():  # type: ignore[no-untyped-def]
    """A certificate request for a foreigner the partner identified (its identification is the identity proof).

    Payment follows the partner's agreement: waived (the record check starts at once) or a normal payment
    order. Idempotency-Key is required."""
    request, c = bp.current_request, container()
    caller = partner(request, SCOPE_REQUEST)
    key = _key(request)
    from .models import PartnerRequestCreate, parse

    body = json_body(request)
    parse(PartnerRequestCreate, body)
    item = service.validate_item(body, service.today(c.clock))
    found = c.partners.partners[caller.client_id]
    created, is_new = service.create(item, partner=found, key=key, store=c.store, clock=c.clock, rules=c.rules,
                                     audit=c.audit)
    return json_response(_view(created, c), 201 if is_new else 200,
                         location=f"/v1/partner/certificate-requests/{created.request_id}")


@bp.route("/v1/partner/certificate-request-batches", methods=["POST"], api_key_required=True)
@handled(_request)
def create_partner_batch():  # type: ignore[no-untyped-def]
    """Up to 50 requests at once, all or nothing: every item is checked before any is made; each counts against
    the partner's quota.

    `{"items": [<a request's body>, ...]}`; the answer's `items` follow the same positions. An invalid batch is a
    422 whose `details.items` name each faulty position and field. Idempotency-Key is required."""
    request, c = bp.current_request, container()
    caller = partner(request, SCOPE_REQUEST)
    key = _key(request)
    from .models import PartnerBatchCreate, parse

    body = json_body(request)
    parse(PartnerBatchCreate, body)
    items = body["items"]
    if not 1 <= len(items) <= service.MAX_BATCH:
        raise ValidationError(f"Expected 1 to {service.MAX_BATCH} items.", field="items", code="batch_size")
    today = service.today(c.clock)
    checked, faults = [], []
    for index, raw in enumerate(items):
        try:
            checked.append(service.validate_item(raw, today))
        except DomainError as error:
            each = error.errors if isinstance(error, FieldErrors) else [error]
            faults.extend({"index": index, **e.to_dict()} for e in each)
    if faults:
        first = faults[0]
        raise ValidationError(f"Item {first['index']}: {first['message']} Nothing was created.",
                              field=f"items[{first['index']}].{first.get('field', '')}".rstrip("."),
                              code="invalid_batch", details={"items": faults})
    found = c.partners.partners[caller.client_id]
    if len(checked) > 1:  # each request of the batch counts against the quota (the call itself took one)
        c.partner_quota.take(found, c.clock.now(), calls=len(checked) - 1, taken=1)
    answers = []
    for index, item in enumerate(checked):
        created, is_new = service.create(item, partner=found, key=f"{key}#{index}", store=c.store, clock=c.clock,
                                         rules=c.rules, audit=c.audit, batch=key)
        answers.append({"index": index, "created": is_new, "request": _view(created, c)})
    return json_response({"items": answers}, 201 if any(a["created"] for a in answers) else 200)


@bp.route("/v1/partner/certificate-requests/{request_id}", methods=["GET"], api_key_required=True)
@handled(_request)
def get_partner_request(request_id):  # type: ignore[no-untyped-def]
    """One of the partner's own requests (another partner's is not found)."""
    c = container()
    caller = partner(bp.current_request, SCOPE_READ)
    found = service.owned(request_id, client_id=caller.client_id, store=c.store)
    service.audit_read(c.audit, caller.client_id, c.clock.now(), "partner.request_read", request_id)
    return json_response(_view(found, c))


@bp.route("/v1/partner/certificate-requests/{request_id}/pdf", methods=["GET"], api_key_required=True)
@handled(_request)
def get_partner_pdf(request_id):  # type: ignore[no-untyped-def]
    """The signed certificate of one of the partner's own requests, once issued."""
    from ..services.documents import document_pdf

    c = container()
    caller = partner(bp.current_request, SCOPE_READ)
    pdf = document_pdf(request_id, owner=f"partner:{caller.client_id}", store=c.store, storage=c.storage)
    service.audit_read(c.audit, caller.client_id, c.clock.now(), "partner.document_fetched", request_id)
    return Response(body=pdf, status_code=200,
                    headers={"Content-Type": "application/pdf", "Cache-Control": "no-store",
                             "Content-Disposition": "attachment; filename=certificado.pdf"})


# --- the dead-letter list of partner callbacks (administrators) -------------------------------------------------

@bp.route("/v1/admin/partner-callbacks/dead", methods=["GET"])
@handled(_request)
def dead_callbacks():  # type: ignore[no-untyped-def]
    """Partner callbacks that failed every try, a page of ?limit= (50) at a time (`next_cursor` back as ?cursor=)."""
    from ..services.partner_callbacks import dead_view
    from .cursors import page_answer, page_request
    from .http import operator

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    letters, last = c.dead_callbacks.page(*page_request(request, "partner-callbacks:dead", 50, 200))
    return json_response(page_answer([dead_view(letter) for letter in letters], "partner-callbacks:dead", last))


@bp.route("/v1/admin/partner-callbacks/dead/{event_id}/resend", methods=["POST"])
@handled(_request)
def resend_dead_callback(event_id):  # type: ignore[no-untyped-def]
    """Send a dead callback again (once, to the partner's current URL, signed anew); delivered: off the list."""
    from ..domain.errors import NotFound, ServiceUnavailable
    from ..domain.ports import AuditEntry
    from ..services.partner_callbacks import post_once
    from .http import operator

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    letter = c.dead_callbacks.get(event_id)
    partner = c.partners.partners.get(letter.client_id) if letter else None
    if letter is None:
        raise NotFound("No such dead callback.")
    if partner is None or not partner.callback_url or not partner.callback_secret:
        raise ServiceUnavailable("This partner has no callback URL configured now.", code="no_callback_url")
    failure = post_once(partner.callback_url, partner.callback_secret, letter.body.encode(), letter.event_id,
                        c.settings.partner_callback_timeout_seconds, partner.previous_callback_secret)
    c.audit.append(AuditEntry(at=c.clock.now(), actor=who.subject, role=",".join(sorted(who.roles)),
                              action="partner.callback_resent", target=letter.request_id,
                              details={"event_id": letter.event_id, "delivered": failure is None}))
    if failure is not None:
        raise ServiceUnavailable("The partner's callback URL did not accept it; it stays on the list.",
                                 code="callback_failed", details={"error": failure})
    c.dead_callbacks.remove(letter.event_id)
    return json_response({"event_id": letter.event_id, "delivered": True})

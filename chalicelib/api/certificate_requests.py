"""The channel API for citizens' certificate requests (the bot is its client)."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..bootstrap import container
from ..services import certificate_requests as service
from .cursors import page_answer, page_request
from .http import channel_user, handled, json_body, json_response
from .views import request_view, tracking_view

bp = Blueprint(__name__)


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


@bp.route("/v1/certificate-requests", methods=["POST"])
@handled(_request)
def create_request():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    owner = channel_user(request)
    from .models import CertificateRequestCreate, parse  # pydantic: loaded by the routes that use it

    body = json_body(request)
    parse(CertificateRequestCreate, body)  # its shape (the OpenAPI document's); the use case checks the rules
    created, is_new = service.create_request(body, owner=owner, store=c.store, clock=c.clock,
                                             idempotency_key=request.headers.get("idempotency-key"))
    return json_response(request_view(created, c), 201 if is_new else 200,
                         location=f"/v1/certificate-requests/{created.request_id}")


@bp.route("/v1/certificate-requests/validation", methods=["POST"])
@handled(_request)
def validate_fields():  # type: ignore[no-untyped-def]
    """Check the applicant fields given so far, so a chat can tell at once what is wrong in each."""
    from ..domain.identity import validate_applicant_fields
    from ..services.time import peru_today

    request, c = bp.current_request, container()
    channel_user(request)
    body = json_body(request)
    validate_applicant_fields(body.get("applicant") if isinstance(body, dict) else None, peru_today(c.clock.now()))
    return json_response({"valid": True})


@bp.route("/v1/certificate-requests", methods=["GET"])
@handled(_request)
def list_requests():  # type: ignore[no-untyped-def]
    """The caller's requests, newest first, a page of ?limit= (10) at a time: pass `next_cursor` back as ?cursor=."""
    request, c = bp.current_request, container()
    owner = channel_user(request)
    scope = f"own-requests:{owner}"
    found, last = c.store.page_of_owner(owner, *page_request(request, scope, 10, 100))
    return json_response(page_answer([request_view(r, c) for r in found], scope, last))


@bp.route("/v1/certificate-requests/{request_id}", methods=["GET"])
@handled(_request)
def get_request(request_id):  # type: ignore[no-untyped-def]
    c = container()
    owner = channel_user(bp.current_request)
    return json_response(request_view(service.get_request(request_id, owner=owner, store=c.store), c))


@bp.route("/v1/certificate-requests/{request_id}/identity", methods=["POST"])
@handled(_request)
def confirm_identity(request_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    owner = channel_user(request)
    updated = service.confirm_identity(request_id, json_body(request), owner=owner, store=c.store,
                                       identity=c.identity, provider=c.provider, clock=c.clock, rules=c.rules)
    return json_response(request_view(updated, c))


@bp.route("/v1/certificate-requests/{request_id}/voucher", methods=["POST"])
@handled(_request)
def submit_voucher(request_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    owner = channel_user(request)
    updated = service.submit_voucher(request_id, json_body(request), owner=owner, store=c.store,
                                     provider=c.provider, clock=c.clock)
    return json_response(request_view(updated, c))


@bp.route("/v1/certificate-requests/{request_id}/cancel", methods=["POST"])
@handled(_request)
def cancel_request(request_id):  # type: ignore[no-untyped-def]
    c = container()
    owner = channel_user(bp.current_request)
    return json_response(request_view(service.cancel_request(request_id, owner=owner, store=c.store,
                                                             clock=c.clock), c))


@bp.route("/v1/certificate-requests/{request_id}/document", methods=["GET"])
@handled(_request)
def get_document(request_id):  # type: ignore[no-untyped-def]
    from ..services.documents import document_pdf

    c = container()
    owner = channel_user(bp.current_request)
    pdf = document_pdf(request_id, owner=owner, store=c.store, storage=c.storage)
    return Response(body=pdf, status_code=200,
                     headers={"Content-Type": "application/pdf", "Cache-Control": "no-store",
                              "Content-Disposition": "attachment; filename=certificado.pdf"})


@bp.route("/v1/certificate-requests/{request_id}/replacement", methods=["POST"])
@handled(_request)
def request_replacement(request_id):  # type: ignore[no-untyped-def]
    """A free new certificate for one revoked because of INPE's error (201 new, 200 the one made before)."""
    from ..services.revocation import request_replacement as replace_certificate

    request, c = bp.current_request, container()
    owner = channel_user(request)
    body = json_body(request, required=False)
    language = body.get("language") if isinstance(body, dict) else None
    created, is_new = replace_certificate(request_id, owner=owner, store=c.store, identity=c.identity,
                                          clock=c.clock, language=language)
    return json_response(request_view(created, c), 201 if is_new else 200,
                         location=f"/v1/certificate-requests/{created.request_id}")


@bp.route("/track/{request_id}", methods=["GET"])
@handled(_request)
def track(request_id):  # type: ignore[no-untyped-def]
    """The tracking link of the e-mails: the request's number and status, no personal data (HTML or JSON)."""
    from ..domain.errors import NotFound
    from .tracking import render_tracking

    request, c = bp.current_request, container()
    found = c.store.get_request(request_id) if 16 <= len(request_id) <= 64 else None
    if found is None:
        raise NotFound("No such request.")
    view = tracking_view(found, c)
    accept = (request.headers.get("accept") or "").lower()
    if "application/json" in accept and "text/html" not in accept:
        return json_response(view)
    return Response(body=render_tracking(view), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                             "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

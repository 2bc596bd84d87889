"""Operator endpoints: the review queue and decisions, the audit log, registry imports."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint

from ..bootstrap import container
from ..domain.errors import ValidationError
from ..domain.operators import Role
from ..services import registries, review
from .cursors import decode_cursor, encode_cursor
from .http import csv_text, handled, json_body, json_response, operator, query_int
from .views import case_view, queue_item_view

bp = Blueprint(__name__)


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


@bp.route("/v1/admin/review-queue", methods=["GET"])
@handled(_request)
def review_queue():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.REVIEWER)
    limit = query_int(request, "limit", 50, 1, 200)
    queue, following = review.review_queue(store=c.store, audit=c.audit, clock=c.clock, operator=who, limit=limit,
                                           after=decode_cursor(request, "review-queue"))
    return json_response({"items": [queue_item_view(r) for r in queue],
                          "next_cursor": encode_cursor("review-queue", following) if following else None})


@bp.route("/v1/admin/review-queue/{request_id}", methods=["GET"])
@handled(_request)
def open_case(request_id):  # type: ignore[no-untyped-def]
    c = container()
    who = operator(bp.current_request)
    who.require(Role.REVIEWER)
    case = review.open_case(request_id, store=c.store, audit=c.audit, clock=c.clock, operator=who)
    return json_response(case_view(case))


@bp.route("/v1/admin/review-queue/{request_id}/candidates/{record_id}", methods=["POST"])
@handled(_request)
def decide(request_id, record_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.REVIEWER)
    updated = review.decide(request_id, record_id, json_body(request), store=c.store, clock=c.clock,
                            operator=who)
    return json_response(case_view(updated))


@bp.route("/v1/admin/audit", methods=["GET"])
@handled(_request)
def audit_log():  # type: ignore[no-untyped-def]
    """?day=YYYY-MM-DD (one UTC day, a page of &limit= at a time: pass `next_cursor` back as &cursor=),
    or a search: ?operator= &person= (document number) &record=
    &from= &to= (Peru days, at most 31) &reads=1 (reads of person-level data only)."""
    from ..services.audit_search import parse_query, search_audit
    from ..services.control.common import peru_today

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.AUDITOR, Role.ADMIN)
    params = dict(request.query_params or {})
    if not set(params) & {"operator", "person", "record", "from", "to", "reads"}:
        raw_day = params.get("day") or c.clock.now().date().isoformat()
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise ValidationError("Expected a date as YYYY-MM-DD.", field="day") from None
        scope = f"audit:{day.isoformat()}"
        entries, last = c.audit.page_for_day(day, query_int(request, "limit", 200, 1, 1000),
                                             decode_cursor(request, scope))
        following = encode_cursor(scope, last) if last else None
    else:
        entries = search_audit(parse_query(params, peru_today(c.clock.now())), operator=who, audit=c.audit,
                               measures=c.control.measures, clock=c.clock)
        following = None
    return json_response({"items": [
        {"at": e.at.isoformat(), "actor": e.actor, "role": e.role, "action": e.action, "target": e.target,
         "details": e.details} for e in entries], "next_cursor": following})


@bp.route("/v1/admin/registries/{registry}/jobs", methods=["POST"],
          content_types=["text/csv", "application/octet-stream"])
@handled(_request)
def submit_import_job(registry):  # type: ignore[no-untyped-def]
    """A large CSV import as a job: 202 at once with the job; GET /v1/admin/jobs/{id} follows its progress."""
    from ..services import jobs

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    csv_text(request.raw_body or b"")  # checked before it is kept: a file that is not UTF-8 is refused now
    job = jobs.submit_import(registry, request.raw_body or b"", f"{registry}.csv", operator=who, jobs=c.jobs,
                             storage=c.storage, importers=c.importers(), audit=c.audit, clock=c.clock)
    return json_response(jobs.job_view(job), 202, location=f"/v1/admin/jobs/{job.job_id}")


@bp.route("/v1/admin/jobs/{job_id}", methods=["GET"])
@handled(_request)
def get_import_job(job_id):  # type: ignore[no-untyped-def]
    from ..services import jobs

    who = operator(bp.current_request)
    who.require(Role.ADMIN)
    return json_response(jobs.job_view(jobs.get_job(job_id, jobs=container().jobs)))


@bp.route("/v1/admin/registries/{registry}/import", methods=["POST"],
          content_types=["text/csv", "application/octet-stream"])
@handled(_request)
def import_registry(registry):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    report = registries.import_now(registry, request.raw_body or b"", c.importers())
    c.audit.append(registries.audit_entry(who, registry, report, c.clock.now()))
    return json_response(report)


@bp.route("/v1/admin/registries/{registry}/import", methods=["GET"])
@handled(_request)
def import_help(registry):  # type: ignore[no-untyped-def]
    operator(bp.current_request).require(Role.ADMIN)
    return json_response({"registry": registry, "columns": registries.columns(registry)})


@bp.route("/v1/admin/documents/{document_id}/revoke", methods=["POST"])
@handled(_request)
def revoke_document(document_id):  # type: ignore[no-untyped-def]
    from ..services.documents import revoke, verification_view

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.REVIEWER)
    revoked = revoke(document_id, json_body(request), operator=who, store=c.store, clock=c.clock)
    return json_response(verification_view(revoked, c.clock.now()))


@bp.route("/v1/admin/refunds", methods=["GET"])
@handled(_request)
def list_refunds():  # type: ignore[no-untyped-def]
    """Payments that could not be applied and are still owed or under way (admin: sends them; auditor: reads),
    a page of ?limit= (100, at most 500) at a time (`next_cursor` back as ?cursor=)."""
    from ..services.refunds import open_refunds, refund_view
    from .cursors import page_answer, page_request

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN, Role.AUDITOR)
    limit, after = page_request(request, "refunds", 100, 500)
    items, last = open_refunds(store=c.store, limit=limit, after=after)
    return json_response(page_answer([refund_view(p) for p in items], "refunds", last))


@bp.route("/v1/admin/refunds/{provider}/{payment_id}", methods=["POST"])
@handled(_request)
def send_refund(provider, payment_id):  # type: ignore[no-untyped-def]
    from ..services.refunds import refund_view
    from ..services.refunds import send_refund as send

    c = container()
    who = operator(bp.current_request)
    who.require(Role.ADMIN)
    payment = send(provider, payment_id, operator=who, store=c.store, provider=c.provider, clock=c.clock)
    return json_response(refund_view(payment))

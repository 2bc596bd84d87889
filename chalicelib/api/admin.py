"""Operator endpoints: the review queue and decisions, the audit log, registry imports."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.errors import NotFound, ValidationError
from ..domain.operators import Role
from ..services import registries, review
from .cursors import page_answer, page_request
from .http import csv_text, handled, json_body, json_response, operator, sends_json
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
    limit, after = page_request(request, "review-queue", 50, 200)
    queue, following = review.review_queue(store=c.store, audit=c.audit, clock=c.clock, operator=who, limit=limit,
                                           after=after)
    return json_response(page_answer([queue_item_view(r) for r in queue], "review-queue", following))


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
        limit, after = page_request(request, scope, 200, 1000)
        entries, last = c.audit.page_for_day(day, limit, after)
    else:
        scope, last = "audit:search", None  # a search answers whole
        entries = search_audit(parse_query(params, peru_today(c.clock.now())), operator=who, audit=c.audit,
                               measures=c.control.measures, clock=c.clock)
    return json_response(page_answer([
        {"at": e.at.isoformat(), "actor": e.actor, "role": e.role, "action": e.action, "target": e.target,
         "details": e.details} for e in entries], scope, last))


@bp.route("/v1/admin/registries/{registry}/jobs", methods=["POST"],
          content_types=["text/csv", "application/octet-stream", "application/json"])
@handled(_request)
def submit_import_job(registry):  # type: ignore[no-untyped-def]
    """A CSV import as a job: 202 at once with the job; GET /v1/admin/jobs/{id} follows its progress. The CSV is
    the body, or (JSON ``{"upload_id"}``) a file uploaded through POST /v1/admin/uploads' presigned upload."""
    from ..services import jobs

    request = bp.current_request
    if not sends_json(request):
        return submit_csv_job(request, registry)
    c = container()
    who = operator(request)
    who.require(Role.ADMIN)
    if registry not in registries.REGISTRIES:
        raise NotFound("Unknown registry; expected identity, penitentiary or warrants.")
    body = json_body(request)
    job = jobs.start_upload(registry, body.get("upload_id") if isinstance(body, dict) else None, operator=who,
                            jobs=c.jobs, storage=c.storage, audit=c.audit, clock=c.clock)
    return json_response(jobs.job_view(job), 202, location=f"/v1/admin/jobs/{job.job_id}")


@bp.route("/v1/admin/uploads", methods=["POST"])
@handled(_request)
def reserve_upload():  # type: ignore[no-untyped-def]
    """``{"registry", "file_name"}``: a presigned upload for the CSV (S3 in the cloud, this API locally), short-
    lived and for one file; then POST /v1/admin/registries/{registry}/jobs with ``{"upload_id"}`` starts the job."""
    from ..services import jobs

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    body = json_body(request)
    registry = body.get("registry") if isinstance(body, dict) else None
    if not isinstance(registry, str) or registry not in registries.REGISTRIES:
        raise ValidationError("Expected identity, penitentiary or warrants.", field="registry")
    file_name = body.get("file_name") if isinstance(body.get("file_name"), str) else ""
    job, ticket = jobs.reserve_upload(registry, file_name, operator=who, jobs=c.jobs, uploads=c.uploads(),
                                      importers=c.importers(), audit=c.audit, clock=c.clock)
    return reserved_upload(job, ticket, f"/v1/admin/registries/{registry}/jobs")


def reserved_upload(job, ticket, start: str):  # type: ignore[no-untyped-def]
    """Every presigned upload's answer (an administrator's or a court's): 201 with the upload, its limits and the
    route that starts the job on it."""
    from ..domain.jobs import MAX_BYTES
    from ..domain.uploads import UPLOAD_CONTENT_TYPE

    return json_response({"upload_id": job.job_id, "upload": ticket, "max_bytes": MAX_BYTES,
                          "content_type": UPLOAD_CONTENT_TYPE,
                          "expires_at": job.upload_expires_at.isoformat() if job.upload_expires_at else None,
                          "start": start}, 201)


@bp.route("/v1/uploads/{token}", methods=["POST"], content_types=["multipart/form-data"])
@handled(_request)
def local_upload(token):  # type: ignore[no-untyped-def]
    """The local stack's stand-in for S3's presigned POST: the signed token is the authority (key, content type,
    largest size, expiry), the form's ``Content-Type`` field must match it, the file is the ``file`` field. In the
    cloud the file goes to S3 and this route finds nothing."""
    from ..adapters.upload_links import SignedLocalUploads
    from ..console.web import parse_form
    from ..domain.errors import Forbidden, PayloadTooLarge

    c = container()
    uploads = c.uploads()
    allowed = uploads.verify(token) if isinstance(uploads, SignedLocalUploads) else None
    if not isinstance(uploads, SignedLocalUploads):
        raise NotFound("No such route.")
    if allowed is None:
        raise Forbidden("The upload link is not valid or has expired.", code="upload_refused")
    form = parse_form(bp.current_request)
    if form.get("Content-Type") != allowed.content_type:
        raise Forbidden("The upload's content type is not the one signed.", field="Content-Type",
                        code="upload_refused")
    upload = form.file("file")
    if upload is None or not upload[1]:
        raise ValidationError("Choose a CSV file.", field="file", code="missing_file")
    if len(upload[1]) > allowed.max_bytes:
        raise PayloadTooLarge(f"The file is larger than {allowed.max_bytes // (1024 * 1024)} MB.")
    c.storage.put(allowed.key, upload[1], allowed.content_type)
    return Response(body="", status_code=204)


def submit_csv_job(request, registry: str):  # type: ignore[no-untyped-def]
    """Every CSV import route's one way in (admin only): the file kept, the job queued, 202 and its Location."""
    from ..services import jobs

    c = container()
    who = operator(request)
    who.require(Role.ADMIN)
    if registry not in registries.REGISTRIES:
        raise NotFound("Unknown registry; expected identity, penitentiary or warrants.")
    data = request.raw_body or b""
    csv_text(data)  # checked before it is kept: a file that is not UTF-8 is refused now
    job = jobs.submit_import(registry, data, f"{registry}.csv", operator=who, jobs=c.jobs,
                             storage=c.storage, importers=c.importers(), audit=c.audit, clock=c.clock)
    return json_response(jobs.job_view(job), 202, location=f"/v1/admin/jobs/{job.job_id}")


@bp.route("/v1/admin/jobs/{job_id}", methods=["GET"])
@handled(_request)
def get_import_job(job_id):  # type: ignore[no-untyped-def]
    from ..services import jobs

    who = operator(bp.current_request)
    who.require(Role.ADMIN)
    return json_response(jobs.job_view(jobs.get_job(job_id, jobs=container().jobs)))


@bp.route("/v1/admin/jobs/{job_id}/discard", methods=["POST"])
@handled(_request)
def discard_job(job_id):  # type: ignore[no-untyped-def]
    """A stalled registry import (no progress for 15 minutes, not switched) ends failed and what it staged is
    removed; readers never saw it. 409 for a job running, switched or finished."""
    from ..services import jobs

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    job = jobs.get_job(job_id, jobs=c.jobs)
    if job.kind not in registries.REGISTRIES:
        raise NotFound("No such job.")  # a court's import is the court's to discard
    return json_response(jobs.job_view(jobs.discard_job(job_id, operator=who, jobs=c.jobs, storage=c.storage,
                                                        importers=c.importers(), audit=c.audit, clock=c.clock)))


@bp.route("/v1/admin/registries/{registry}/import", methods=["POST"],
          content_types=["text/csv", "application/octet-stream"])
@handled(_request)
def import_registry(registry):  # type: ignore[no-untyped-def]
    """The former synchronous import: now the same job (202 and the job's Location)."""
    return submit_csv_job(bp.current_request, registry)


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

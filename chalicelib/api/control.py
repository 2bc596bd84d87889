"""Virtual penal control over HTTP: the channel's enrolment and check-ins, and the court's measures."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from ..bootstrap import Container, container
from ..domain.control.calendar import window_view
from ..domain.control.enrolment import needs_photo
from ..domain.control.measures import Measure
from ..domain.control.people import superior_court
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.operators import Operator, Role
from ..services.control import calendar, checkins, enrolment, measures
from ..services.control.pipeline import checkin_view
from ..services.documents import verification_view
from .cursors import page_answer, page_request
from .http import channel_user, csv_text, handled, json_body, json_response, operator, sends_json

bp = Blueprint(__name__)
MEDIA = ["image/jpeg", "image/png", "video/mp4", "application/octet-stream", "application/json"]


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def measure_view(measure: Measure) -> dict[str, Any]:
    p = measure.person
    return {"measure_id": measure.measure_id, "status": measure.status, "superseded_by": measure.superseded_by,
            "previous_id": measure.previous_id, "chain_id": measure.chain_id,
            "case_file": measure.case_file, "court": measure.court, "court_code": measure.court_code,
            "district": measure.district, "legal_status": measure.legal_status,
            "periodicity_months": measure.periodicity_months, "start_date": measure.start_date.isoformat(),
            "end_date": measure.end_date.isoformat(),
            "first_registration_deadline": measure.first_registration_deadline.isoformat(),
            "group": measure.group, "group_changed": measure.group_changed, "area": measure.area_label,
            "enrolled": measure.linked_owner is not None,
            "person": {"full_name": p.full_name, "document_type": p.document_type,
                       "document_number": p.document_number},
            "authorisations": [{"district": a.district, "from": a.valid_from.isoformat(),
                                "to": a.valid_to.isoformat()} for a in measure.authorisations]}


def _raw(request) -> bytes:  # type: ignore[no-untyped-def]
    if sends_json(request):
        return checkins_photo(json_body(request))
    return request.raw_body or b""


def checkins_photo(body: Any) -> bytes:
    """Photos travel as raw bodies; JSON clients may send {"photo_base64": ...}."""
    import base64

    if isinstance(body, dict) and isinstance(body.get("photo_base64"), str):
        try:
            return base64.b64decode(body["photo_base64"], validate=True)
        except ValueError:
            raise ValidationError("Expected base64.", field="photo_base64") from None
    raise ValidationError("Expected the photo.", field="photo")


# --- channel (the bot) ------------------------------------------------------------------------------

@bp.route("/v1/control/enrolments", methods=["POST"])
@handled(_request)
def enrol():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    k = c.control
    done = enrolment.enrol(json_body(request), owner=channel_user(request), measures=k.measures,
                           enrolments=k.enrolments, calendars=k.calendars, uow=k.uow, clock=c.clock)
    measure = done.measure
    return json_response({"measure_id": measure.measure_id, "district": measure.district,
                          "name": measure.person.full_name, "court": superior_court(measure.district),
                          "status": done.enrolment.status, "first_window": window_view(done.first_window),
                          "needs_photo": needs_photo(measure.person),
                          "has_photo": done.enrolment.photo_key is not None,
                          "message": "annex2.d" if done.enrolment.active else "enrolment_pending"}, 201,
                         location="/v1/control/enrolment")


@bp.route("/v1/control/enrolment", methods=["GET"])
@handled(_request)
def my_enrolment():  # type: ignore[no-untyped-def]
    """The caller's enrolment (the Location of a new one): which measure it follows and where it stands."""
    request, c = bp.current_request, container()
    found = c.control.enrolments.get_enrolment(channel_user(request))
    if found is None or not found.linked:
        raise NotFound("You are not enrolled yet.")
    return json_response({"measure_id": found.measure_id, "status": found.status, "language": found.language,
                          "enrolled_at": found.enrolled_at.isoformat(), "has_photo": found.photo_key is not None})


@bp.route("/v1/control/enrolment/photo", methods=["POST"], content_types=MEDIA)
@handled(_request)
def enrolment_photo():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    enrolment.upload_enrolment_photo(_raw(request), owner=channel_user(request), enrolments=c.control.enrolments,
                                     storage=c.storage, uow=c.control.uow)
    return json_response({"has_photo": True})


@bp.route("/v1/control/check-ins", methods=["POST"])
@handled(_request)
def start_checkin():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    started = checkins.start_checkin(owner=channel_user(request), p=c.checkin_ports())
    return json_response({**checkin_view(started.checkin), "window_end": started.window.end.isoformat(),
                          "name": started.measure.person.full_name,
                          "court": superior_court(started.measure.district), "message": "share_live_location"},
                         201, location=f"/v1/control/check-ins/{started.checkin.checkin_id}")


@bp.route("/v1/control/check-ins/{checkin_id}", methods=["GET"])
@handled(_request)
def get_checkin(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    checkin = c.control.checkins.get_checkin(checkin_id)
    if checkin is None or checkin.owner != channel_user(request):
        raise NotFound("No such check-in.")
    return json_response(checkin_view(checkin))


@bp.route("/v1/control/check-ins/{checkin_id}/location", methods=["POST"])
@handled(_request)
def checkin_location(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    return json_response(checkins.submit_location(checkin_id, json_body(request), owner=channel_user(request),
                                                  p=c.checkin_ports()))


@bp.route("/v1/control/check-ins/{checkin_id}/selfie", methods=["POST"], content_types=MEDIA)
@handled(_request)
def checkin_selfie(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    kind = (request.query_params or {}).get("kind", "photo")
    if kind not in ("photo", "video_note"):
        raise ValidationError("Expected photo or video_note.", field="kind")
    return json_response(checkins.submit_selfie(checkin_id, _raw(request), kind, owner=channel_user(request),
                                                p=c.checkin_ports()))


@bp.route("/v1/control/check-ins/{checkin_id}/answers", methods=["POST"])
@handled(_request)
def checkin_answers(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    return json_response(checkins.submit_answers(checkin_id, json_body(request), owner=channel_user(request),
                                                 p=c.checkin_ports()))


@bp.route("/v1/control/check-ins/{checkin_id}/document", methods=["GET"])
@handled(_request)
def checkin_document(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    checkin = c.control.checkins.get_checkin(checkin_id)
    if checkin is None or checkin.owner != channel_user(request):
        raise NotFound("No such check-in.")
    document = c.store.get_document(checkin.document_id) if checkin.document_id else None
    pdf = c.storage.get(document.storage_key) if document else None
    if pdf is None:
        raise DomainError("The attendance certificate is not ready yet.", code="not_issued")
    return Response(body=pdf, status_code=200, headers={"Content-Type": "application/pdf",
                                                         "Cache-Control": "no-store"})


# --- court staff ------------------------------------------------------------------------------------

def _court() -> tuple[Operator, Container]:
    who = operator(bp.current_request)
    who.require(Role.COURT)
    return who, container()


@bp.route("/v1/court/measures", methods=["POST"])
@handled(_request)
def create_measure():  # type: ignore[no-untyped-def]
    who, c = _court()
    k = c.control
    measure = measures.create_measure(json_body(bp.current_request), operator=who, measures=k.measures,
                                      calendars=k.calendars, officers=k.officers, uow=k.uow, clock=c.clock)
    return json_response(measure_view(measure), 201, location=f"/v1/court/measures/{measure.measure_id}")


@bp.route("/v1/court/measures", methods=["GET"])
@handled(_request)
def search_measures():  # type: ignore[no-untyped-def]
    """The court's measures, newest first: ?court=1801-JR-PE-01 (optional with one court), ?q= a document number,
    name or case file, ?status=active|all; a page of ?limit= (50, at most 200) at a time (`next_cursor` back as
    ?cursor=; a search's page may hold fewer than the limit)."""
    who, c = _court()
    params = dict(bp.current_request.query_params or {})
    code = measures.court_of(who, params.get("court"))
    query, status = params.get("q", ""), params.get("status", "active")
    scope = f"court-measures:{code}:{status}:{query}"
    limit, after = page_request(bp.current_request, scope, 50, 200)
    code, found, last = measures.search_measures(code, query, operator=who, measures=c.control.measures,
                                                 audit=c.audit, clock=c.clock, status=status, limit=limit,
                                                 after=after)
    return json_response(page_answer([measure_view(m) for m in found], scope, last, court=code))


@bp.route("/v1/court/measures/import", methods=["POST"], content_types=["text/csv", "application/json"])
@handled(_request)
def import_measures():  # type: ignore[no-untyped-def]
    """The court's CSV of measures as a job, all rows or none: 202 at once with the job and its Location
    (GET /v1/court/jobs/{id}: progress, then the errors by line, or done). The CSV is the body, or (JSON
    ``{"upload_id"}``) a file uploaded through POST /v1/court/uploads' presigned upload."""
    from ..services import jobs

    who, c = _court()
    request = bp.current_request
    if sends_json(request):
        body = json_body(request)
        job = jobs.start_upload("measures", body.get("upload_id") if isinstance(body, dict) else None,
                                operator=who, jobs=c.jobs, storage=c.storage, audit=c.audit, clock=c.clock)
    else:
        data = request.raw_body or b""
        csv_text(data)  # checked before it is kept: a file that is not UTF-8 is refused now
        job = jobs.submit_import("measures", data, "measures.csv", operator=who, jobs=c.jobs, storage=c.storage,
                                 importers=c.importers(), audit=c.audit, clock=c.clock)
    return json_response(jobs.job_view(job), 202, location=f"/v1/court/jobs/{job.job_id}")


@bp.route("/v1/court/uploads", methods=["POST"])
@handled(_request)
def reserve_measures_upload():  # type: ignore[no-untyped-def]
    """``{"file_name"}``: a presigned upload for the court's CSV of measures (S3 in the cloud, this API locally),
    short-lived and for one file; then POST /v1/court/measures/import with ``{"upload_id"}`` starts the job."""
    from ..services import jobs
    from .admin import reserved_upload

    who, c = _court()
    body = json_body(bp.current_request)
    file_name = body.get("file_name") if isinstance(body, dict) and isinstance(body.get("file_name"), str) else ""
    job, ticket = jobs.reserve_upload("measures", file_name, operator=who, jobs=c.jobs, uploads=c.uploads(),
                                      importers=c.importers(), audit=c.audit, clock=c.clock)
    return reserved_upload(job, ticket, "/v1/court/measures/import")


@bp.route("/v1/court/jobs/{job_id}", methods=["GET"])
@handled(_request)
def get_court_job(job_id):  # type: ignore[no-untyped-def]
    """A measures import of the caller's: its submitter, or court staff of every court it acts for."""
    from ..services import jobs

    who, c = _court()
    return json_response(jobs.job_view(jobs.court_job(job_id, operator=who, jobs=c.jobs)))


@bp.route("/v1/court/jobs/{job_id}/discard", methods=["POST"])
@handled(_request)
def discard_court_job(job_id):  # type: ignore[no-untyped-def]
    """A stalled measures import (no progress for 15 minutes, not switched) ends failed; its claims are
    released."""
    from ..services import jobs

    who, c = _court()
    jobs.court_job(job_id, operator=who, jobs=c.jobs)
    return json_response(jobs.job_view(jobs.discard_job(job_id, operator=who, jobs=c.jobs, storage=c.storage,
                                                        importers=c.importers(), audit=c.audit, clock=c.clock)))


@bp.route("/v1/court/measures/{measure_id}", methods=["GET"])
@handled(_request)
def get_measure(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    return json_response(measure_view(measures.read_measure(measure_id, operator=who, measures=c.control.measures,
                                                            audit=c.audit, clock=c.clock)))


@bp.route("/v1/court/measures/{measure_id}/legal-status", methods=["POST"])
@handled(_request)
def change_legal_status(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    k = c.control
    measure = measures.change_legal_status(measure_id, json_body(bp.current_request), operator=who,
                                           measures=k.measures, enrolments=k.enrolments, officers=k.officers,
                                           uow=k.uow, clock=c.clock)
    return json_response(measure_view(measure), 201, location=f"/v1/court/measures/{measure.measure_id}")


@bp.route("/v1/court/measures/{measure_id}/authorisations", methods=["POST"])
@handled(_request)
def authorise(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    return json_response(measure_view(measures.authorise_district(
        measure_id, json_body(bp.current_request), operator=who, measures=c.control.measures, uow=c.control.uow,
        clock=c.clock)))


@bp.route("/v1/court/measures/{measure_id}/group", methods=["POST"])
@handled(_request)
def change_group(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    k = c.control
    return json_response(measure_view(measures.change_group(
        measure_id, json_body(bp.current_request), operator=who, measures=k.measures, calendars=k.calendars,
        uow=k.uow, clock=c.clock)))


@bp.route("/v1/court/measures/{measure_id}/revoke", methods=["POST"])
@handled(_request)
def revoke_measure(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    return json_response(measure_view(measures.revoke_measure(measure_id, operator=who, measures=c.control.measures,
                                                              uow=c.control.uow, clock=c.clock)))


@bp.route("/v1/court/measures/{measure_id}/compliance", methods=["GET"])
@handled(_request)
def compliance(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court()
    k = c.control
    view = measures.compliance(measure_id, operator=who, measures=k.measures, checkins=k.checkins,
                               incidents=k.incidents, audit=c.audit, clock=c.clock)
    for checkin in view["checkins"]:
        document = c.store.get_document(checkin["document_id"]) if checkin["document_id"] else None
        checkin["document"] = verification_view(document, c.clock.now()) if document else None
    return json_response(view)


# --- the calendar and the warrants registry --------------------------------------------------------------

@bp.route("/v1/admin/calendars/{year}/{district}", methods=["PUT"])
@handled(_request)
def put_calendar(year, district):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN, Role.CVP_HEAD)
    published = calendar.put_calendar(year, district, json_body(request), operator=who, uow=c.control.uow,
                                      officers=c.control.officers, clock=c.clock)
    return json_response(calendar.calendar_view(published))


@bp.route("/v1/admin/registries/warrants/import", methods=["POST"], content_types=["text/csv"])
@handled(_request)
def import_warrants():  # type: ignore[no-untyped-def]
    """The warrants registry's CSV: the same import job as every registry's (202 and the job's Location)."""
    from .admin import submit_csv_job

    return submit_csv_job(bp.current_request, "warrants")

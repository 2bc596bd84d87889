"""Virtual penal control over HTTP: the channel's enrolment and check-ins, and the court's measures."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.errors import ValidationError
from ..domain.operators import Role
from ..services import control as svc
from ..services.documents import verification_view
from .http import channel_user, handled, json_body, json_response, operator

bp = Blueprint(__name__)
MEDIA = ["image/jpeg", "image/png", "video/mp4", "application/octet-stream", "application/json"]


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _measure_view(measure):  # type: ignore[no-untyped-def]
    p = measure.person
    return {"measure_id": measure.measure_id, "status": measure.status, "superseded_by": measure.superseded_by,
            "case_file": measure.case_file, "court": measure.court, "district": measure.district,
            "legal_status": measure.legal_status, "periodicity_months": measure.periodicity_months,
            "start_date": measure.start_date.isoformat(), "end_date": measure.end_date.isoformat(),
            "first_registration_deadline": measure.first_registration_deadline.isoformat(),
            "group": measure.group, "group_changed": measure.group_changed, "area": measure.area_label,
            "person": {"full_name": p.full_name, "document_type": p.document_type,
                       "document_number": p.document_number},
            "authorisations": [{"district": a.district, "from": a.valid_from.isoformat(),
                                "to": a.valid_to.isoformat()} for a in measure.authorisations]}


def _raw(request) -> bytes:  # type: ignore[no-untyped-def]
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return svc.decode_photo(json_body(request))
    return request.raw_body or b""


# --- channel (the bot) ------------------------------------------------------------------------------

@bp.route("/v1/control/enrolments", methods=["POST"])
@handled(_request)
def enrol():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    enrolment, measure, window = svc.enrol(json_body(request), owner=channel_user(request), c=c)
    return json_response({"measure_id": measure.measure_id, "district": measure.district,
                          "first_window": svc.window_view(window), "needs_photo": svc.needs_photo(measure),
                          "has_photo": enrolment.photo_key is not None, "message": "annex2.d"}, 201)


@bp.route("/v1/control/enrolment/photo", methods=["POST"], content_types=MEDIA)
@handled(_request)
def enrolment_photo():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    svc.upload_enrolment_photo(_raw(request), owner=channel_user(request), c=c)
    return json_response({"has_photo": True})


@bp.route("/v1/control/check-ins", methods=["POST"])
@handled(_request)
def start_checkin():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    checkin, window = svc.start_checkin(owner=channel_user(request), c=c)
    return json_response({**svc.checkin_view(checkin), "window_end": window.end.isoformat(),
                          "message": "share_live_location"}, 201)


@bp.route("/v1/control/check-ins/{checkin_id}", methods=["GET"])
@handled(_request)
def get_checkin(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    checkin = c.control.get_checkin(checkin_id)
    if checkin is None or checkin.owner != channel_user(request):
        from ..domain.errors import NotFound

        raise NotFound("No such check-in.")
    return json_response(svc.checkin_view(checkin))


@bp.route("/v1/control/check-ins/{checkin_id}/location", methods=["POST"])
@handled(_request)
def checkin_location(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    return json_response(svc.submit_location(checkin_id, json_body(request), owner=channel_user(request), c=c))


@bp.route("/v1/control/check-ins/{checkin_id}/selfie", methods=["POST"], content_types=MEDIA)
@handled(_request)
def checkin_selfie(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    kind = (request.query_params or {}).get("kind", "photo")
    if kind not in ("photo", "video_note"):
        raise ValidationError("Expected photo or video_note.", field="kind")
    return json_response(svc.submit_selfie(checkin_id, _raw(request), kind, owner=channel_user(request), c=c))


@bp.route("/v1/control/check-ins/{checkin_id}/answers", methods=["POST"])
@handled(_request)
def checkin_answers(checkin_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    return json_response(svc.submit_answers(checkin_id, json_body(request), owner=channel_user(request), c=c))


@bp.route("/v1/control/check-ins/{checkin_id}/document", methods=["GET"])
@handled(_request)
def checkin_document(checkin_id):  # type: ignore[no-untyped-def]
    from ..domain.errors import DomainError, NotFound

    request, c = bp.current_request, container()
    checkin = c.control.get_checkin(checkin_id)
    if checkin is None or checkin.owner != channel_user(request):
        raise NotFound("No such check-in.")
    document = c.store.get_document(checkin.document_id) if checkin.document_id else None
    pdf = c.storage.get(document.storage_key) if document else None
    if pdf is None:
        raise DomainError("The attendance certificate is not ready yet.", code="not_issued")
    return Response(body=pdf, status_code=200, headers={"Content-Type": "application/pdf",
                                                         "Cache-Control": "no-store"})


# --- court staff ------------------------------------------------------------------------------------

def _court():  # type: ignore[no-untyped-def]
    who = operator(bp.current_request)
    who.require(Role.COURT)
    return who


@bp.route("/v1/court/measures", methods=["POST"])
@handled(_request)
def create_measure():  # type: ignore[no-untyped-def]
    who = _court()
    measure = svc.create_measure(json_body(bp.current_request), operator=who, c=container())
    return json_response(_measure_view(measure), 201)


@bp.route("/v1/court/measures/import", methods=["POST"], content_types=["text/csv"])
@handled(_request)
def import_measures():  # type: ignore[no-untyped-def]
    who = _court()
    text = (bp.current_request.raw_body or b"").decode("utf-8-sig")
    return json_response(svc.import_measures(text, operator=who, c=container()))


@bp.route("/v1/court/measures/{measure_id}", methods=["GET"])
@handled(_request)
def get_measure(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court(), container()
    measure = svc._measure(c, measure_id)
    c.audit.append(svc._audit(who, c.clock.now(), "measure.read", measure_id))
    return json_response(_measure_view(measure))


@bp.route("/v1/court/measures/{measure_id}/legal-status", methods=["POST"])
@handled(_request)
def change_legal_status(measure_id):  # type: ignore[no-untyped-def]
    who = _court()
    measure = svc.change_legal_status(measure_id, json_body(bp.current_request), operator=who, c=container())
    return json_response(_measure_view(measure), 201)


@bp.route("/v1/court/measures/{measure_id}/authorisations", methods=["POST"])
@handled(_request)
def authorise(measure_id):  # type: ignore[no-untyped-def]
    who = _court()
    return json_response(_measure_view(svc.authorise_district(measure_id, json_body(bp.current_request),
                                                              operator=who, c=container())))


@bp.route("/v1/court/measures/{measure_id}/group", methods=["POST"])
@handled(_request)
def change_group(measure_id):  # type: ignore[no-untyped-def]
    who = _court()
    return json_response(_measure_view(svc.change_group(measure_id, json_body(bp.current_request), operator=who,
                                                        c=container())))


@bp.route("/v1/court/measures/{measure_id}/revoke", methods=["POST"])
@handled(_request)
def revoke_measure(measure_id):  # type: ignore[no-untyped-def]
    who = _court()
    return json_response(_measure_view(svc.revoke_measure(measure_id, operator=who, c=container())))


@bp.route("/v1/court/measures/{measure_id}/compliance", methods=["GET"])
@handled(_request)
def compliance(measure_id):  # type: ignore[no-untyped-def]
    who, c = _court(), container()
    view = svc.compliance(measure_id, operator=who, c=c)
    for checkin in view["checkins"]:
        document = c.store.get_document(checkin["document_id"]) if checkin["document_id"] else None
        checkin["document"] = verification_view(document, c.clock.now()) if document else None
    return json_response(view)


# --- registries and calendar ---------------------------------------------------------------------------

@bp.route("/v1/admin/calendars/{year}/{district}", methods=["PUT"])
@handled(_request)
def put_calendar(year, district):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN, Role.CVP_HEAD)
    if not year.isdigit() or not 2000 <= int(year) <= 2100:
        raise ValidationError("Expected a year such as 2026.", field="year")
    calendar = svc.put_calendar(int(year), district, json_body(request), operator=who, c=c)
    return json_response({"year": calendar.year, "district": calendar.district, "groups": sorted(calendar.groups)})


@bp.route("/v1/admin/registries/warrants/import", methods=["POST"], content_types=["text/csv"])
@handled(_request)
def import_warrants():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    report = svc.import_warrants((request.raw_body or b"").decode("utf-8-sig"), c=c)
    c.audit.append(svc._audit(who, c.clock.now(), "registry.import", "warrants", imported=report["imported"]))
    return json_response(report)

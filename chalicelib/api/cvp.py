"""Virtual control's officers and CVP head over HTTP: officers and distribution, the officer's list, contact log
and callbacks, a district's incidents, and the daily report (issue 6). Every read of a person's data is audited."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.operators import Operator, Role
from ..services import control_ops as svc
from .http import handled, json_body, json_response, operator

bp = Blueprint(__name__)
PHOTO = ["image/jpeg", "image/png", "application/octet-stream"]


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _as(*roles: Role) -> Operator:
    who = operator(bp.current_request)
    who.require(*roles)
    return who


# --- the CVP head: officers, distribution, incidents, callbacks ------------------------------------------

@bp.route("/v1/cvp/districts/{district}/officers", methods=["GET"])
@handled(_request)
def list_officers(district):  # type: ignore[no-untyped-def]
    _as(Role.CVP_HEAD, Role.ADMIN)
    return json_response({"items": svc.list_officers(district, c=container())})


@bp.route("/v1/cvp/districts/{district}/officers/{officer_id}", methods=["PUT"])
@handled(_request)
def put_officer(district, officer_id):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD, Role.ADMIN)
    return json_response(svc.put_officer(district, officer_id, json_body(bp.current_request), operator=who,
                                         c=container()))


@bp.route("/v1/cvp/districts/{district}/enrolments", methods=["GET"])
@handled(_request)
def district_enrolments(district):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD, Role.ADMIN)
    return json_response({"items": svc.district_cases(district, operator=who, c=container())})


@bp.route("/v1/cvp/districts/{district}/incidents", methods=["GET"])
@handled(_request)
def district_incidents(district):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD, Role.ADMIN)
    day = (bp.current_request.query_params or {}).get("day", "")
    return json_response({"items": svc.incidents_of_day(district, day, operator=who, c=container())})


@bp.route("/v1/cvp/districts/{district}/callbacks", methods=["GET"])
@handled(_request)
def district_callbacks(district):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD, Role.ADMIN)
    return json_response({"items": svc.district_callbacks(district, operator=who, c=container())})


@bp.route("/v1/cvp/incidents/{incident_id}/close", methods=["POST"])
@handled(_request)
def close_incident(incident_id):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD)
    body = json_body(bp.current_request, required=False)
    return json_response(svc.close_incident(incident_id, body, operator=who, c=container()))


# --- the daily report (annex 4) ------------------------------------------------------------------------

@bp.route("/v1/cvp/reports/{district}/{day}", methods=["POST"])
@handled(_request)
def generate_report(district, day):  # type: ignore[no-untyped-def]
    who = _as(Role.CVP_HEAD, Role.ADMIN)
    return json_response(svc.generate_report(district, day, operator=who, c=container()), 201)


@bp.route("/v1/cvp/reports/{district}/{day}", methods=["GET"])
@handled(_request)
def get_report(district, day):  # type: ignore[no-untyped-def]
    who, c = _as(Role.CVP_HEAD, Role.COURT, Role.AUDITOR), container()
    return json_response(svc.report_view(c, svc.get_report(district, day, operator=who, c=c)))


def _report_file(district: str, day: str, kind: str) -> Response:
    who = _as(Role.CVP_HEAD, Role.COURT, Role.AUDITOR)
    data = svc.report_file(district, day, kind, operator=who, c=container())
    content_type = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    name = f"reporte-incidencias-{day}.{kind}"
    # The PDF travels as binary (a registered binary type); the CSV is text, its byte-order mark kept.
    body: bytes | str = data if kind == "pdf" else data.decode("utf-8")
    return Response(body=body, status_code=200, headers={
        "Content-Type": content_type, "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/v1/cvp/reports/{district}/{day}/pdf", methods=["GET"])
@handled(_request)
def report_pdf(district, day):  # type: ignore[no-untyped-def]
    return _report_file(district, day, "pdf")


@bp.route("/v1/cvp/reports/{district}/{day}/csv", methods=["GET"])
@handled(_request)
def report_csv(district, day):  # type: ignore[no-untyped-def]
    return _report_file(district, day, "csv")


# --- attention officers: their own list, calls, first registration, callbacks -----------------------------

@bp.route("/v1/officer/enrolments", methods=["GET"])
@handled(_request)
def my_enrolments():  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER)
    return json_response({"items": svc.officer_cases(operator=who, c=container())})


@bp.route("/v1/officer/enrolments/{measure_id}", methods=["GET"])
@handled(_request)
def my_enrolment(measure_id):  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER, Role.CVP_HEAD)
    return json_response(svc.officer_case(measure_id, operator=who, c=container()))


@bp.route("/v1/officer/enrolments/{measure_id}/calls", methods=["POST"])
@handled(_request)
def log_call(measure_id):  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER)
    return json_response(svc.log_call(measure_id, json_body(bp.current_request), operator=who, c=container()), 201)


@bp.route("/v1/officer/enrolments/{measure_id}/first-registration", methods=["POST"])
@handled(_request)
def first_registration(measure_id):  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER)
    return json_response(svc.first_registration(measure_id, json_body(bp.current_request), operator=who,
                                                c=container()))


@bp.route("/v1/officer/enrolments/{measure_id}/first-registration/photo", methods=["POST"], content_types=PHOTO)
@handled(_request)
def first_registration_photo(measure_id):  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER)
    return json_response(svc.first_registration_photo(measure_id, bp.current_request.raw_body or b"",
                                                      operator=who, c=container()))


@bp.route("/v1/officer/callbacks", methods=["GET"])
@handled(_request)
def my_callbacks():  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER)
    return json_response({"items": svc.officer_callbacks(operator=who, c=container())})


@bp.route("/v1/officer/callbacks/{checkin_id}", methods=["POST"])
@handled(_request)
def complete_callback(checkin_id):  # type: ignore[no-untyped-def]
    who = _as(Role.OFFICER, Role.CVP_HEAD)
    return json_response(svc.complete_callback(checkin_id, json_body(bp.current_request), operator=who,
                                               c=container()))

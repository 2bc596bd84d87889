"""Virtual control's CVP head and attention officers over HTTP. Every route is limited by role and by the
districts of the operator's token; every read of a person's data is audited."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from ..bootstrap import Container, container
from ..domain.control.people import parse_district
from ..domain.operators import Operator, Role
from ..services.control import cases, contingency, desk, enrolment, incidents, officers, reports, reviews
from ..services.control.common import audit_entry
from .cursors import page_answer, page_request
from .http import handled, json_body, json_response, operator

bp = Blueprint(__name__)
PHOTO = ["image/jpeg", "image/png", "application/octet-stream"]


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _as(*roles: Role) -> tuple[Operator, Container]:
    who = operator(bp.current_request)
    who.require(*roles)
    return who, container()


def _paged(who: Operator, list_name: str, district: str, default: int) -> tuple[str, int, Any]:
    """A district's list: its scope checked first (a head of another district gets 403, whatever the cursor),
    then ?limit= (at most 200) and the cursor, which belongs to this list of this district only."""
    who.require_district(parse_district(district))
    scope = f"{list_name}:{parse_district(district)}"
    return (scope, *page_request(bp.current_request, scope, default, 200))


# --- the CVP head: officers, distribution, incidents, callbacks, the queue of enrolments with no measure ------

@bp.route("/v1/cvp/districts/{district}/officers", methods=["GET"])
@handled(_request)
def list_officers(district):  # type: ignore[no-untyped-def]
    """The district's officers by id, a page of ?limit= (50, at most 200) at a time: pass `next_cursor` back as
    ?cursor=."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    scope, limit, after = _paged(who, "cvp-officers", district, 50)
    items, last = officers.list_officers(district, operator=who, officers=c.control.officers, limit=limit,
                                         after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/cvp/districts/{district}/officers/{officer_id}", methods=["PUT"])
@handled(_request)
def put_officer(district, officer_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    k = c.control
    return json_response(officers.put_officer(district, officer_id, json_body(bp.current_request), operator=who,
                                              officers=k.officers, measures=k.measures, uow=k.uow, rng=c.rng,
                                              clock=c.clock))


@bp.route("/v1/cvp/districts/{district}/officers/{officer_id}/hand-over", methods=["POST"])
@handled(_request)
def hand_over(district, officer_id):  # type: ignore[no-untyped-def]
    """{"to": "<officer id>"} moves the officer's open list to that officer; {"to": ""} shares it by the draw."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    k = c.control
    return json_response(officers.hand_over(district, officer_id, json_body(bp.current_request), operator=who,
                                            officers=k.officers, measures=k.measures, uow=k.uow, rng=c.rng,
                                            clock=c.clock))


@bp.route("/v1/cvp/districts/{district}/open-incidents", methods=["GET"])
@handled(_request)
def open_incidents(district):  # type: ignore[no-untyped-def]
    """The district's incidents not closed yet, oldest first, a page of ?limit= (100, at most 200) at a time
    (`next_cursor` back as ?cursor=); `counts` and `warrants_awaiting` are those of the page."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    scope, limit, after = _paged(who, "cvp-open-incidents", district, 100)
    view, last = desk.open_incidents(district, operator=who, incidents=c.control.incidents, audit=c.audit,
                                     clock=c.clock, limit=limit, after=after)
    return json_response(page_answer(view.pop("items"), scope, last, **view))


@bp.route("/v1/cvp/incidents/{incident_id}/warrant-decision", methods=["POST"])
@handled(_request)
def warrant_decision(incident_id):  # type: ignore[no-untyped-def]
    """A name-only warrant match: {"decision": "confirmed"|"dismissed", "note"}; confirmed goes to the police."""
    who, c = _as(Role.CVP_HEAD)
    k = c.control
    return json_response(desk.decide_warrant(incident_id, json_body(bp.current_request), operator=who,
                                             incidents=k.incidents, markers=k.markers, uow=k.uow, clock=c.clock))


@bp.route("/v1/cvp/districts/{district}/enrolments", methods=["GET"])
@handled(_request)
def district_enrolments(district):  # type: ignore[no-untyped-def]
    """The district's people and their officers, oldest first, a page of ?limit= (50, at most 200) at a time
    (`next_cursor` back as ?cursor=)."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    k = c.control
    scope, limit, after = _paged(who, "cvp-enrolments", district, 50)
    items, last = cases.district_cases(district, operator=who, officers=k.officers, measures=k.measures,
                                       enrolments=k.enrolments, audit=c.audit, clock=c.clock, limit=limit,
                                       after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/cvp/districts/{district}/unmatched-enrolments", methods=["GET"])
@handled(_request)
def unmatched_enrolments(district):  # type: ignore[no-untyped-def]
    """Enrolments with no measure yet, oldest first, a page of ?limit= (50, at most 200) at a time
    (`next_cursor` back as ?cursor=)."""
    who, c = _as(Role.CVP_HEAD)
    scope, limit, after = _paged(who, "cvp-unmatched", district, 50)
    items, last = enrolment.unmatched_queue(district, operator=who, enrolments=c.control.enrolments, audit=c.audit,
                                            clock=c.clock, limit=limit, after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/cvp/districts/{district}/incidents", methods=["GET"])
@handled(_request)
def district_incidents(district):  # type: ignore[no-untyped-def]
    """The incidents of ?day=YYYY-MM-DD, in time order, a page of &limit= (100, at most 200) at a time
    (`next_cursor` back as &cursor=)."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    day = (bp.current_request.query_params or {}).get("day", "")
    scope, limit, after = _paged(who, f"cvp-incidents:{day}", district, 100)
    items, last = incidents.incidents_of_day(district, day, operator=who, incidents=c.control.incidents,
                                             markers=c.control.markers, audit=c.audit, clock=c.clock, limit=limit,
                                             after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/cvp/districts/{district}/callbacks", methods=["GET"])
@handled(_request)
def district_callbacks(district):  # type: ignore[no-untyped-def]
    """The district's open callbacks, oldest first, a page of ?limit= (50, at most 200) at a time
    (`next_cursor` back as ?cursor=)."""
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    k = c.control
    scope, limit, after = _paged(who, "cvp-callbacks", district, 50)
    items, last = contingency.district_callbacks(district, operator=who, contingencies=k.contingencies,
                                                 measures=k.measures, enrolments=k.enrolments, audit=c.audit,
                                                 clock=c.clock, limit=limit, after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/cvp/incidents/{incident_id}/close", methods=["POST"])
@handled(_request)
def close_incident(incident_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.CVP_HEAD)
    body = json_body(bp.current_request, required=False)
    return json_response(incidents.close_incident(incident_id, body, operator=who, incidents=c.control.incidents,
                                                  markers=c.control.markers, uow=c.control.uow, clock=c.clock))


# --- the daily report (annex 4) ------------------------------------------------------------------------

@bp.route("/v1/cvp/reports/{district}/{day}", methods=["POST"])
@handled(_request)
def generate_report(district, day):  # type: ignore[no-untyped-def]
    who, c = _as(Role.CVP_HEAD, Role.ADMIN)
    k = c.control
    return json_response(reports.generate_report(district, day, operator=who, incidents=k.incidents,
                                                 reports=k.reports, documents=c.store, producer=c.producer(),
                                                 storage=c.storage,
                                                 uow=k.uow, audit=c.audit, clock=c.clock,
                                                 public_base_url=c.settings.public_base_url), 201,
                         location=f"/v1/cvp/reports/{district}/{day}")


@bp.route("/v1/cvp/reports/{district}/{day}", methods=["GET"])
@handled(_request)
def get_report(district, day):  # type: ignore[no-untyped-def]
    who, c = _as(Role.CVP_HEAD, Role.AUDITOR)
    report = reports.get_report(district, day, operator=who, reports=c.control.reports)
    return json_response(reports.report_view(report, c.settings.public_base_url))


def _report_file(district: str, day: str, kind: str) -> Response:
    who, c = _as(Role.CVP_HEAD, Role.AUDITOR)
    data = reports.report_file(district, day, kind, operator=who, reports=c.control.reports, storage=c.storage,
                               audit=c.audit, clock=c.clock)
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


# --- attention officers: their own people --------------------------------------------------------------------

@bp.route("/v1/officer/enrolments", methods=["GET"])
@handled(_request)
def my_enrolments():  # type: ignore[no-untyped-def]
    """The officer's own people, a page of ?limit= (50, at most 200) at a time (`next_cursor` back as ?cursor=)."""
    who, c = _as(Role.OFFICER)
    k = c.control
    scope = f"officer-enrolments:{who.subject}"
    limit, after = page_request(bp.current_request, scope, 50, 200)
    items, last = cases.officer_cases(operator=who, officers=k.officers, measures=k.measures,
                                      enrolments=k.enrolments, audit=c.audit, clock=c.clock, limit=limit, after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/officer/enrolments/{measure_id}", methods=["GET"])
@handled(_request)
def my_enrolment(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(cases.officer_case(measure_id, operator=who, officers=k.officers, measures=k.measures,
                                            enrolments=k.enrolments, audit=c.audit, clock=c.clock))


@bp.route("/v1/officer/enrolments/{measure_id}/calls", methods=["POST"])
@handled(_request)
def log_call(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(cases.log_call(measure_id, json_body(bp.current_request), operator=who, officers=k.officers,
                                        measures=k.measures, enrolments=k.enrolments, uow=k.uow, clock=c.clock), 201,
                         location=f"/v1/officer/enrolments/{measure_id}")


@bp.route("/v1/officer/enrolments/{measure_id}/incidents", methods=["POST"])
@handled(_request)
def record_incident(measure_id):  # type: ignore[no-untyped-def]
    """An incident recorded by hand (annex 4): {"type", "day", "observations"}."""
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(desk.record_incident(measure_id, json_body(bp.current_request), operator=who,
                                              officers=k.officers, measures=k.measures, uow=k.uow, clock=c.clock), 201,
                         location=f"/v1/officer/enrolments/{measure_id}")


@bp.route("/v1/officer/enrolments/{measure_id}/first-registration", methods=["POST"])
@handled(_request)
def first_registration(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(cases.first_registration(measure_id, json_body(bp.current_request), operator=who,
                                                  officers=k.officers, measures=k.measures, enrolments=k.enrolments,
                                                  uow=k.uow, clock=c.clock))


@bp.route("/v1/officer/enrolments/{measure_id}/first-registration/photo", methods=["POST"], content_types=PHOTO)
@handled(_request)
def first_registration_photo(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(cases.first_registration_photo(measure_id, bp.current_request.raw_body or b"",
                                                        operator=who, officers=k.officers, measures=k.measures,
                                                        enrolments=k.enrolments, storage=c.storage, uow=k.uow,
                                                        clock=c.clock))


@bp.route("/v1/officer/enrolments/{measure_id}/confirm", methods=["POST"])
@handled(_request)
def confirm_enrolment(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(enrolment.confirm_enrolment(measure_id, json_body(bp.current_request), operator=who,
                                                     measures=k.measures, enrolments=k.enrolments,
                                                     officers=k.officers, uow=k.uow, clock=c.clock))


@bp.route("/v1/officer/enrolments/{measure_id}/relink", methods=["POST"])
@handled(_request)
def relink(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(enrolment.relink(measure_id, json_body(bp.current_request), operator=who,
                                          measures=k.measures, enrolments=k.enrolments, officers=k.officers,
                                          uow=k.uow, clock=c.clock))


@bp.route("/v1/officer/enrolments/{measure_id}/reopen", methods=["POST"])
@handled(_request)
def reopen_window(measure_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    return json_response(reviews.reopen_window(measure_id, json_body(bp.current_request), operator=who,
                                               officers=c.control.officers, p=c.checkin_ports()))


@bp.route("/v1/officer/reviews", methods=["GET"])
@handled(_request)
def my_reviews():  # type: ignore[no-untyped-def]
    """Check-ins of the officer's people held for their review, a page of ?limit= (50, at most 200) at a time
    (`next_cursor` back as ?cursor=; a page may hold fewer than the limit)."""
    who, c = _as(Role.OFFICER)
    scope = f"officer-reviews:{who.subject}"
    limit, after = page_request(bp.current_request, scope, 50, 200)
    items, last = reviews.held_for_review(operator=who, officers=c.control.officers, p=c.checkin_ports(),
                                          limit=limit, after=after)
    c.audit.append(audit_entry(who, c.clock.now(), "officer.reviews_read", who.subject, count=len(items)))
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/officer/check-ins/{checkin_id}/review", methods=["POST"])
@handled(_request)
def review_checkin(checkin_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    return json_response(reviews.review_checkin(checkin_id, json_body(bp.current_request), operator=who,
                                                officers=c.control.officers, audit=c.audit, p=c.checkin_ports()))


@bp.route("/v1/officer/callbacks", methods=["GET"])
@handled(_request)
def my_callbacks():  # type: ignore[no-untyped-def]
    """The callbacks of the officer's districts, a page of ?limit= (50, at most 200) at a time (`next_cursor`
    back as ?cursor=)."""
    who, c = _as(Role.OFFICER)
    k = c.control
    scope = f"officer-callbacks:{who.subject}"
    limit, after = page_request(bp.current_request, scope, 50, 200)
    items, last = contingency.officer_callbacks(operator=who, officers=k.officers, contingencies=k.contingencies,
                                                measures=k.measures, enrolments=k.enrolments, audit=c.audit,
                                                clock=c.clock, limit=limit, after=after)
    return json_response(page_answer(items, scope, last))


@bp.route("/v1/officer/callbacks/{checkin_id}", methods=["POST"])
@handled(_request)
def complete_callback(checkin_id):  # type: ignore[no-untyped-def]
    who, c = _as(Role.OFFICER)
    k = c.control
    return json_response(contingency.complete_callback(checkin_id, json_body(bp.current_request), operator=who,
                                                       officers=k.officers, contingencies=k.contingencies,
                                                       measures=k.measures, enrolments=k.enrolments, uow=k.uow,
                                                       clock=c.clock))

"""The CVP head's pages: the district's day (open incidents by type, name-only warrant matches waiting for a
decision, callbacks, enrolments with no measure, officers and their caseload), the enrolment list (9.1), the
daily reports with their revisions, the annual calendar (edit, publish, who is in each group), and a person's
file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalice import Blueprint, Response

from ..domain.control.people import judicial_districts
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.operators import ALL, Role
from ..domain.pages import every_page
from ..services.control import calendar, cases, contingency, desk, enrolment, incidents, officers, reports
from ..services.control.common import peru_today
from .exports import export, export_lists
from .routes_officer import render_person
from .web import Ctx, field_errors, next_href, page, page_after, page_headers

bp = Blueprint(__name__)
HEAD = (Role.CVP_HEAD,)


def districts_of(ctx: Ctx) -> list[str]:
    """The districts the CVP head works in (all with virtual control when the scope is national)."""
    mine = ctx.operator.districts
    if ALL in mine:
        return sorted(set(ctx.c.control.officers.districts()) & set(judicial_districts()))
    return sorted(mine)


def chosen_district(ctx: Ctx) -> str:
    wanted = (ctx.query.get("district") or ctx.form.get("district") or "").upper()
    options = districts_of(ctx)
    if wanted:
        ctx.operator.require_district(wanted)
        return wanted
    if not options:
        raise ValidationError("Your account has no district.", field="district", code="no_district")
    return options[0]


@page(bp, "/console/cvp", roles=HEAD)
def cvp_home(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The district's day: each list's first page (the rest behind its "Next" link, a cursor of its own); an
    export holds the whole list."""
    c, who = ctx.c, ctx.operator
    k = c.control
    district = chosen_district(ctx)
    exporting = bool(ctx.query.get("format"))
    links: dict[str, str | None] = {}

    def listed(name: str, scope: str, fetch: Callable[[Any], tuple[list[Any], Any]]) -> list[Any]:
        if exporting:
            return every_page(fetch)
        got, last = fetch(page_after(ctx, scope, f"{name}_cursor"))
        links[name] = next_href(ctx, scope, last, f"{name}_cursor")
        return got

    desk_view: dict[str, Any] = {}

    def desk_page(at: Any) -> tuple[list[Any], Any]:
        view, last = desk.open_incidents(district, operator=who, incidents=k.incidents, audit=c.audit,
                                         clock=c.clock, after=at)
        desk_view.update(view)
        return view["items"], last

    desk_view["items"] = listed("incidents", f"cvp-open-incidents:{district}", desk_page)
    callbacks = listed("callbacks", f"cvp-callbacks:{district}", lambda at: contingency.district_callbacks(
        district, operator=who, contingencies=k.contingencies, measures=k.measures, enrolments=k.enrolments,
        audit=c.audit, clock=c.clock, after=at))
    unmatched = listed("unmatched", f"cvp-unmatched:{district}", lambda at: enrolment.unmatched_queue(
        district, operator=who, enrolments=k.enrolments, audit=c.audit, clock=c.clock, after=at))
    roster = listed("officers", f"cvp-officers:{district}", lambda at: officers.list_officers(
        district, operator=who, officers=k.officers, limit=200, after=at))
    if exporting:
        return export_lists(ctx, district.lower().replace(" ", "_"), {
            "incidents": (desk_view["items"], ["day", "type", "full_name", "identity_document", "case_file", "court",
                                               "detail", "observations", "status"]),
            "callbacks": (callbacks, ["full_name", "mobile", "registry", "held_at", "callback_open"]),
            "unmatched": (unmatched, ["full_name", "identity_document", "mobile", "address", "at"]),
            "officers": (roster, ["officer_id", "name", "active", "assigned"])})
    return ctx.render("cvp_home.html", status=status, title=ctx.t("cvp.title", district=district),
                      district=district, districts=districts_of(ctx), desk=desk_view, callbacks=callbacks,
                      unmatched=unmatched, roster=roster, errors=errors or {}, next_links=links,
                      yesterday=(peru_today(c.clock.now()) - timedelta(days=1)).isoformat())


def _back(ctx: Ctx, district: str, notice: str) -> Response:
    return ctx.redirect(f"/console/cvp?district={district}", notice=notice)


def _refused(ctx: Ctx, refused: DomainError, prefix: str) -> Response:
    return cvp_home(ctx, errors={f"{prefix}-{k}": v for k, v in field_errors(refused).items()},
                    status=refused.status)


@page(bp, "/console/cvp/incidents/{incident_id}/warrant", methods=("POST",), roles=HEAD)
def cvp_warrant(ctx: Ctx, incident_id: str) -> Response:
    c, form = ctx.c, ctx.form
    try:
        decided = desk.decide_warrant(incident_id, {"decision": form.get("decision"), "note": form.get("note")},
                                      operator=ctx.operator, incidents=c.control.incidents,
                                      markers=c.control.markers, uow=c.control.uow, clock=c.clock)
    except NotFound:
        raise
    except DomainError as refused:
        return _refused(ctx, refused, f"warrant-{incident_id}")
    return _back(ctx, decided["district"], f"warrant_{form.get('decision')}")


@page(bp, "/console/cvp/incidents/{incident_id}/close", methods=("POST",), roles=HEAD)
def cvp_close_incident(ctx: Ctx, incident_id: str) -> Response:
    c = ctx.c
    try:
        closed = incidents.close_incident(incident_id, {"note": ctx.form.get("note")}, operator=ctx.operator,
                                          incidents=c.control.incidents, markers=c.control.markers,
                                          uow=c.control.uow, clock=c.clock)
    except NotFound:
        raise
    except DomainError as refused:
        return _refused(ctx, refused, f"close-{incident_id}")
    return _back(ctx, closed["district"], "incident_closed")


@page(bp, "/console/cvp/districts/{district}/officers", methods=("POST",), roles=HEAD)
def cvp_put_officer(ctx: Ctx, district: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    officer_id = form.get("officer_id")
    try:
        officers.put_officer(district, officer_id, {"active": form.get("active", "true") == "true",
                                                    **({"name": form.get("name")} if form.get("name") else {})},
                             operator=ctx.operator, officers=k.officers, measures=k.measures, uow=k.uow, rng=c.rng,
                             clock=c.clock)
    except DomainError as refused:
        if refused.status == 403:
            raise
        return _refused(ctx, refused, "officer")
    return _back(ctx, district, "officer_saved")


@page(bp, "/console/cvp/districts/{district}/officers/{officer_id}/hand-over", methods=("POST",), roles=HEAD)
def cvp_hand_over(ctx: Ctx, district: str, officer_id: str) -> Response:
    c = ctx.c
    k = c.control
    try:
        officers.hand_over(district, officer_id, {"to": ctx.form.get("to")}, operator=ctx.operator,
                           officers=k.officers, measures=k.measures, uow=k.uow, rng=c.rng, clock=c.clock)
    except DomainError as refused:
        if refused.status == 403:
            raise
        return _refused(ctx, refused, f"handover-{officer_id}")
    return _back(ctx, district, "handed_over")


@page(bp, "/console/cvp/enrolments", roles=HEAD)
def cvp_enrolments(ctx: Ctx) -> Response:
    """The district's enrolment list (procedure 9.1, kept as a spreadsheet): who has which person."""
    c = ctx.c
    k = c.control
    district = chosen_district(ctx)
    scope = f"cvp-enrolments:{district}"

    def fetch(at: Any) -> tuple[list[dict[str, Any]], Any]:
        return cases.district_cases(district, operator=ctx.operator, officers=k.officers, measures=k.measures,
                                    enrolments=k.enrolments, audit=c.audit, clock=c.clock, limit=100, after=at)

    more = None
    if ctx.query.get("format"):
        items = every_page(fetch)
    else:
        items, last = fetch(page_after(ctx, scope))
        more = next_href(ctx, scope, last)
    if ctx.query.get("format"):
        return export(ctx, f"empadronamiento-{district.lower().replace(' ', '_')}",
                      ["measure_id", "full_name", "identity_document", "enrolment", "mobile", "officer", "reason",
                       "calls", "opened_at", "open"],
                      [(i["measure_id"], i["full_name"], i["identity_document"], i["enrolment"], i["mobile"],
                        i["officer"], i["reason"], i["calls"], i["opened_at"], i["open"]) for i in items], xlsx=True)
    return ctx.render("cvp_enrolments.html", title=ctx.t("cvp.enrolments.title", district=district),
                      district=district, districts=districts_of(ctx), items=items, next_link=more)


@page(bp, "/console/cvp/people/{measure_id}", roles=HEAD)
def cvp_person(ctx: Ctx, measure_id: str) -> Response:
    return render_person(ctx, measure_id, Role.CVP_HEAD.value)


@page(bp, "/console/cvp/reports", roles=HEAD)
def cvp_reports(ctx: Ctx) -> Response:
    c = ctx.c
    district = chosen_district(ctx)
    day = ctx.query.get("day") or (peru_today(c.clock.now()) - timedelta(days=1)).isoformat()
    try:
        report = reports.get_report(district, day, operator=ctx.operator, reports=c.control.reports)
        revisions = reports.report_revisions(report, documents=c.store)
    except NotFound:
        report, revisions = None, []
    scope = f"cvp-incidents:{district}:{day}"
    listed, last = incidents.incidents_of_day(district, day, operator=ctx.operator, incidents=c.control.incidents,
                                              markers=c.control.markers, audit=c.audit, clock=c.clock,
                                              after=page_after(ctx, scope))
    return ctx.render("cvp_reports.html", title=ctx.t("cvp.reports.title", district=district), district=district,
                      districts=districts_of(ctx), the_day=day, report=report, revisions=revisions,
                      incidents=listed, next_link=next_href(ctx, scope, last))


@page(bp, "/console/cvp/reports/{district}/{day}", methods=("POST",), roles=HEAD)
def cvp_close_day(ctx: Ctx, district: str, day: str) -> Response:
    c = ctx.c
    k = c.control
    reports.generate_report(district, day, operator=ctx.operator, incidents=k.incidents, reports=k.reports,
                            documents=c.store, producer=c.producer(), storage=c.storage, uow=k.uow, audit=c.audit,
                            clock=c.clock, public_base_url=c.settings.public_base_url)
    return ctx.redirect(f"/console/cvp/reports?district={district}&day={day}", notice="report_issued")


@page(bp, "/console/cvp/reports/{district}/{day}/{document_id}/{kind}", roles=HEAD)
def cvp_report_file(ctx: Ctx, district: str, day: str, document_id: str, kind: str) -> Response:
    c = ctx.c
    key, name = reports.report_file_key(district, day, document_id, kind, operator=ctx.operator,
                                        reports=c.control.reports, documents=c.store, audit=c.audit, clock=c.clock)
    content_type = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    link = c.media.link(key, subject=ctx.operator.subject, content_type=content_type, filename=name, seconds=120)
    return Response(body="", status_code=303, headers=page_headers(ctx, {"Location": link}))


@page(bp, "/console/cvp/calendar", roles=HEAD)
def cvp_calendar(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    c = ctx.c
    district = chosen_district(ctx)
    raw_year = ctx.query.get("year") or ctx.form.get("year") or str(peru_today(c.clock.now()).year)
    year = calendar.parse_year(raw_year)
    current = c.control.calendars.get_calendar(year, district)
    members = desk.group_members(year, district, operator=ctx.operator, measures=c.control.measures, audit=c.audit,
                                 clock=c.clock)
    if ctx.query.get("format"):
        return export(ctx, f"grupos-{district.lower().replace(' ', '_')}-{year}",
                      ["group", "full_name", "identity_document", "case_file", "enrolled"],
                      [(g, p["full_name"], p["identity_document"], p["case_file"], p["enrolled"])
                       for g, people in members.items() for p in people])
    groups = sorted(current.groups) if current else ["A", "B"]
    ranges = current.groups.items() if current else ()
    values = {f"{edge}-{g}-{w.period}": getattr(w, edge).isoformat()
              for g, windows in ranges for w in windows for edge in ("start", "end")}
    values.update({name: v[0] for name, v in ctx.form.fields.items() if v})
    return ctx.render("cvp_calendar.html", status=status, title=ctx.t("cvp.calendar.title", district=district,
                                                                         year=year),
                      district=district, districts=districts_of(ctx), year=year, calendar=current, groups=groups,
                      members=members, errors=errors or {}, periods=range(1, 13), values=values)


@page(bp, "/console/cvp/calendar/{year}/{district}", methods=("POST",), roles=HEAD)
def cvp_publish_calendar(ctx: Ctx, year: str, district: str) -> Response:
    """The form's ranges (each group, each period: start and end) published as the district's calendar."""
    c, form = ctx.c, ctx.form
    groups: dict[str, list[dict[str, object]]] = {}
    for group in form.getall("group"):
        for period in range(1, 13):
            start, end = form.get(f"start-{group}-{period}"), form.get(f"end-{group}-{period}")
            if start or end:
                groups.setdefault(group, []).append({"period": period, "start": start, "end": end})
    try:
        calendar.put_calendar(year, district, {"groups": groups}, operator=ctx.operator, uow=c.control.uow,
                              officers=c.control.officers, clock=c.clock)
    except DomainError as refused:
        if refused.status == 403:
            raise
        return cvp_calendar(ctx, errors=field_errors(refused), status=refused.status)
    return ctx.redirect(f"/console/cvp/calendar?district={district}&year={year}", notice="calendar_published")

"""The attention officer's pages: my people (to phone, to review, callbacks, recent check-ins), a person's file
with its evidence, and the officer's acts — the contact log, confirming an enrolment, reopening a window,
deciding a held check-in, the one callback, first registration, and an incident recorded by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from ..domain.control.officers import FEATURE_FIELDS, CallOutcome
from ..domain.errors import DomainError, NotFound
from ..domain.operators import Role
from ..domain.pages import every_page
from ..services.control import cases, contingency, desk, enrolment, person_file, reviews
from ..services.control.common import audit_entry, peru_today
from .exports import export_lists
from .person import person_view
from .web import MULTIPART, Ctx, field_errors, next_href, page, page_after

bp = Blueprint(__name__)
OFFICER = (Role.OFFICER,)
TO_PHONE = ("not_enrolled", "pending_confirmation")


@page(bp, "/console/officer", roles=OFFICER)
def officer_home(ctx: Ctx) -> Response:
    """The officer's lists, each's first page (the rest behind its "Next" link, a cursor of its own); an export
    holds the whole list."""
    c, who = ctx.c, ctx.operator
    k = c.control
    exporting = bool(ctx.query.get("format"))
    links: dict[str, str | None] = {}

    def listed(name: str, fetch: Callable[[Any], tuple[list[Any], Any]]) -> list[Any]:
        scope = f"officer-{name}:{who.subject}"
        if exporting:
            return every_page(fetch)
        got, last = fetch(page_after(ctx, scope, f"{name}_cursor"))
        links[name] = next_href(ctx, scope, last, f"{name}_cursor")
        return got

    people = listed("enrolments", lambda at: cases.officer_cases(
        operator=who, officers=k.officers, measures=k.measures, enrolments=k.enrolments, audit=c.audit,
        clock=c.clock, limit=100, after=at))
    held = listed("reviews", lambda at: reviews.held_for_review(operator=who, officers=k.officers,
                                                                 p=c.checkin_ports(), after=at))
    c.audit.append(audit_entry(who, c.clock.now(), "officer.reviews_read", who.subject, count=len(held)))
    callbacks = listed("callbacks", lambda at: contingency.officer_callbacks(
        operator=who, officers=k.officers, contingencies=k.contingencies, measures=k.measures,
        enrolments=k.enrolments, audit=c.audit, clock=c.clock, after=at))
    if ctx.query.get("format"):
        # The assigned list is the spreadsheet the procedure keeps (9.2): XLSX too.
        return export_lists(ctx, "mis-personas", {
            "assigned": (people, ["measure_id", "full_name", "identity_document", "district", "enrolment", "mobile",
                                  "calls", "last_call", "sms_sent", "opened_at"]),
            "to_review": (held, ["full_name", "window", "held_at", "reason"]),
            "callbacks": (callbacks, ["full_name", "mobile", "registry", "held_at"])}, xlsx=("assigned",))
    recent = person_file.recent_checkins([p["measure_id"] for p in people], checkins=k.checkins)
    names = {p["measure_id"]: p["full_name"] for p in people}
    return ctx.render("officer_home.html", title=ctx.t("officer.title"), people=people,
                      to_phone=[p for p in people if p["enrolment"] in TO_PHONE or p["reason"] == "not_enrolled"],
                      held=held, callbacks=callbacks, recent=recent, names=names, next_links=links,
                      outcomes=[o.value for o in CallOutcome])


def _file(ctx: Ctx, measure_id: str, as_role: str) -> person_file.PersonFile:
    c = ctx.c
    k = c.control
    return person_file.person_file(measure_id, operator=ctx.operator, as_role=as_role, measures=k.measures,
                                   enrolments=k.enrolments, officers=k.officers, checkins=k.checkins,
                                   incidents=k.incidents, calendars=k.calendars, audit=c.audit, clock=c.clock)


def render_person(ctx: Ctx, measure_id: str, as_role: str, errors: dict[str, str] | None = None,
                  status: int = 200, **extra: Any) -> Response:
    pf = _file(ctx, measure_id, as_role)
    detail = None
    if as_role == Role.OFFICER.value:
        k = ctx.c.control
        detail = cases.officer_case(measure_id, operator=ctx.operator, officers=k.officers, measures=k.measures,
                                    enrolments=k.enrolments, audit=ctx.c.audit, clock=ctx.c.clock)
    t = ctx.t
    return ctx.render("person.html", status=status, title=pf.measure.person.full_name, detail=detail,
                      errors=errors or {}, outcomes=[o.value for o in CallOutcome], features=FEATURE_FIELDS,
                      incident_options=[(k.value, t(f"incident.type.{k.value}")) for k in desk.MANUAL_TYPES],
                      window_options=[(p.window.key, f"{p.window.key} ({p.window.start:%d/%m}–{p.window.end:%d/%m})")
                                      for p in pf.closed_windows],
                      today=peru_today(ctx.c.clock.now()).isoformat(),
                      base=f"/console/officer/people/{pf.measure.measure_id}" if as_role == Role.OFFICER.value
                      else None, **person_view(ctx, pf), **extra)


@page(bp, "/console/officer/people/{measure_id}", roles=OFFICER)
def officer_person(ctx: Ctx, measure_id: str) -> Response:
    return render_person(ctx, measure_id, Role.OFFICER.value)


def _act(ctx: Ctx, measure_id: str, action: Any, notice: Any, prefix: str) -> Response:
    """Run an officer's act, then go back to the page the form was on (the person's, or my people). A refusal
    shows the person's page again with the message beside the form."""
    back = ctx.form.get("back")
    back = back if back == "/console/officer" else f"/console/officer/people/{measure_id}"
    try:
        result = action()
    except NotFound:
        raise
    except DomainError as refused:
        if back == "/console/officer" or not measure_id:
            return ctx.redirect("/console/officer", notice="refused")
        errors = {f"{prefix}-{k}": v for k, v in field_errors(refused).items()}
        return render_person(ctx, measure_id, Role.OFFICER.value, errors=errors, status=refused.status)
    return ctx.redirect(back, notice=notice(result) if callable(notice) else notice)


@page(bp, "/console/officer/people/{measure_id}/calls", methods=("POST",), roles=OFFICER)
def officer_call(ctx: Ctx, measure_id: str) -> Response:
    """The contact log in one click (annex 2 a): the second unanswered call in a row queues the SMS."""
    c, form = ctx.c, ctx.form
    k = c.control
    return _act(ctx, measure_id, lambda: cases.log_call(
        measure_id, {"outcome": form.get("outcome"), "note": form.get("note")}, operator=ctx.operator,
        officers=k.officers, measures=k.measures, enrolments=k.enrolments, uow=k.uow, clock=c.clock),
        lambda result: "sms_queued" if result.get("sms") == "queued" else "call_logged", "call")


@page(bp, "/console/officer/people/{measure_id}/confirm", methods=("POST",), roles=OFFICER)
def officer_confirm(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    return _act(ctx, measure_id, lambda: enrolment.confirm_enrolment(
        measure_id, {"confirmed": form.get("confirmed") == "true", "note": form.get("note")}, operator=ctx.operator,
        measures=k.measures, enrolments=k.enrolments, officers=k.officers, uow=k.uow, clock=c.clock),
        "confirmed" if form.get("confirmed") == "true" else "unconfirmed", "confirm")


@page(bp, "/console/officer/people/{measure_id}/relink", methods=("POST",), roles=OFFICER)
def officer_relink(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    return _act(ctx, measure_id, lambda: enrolment.relink(
        measure_id, {"attempt_id": form.get("attempt_id"), "reason": form.get("reason")}, operator=ctx.operator,
        measures=k.measures, enrolments=k.enrolments, officers=k.officers, uow=k.uow, clock=c.clock),
        "relinked", "relink")


@page(bp, "/console/officer/people/{measure_id}/reopen", methods=("POST",), roles=OFFICER)
def officer_reopen(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    return _act(ctx, measure_id, lambda: reviews.reopen_window(
        measure_id, {"window": form.get("window"), "reason": form.get("reason")}, operator=ctx.operator,
        officers=c.control.officers, p=c.checkin_ports()), "reopened", "reopen")


@page(bp, "/console/officer/people/{measure_id}/incidents", methods=("POST",), roles=OFFICER)
def officer_incident(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    return _act(ctx, measure_id, lambda: desk.record_incident(
        measure_id, {"type": form.get("type"), "day": form.get("day"), "observations": form.get("observations")},
        operator=ctx.operator, officers=k.officers, measures=k.measures, uow=k.uow, clock=c.clock),
        "incident_recorded", "incident")


@page(bp, "/console/officer/people/{measure_id}/first-registration", methods=("POST",), roles=OFFICER)
def officer_first_registration(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    features: dict[str, Any] = {f: form.get(f) for f in FEATURE_FIELDS if form.get(f)}
    if "height_cm" in features:
        features["height_cm"] = int(features["height_cm"]) if features["height_cm"].isdigit() else -1
    return _act(ctx, measure_id, lambda: cases.first_registration(
        measure_id, {"features": features}, operator=ctx.operator, officers=k.officers, measures=k.measures,
        enrolments=k.enrolments, uow=k.uow, clock=c.clock), "first_registration", "features")


@page(bp, "/console/officer/people/{measure_id}/photo", methods=("POST",), roles=OFFICER,
      content_types=(MULTIPART,))
def officer_photo(ctx: Ctx, measure_id: str) -> Response:
    c = ctx.c
    k = c.control
    upload = ctx.form.file("photo")
    return _act(ctx, measure_id, lambda: cases.first_registration_photo(
        measure_id, upload[1] if upload else b"", operator=ctx.operator, officers=k.officers, measures=k.measures,
        enrolments=k.enrolments, storage=c.storage, uow=k.uow, clock=c.clock), "photo_saved", "photo")


@page(bp, "/console/officer/check-ins/{checkin_id}/review", methods=("POST",), roles=OFFICER)
def officer_review(ctx: Ctx, checkin_id: str) -> Response:
    c, form = ctx.c, ctx.form
    measure_id = form.get("measure_id")
    return _act(ctx, measure_id, lambda: reviews.review_checkin(
        checkin_id, {"decision": form.get("decision"), "note": form.get("note")}, operator=ctx.operator,
        officers=c.control.officers, audit=c.audit, p=c.checkin_ports()), "reviewed", "review")


@page(bp, "/console/officer/callbacks/{checkin_id}", methods=("POST",), roles=OFFICER)
def officer_callback(ctx: Ctx, checkin_id: str) -> Response:
    c, form = ctx.c, ctx.form
    k = c.control
    return _act(ctx, form.get("measure_id"), lambda: contingency.complete_callback(
        checkin_id, {"outcome": form.get("outcome"), "note": form.get("note")}, operator=ctx.operator,
        officers=k.officers, contingencies=k.contingencies, measures=k.measures, enrolments=k.enrolments, uow=k.uow,
        clock=c.clock), "callback_done", "callback")

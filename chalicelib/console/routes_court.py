"""Court staff's pages: the court's measures searched by document number, name or case file; a new measure with
its area (a named area, or a GeoJSON or KML file) seen on the map before saving; and a measure's page with the
person's compliance — periods due against periods registered, the chain of measures — and its changes (legal
status, another district authorised, the once-only change of group, the end of the measure)."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from ..domain.control.area_files import area_from_file
from ..domain.control.areas import gazetteer
from ..domain.control.measures import LEGAL_STATUSES, PERIODICITIES
from ..domain.control.people import judicial_districts
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.operators import Role
from ..domain.pages import every_page
from ..services.control import measures
from .exports import export
from .maps import area_map
from .routes_officer import render_person
from .web import FORM, MULTIPART, Ctx, field_errors, next_href, page, page_after

bp = Blueprint(__name__)
COURT = (Role.COURT,)
PERSON_FIELDS = ("has_document", "nationality", "document_type", "document_number", "given_names", "surnames")
MEASURE_FIELDS = ("case_file", "court", "district", "legal_status", "periodicity", "start_date",
                  "first_registration_deadline", "end_date", "group", "resolution_date")


@page(bp, "/console/court/measures", roles=COURT)
def court_measures(ctx: Ctx) -> Response:
    """The court's measures, newest first, a page at a time ("Next" carries the cursor); an export holds every
    measure found."""
    c, q = ctx.c, ctx.query
    errors: dict[str, str] = {}
    code, found, more = "", list[Any](), None
    try:
        code = measures.court_of(ctx.operator, q.get("court"))
        status = q.get("status", "active")
        scope = f"court-measures:{code}:{status}:{q.get('q', '')}"

        def fetch(at: Any) -> tuple[list[Any], Any]:
            _, got, last = measures.search_measures(code, q.get("q", ""), operator=ctx.operator,
                                                    measures=c.control.measures, audit=c.audit, clock=c.clock,
                                                    status=status, limit=100, after=at)
            return got, last

        if q.get("format"):
            found = every_page(fetch)
        else:
            found, last = fetch(page_after(ctx, scope))
            more = next_href(ctx, scope, last)
    except ValidationError as refused:
        errors = field_errors(refused)
    if q.get("format") and not errors:
        return export(ctx, f"medidas-{code}", ["measure_id", "full_name", "identity_document", "case_file", "status",
                                               "legal_status", "district", "group", "start_date", "end_date",
                                               "enrolled"],
                      [(m.measure_id, m.person.full_name, m.person.identity_document, m.case_file, m.status,
                        m.legal_status, m.district, m.group, m.start_date.isoformat(), m.end_date.isoformat(),
                        m.linked_owner is not None) for m in found])
    courts = sorted(x for x in ctx.operator.courts if x != "*")
    return ctx.render("court_measures.html", status=422 if errors else 200, title=ctx.t("court.title"),
                      items=found, court=code or q.get("court", ""), courts=courts, q=q.get("q", ""),
                      status_filter=q.get("status", "active"), errors=errors, next_link=more)


def _payload(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The form as create_measure's payload, and the area drawn from an uploaded file (kept as GeoJSON in a
    hidden field after a preview, so saving needs no second upload)."""
    form = ctx.form
    person: dict[str, Any] = {name: form.get(f"person.{name}") for name in PERSON_FIELDS}
    person["has_document"] = form.get("person.has_document") != "false"
    payload: dict[str, Any] = {"person": person, **{name: form.get(name) for name in MEASURE_FIELDS}}
    payload = {k: v for k, v in payload.items() if v not in ("", None)}
    others = [n.strip() for n in form.get("other_names").split(",") if n.strip()]
    if others:
        payload["other_names"] = others
    kind = form.get("area_kind", "none")
    drawn: dict[str, Any] | None = None
    if kind == "named" and form.get("area_name"):
        payload["area"] = form.get("area_name")
    elif kind == "file":
        upload = form.file("area_file")
        if upload is not None:
            drawn = area_from_file(upload[0], upload[1])
        elif form.get("area_geojson"):
            try:
                drawn = json.loads(form.raw("area_geojson"))
            except ValueError:
                raise ValidationError("Upload the area's file again.", field="area_file") from None
        else:
            raise ValidationError("Choose the GeoJSON or KML file of the area.", field="area_file")
        payload["area"] = drawn
    if form.get("area_label") and kind != "none":
        payload["area_label"] = form.get("area_label")
    return payload, drawn


def _form_page(ctx: Ctx, *, errors: dict[str, str] | None = None, preview: Any = None, drawn: Any = None,
               status: int = 200) -> Response:
    t = ctx.t
    values = {k: v[0] for k, v in ctx.form.fields.items() if v}
    courts = sorted(x for x in ctx.operator.courts if x != "*")
    preview_map = None
    if preview is not None and preview.area:
        preview_map = area_map(preview.area, None, title=t("court.preview_map", label=preview.area_label),
                               description=t("map.desc.no_point", area=preview.area_label), uid="preview")
    return ctx.render("court_new.html", status=status, title=t("court.new.title"), values=values,
                      errors=errors or {}, preview=preview, preview_map=preview_map,
                      area_geojson=json.dumps(drawn) if drawn else values.get("area_geojson", ""),
                      district_options=[(d, d) for d in sorted(judicial_districts())],
                      named_area_options=[(code, area["name"]) for code, area in sorted(gazetteer().items())],
                      legal_option_list=[(s, t(f"legal.{s}")) for s in LEGAL_STATUSES],
                      periodicity_option_list=[(p, t(f"periodicity.{p}")) for p in PERIODICITIES], courts=courts)


@page(bp, "/console/court/measures/new", roles=COURT)
def court_new_measure(ctx: Ctx) -> Response:
    return _form_page(ctx)


@page(bp, "/console/court/measures", methods=("POST",), roles=COURT, content_types=(MULTIPART, FORM))
def court_create_measure(ctx: Ctx) -> Response:
    """"Preview" checks the measure and shows its area on the map; "save" creates it (the same use case as
    POST /v1/court/measures, audited the same way)."""
    c = ctx.c
    k = c.control
    drawn = None
    try:
        payload, drawn = _payload(ctx)
        if ctx.form.get("action") == "save":
            created = measures.create_measure(payload, operator=ctx.operator, measures=k.measures,
                                              calendars=k.calendars, officers=k.officers, uow=k.uow, clock=c.clock,
                                              via="console")
            return ctx.redirect(f"/console/court/measures/{created.measure_id}", notice="measure_created")
        preview = measures.preview_measure(payload, operator=ctx.operator, measures=k.measures,
                                           calendars=k.calendars, clock=c.clock)
    except DomainError as refused:
        if refused.status == 403 and refused.code != "out_of_scope":
            raise
        return _form_page(ctx, errors=field_errors(refused), drawn=drawn, status=refused.status)
    return _form_page(ctx, preview=preview, drawn=drawn)


@page(bp, "/console/court/measures/{measure_id}", roles=COURT)
def court_measure(ctx: Ctx, measure_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    t = ctx.t
    return render_person(ctx, measure_id, Role.COURT.value, errors=errors, status=status, court_forms=True,
                         district_options=[("", t("form.choose"))] + [(d, d) for d in sorted(judicial_districts())],
                         legal_option_list=[(s, t(f"legal.{s}")) for s in LEGAL_STATUSES])


def _change(ctx: Ctx, measure_id: str, action: Any, notice: str, prefix: str) -> Response:
    try:
        changed = action()
    except NotFound:
        raise
    except DomainError as refused:
        if refused.status == 403:
            raise
        return court_measure(ctx, measure_id, errors={f"{prefix}-{k}": v for k, v in field_errors(refused).items()},
                             status=refused.status)
    return ctx.redirect(f"/console/court/measures/{changed.measure_id}", notice=notice)


@page(bp, "/console/court/measures/{measure_id}/legal-status", methods=("POST",), roles=COURT)
def court_legal_status(ctx: Ctx, measure_id: str) -> Response:
    c = ctx.c
    k = c.control
    return _change(ctx, measure_id, lambda: measures.change_legal_status(
        measure_id, {"legal_status": ctx.form.get("legal_status")}, operator=ctx.operator, measures=k.measures,
        enrolments=k.enrolments, officers=k.officers, uow=k.uow, clock=c.clock), "status_changed", "status")


@page(bp, "/console/court/measures/{measure_id}/authorisations", methods=("POST",), roles=COURT)
def court_authorise(ctx: Ctx, measure_id: str) -> Response:
    c, form = ctx.c, ctx.form
    return _change(ctx, measure_id, lambda: measures.authorise_district(
        measure_id, {"district": form.get("district"), "from": form.get("from"), "to": form.get("to")},
        operator=ctx.operator, measures=c.control.measures, uow=c.control.uow, clock=c.clock), "authorised", "auth")


@page(bp, "/console/court/measures/{measure_id}/group", methods=("POST",), roles=COURT)
def court_group(ctx: Ctx, measure_id: str) -> Response:
    c = ctx.c
    k = c.control
    return _change(ctx, measure_id, lambda: measures.change_group(
        measure_id, {"group": ctx.form.get("group")}, operator=ctx.operator, measures=k.measures,
        calendars=k.calendars, uow=k.uow, clock=c.clock), "group_changed", "group")


@page(bp, "/console/court/measures/{measure_id}/revoke", methods=("POST",), roles=COURT)
def court_revoke(ctx: Ctx, measure_id: str) -> Response:
    c = ctx.c
    if ctx.form.get("confirm") != "yes":
        return court_measure(ctx, measure_id, errors={"revoke-confirm": ctx.t("court.revoke.confirm_needed")},
                             status=422)
    return _change(ctx, measure_id, lambda: measures.revoke_measure(
        measure_id, operator=ctx.operator, measures=c.control.measures, uow=c.control.uow, clock=c.clock),
        "measure_revoked", "revoke")


# --- a CSV of measures, imported as a job ---------------------------------------------------------------------

@page(bp, "/console/court/imports", roles=COURT)
def court_imports(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The court's CSV of measures: the form, its columns, and the imports its staff may follow."""
    from ..services.control.measure_import import MEASURE_CSV_COLUMNS
    from ..services.jobs import court_follows
    from .routes_admin import allow_uploads

    recent = [j for j in ctx.c.jobs.recent_jobs(100) if court_follows(j, ctx.operator)][:30]
    allow_uploads(ctx)
    return ctx.render("court_imports.html", status=status, title=ctx.t("court.imports.title"), recent=recent,
                      columns=MEASURE_CSV_COLUMNS, errors=errors or {})


@page(bp, "/console/court/imports", methods=("POST",), roles=COURT, content_types=(MULTIPART,))
def court_submit_import(ctx: Ctx) -> Response:
    from ..services import jobs

    c = ctx.c
    upload = ctx.form.file("file")
    try:
        job = jobs.submit_import("measures", upload[1] if upload else b"", upload[0] if upload else "",
                                 operator=ctx.operator, jobs=c.jobs, storage=c.storage, importers=c.importers(),
                                 audit=c.audit, clock=c.clock)
    except DomainError as refused:
        return court_imports(ctx, errors=field_errors(refused), status=refused.status)
    return ctx.redirect(f"/console/court/jobs/{job.job_id}", notice="import_queued")


@page(bp, "/console/court/imports/upload", methods=("POST",), roles=COURT, content_types=(MULTIPART, FORM))
def court_reserve_upload(ctx: Ctx) -> Response:
    """For the page's script: a job reserved for the court's file and its presigned upload, as JSON."""
    from .routes_admin import reserve_from_page

    return reserve_from_page(ctx, "measures")


@page(bp, "/console/court/imports/start", methods=("POST",), roles=COURT, content_types=(MULTIPART, FORM))
def court_start_upload(ctx: Ctx) -> Response:
    """The page's script, once the file is uploaded: the job starts on it (once) and the job's page follows."""
    from ..services import jobs

    c = ctx.c
    try:
        job = jobs.start_upload("measures", ctx.form.get("upload_id"), operator=ctx.operator, jobs=c.jobs,
                                storage=c.storage, audit=c.audit, clock=c.clock)
    except DomainError as refused:
        return court_imports(ctx, errors=field_errors(refused), status=refused.status)
    return ctx.redirect(f"/console/court/jobs/{job.job_id}", notice="import_queued")


def _court_job(ctx: Ctx, job_id: str) -> Any:
    from ..services import jobs

    return jobs.court_job(job_id, operator=ctx.operator, jobs=ctx.c.jobs)


@page(bp, "/console/court/jobs/{job_id}", roles=COURT)
def court_job(ctx: Ctx, job_id: str) -> Response:
    from .routes_admin import job_page

    job = _court_job(ctx, job_id)
    return job_page(ctx, job, stalled=job.stalled(ctx.c.clock.now()), base="/console/court/jobs/",
                    back="/console/court/imports")


@page(bp, "/console/court/jobs/{job_id}/progress", roles=COURT)
def court_job_progress(ctx: Ctx, job_id: str) -> Response:
    from .routes_admin import job_progress

    return job_progress(ctx, _court_job(ctx, job_id))


@page(bp, "/console/court/jobs/{job_id}/errors", roles=COURT)
def court_job_errors(ctx: Ctx, job_id: str) -> Response:
    from .routes_admin import job_errors

    return job_errors(ctx, _court_job(ctx, job_id), "/console/court/jobs/")


@page(bp, "/console/court/jobs/{job_id}/discard", methods=("POST",), roles=COURT, content_types=(FORM,))
def court_discard_job(ctx: Ctx, job_id: str) -> Response:
    from .routes_admin import discard_from_page

    _court_job(ctx, job_id)
    return discard_from_page(ctx, job_id, "/console/court/jobs/")

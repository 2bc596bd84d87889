"""The administrator's pages: operators and their roles and scope, and registry imports as jobs — a CSV upload
that returns at once, then a page with the job's progress bar and, by line, the rows it refused."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice import Blueprint, Response

from ..domain.accounts import scope_text
from ..domain.errors import DomainError
from ..domain.jobs import report_csv
from ..domain.operators import Role
from ..domain.requests import new_id
from ..services import jobs, operator_admin, registries
from . import i18n
from .exports import export
from .web import FORM, MULTIPART, Ctx, field_errors, page, page_headers

bp = Blueprint(__name__)
ADMIN = (Role.ADMIN,)
ROLES = [r.value for r in Role]


def _account_data(ctx: Ctx) -> dict[str, Any]:
    form = ctx.form
    return {"username": form.get("username"), "name": form.get("name"), "roles": form.getall("roles"),
            "districts": form.get("districts"), "courts": form.get("courts"), "password": form.raw("password"),
            "active": form.get("active", "true") == "true", "unlock": form.get("unlock") == "yes",
            "reset_password": form.get("reset_password") == "yes"}


@page(bp, "/console/admin/operators", roles=ADMIN)
def admin_operators(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    listed = operator_admin.list_operators(accounts=ctx.c.accounts)
    if ctx.query.get("format"):
        return export(ctx, "operadores", ["username", "name", "roles", "districts", "courts", "active"],
                      [(a.username, a.name, ",".join(sorted(a.roles)), scope_text(a.districts), scope_text(a.courts),
                        a.active) for a in listed])
    return ctx.render("admin_operators.html", status=status, title=ctx.t("admin.operators.title"), accounts=listed,
                      roles=ROLES, errors=errors or {}, scope_text=scope_text,
                      passwords=ctx.c.accounts.manages_passwords,
                      values={k: v[0] for k, v in ctx.form.fields.items() if v and k != "password"},
                      chosen_roles=ctx.form.getall("roles"))


@page(bp, "/console/admin/operators", methods=("POST",), roles=ADMIN)
def admin_create_operator(ctx: Ctx) -> Response:
    c = ctx.c
    try:
        account = operator_admin.save_operator(None, _account_data(ctx), operator=ctx.operator, accounts=c.accounts,
                                               audit=c.audit, clock=c.clock)
    except DomainError as refused:
        return admin_operators(ctx, errors=field_errors(refused), status=refused.status)
    return ctx.redirect(f"/console/admin/operators/{account.username}", notice="operator_saved")


@page(bp, "/console/admin/operators/{username}", roles=ADMIN)
def admin_operator(ctx: Ctx, username: str, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    account = operator_admin.get_operator(username, accounts=ctx.c.accounts)
    return ctx.render("admin_operator.html", status=status, title=ctx.t("admin.operator.title", name=account.name),
                      account=account, roles=ROLES, errors=errors or {}, scope_text=scope_text,
                      passwords=ctx.c.accounts.manages_passwords,
                      locked=account.locked(ctx.c.clock.now()))


@page(bp, "/console/admin/operators/{username}", methods=("POST",), roles=ADMIN)
def admin_update_operator(ctx: Ctx, username: str) -> Response:
    c = ctx.c
    try:
        operator_admin.save_operator(username, _account_data(ctx), operator=ctx.operator, accounts=c.accounts,
                                     audit=c.audit, clock=c.clock)
    except DomainError as refused:
        if refused.status == 404:
            raise
        return admin_operator(ctx, username, errors=field_errors(refused), status=refused.status)
    return ctx.redirect(f"/console/admin/operators/{username}", notice="operator_saved")


@page(bp, "/console/admin/imports", roles=ADMIN)
def admin_imports(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The import form. Its script uploads the file straight to storage through a presigned upload, then starts the
    job naming it (the API's 6 MB request cap does not bound the file); without the script the file is posted here."""
    recent = ctx.c.jobs.recent_jobs(30)
    allow_uploads(ctx)
    return ctx.render("admin_imports.html", status=status, title=ctx.t("admin.imports.title"), recent=recent,
                      registries=[(r, registries.columns(r)) for r in registries.REGISTRIES], errors=errors or {},
                      chosen=ctx.form.get("registry"))


def allow_uploads(ctx: Ctx) -> None:
    """An import page's script posts the file to the presigned upload's origin (S3's in the cloud): the page's CSP
    lets it connect there."""
    origin = ctx.c.uploads().origin()
    if origin:
        ctx.connect_origins.add(origin)


@page(bp, "/console/admin/imports", methods=("POST",), roles=ADMIN, content_types=(MULTIPART,))
def admin_submit_import(ctx: Ctx) -> Response:
    """The upload is stored and queued; the page returns at once and the job runs on the worker."""
    c = ctx.c
    upload = ctx.form.file("file")
    try:
        job = jobs.submit_import(_registry(ctx), upload[1] if upload else b"",
                                 upload[0] if upload else "", operator=ctx.operator, jobs=c.jobs, storage=c.storage,
                                 importers=c.importers(), audit=c.audit, clock=c.clock)
    except DomainError as refused:
        errors = field_errors(refused)
        if refused.status == 404:
            errors = {"registry": refused.message}
        return admin_imports(ctx, errors=errors, status=422 if refused.status == 404 else refused.status)
    return ctx.redirect(f"/console/admin/jobs/{job.job_id}", notice="import_queued")


@page(bp, "/console/admin/imports/upload", methods=("POST",), roles=ADMIN, content_types=(MULTIPART, FORM))
def admin_reserve_upload(ctx: Ctx) -> Response:
    """For the page's script: a job reserved for the file and its presigned upload, as JSON."""
    return reserve_from_page(ctx, _registry(ctx))


def _registry(ctx: Ctx) -> str:
    """The registry the form names, or nothing: an administrator's import is a registry's, never a court's
    measures (those act for the courts of the staff who import them)."""
    chosen = ctx.form.get("registry")
    return chosen if chosen in registries.REGISTRIES else ""


def reserve_from_page(ctx: Ctx, kind: str) -> Response:
    """Both import pages' scripts (an administrator's registry, a court's measures): the reserved job and its
    presigned upload as JSON, or the refusal in the API's error shape."""
    import json

    c = ctx.c
    try:
        job, ticket = jobs.reserve_upload(kind, ctx.form.get("file_name"), operator=ctx.operator,
                                          jobs=c.jobs, uploads=c.uploads(), importers=c.importers(), audit=c.audit,
                                          clock=c.clock)
        body, status = {"upload_id": job.job_id, "upload": ticket}, 201
    except DomainError as refused:
        body, status = {"error": refused.to_dict()}, refused.status
    return Response(body=json.dumps(body), status_code=status,
                    headers={**page_headers(ctx), "Content-Type": "application/json; charset=utf-8"})


@page(bp, "/console/admin/imports/start", methods=("POST",), roles=ADMIN, content_types=(MULTIPART, FORM))
def admin_start_upload(ctx: Ctx) -> Response:
    """The page's script, once the file is uploaded: the job starts on it (once) and the job's page follows."""
    c = ctx.c
    try:
        job = jobs.start_upload(_registry(ctx), ctx.form.get("upload_id"), operator=ctx.operator,
                                jobs=c.jobs, storage=c.storage, audit=c.audit, clock=c.clock)
    except DomainError as refused:
        errors = field_errors(refused)
        return admin_imports(ctx, errors=errors, status=refused.status)
    return ctx.redirect(f"/console/admin/jobs/{job.job_id}", notice="import_queued")


@page(bp, "/console/admin/jobs/{job_id}", roles=ADMIN)
def admin_job(ctx: Ctx, job_id: str) -> Response:
    job = jobs.get_job(job_id, jobs=ctx.c.jobs)
    return job_page(ctx, job, stalled=job.stalled(ctx.c.clock.now()) and job.kind in registries.REGISTRIES)


def job_page(ctx: Ctx, job: Any, *, stalled: bool, base: str = "/console/admin/jobs/",
             back: str = "/console/admin/imports") -> Response:
    """A job's page (an administrator's or a court's): progress, then its errors or its result."""
    return ctx.render("admin_job.html", title=ctx.t("admin.job.title", name=job.file_name), job=job,
                      stalled=stalled, jobs_base=base, back_url=back)


@page(bp, "/console/admin/jobs/{job_id}/discard", methods=("POST",), roles=ADMIN, content_types=(FORM,))
def admin_discard_job(ctx: Ctx, job_id: str) -> Response:
    """A stalled import ends failed and what it staged is removed (refused while it runs or once switched)."""
    c = ctx.c
    if jobs.get_job(job_id, jobs=c.jobs).kind not in registries.REGISTRIES:
        return ctx.redirect(f"/console/admin/jobs/{job_id}")
    return discard_from_page(ctx, job_id, "/console/admin/jobs/")


def discard_from_page(ctx: Ctx, job_id: str, base: str) -> Response:
    """The job page's discard button (the caller has checked the job is the operator's to discard)."""
    c = ctx.c
    try:
        jobs.discard_job(job_id, operator=ctx.operator, jobs=c.jobs, storage=c.storage, importers=c.importers(),
                         audit=c.audit, clock=c.clock)
    except DomainError:
        return ctx.redirect(f"{base}{job_id}", notice="job_not_discarded")
    return ctx.redirect(f"{base}{job_id}", notice="job_discarded")


@page(bp, "/console/admin/jobs/{job_id}/progress", roles=ADMIN)
def admin_job_progress(ctx: Ctx, job_id: str) -> Response:
    """The progress bar's data, for the page's small script (the page works without it: reload)."""
    return job_progress(ctx, jobs.get_job(job_id, jobs=ctx.c.jobs))


def job_progress(ctx: Ctx, job: Any) -> Response:
    import json

    view = jobs.job_view(job)
    view["label"] = ctx.t(f"job.status.{job.shown_status}")
    view["numbers"] = ctx.t("job.steps", done=job.written, steps=job.units) if job.stepwise else ctx.t(
        "job.numbers", checked=job.checked, total=job.total, written=job.written, units=job.units)
    return Response(body=json.dumps(view), status_code=200,
                    headers={**page_headers(ctx), "Content-Type": "application/json; charset=utf-8"})


@page(bp, "/console/admin/jobs/{job_id}/errors", roles=ADMIN)
def admin_job_errors(ctx: Ctx, job_id: str) -> Response:
    """The whole per-row error report (line, field, code, message) as CSV, through a short-lived link."""
    return job_errors(ctx, jobs.get_job(job_id, jobs=ctx.c.jobs), "/console/admin/jobs/")


def job_errors(ctx: Ctx, job: Any, base: str) -> Response:
    if not job.report_key:
        return ctx.redirect(f"{base}{job.job_id}")
    ctx.audit("job.errors_download", job.job_id)
    key = job.report_key
    stored = ctx.c.storage.get(key) if ctx.lang != "en" else None
    if stored is not None:  # the stored report is English (the API's): a copy in the console's language
        key = f"exports/{new_id()}.csv"
        ctx.c.storage.put(key, translated_report(stored, ctx.lang), "text/csv; charset=utf-8")
    link = ctx.c.media.link(key, subject=ctx.operator.subject, content_type="text/csv; charset=utf-8",
                            filename=f"errores-{job.job_id[:8]}.csv", seconds=120)
    return Response(body="", status_code=303, headers=page_headers(ctx, {"Location": link}))


def translated_report(report: bytes, lang: str) -> bytes:
    """A job's error report (line, field, code, message) with each message in the console's language."""
    rows = list(csv.DictReader(io.StringIO(report.decode("utf-8-sig"))))
    return report_csv([{**row, "message": i18n.domain_text(lang, row.get("message") or "").text} for row in rows])

"""The indicators page (SPEC §5): a month's figures for the nation or a district, each with its target and the
policy report's progress (or why it is not defined) beside obtained ÷ expected, the compliance line of the last
twelve months, a CSV export; and the administrator's forms for targets and the offices' in-person counts. The
figures are the same use cases as GET /v1/indicators; their labels are the public portal's."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from ..api import charts
from ..domain.control.people import judicial_districts
from ..domain.errors import DomainError, ValidationError
from ..domain.indicators import NATIONAL, TARGETABLE, months_back, period_of
from ..domain.operators import Role
from ..services import indicators
from .web import Ctx, field_errors, page

bp = Blueprint(__name__)
READERS = (Role.ADMIN, Role.AUDITOR, Role.CVP_HEAD, Role.REVIEWER)
PATH = "/console/indicators"


def scopes(ctx: Ctx) -> list[tuple[str, str]]:
    """The nation, then the districts this operator may read (a CVP head: their own)."""
    who = ctx.operator
    everyone = who.national or Role.REVIEWER.value in who.roles
    districts = sorted((code, name) for code, name in judicial_districts().items()
                       if everyone or code in who.districts)
    return [(NATIONAL, ctx.t("indicators.national")), *districts]


@page(bp, PATH, roles=READERS)
def indicators_page(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    c, q = ctx.c, ctx.query
    period = q.get("period") or period_of(c.clock.now())
    allowed = scopes(ctx)
    scope = q.get("district") or NATIONAL
    errors = dict(errors or {})
    report: dict[str, Any] | None = None
    try:
        if scope not in {code for code, _ in allowed}:
            indicators.parse_scope(scope)  # an unknown district is named as such
            ctx.operator.require_district(scope)  # a known one outside the operator's: the audited 403 page
        report = indicators.report(period, scope, indicators=c.indicators)
    except ValidationError as refused:
        errors.update(field_errors(refused))
    if report is not None and q.get("format") == "csv":
        from .exports import export

        return export(ctx, f"indicadores-{report['period']}-{report['scope']}", indicators.CSV_COLUMNS,
                      indicators.report_rows([report]))
    history: list[tuple[str, Any]] = []
    if report is not None:
        for month in months_back(report["period"])[:-1]:
            figure = next(f for f in indicators.month_figures(month, scope, c.indicators, with_in_person=False)
                          if f.code == "IOP.04.03")
            history.append((month, figure.value))
        history.append((report["period"], report["figures"][0]["value"]))
    chart = charts.line("compliance", ctx.t("indicators.chart"), [m for m, _ in history],
                        [v for _, v in history]) if history else ""
    return ctx.render("indicators.html", status=422 if errors and report is None else status,
                      title=ctx.t("indicators.title"), report=report, errors=errors, scopes=allowed, scope=scope,
                      period=period, label=lambda code: indicators.label(code, ctx.lang), chart=chart, history=history,
                      targetable=TARGETABLE, is_admin=ctx.has(Role.ADMIN),
                      in_person=c.indicators.in_person(report["period"]) if report and scope == NATIONAL else {},
                      form=ctx.form.flat() if ctx.form.fields else {})


@page(bp, PATH + "/targets", methods=("POST",), roles=(Role.ADMIN,))
def set_target(ctx: Ctx) -> Response:
    c, form = ctx.c, ctx.form
    payload: dict[str, Any] = {}
    try:
        for name in ("baseline", "expected", "baseline_year", "expected_year"):
            text = form.get(name).strip().replace(",", ".")
            if text:
                try:
                    payload[name] = int(text) if name.endswith("_year") else float(text)
                except ValueError:
                    raise ValidationError("Expected a number.", field=name) from None
        indicators.set_target(form.get("code"), payload, operator=ctx.operator, indicators=c.indicators,
                              clock=c.clock)
    except DomainError as refused:
        errors = field_errors(refused)
        if refused.status == 404:
            errors = {"code": refused.message}
        return indicators_page(ctx, errors=errors, status=422)
    return ctx.redirect(PATH, notice="target_saved")


@page(bp, PATH + "/in-person", methods=("POST",), roles=(Role.ADMIN,))
def set_in_person(ctx: Ctx) -> Response:
    """The month's in-person attentions, one office a line: ``Lima Centro; 1200``."""
    c, form = ctx.c, ctx.form
    offices: dict[str, Any] = {}
    try:
        for number, line in enumerate(form.get("offices").splitlines(), start=1):
            if not line.strip():
                continue
            office, _, count = line.rpartition(";")
            if not office.strip() or not count.strip().isdigit():
                raise ValidationError(f"Line {number}: expected an office, a semicolon and a whole number.",
                                      field="offices")
            offices[office.strip()] = int(count)
        indicators.set_in_person(form.get("period"), {"offices": offices}, operator=ctx.operator,
                                 indicators=c.indicators, clock=c.clock)
    except DomainError as refused:
        errors = field_errors(refused)
        return indicators_page(ctx, errors={("offices" if k.startswith("offices") else k): v
                                            for k, v in errors.items()}, status=422)
    return ctx.redirect(f"{PATH}?period={form.get('period')}", notice="in_person_saved")

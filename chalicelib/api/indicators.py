"""Indicators over HTTP: the operators' figures (JSON and CSV, with targets and progress), the administrator's
targets and in-person counts, and the public transparency portal (HTML with SVG charts, and its CSV)."""

from __future__ import annotations

import html
from typing import Any

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.control.people import judicial_districts
from ..domain.indicators import NATIONAL, months_back, period_of
from ..domain.operators import Role
from ..services import indicators
from ..services.notifications import push_text
from . import charts
from .http import handled, json_body, json_response, operator

bp = Blueprint(__name__)
PAGE_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=300",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'"}


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _csv(body: bytes, name: str, public: bool = False) -> Response:
    return Response(body=body.decode("utf-8"), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "public, max-age=300" if public else "no-store",
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/v1/indicators", methods=["GET"])
@handled(_request)
def operator_indicators():  # type: ignore[no-untyped-def]
    """A month's figures for the nation or a district; `format=csv` for a spreadsheet."""
    who = operator(bp.current_request)
    who.require(Role.ADMIN, Role.AUDITOR, Role.CVP_HEAD, Role.REVIEWER)
    c, q = container(), _query()
    scope = indicators.parse_scope(q.get("district"))
    if scope != NATIONAL and not who.national and Role.REVIEWER.value not in who.roles:
        who.require_district(scope)  # a district's unsuppressed figures are for its own CVP head
    report = indicators.report(q.get("period") or period_of(c.clock.now()), scope, indicators=c.indicators)
    if q.get("format") == "csv":
        return _csv(indicators.report_csv([report]), f"indicadores-{report['period']}-{report['scope']}.csv")
    return json_response(report)


@bp.route("/v1/admin/indicators/targets/{code}", methods=["PUT"])
@handled(_request)
def put_target(code):  # type: ignore[no-untyped-def]
    who, c = operator(bp.current_request), container()
    who.require(Role.ADMIN)
    return json_response(indicators.set_target(code, json_body(bp.current_request), operator=who,
                                               indicators=c.indicators, clock=c.clock))


@bp.route("/v1/admin/indicators/in-person/{period}", methods=["PUT"])
@handled(_request)
def put_in_person(period):  # type: ignore[no-untyped-def]
    who, c = operator(bp.current_request), container()
    who.require(Role.ADMIN)
    return json_response(indicators.set_in_person(period, json_body(bp.current_request), operator=who,
                                                  indicators=c.indicators, clock=c.clock))


# --- the public transparency portal ---------------------------------------------------------------------

def _t(key: str, lang: str, **values: str) -> str:
    return push_text(key, lang, **values)


@bp.route("/v1/admin/indicators/rebuild", methods=["POST"])
@handled(_request)
def rebuild_indicators():  # type: ignore[no-untyped-def]
    """``{"from": "2026-01", "to": "2026-11", "write": false}``: the indicators recomputed from their kept facts and
    compared with the live counters, as a job (202 and its Location: GET /v1/admin/jobs/{id} gives the progress by
    month, then the differences and the events found uncounted; ``write`` puts things right)."""
    from ..services import jobs

    request, c = bp.current_request, container()
    who = operator(request)
    who.require(Role.ADMIN)
    job = jobs.submit_task("indicators-rebuild", json_body(request), operator=who, jobs=c.jobs, tasks=c.tasks(),
                           audit=c.audit, clock=c.clock)
    return json_response(jobs.job_view(job), 202, location=f"/v1/admin/jobs/{job.job_id}")


@bp.route("/transparencia/datos.csv", methods=["GET"])
@handled(_request)
def transparency_csv():  # type: ignore[no-untyped-def]
    c, q = container(), _query()
    report = indicators.public_report(q.get("period") or period_of(c.clock.now()), q.get("district"),
                                      indicators=c.indicators)
    rows = [{"period": report["period"], "scope": report["scope"], "figures": [
        {"code": f["code"], "value": f["value"], "unit": f["unit"]} for f in report["figures"]]}]
    return _csv(indicators.report_csv(rows), f"transparencia-{report['period']}-{report['scope']}.csv", public=True)


@bp.route("/transparencia", methods=["GET"])
@handled(_request)
def transparency():  # type: ignore[no-untyped-def]
    """The portal the policy prioritises (OP.05): no sign-in, no personal data, small cells suppressed."""
    c, q = container(), _query()
    lang = "en" if q.get("lang") == "en" else "es"
    report = indicators.public_report(q.get("period") or period_of(c.clock.now()), q.get("district"),
                                      indicators=c.indicators)
    return Response(body=render_portal(report, lang, c.indicators), status_code=200, headers=PAGE_HEADERS)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1b1b1b}
header{background:#7a0c0c;color:#fff;padding:.8rem 1rem}
header a{color:#fff}
main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.4rem 0}
form{background:#fff;border-radius:.6rem;padding:.8rem;margin:1rem 0;display:flex;gap:1rem;flex-wrap:wrap;
align-items:end}
label{display:block;font-weight:600}
select,input,button{font-size:1rem;padding:.4rem}
button{background:#7a0c0c;color:#fff;border:0;border-radius:.4rem;padding:.5rem 1rem}
table{width:100%;border-collapse:collapse;background:#fff;margin:.5rem 0 1.5rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e5e5e5;font-size:.95rem}
figure{margin:1rem 0;background:#fff;border-radius:.6rem;padding:.6rem;max-width:36rem}
figcaption{font-weight:600;font-size:.95rem}
a{color:#7a0c0c}
"""


def _shown(figure: dict[str, Any], lang: str) -> str:
    """A published value as a reader expects it: 62.5%, or a time bound as "up to 4 h"."""
    text, unit = figure["value"], figure["unit"]
    if not text[:1].isdigit():
        return str(text)
    if unit == "%":
        return f"{text}%"
    if unit == "s":
        seconds = int(text)
        for size, suffix in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
            if seconds >= size and seconds % size == 0:
                return _t("transparency.up_to", lang, value=f"{seconds // size} {suffix}")
    return str(text)


def render_portal(report: dict[str, Any], lang: str, store: Any) -> str:
    period, scope = report["period"], report["scope"]
    other = "en" if lang == "es" else "es"
    scope_name = _t("transparency.national", lang) if scope == NATIONAL else judicial_districts().get(scope, scope)
    months = months_back(period)
    history = [indicators.public_report(m, scope, indicators=store, with_in_person=False) for m in months[:-1]]
    history.append(report)

    def value_of(r: dict[str, Any], code: str) -> str:
        return next((f["value"] for f in r["figures"] if f["code"] == code), "—")

    def number(text: str) -> float | None:
        try:
            return float(text)
        except ValueError:
            return None

    compliance = [value_of(r, "IOP.04.03") for r in history]
    parts = [charts.line("compliance", _t("transparency.chart.compliance", lang), months,
                         [number(v) for v in compliance]),
             charts.data_table(_t("transparency.table_of", lang), [_t("transparency.month", lang), "%"],
                               list(zip(months, compliance, strict=True)))]
    if scope == NATIONAL:
        peruvian = [value_of(r, "certificates.issued.peruvian") for r in history]
        foreign = [value_of(r, "certificates.issued.foreign") for r in history]
        names = [indicators.label(code, lang)
                 for code in ("certificates.issued.peruvian", "certificates.issued.foreign")]
        parts += [charts.bars("certificates", _t("transparency.chart.certificates", lang), months,
                              [(names[0], [number(v) for v in peruvian]), (names[1], [number(v) for v in foreign])],
                              shown=[peruvian, foreign]),
                  charts.data_table(_t("transparency.table_of", lang), [_t("transparency.month", lang), *names],
                                    list(zip(months, peruvian, foreign, strict=True)))]
    incident_codes = [f["code"] for f in report["figures"] if f["code"].startswith("incidents.")]
    incident_values = [value_of(report, code) for code in incident_codes]
    labels = [indicators.label(code, lang).split(": ", 1)[-1] for code in incident_codes]
    parts += [charts.hbars("incidents", _t("transparency.chart.incidents", lang), labels,
                           [number(v) for v in incident_values], incident_values),
              charts.data_table(_t("transparency.table_of", lang), [_t("transparency.indicator", lang), period],
                                list(zip(labels, incident_values, strict=True)))]
    table = charts.data_table(f"{scope_name} · {period}", [_t("transparency.indicator", lang),
                                                          _t("transparency.value", lang)],
                              [(indicators.label(f["code"], lang), _shown(f, lang)) for f in report["figures"]])
    options = "".join(f'<option value="{html.escape(code)}"{" selected" if code == scope else ""}>'
                      f'{html.escape(name)}</option>' for code, name in
                      [(NATIONAL, _t("transparency.national", lang)), *sorted(judicial_districts().items())])
    query = f"period={period}&amp;district={html.escape(scope)}"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(_t("transparency.title", lang))}</title><style>{STYLE}</style></head>
<body><header><a href="/transparencia?{query}&amp;lang={other}" lang="{other}">{html.escape(
        _t("transparency.language", lang))}</a></header>
<main><h1>{html.escape(_t("transparency.title", lang))}</h1><p>{html.escape(_t("transparency.intro", lang))}</p>
<form method="get" action="/transparencia"><input type="hidden" name="lang" value="{lang}">
<div><label for="period">{html.escape(_t("transparency.period", lang))}</label>
<input id="period" name="period" type="month" value="{period}"></div>
<div><label for="district">{html.escape(_t("transparency.scope", lang))}</label>
<select id="district" name="district">{options}</select></div>
<button type="submit">{html.escape(_t("transparency.show", lang))}</button></form>
{table}{"".join(parts)}
<p><a href="/transparencia/datos.csv?{query}">{html.escape(_t("transparency.csv", lang))}</a></p>
</main></body></html>"""

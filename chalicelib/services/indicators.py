"""Use cases of the indicators: an outbox event becomes one fact counted once, a month's figures for a scope
(with targets and progress), the administrator's targets and in-person counts, the public view (suppressed
small cells), and the rebuild that must agree with the live counters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.control.people import parse_district
from ..domain.control.ports import Checkins, Measures
from ..domain.errors import NotFound, ValidationError
from ..domain.indicators import (
    DEFAULT_TARGETS,
    ISSUED_FACT,
    NATIONAL,
    TARGETABLE,
    Fact,
    Figure,
    IndicatorStore,
    Target,
    contributions,
    figures,
    issued_fact_data,
    parse_target,
    progress,
    published,
)
from ..domain.operators import Operator
from ..domain.ports import Clock, Store
from ..domain.requests import Event
from .control.common import audit_entry, head_of_chain

COUNTED = frozenset({"request.created", "request.issued", "payment.refund_due", "payment.refunded",
                     "control.registered", "control.review_needed", "control.incident", "control.outage_ended"})
_PERIOD = re.compile(r"(20\d{2})-(0[1-9]|1[0-2])")


def fact_of(event: Event, *, store: Store, checkins: Checkins, measures: Measures) -> Fact | None:
    """What the indicators need of an event (never who it was about), or None when it counts for nothing."""
    d = event.data
    if event.name not in COUNTED:
        return None
    district: str | None = None
    data: dict[str, Any] = {}
    if event.name == "request.created":
        data["channel"] = str(d.get("owner", "other:")).split(":", 1)[0] or "other"
    elif event.name == "request.issued":
        carried = d.get(ISSUED_FACT)
        if isinstance(carried, dict):
            data = dict(carried)
        else:  # an event written before the issuer carried its figures
            request = store.get_request(event.aggregate_id)
            if request is None:
                return None
            data = issued_fact_data(request, event.occurred_at)
    elif event.name == "control.registered":
        checkin = checkins.get_checkin(event.aggregate_id)
        measure = head_of_chain(measures, checkin.measure_id) if checkin else None
        district = measure.district if measure else None
    elif event.name in ("control.review_needed", "control.incident"):
        district = str(d.get("district") or "") or None
        if event.name == "control.incident":
            data = {"type": d.get("type"), "checkin": bool(d.get("checkin"))}
            if d.get("day"):
                data["month"] = str(d["day"])[:7]  # the Peruvian day the incident is about
    elif event.name == "control.outage_ended":
        started, ended = d.get("started_at"), d.get("ended_at")
        minutes = (datetime.fromisoformat(str(ended)) - datetime.fromisoformat(str(started))).total_seconds() / 60 \
            if started and ended else 0.0
        data = {"registry": d.get("registry"), "minutes": round(minutes, 1)}
    return Fact(event.event_id, event.name, event.occurred_at, district, data)


def record(event: Event, *, indicators: IndicatorStore, store: Store, checkins: Checkins,
           measures: Measures) -> bool:
    """Handler of the counted events: the fact and its counters, once however often the event comes."""
    fact = fact_of(event, store=store, checkins=checkins, measures=measures)
    if fact is None:
        return False
    return indicators.apply(fact, contributions(fact))


def parse_period(value: Any) -> str:
    text = str(value or "")
    if not _PERIOD.fullmatch(text):
        raise ValidationError("Expected a month as YYYY-MM.", field="period")
    return text


def parse_scope(value: Any) -> str:
    return NATIONAL if value in (None, "", NATIONAL) else parse_district(value)


def _target(indicators: IndicatorStore, code: str) -> Target | None:
    return indicators.target(code) or DEFAULT_TARGETS.get(code)


def figure_view(figure: Figure, target: Target | None) -> dict[str, Any]:
    view: dict[str, Any] = {"code": figure.code, "value": figure.value, "unit": figure.unit,
                            "numerator": figure.numerator, "denominator": figure.denominator}
    if target is not None:
        p = progress(float(figure.value) if figure.value is not None else None, target)
        view["target"] = {"baseline": target.baseline, "expected": target.expected,
                          "baseline_year": target.baseline_year, "expected_year": target.expected_year}
        view["progress"] = {"formula": p.formula, "undefined_reason": p.undefined_reason,
                            "obtained_over_expected": p.ratio_to_expected}
    return view


def month_figures(period: str, scope: str, indicators: IndicatorStore, with_in_person: bool = True) -> list[Figure]:
    national = scope == NATIONAL
    offices = indicators.in_person(period) if national and with_in_person else {}
    return figures(indicators.counters(period, scope), sum(offices.values()) if offices else None, national)


def report(period: Any, scope: Any, *, indicators: IndicatorStore) -> dict[str, Any]:
    """A month's figures for one scope, each with its target and progress when it has one."""
    period, scope = parse_period(period), parse_scope(scope)
    return {"period": period, "scope": scope,
            "figures": [figure_view(f, _target(indicators, f.code)) for f in month_figures(period, scope,
                                                                                           indicators)]}


def public_report(period: Any, scope: Any, *, indicators: IndicatorStore,
                  with_in_person: bool = True) -> dict[str, Any]:
    """The transparency portal's figures: no personal data, small cells suppressed. (``with_in_person``: False
    where OGE4 is not shown, saving a read.)"""
    period, scope = parse_period(period), parse_scope(scope)
    return {"period": period, "scope": scope,
            "figures": [{"code": f.code, "unit": f.unit, "value": published(f)}
                        for f in month_figures(period, scope, indicators, with_in_person)]}


CSV_COLUMNS = ["period", "scope", "indicator", "value", "unit", "numerator", "denominator", "baseline", "expected",
               "progress_formula", "progress_undefined_reason", "obtained_over_expected"]


def report_rows(reports: list[dict[str, Any]]) -> list[list[Any]]:
    """The reports' figures as rows of CSV_COLUMNS (the API's CSV and the console's export)."""
    rows: list[list[Any]] = []
    for r in reports:
        for f in r["figures"]:
            t, p = f.get("target") or {}, f.get("progress") or {}
            rows.append([r["period"], r["scope"], f["code"], f["value"], f["unit"], f.get("numerator"),
                         f.get("denominator"), t.get("baseline"), t.get("expected"), p.get("formula"),
                         p.get("undefined_reason"), p.get("obtained_over_expected")])
    return rows


def report_csv(reports: list[dict[str, Any]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in report_rows(reports))
    return out.getvalue().encode("utf-8-sig")


def label(code: str, lang: str) -> str:
    """An indicator's name for people, from the one catalogue of notices (the portal and the console)."""
    from .notifications import push_text

    if code.startswith("requests.channel."):
        return push_text("indicator.requests.channel", lang, channel=code.removeprefix("requests.channel."))
    return push_text(f"indicator.{code}", lang)


def set_target(code: str, payload: Any, *, operator: Operator, indicators: IndicatorStore,
               clock: Clock) -> dict[str, Any]:
    if code not in TARGETABLE:
        raise NotFound(f"No indicator {code} takes a target; expected one of {', '.join(TARGETABLE)}.")
    target = parse_target(code, payload)
    indicators.put_target(target, audit_entry(operator, clock.now(), "indicator.set_target", code,
                                              baseline=target.baseline, expected=target.expected))
    return {"code": code, "baseline": target.baseline, "expected": target.expected,
            "baseline_year": target.baseline_year, "expected_year": target.expected_year}


def set_in_person(period: Any, payload: Any, *, operator: Operator, indicators: IndicatorStore,
                  clock: Clock) -> dict[str, Any]:
    """The month's in-person attentions per INPE office (OGE4's other half), imported by an administrator."""
    period = parse_period(period)
    offices = payload.get("offices") if isinstance(payload, dict) else None
    if not isinstance(offices, dict) or not offices or len(offices) > 200:
        raise ValidationError("Expected {\"offices\": {\"<office>\": <attentions>, ...}}.", field="offices")
    clean: dict[str, int] = {}
    for office, count in offices.items():
        if not isinstance(office, str) or not 2 <= len(office.strip()) <= 80:
            raise ValidationError("Expected an office name of 2 to 80 characters.", field="offices")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000_000:
            raise ValidationError("Expected a whole number of attentions.", field=f"offices.{office}")
        clean[" ".join(office.split())] = count
    indicators.put_in_person(period, clean, audit_entry(operator, clock.now(), "indicator.set_in_person", period,
                                                        offices=len(clean), total=sum(clean.values())))
    return {"period": period, "offices": clean, "total": sum(clean.values())}


def rebuild(periods: list[str], *, indicators: IndicatorStore, write: bool = False) -> dict[str, Any]:
    """Recompute every counter of the periods from the kept facts; report where the live counters differ
    (and, with ``write``, put the recomputed ones in their place)."""
    differences: list[dict[str, Any]] = []
    checked = 0
    for period in periods:
        recomputed: dict[str, dict[str, int]] = {}
        for fact in indicators.facts(period):
            for scope in fact.scopes:
                counters = recomputed.setdefault(scope, {})
                for metric, amount in contributions(fact).items():
                    counters[metric] = counters.get(metric, 0) + amount
        for scope, counters in sorted(recomputed.items()):
            live = indicators.counters(period, scope)
            checked += 1
            for metric in sorted(set(live) | set(counters)):
                if live.get(metric, 0) != counters.get(metric, 0):
                    differences.append({"period": period, "scope": scope, "metric": metric,
                                        "live": live.get(metric, 0), "rebuilt": counters.get(metric, 0)})
            if write and any(d["period"] == period and d["scope"] == scope for d in differences):
                indicators.replace_counters(period, scope, counters)
    return {"periods": periods, "scopes_checked": checked, "differences": differences}


def replay(events: list[Event], periods: list[str], *, indicators: IndicatorStore, store: Store,
           checkins: Checkins, measures: Measures, write: bool = False) -> list[str]:
    """The counted events still in the outbox (it keeps a week) whose fact is not kept: an event the live
    handler never counted. With ``write`` they are counted now (once, as the handler would)."""
    kept = {fact.event_id for period in periods for fact in indicators.facts(period)}
    unrecorded: list[str] = []
    for event in sorted(events, key=lambda e: e.occurred_at):
        if event.name not in COUNTED or event.event_id in kept:
            continue
        fact = fact_of(event, store=store, checkins=checkins, measures=measures)
        if fact is None or fact.period not in periods:
            continue
        unrecorded.append(event.event_id)
        if write:
            indicators.apply(fact, contributions(fact))
    return unrecorded


def periods_between(first: str, last: str) -> list[str]:
    first, last = parse_period(first), parse_period(last)
    year, month = int(first[:4]), int(first[5:])
    out: list[str] = []
    while f"{year}-{month:02d}" <= last and len(out) < 120:
        out.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _month(value: Any, field: str) -> str:
    try:
        return parse_period(value)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field) from None


class RebuildTask:
    """The rebuild as a job (``indicators-rebuild``, POST /v1/admin/indicators/rebuild): its first step counts
    again the events still in the outbox whose fact is not kept, then one step per month recomputes the counters
    from the kept facts and compares them with the live ones; with ``write``, the missed events are counted and
    the recomputed counters replace those that differ. Each step is idempotent (a fact is counted once; replacing
    counters with the recomputed ones twice is the same), so a slice that stopped runs its step again. The
    job's result rows are the events found missed and the differences; `make indicators-rebuild` does the same
    in one process."""

    def __init__(self, indicators: IndicatorStore, store: Store, checkins: Checkins, measures: Measures,
                 outbox: Callable[[], list[Event]]) -> None:
        self.indicators, self.store, self.checkins, self.measures, self.outbox = (indicators, store, checkins,
                                                                                  measures, outbox)

    def check(self, params: Any) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise ValidationError("Expected {\"from\": \"YYYY-MM\", \"to\": \"YYYY-MM\", \"write\": false}.",
                                  field="body")
        first, last = _month(params.get("from"), "from"), _month(params.get("to"), "to")
        if last < first:
            raise ValidationError("The last month must not come before the first.", field="to")
        write = params.get("write", False)
        if not isinstance(write, bool):
            raise ValidationError("Expected true or false.", field="write")
        if len(periods_between(first, last)) >= 120:
            raise ValidationError("At most 119 months at a time.", field="to")
        return {"from": first, "to": last, "write": write}

    def steps(self, params: dict[str, Any]) -> list[str]:
        return ["outbox", *periods_between(params["from"], params["to"])]

    def run_step(self, step: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if step == "outbox":
            missed = replay(self.outbox(), periods_between(params["from"], params["to"]), indicators=self.indicators,
                            store=self.store, checkins=self.checkins, measures=self.measures,
                            write=params["write"])
            return [{"kind": "unrecorded_event", "event_id": event_id} for event_id in missed]
        found = rebuild([step], indicators=self.indicators, write=params["write"])["differences"]
        return [{"kind": "difference", **difference} for difference in found]

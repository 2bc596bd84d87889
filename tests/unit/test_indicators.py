"""The indicators (SPEC §5) on the fakes: each formula from facts the real use cases produce, the policy report's
progress formula on its own published rows, the month in Peru's time, counting once however often an event
comes, the rebuild, small-cell suppression, targets and in-person counts, and the charts."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.api import charts
from chalicelib.domain.errors import NotFound, ValidationError
from chalicelib.domain.indicators import (
    BUCKETS,
    ISSUED_FACT,
    NATIONAL,
    Fact,
    Figure,
    Target,
    bucket_of,
    contributions,
    figures,
    issued_fact_data,
    progress,
    published,
    quantile,
)
from chalicelib.domain.operators import Operator
from chalicelib.domain.requests import Event, HistoryEntry, Status, new_id
from chalicelib.services import certificate_requests, indicators
from chalicelib.services.control import incidents
from chalicelib.services.time import FixedClock
from tests.factories import LUIS_CE, request_body
from tests.fakes import FakeStore
from tests.fakes_indicators import MemoryIndicators
from tests.unit.control.world import CUSCO, JUAN, World

ADMIN = Operator("admin-1", frozenset({"admin"}))


def feed(w: World, ind: MemoryIndicators, store: FakeStore | None = None) -> int:
    """Every event the world wrote, through the indicators' handler, as the worker would deliver them."""
    return sum(indicators.record(e, indicators=ind, store=store or FakeStore(), checkins=w.k.checkins,
                                 measures=w.k.measures) for e in list(w.data.events))


def value(report: dict[str, Any], code: str) -> Any:
    return next(f for f in report["figures"] if f["code"] == code)


# --- the policy report's progress formula, on its own published rows --------------------------------------

def test_the_progress_formula_reproduces_both_published_rows_and_says_when_it_is_undefined() -> None:
    # IOP.01.02: baseline 37 %, expected 37 %, obtained 34 %, published as 92 %.
    held = progress(34.0, Target("IOP.01.02", 37.0, 37.0))
    assert held.formula is None and held.undefined_reason == "expected_equals_baseline"
    assert held.ratio_to_expected == 91.9 and round(held.ratio_to_expected) == 92
    # IOP.04.03: baseline 41 %, expected 34.9 %, obtained 14 %, published as 40 %; the footnote's formula: 442.6 %.
    community = progress(14.0, Target("IOP.04.03", 41.0, 34.9))
    assert community.formula == 442.6
    assert round(community.ratio_to_expected) == 40
    assert progress(None, Target("IOP.04.03", 41.0, 34.9)).undefined_reason == "no_value"


def test_the_seeded_target_of_iop_04_03_is_the_reports_and_an_administrator_replaces_it_audited() -> None:
    ind = MemoryIndicators()
    first = indicators.report("2026-11", None, indicators=ind)
    assert value(first, "IOP.04.03")["target"] == {"baseline": 41.0, "expected": 34.9, "baseline_year": 2019,
                                                   "expected_year": 2020}
    clock = FixedClock(datetime(2026, 11, 30, 15, tzinfo=UTC))
    indicators.set_target("IOP.04.03", {"baseline": 41, "expected": 60, "expected_year": 2027}, operator=ADMIN,
                          indicators=ind, clock=clock)
    after = value(indicators.report("2026-11", None, indicators=ind), "IOP.04.03")
    assert after["target"]["expected"] == 60.0
    [entry] = ind.audit
    assert (entry.actor, entry.action, entry.target) == ("admin-1", "indicator.set_target", "IOP.04.03")
    assert entry.details == {"baseline": 41.0, "expected": 60.0}


@pytest.mark.parametrize(("payload", "field"), [
    ({"expected": 50}, "baseline"), ({"baseline": 41, "expected": 101}, "expected"),
    ({"baseline": True, "expected": 50}, "baseline"), ({"baseline": 41, "expected": "50"}, "expected"),
    ({"baseline": 41, "expected": 50, "expected_year": 1999}, "expected_year"),
    ({"baseline": 41, "expected": 50, "owner": "x"}, "owner"), ([41, 50], "baseline")])
def test_a_bad_target_names_its_field_and_changes_nothing(payload: Any, field: str) -> None:
    ind = MemoryIndicators()
    with pytest.raises(ValidationError) as error:
        indicators.set_target("IOP.04.03", payload, operator=ADMIN, indicators=ind,
                              clock=FixedClock(datetime(2026, 11, 30, tzinfo=UTC)))
    assert error.value.field == field
    assert ind.targets == {} and ind.audit == []


def test_only_an_indicator_that_is_a_share_takes_a_target() -> None:
    with pytest.raises(NotFound):
        indicators.set_target("checkins.registered", {"baseline": 1, "expected": 2}, operator=ADMIN,
                              indicators=MemoryIndicators(), clock=FixedClock(datetime(2026, 11, 30, tzinfo=UTC)))


# --- IOP.04.03 and the check-ins, from the real use cases ---------------------------------------------

def test_compliance_counts_registered_periods_over_periods_due_with_the_never_enrolled_as_due() -> None:
    w = World()
    w.officer("ana")
    w.measure(start_date="2026-10-01")
    w.measure(JUAN, case_file="00456-2021-0-1801-JR-PE-01", start_date="2026-10-01",
              first_registration_deadline="2026-10-20")  # never enrols
    w.enrol("telegram:1")
    w.run_worker()
    assert w.check_in("telegram:1")["outcome"] == "registered"
    w.clock.moment = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # the November window closed yesterday
    k = w.k
    incidents.record_missed_checkins(measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                                     calendars=k.calendars, officers=k.officers, uow=k.uow, clock=w.clock)
    incidents.record_not_enrolled(measures=k.measures, officers=k.officers, uow=k.uow, rng=w.rng, clock=w.clock)
    ind = MemoryIndicators()
    feed(w, ind)
    for scope in (NATIONAL, "LIMA"):
        november = indicators.report("2026-11", scope, indicators=ind)
        # Juan's missed window was found on 1 December and still counts in November, the month it was due.
        assert value(november, "IOP.04.03") | {"target": None, "progress": None} == {
            "code": "IOP.04.03", "value": 50.0, "unit": "%", "numerator": 1, "denominator": 2, "target": None,
            "progress": None}
        assert value(november, "checkins.registered")["value"] == 1
        assert value(november, "incidents.missed_checkin")["value"] == 1
    assert value(indicators.report("2026-11", None, indicators=ind), "IOP.04.03")["progress"] == {
        "formula": round(100 * (50 - 41) / (34.9 - 41), 1), "undefined_reason": None, "obtained_over_expected": 143.3}
    # The not-enrolled incident is December's (found on its day), and no district sees another's people.
    assert value(indicators.report("2026-12", "LIMA", indicators=ind), "incidents.not_enrolled")["value"] == 1
    assert value(indicators.report("2026-11", "CUSCO", indicators=ind), "checkins.registered")["value"] == 0


def test_a_redelivered_event_counts_once_and_the_rebuild_agrees_with_the_live_counters() -> None:
    w = World()
    w.measure(start_date="2026-10-01")
    w.enrol("telegram:1")
    w.run_worker()
    assert w.check_in("telegram:1", where=CUSCO)["outcome"] == "out_of_area"
    ind = MemoryIndicators()
    assert feed(w, ind) == 1  # one counted event: the out-of-area incident
    assert feed(w, ind) == 0  # the stream delivers everything again: nothing is added
    lima = indicators.report("2026-11", "LIMA", indicators=ind)
    assert value(lima, "checkins.out_of_area")["value"] == 1 and value(lima, "incidents.out_of_area")["value"] == 1
    assert value(lima, "IOP.04.03")["value"] is None  # nothing due yet: no share, not 0 %
    assert indicators.rebuild(["2026-11"], indicators=ind)["differences"] == []
    ind.values[("2026-11", "LIMA")]["checkins.out_of_area"] = 7  # a counter drifted
    drift = indicators.rebuild(["2026-11"], indicators=ind)
    assert drift["differences"] == [{"period": "2026-11", "scope": "LIMA", "metric": "checkins.out_of_area",
                                     "live": 7, "rebuilt": 1}]
    indicators.rebuild(["2026-11"], indicators=ind, write=True)
    assert indicators.rebuild(["2026-11"], indicators=ind)["differences"] == []


def test_the_month_is_perus_so_an_event_at_23_30_on_the_last_day_counts_in_that_month() -> None:
    late = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # 30 November, 23:30 in Lima
    fact = Fact("e1", "control.review_needed", late, "LIMA")
    assert fact.period == "2026-11" and Fact("e2", "control.review_needed", late + timedelta(hours=1)).period \
        == "2026-12"
    assert fact.scopes == (NATIONAL, "LIMA")


def test_an_event_that_counts_for_nothing_and_an_issued_request_that_is_gone_add_nothing() -> None:
    ind = MemoryIndicators()
    w = World()
    other = Event(new_id(), "request.paid", "r1", datetime(2026, 11, 2, tzinfo=UTC), {})
    gone = Event(new_id(), "request.issued", "missing", datetime(2026, 11, 2, tzinfo=UTC), {})
    for event in (other, gone):
        assert indicators.record(event, indicators=ind, store=FakeStore(), checkins=w.k.checkins,
                                 measures=w.k.measures) is False
    assert ind.kept == {}


# --- certificates: who, how decided, how long ------------------------------------------------------------

def _issued(store: FakeStore, person: dict[str, Any] | None, paid: datetime, reviewed: timedelta | None,
            issued_after: timedelta) -> Event:
    clock = FixedClock(paid - timedelta(minutes=5))
    request, _ = certificate_requests.create_request(request_body(person), owner=f"telegram:{new_id()[:6]}",
                                                     idempotency_key=None, store=store, clock=clock)
    history = [HistoryEntry(Status.PAID, paid, "provider")]
    if reviewed is not None:
        history += [HistoryEntry(Status.IN_REVIEW, paid + timedelta(seconds=1), "worker"),
                    HistoryEntry(Status.APPROVED, paid + timedelta(seconds=1) + reviewed, "reviewer")]
    store.requests[request.request_id] = replace(request, history=tuple(history), status=Status.ISSUED)
    return Event(new_id(), "request.issued", request.request_id, paid + issued_after, {})


def test_certificates_by_nationality_decision_and_time_with_quantiles_from_the_histogram() -> None:
    store, ind, w = FakeStore(), MemoryIndicators(), World()
    paid = datetime(2026, 11, 10, 15, tzinfo=UTC)
    events = [_issued(store, None, paid, None, timedelta(seconds=4)) for _ in range(6)]  # automatic, Peruvian
    events += [_issued(store, LUIS_CE, paid, timedelta(hours=h), timedelta(hours=h, seconds=5)) for h in (1, 3, 20)]
    events += [store.events[0]]  # a request.created: the channel
    for event in events:
        indicators.record(event, indicators=ind, store=store, checkins=w.k.checkins, measures=w.k.measures)
    report = indicators.report("2026-11", None, indicators=ind)
    assert value(report, "certificates.issued.peruvian")["value"] == 6
    assert value(report, "certificates.issued.foreign")["value"] == 3
    assert value(report, "certificates.decided.automatic") | {"target": None, "progress": None} == {
        "code": "certificates.decided.automatic", "value": 66.7, "unit": "%", "numerator": 6, "denominator": 9,
        "target": None, "progress": None}
    # Review times of 1 h, 3 h and 20 h: the median falls in the bucket up to 4 h, the p90 in the one up to 24 h.
    assert value(report, "time.review.median")["value"] == 14400
    assert value(report, "time.review.p90")["value"] == 86400
    assert value(report, "time.payment_to_certificate.median")["value"] == 5
    assert value(report, "time.payment_to_certificate.p95")["value"] == 86400
    assert value(report, "requests.channel.telegram")["value"] == 1
    # OGE4 waits for the offices' in-person count; then online / (online + in person).
    assert value(report, "OGE4")["value"] is None
    indicators.set_in_person("2026-11", {"offices": {"Lima  Centro": 21, "Cusco": 0}}, operator=ADMIN,
                             indicators=ind, clock=FixedClock(paid))
    assert ind.offices["2026-11"] == {"Lima Centro": 21, "Cusco": 0}
    oge4 = value(indicators.report("2026-11", None, indicators=ind), "OGE4")
    assert (oge4["value"], oge4["numerator"], oge4["denominator"]) == (30.0, 9, 30)
    # Certificates are national: a district's report has no rows for them.
    assert not any(f["code"].startswith("certificates.") for f in
                   indicators.report("2026-11", "LIMA", indicators=ind)["figures"])


def test_an_issued_event_that_carries_its_figures_counts_the_same_without_reading_the_request() -> None:
    store, w = FakeStore(), World()
    paid = datetime(2026, 11, 10, 15, tzinfo=UTC)
    old_style = [_issued(store, None, paid, None, timedelta(seconds=4)),
                 _issued(store, LUIS_CE, paid, timedelta(hours=3), timedelta(hours=3, seconds=5))]
    carried = [replace(e, event_id=new_id(), data={ISSUED_FACT: issued_fact_data(store.requests[e.aggregate_id],
                                                                                  e.occurred_at)})
               for e in old_style]
    from_requests, from_events = MemoryIndicators(), MemoryIndicators()
    for event in old_style:
        assert indicators.record(event, indicators=from_requests, store=store, checkins=w.k.checkins,
                                 measures=w.k.measures)
    nothing = FakeStore()  # the requests are not there to read
    for event in carried:
        assert indicators.record(event, indicators=from_events, store=nothing, checkins=w.k.checkins,
                                 measures=w.k.measures)
    assert from_events.counters("2026-11", NATIONAL) == from_requests.counters("2026-11", NATIONAL)
    assert from_events.counters("2026-11", NATIONAL)["certificates.issued.foreign"] == 1
    # Nothing about who it was: four figures.
    assert set(carried[1].data[ISSUED_FACT]) == {"peruvian", "reviewed", "payment_to_certificate_s", "review_s"}
    # Delivered again (the stream's retry), it counts once, and the rebuild from the kept facts agrees.
    assert not any(indicators.record(event, indicators=from_events, store=nothing, checkins=w.k.checkins,
                                     measures=w.k.measures) for event in carried)
    assert from_events.counters("2026-11", NATIONAL) == from_requests.counters("2026-11", NATIONAL)
    assert indicators.rebuild(["2026-11"], indicators=from_events)["differences"] == []


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "offices"), ({"offices": {}}, "offices"), ({"offices": {"L": 3}}, "offices"),
    ({"offices": {"Lima": -1}}, "offices.Lima"), ({"offices": {"Lima": 2.5}}, "offices.Lima")])
def test_a_bad_in_person_count_names_its_field(payload: Any, field: str) -> None:
    ind = MemoryIndicators()
    with pytest.raises(ValidationError) as error:
        indicators.set_in_person("2026-11", payload, operator=ADMIN, indicators=ind,
                                 clock=FixedClock(datetime(2026, 11, 30, tzinfo=UTC)))
    assert error.value.field == field and ind.offices == {}


def test_bad_periods_and_districts_are_named() -> None:
    for bad in ("2026-13", "26-11", "2026-1", "", "2026-11-01"):
        with pytest.raises(ValidationError) as error:
            indicators.report(bad, None, indicators=MemoryIndicators())
        assert error.value.field == "period"
    with pytest.raises(ValidationError) as district:
        indicators.report("2026-11", "ATLANTIS", indicators=MemoryIndicators())
    assert district.value.field == "district"


def test_quantiles_and_buckets() -> None:
    assert [bucket_of(s) for s in (0, 1, 1.5, 604800, 604801)] == [0, 0, 1, len(BUCKETS) - 1, len(BUCKETS)]
    counters = {"t.b0": 1, "t.b3": 8, "t.b17": 1}
    assert quantile(counters, "t", 0.5) == (BUCKETS[3], 10)
    assert quantile(counters, "t", 0.95) == (None, 10)  # beyond the last bound: not a number to publish
    assert quantile({}, "t", 0.5) == (None, 0)


def test_contingencies_count_and_their_minutes() -> None:
    fact = Fact("e", "control.outage_ended", datetime(2026, 11, 3, tzinfo=UTC), None,
                {"registry": "identity", "minutes": 12.6})
    assert contributions(fact) == {"contingencies.count": 1, "contingencies.minutes": 13}
    shown = {f.code: f.value for f in figures(contributions(fact), None, True)}
    assert shown["contingencies.count"] == 1 and shown["contingencies.minutes"] == 13


# --- publication ------------------------------------------------------------------------------------------

def test_small_cells_are_suppressed_on_the_public_side_only() -> None:
    assert [published(Figure("x", n, "count")) for n in (0, 1, 4, 5, 120)] == ["0", "<5", "<5", "5", "120"]
    assert published(Figure("IOP.04.03", 75.0, "%", 3, 4)) == "<5"  # a share of four people points at them
    assert published(Figure("IOP.04.03", 62.5, "%", 5, 8)) == "62.5"
    assert published(Figure("OGE4", None, "%")) == "—"
    w, ind = World(), MemoryIndicators()
    w.measure(start_date="2026-10-01")
    w.enrol("telegram:1")
    w.run_worker()
    w.check_in("telegram:1")
    feed(w, ind)
    assert value(indicators.public_report("2026-11", "LIMA", indicators=ind), "checkins.registered")["value"] == "<5"
    assert value(indicators.report("2026-11", "LIMA", indicators=ind), "checkins.registered")["value"] == 1


def test_the_csv_has_one_row_per_figure_with_its_target_and_progress() -> None:
    ind = MemoryIndicators()
    ind.apply(Fact("e1", "control.registered", datetime(2026, 11, 5, tzinfo=UTC), "LIMA"),
              {"compliance.registered": 1, "checkins.registered": 1})
    text = indicators.report_csv([indicators.report("2026-11", None, indicators=ind)]).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("period,scope,indicator,value,unit,numerator,denominator,baseline,expected")
    assert "2026-11,PERU,IOP.04.03,100.0,%,1,1,41.0,34.9,-967.2,,286.5" in lines


# --- charts -----------------------------------------------------------------------------------------------

def test_charts_are_labelled_svg_with_the_suppressed_text_and_escaped_labels() -> None:
    svg = charts.bars("c", "Certificados <emitidos>", ["2026-10", "2026-11"], [("Peruanos", [3.0, 12.0])],
                      shown=[["<5", "12"]])
    assert svg.startswith('<figure class="chart"><svg role="img" aria-labelledby="c-t c-d"')
    assert "<title id=\"c-t\">Certificados &lt;emitidos&gt;</title>" in svg
    assert "Peruanos: 2026-10 &lt;5, 2026-11 12" in svg and "<script" not in svg
    assert len(re.findall(r"<rect ", svg)) == 3  # two bars and one legend key
    line = charts.line("l", "Cumplimiento", ["2026-09", "2026-10", "2026-11"], [40.0, None, 50.0])
    assert line.count("<circle") == 2 and "<polyline" not in line  # the gap breaks the line
    table = charts.data_table("Tabla", ["Mes", "%"], [("2026-11", "50.0")])
    assert '<th scope="col">Mes</th>' in table and '<th scope="row">2026-11</th><td>50.0</td>' in table


def test_the_replay_finds_an_event_the_live_handler_never_counted_and_counts_it_once() -> None:
    w = World()
    w.measure(start_date="2026-10-01")
    w.enrol("telegram:1")
    w.run_worker()
    w.check_in("telegram:1", where=CUSCO)  # its incident's event is in the outbox; the handler never ran
    ind = MemoryIndicators()
    ports = {"indicators": ind, "store": FakeStore(), "checkins": w.k.checkins, "measures": w.k.measures}
    events = list(w.data.events)
    [missing] = indicators.replay(events, ["2026-11"], **ports)
    assert ind.kept == {}
    assert indicators.replay(events, ["2026-10"], **ports) == []  # outside the range asked for
    assert indicators.replay(events, ["2026-11"], **ports, write=True) == [missing]
    assert indicators.replay(events, ["2026-11"], **ports) == []
    assert ind.counters("2026-11", "LIMA")["incidents.out_of_area"] == 1


def test_axes_end_on_a_round_number_and_months_are_short() -> None:
    assert [charts.nice(v) for v in (0, 0.4, 1, 7, 63, 100, 101, 2400)] == [1.0, 0.5, 1, 10, 100, 100, 200, 2500]
    assert charts.month_label("2026-11") == "11/26"
    svg = charts.hbars("h", "Incidencias", ["fuera del área", "contingencia"], [3.0, 0.0], ["<5", "0"])
    assert "fuera del área" in svg and ">&lt;5</text>" in svg and 'viewBox="0 0 360 76"' in svg


def test_the_rebuild_runs_as_a_job_month_by_month_resumes_after_a_crash_and_puts_things_right() -> None:
    from chalicelib.domain.jobs import JobStatus
    from chalicelib.services import jobs
    from tests.fakes_console import FakeJobs

    w = World()
    w.measure(start_date="2026-10-01")
    w.enrol("telegram:1")
    w.run_worker()
    w.check_in("telegram:1", where=CUSCO)
    ind = MemoryIndicators()
    assert feed(w, ind) == 1
    w.measure(person=JUAN, start_date="2026-10-01")
    w.enrol("telegram:2", person=JUAN)
    w.run_worker()
    w.check_in("telegram:2", where=CUSCO)  # its review event is in the outbox but never reached the counters
    ind.values[("2026-11", "LIMA")]["checkins.out_of_area"] = 7  # and a counter drifted
    task = indicators.RebuildTask(ind, FakeStore(), w.k.checkins, w.k.measures, lambda: list(w.data.events))
    tasks: dict[str, Any] = {"indicators-rebuild": task}
    fake_jobs, admin = FakeJobs(), Operator("admin-1", frozenset({"admin"}))

    def submit(params: Any) -> Any:
        return jobs.submit_task("indicators-rebuild", params, operator=admin, jobs=fake_jobs, tasks=tasks,
                                audit=w.audit, clock=w.clock)

    for bad, field in (({"from": "2026-13", "to": "2026-11"}, "from"), ({"from": "2026-11", "to": "2026-10"}, "to"),
                       ({"from": "2026-10", "to": "2026-11", "write": "yes"}, "write"), ([], "body")):
        with pytest.raises(ValidationError) as refused:
            submit(bad)
        assert refused.value.field == field
    job = submit({"from": "2026-10", "to": "2026-11"})
    assert job.units == 3 and job.percent == 0  # the outbox, then each month

    original, crashes = task.run_step, {"left": 1}

    def crashing(step: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if step == "2026-11" and crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("the worker died")
        return original(step, params)

    task.run_step = crashing  # type: ignore[method-assign]
    ticks = iter(range(10_000))

    def run() -> Any:
        return jobs.run_slice(job.job_id, jobs=fake_jobs, storage=w.storage, importers={}, clock=w.clock,
                              budget_seconds=0.5, timer=lambda: float(next(ticks)), tasks=tasks)

    first = run()
    assert first.status is JobStatus.WRITING and first.written == 1 and first.percent == 33  # handed on
    assert [e.name for e in fake_jobs.events][-1] == "job.continue"
    second = run()
    assert second.written == 2
    with pytest.raises(RuntimeError):
        run()
    done = run()  # the retry runs the step that died again
    assert done.status is JobStatus.DONE and done.written == 3
    kinds = [r["kind"] for r in done.result_rows]
    assert kinds.count("unrecorded_event") == 1 and done.result_count == len(done.result_rows)
    assert {"kind": "difference", "period": "2026-11", "scope": "LIMA", "metric": "checkins.out_of_area",
            "live": 7, "rebuilt": 1} in done.result_rows
    assert value(indicators.report("2026-11", "LIMA", indicators=ind), "checkins.out_of_area")["value"] == 7

    fixed = submit({"from": "2026-11", "to": "2026-11", "write": True})
    while not (fixed := run_all(fixed.job_id, fake_jobs, w, tasks)).finished:
        pass
    assert fixed.status is JobStatus.DONE
    assert indicators.rebuild(["2026-11"], indicators=ind)["differences"] == []
    assert value(indicators.report("2026-11", "LIMA", indicators=ind), "checkins.out_of_area")["value"] == 1
    assert indicators.replay(list(w.data.events), ["2026-11"], indicators=ind, store=FakeStore(),
                             checkins=w.k.checkins, measures=w.k.measures) == [], "the missed event is counted now"
    assert [a.details for a in w.audit.entries if a.action == "job.submit"][-1]["write"] is True


def run_all(job_id: str, fake_jobs: Any, w: World, tasks: dict[str, Any]) -> Any:
    from chalicelib.services import jobs

    return jobs.run_slice(job_id, jobs=fake_jobs, storage=w.storage, importers={}, clock=w.clock,
                          budget_seconds=3600.0, tasks=tasks)

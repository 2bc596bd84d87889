"""Bulk notices as fan-out jobs, on the in-memory fakes: the hourly reminders and a calendar's notices are a cheap
plan of units of 25 people, each unit sent by the notices consumer, counted done once; planning again makes no
second job; a unit that fails is retried alone, and listed on its job meanwhile; nothing goes out of sending hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain import fanout
from chalicelib.domain.control.calendar import PERU
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.jobs import UNITS_FAILED, Job, JobStatus
from chalicelib.domain.requests import Event
from chalicelib.services.control import calendar, notices
from chalicelib.services.fanout import plan, run_unit, unit_done, unit_failed
from chalicelib.services.jobs import job_view
from infrastructure.local.seed import sample_calendar
from tests.fakes_control import RecordingChat
from tests.unit.control.world import ROSA, World, staff

CLOSING_EVE = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # 10:00 in Lima; group B's window closes tomorrow


def crowd(w: World, people: int) -> list[str]:
    """People of LIMA, each with a measure and an enrolled chat; their chat ids."""
    chats = []
    for i in range(people):
        person = {**ROSA, "document_number": f"8{i:07d}", "given_names": f"Persona {_letters(i)}"}
        w.measure(person)
        w.enrol(f"telegram:{9000 + i}", person)
        chats.append(str(9000 + i))
    w.run_worker()
    return chats


def on_closing_eve(people: int) -> tuple[World, list[str]]:
    """A district with its officer and ``people`` enrolled, the evening before their window closes."""
    w = World()
    w.officer("ana")
    chats = crowd(w, people)
    w.clock.moment = CLOSING_EVE
    return w, chats


def _letters(number: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in str(number)).title()


def units(w: World, name: str) -> list[Any]:
    return [e for e in w.data.events if e.name == name]


class FlakyChat(RecordingChat):
    """A chat service that fails for some chats until told to recover."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        if chat_id in self.failing:
            raise ServiceUnavailable("The chat service did not answer.", code="chat_unavailable")
        return super().send_message(chat_id, text)


def test_the_hourly_plan_cuts_sixty_people_into_three_units_and_each_is_reminded_once() -> None:
    w, chats = on_closing_eve(60)
    job = w.plan_reminders()
    assert job is not None and job.kind == fanout.REMINDERS and job.units == 3 and job.status is JobStatus.WRITING
    assert w.chat.sent == []  # planning sends nothing
    assert [len(e.data["measures"]) for e in units(w, fanout.REMINDERS_UNIT)] == [25, 25, 10]
    w.run_worker()
    assert all(len(w.chat.to(chat)) == 1 for chat in chats)
    assert len(w.chat.sent) == 60
    done = w.jobs.get_job(job.job_id)
    assert done is not None and done.status is JobStatus.DONE and done.written == 3 and done.percent == 100


def test_planning_twice_in_the_same_hour_makes_one_job_and_no_second_unit() -> None:
    w, _ = on_closing_eve(30)
    first = w.plan_reminders()
    w.clock.advance(minutes=20)
    again = w.plan_reminders()
    assert first is not None and again is not None and again.job_id == first.job_id
    assert list(w.jobs.jobs) == [first.job_id] and len(units(w, fanout.REMINDERS_UNIT)) == 2
    w.run_worker()
    assert len(w.chat.sent) == 30


def test_a_redelivered_unit_sends_nothing_twice_and_counts_once() -> None:
    w, _ = on_closing_eve(30)
    job = w.plan_reminders()
    assert job is not None
    w.run_worker()
    first_unit = units(w, fanout.REMINDERS_UNIT)[0]
    w.data.events.append(first_unit)  # the outbox delivers it again
    w.run_worker()
    assert len(w.chat.sent) == 30
    assert w.jobs.get_job(job.job_id).written == 2  # type: ignore[union-attr]


def test_a_failing_person_holds_up_no_one_and_the_retried_unit_sends_only_what_is_missing() -> None:
    w = World()
    w.officer("ana")
    chats = crowd(w, 30)
    w.chat = FlakyChat({chats[3]})
    failures = 0
    w.clock.moment = CLOSING_EVE
    job = w.plan_reminders()
    assert job is not None
    for _ in units(w, fanout.REMINDERS_UNIT):  # the unit holding the failing chat fails after trying all of its
        try:                                   # people; the other goes on
            w.run_worker()
        except ServiceUnavailable:
            failures += 1
    assert failures == 1
    assert len(w.chat.sent) == 29 and w.chat.to(chats[3]) == []
    running = w.jobs.get_job(job.job_id)  # every unit done or failed: the job says which failed (no person)
    assert running is not None and running.written == 1 and running.status is JobStatus.FAILED
    measure_id = w.k.enrolments.get_enrolment(f"telegram:{chats[3]}").measure_id  # type: ignore[union-attr]
    [failing] = [e.data["unit"] for e in units(w, fanout.REMINDERS_UNIT) if measure_id in e.data["measures"]]
    assert running.message == UNITS_FAILED and running.failures == [(failing, "")]
    w.chat.failing.clear()
    w.data.events.extend(units(w, fanout.REMINDERS_UNIT))  # the outbox's retry (and the other unit redelivered)
    w.run_worker()
    assert len(w.chat.sent) == 30 and len(w.chat.to(chats[3])) == 1
    done = w.jobs.get_job(job.job_id)
    assert done is not None and done.status is JobStatus.DONE and done.written == 2 and done.failed_units == ()


def test_nothing_is_planned_out_of_sending_hours_and_a_late_unit_sends_nothing() -> None:
    w = World()
    w.officer("ana")
    crowd(w, 5)
    w.clock.moment = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 20:30 on the 29th in Lima
    assert w.plan_reminders() is None
    w.clock.moment = datetime(2026, 11, 30, 0, 59, tzinfo=UTC)  # 19:59
    job = w.plan_reminders()
    assert job is not None
    w.clock.advance(minutes=2)  # the unit is handled at 20:01
    w.run_worker()
    assert w.chat.sent == []
    assert w.jobs.get_job(job.job_id).status is JobStatus.DONE  # type: ignore[union-attr]


def test_people_are_reminded_in_their_own_language() -> None:
    w = World()
    w.officer("ana")
    w.measure()
    w.enrol("telegram:1", language="en")
    w.run_worker()
    w.clock.moment = CLOSING_EVE
    w.plan_reminders()
    w.run_worker()
    [text] = w.chat.to("1")
    assert text.startswith("Reminder:") and "30/11/2026" in text


def test_a_calendar_is_told_in_units_and_its_event_redelivered_plans_no_second_job() -> None:
    w = World()
    w.officer("ana")
    chats = crowd(w, 40)
    calendar.put_calendar(2027, "lima", sample_calendar(2027), operator=staff("head", "cvp_head"), uow=w.k.uow,
                          officers=w.k.officers, clock=w.clock)
    published = next(e for e in w.data.events if e.name == "control.calendar_published")
    w.run_worker()
    w.data.events.append(published)  # redelivered
    w.run_worker()
    [job] = [j for j in w.jobs.jobs.values() if j.kind == fanout.CALENDAR]
    assert job.units == 2 and job.status is JobStatus.DONE and job.written == 2
    assert len(units(w, fanout.CALENDAR_UNIT)) == 2
    assert all(len([t for t in w.chat.to(chat) if "2027" in t]) == 1 for chat in chats)


def test_a_plan_cut_short_resumes_with_the_missing_units_only() -> None:
    w = World()
    job_id = "reminders-test"
    work = [{"measures": [f"m{i}"]} for i in range(60)]
    tx = w.k.uow.begin()  # a plan that crashed after writing its job and the first unit
    w.jobs.put_job(Job(job_id=job_id, kind=fanout.REMINDERS, created_by="system", created_at=w.clock.now(),
                       input_key="", status=JobStatus.QUEUED, total=60, units=60))
    tx.add_event(Event(fanout.unit_event_id(job_id, 0), fanout.REMINDERS_UNIT, "x", w.clock.now(),
                       {**work[0], "job_id": job_id, "unit": 0}))
    tx.commit()
    job = plan(job_id, fanout.REMINDERS, "label", work, fanout.REMINDERS_UNIT, jobs=w.jobs, uow=w.k.uow,
               clock=w.clock)
    assert job is not None and job.status is JobStatus.WRITING
    ids = [e.event_id for e in units(w, fanout.REMINDERS_UNIT)]
    assert len(ids) == 60 == len(set(ids))


def test_units_count_only_once_each_and_the_last_one_finishes_the_job() -> None:
    w = World()
    job = plan("reports-daily-x", fanout.DAILY_REPORTS, "x", [{}, {}], fanout.DAILY_REPORT_UNIT, jobs=w.jobs,
               uow=w.k.uow, clock=w.clock)
    assert job is not None and job.percent < 100
    assert unit_done(job.job_id, 0, jobs=w.jobs, clock=w.clock)
    assert not unit_done(job.job_id, 0, jobs=w.jobs, clock=w.clock)
    assert w.jobs.get_job(job.job_id).status is JobStatus.WRITING  # type: ignore[union-attr]
    assert unit_done(job.job_id, 1, jobs=w.jobs, clock=w.clock)
    finished = w.jobs.get_job(job.job_id)
    assert finished is not None and finished.status is JobStatus.DONE and finished.finished_at is not None


def test_no_chat_channel_means_no_plan() -> None:
    w, _ = on_closing_eve(2)
    k = w.k
    assert notices.plan_reminders(officers=k.officers, measures=k.measures, calendars=k.calendars, notifier=None,
                                  jobs=w.jobs, uow=k.uow, clock=w.clock) is None


def test_a_resumed_plan_with_less_work_fills_the_gap_with_empty_units_that_count() -> None:
    w = World()
    w.officer("ana")
    crowd(w, 3)
    w.clock.moment = CLOSING_EVE
    job_id = fanout.reminders_job_id(w.clock.now().astimezone(PERU))
    # A first run recorded two units and crashed; by the second run the work fits in one.
    w.jobs.put_job(Job(job_id=job_id, kind=fanout.REMINDERS, created_by="system", created_at=w.clock.now(),
                       input_key="", status=JobStatus.QUEUED, total=2, units=2))
    job = w.plan_reminders()
    assert job is not None and job.units == 2 and len(units(w, fanout.REMINDERS_UNIT)) == 2
    w.run_worker()
    assert len(w.chat.sent) == 3
    assert w.jobs.get_job(job_id).status is JobStatus.DONE  # type: ignore[union-attr]


def three_districts(w: World) -> Job:
    job = plan("reports-daily-failing", fanout.DAILY_REPORTS, "x",
               [{"district": d} for d in ("CALLAO", "CUSCO", "LIMA")], fanout.DAILY_REPORT_UNIT, jobs=w.jobs,
               uow=w.k.uow, clock=w.clock)
    assert job is not None
    return job


def handle(w: World, unit: int, broken: set[str]) -> str:
    """The unit's handler as the daily reports wire theirs (labelled by its district): it raises while its
    district is broken."""
    [data] = [e.data for e in units(w, fanout.DAILY_REPORT_UNIT) if e.data["unit"] == unit]

    def work() -> str:
        if data["district"] in broken:
            raise ServiceUnavailable("The signing service did not answer.", code="signer_unavailable")
        return str(data["district"])

    return run_unit(data, work, jobs=w.jobs, clock=w.clock, label=str(data["district"]))


def test_a_unit_failing_every_retry_ends_its_job_failed_listing_it_and_a_late_success_finishes_it() -> None:
    w = World()
    job = three_districts(w)
    handle(w, 0, set())
    handle(w, 2, set())
    raised = []
    for _ in range(6):  # the first delivery and the consumer's 5 retries
        try:
            handle(w, 1, {"CUSCO"})
        except ServiceUnavailable as exc:  # the unit's own exception, every time
            raised.append(exc.code)
    assert raised == ["signer_unavailable"] * 6
    failed = w.jobs.get_job(job.job_id)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.finished
    assert failed.message == UNITS_FAILED and failed.shown_status == "units_failed" and failed.written == 2
    assert failed.failures == [(1, "CUSCO")]  # listed once, however often it failed
    view = job_view(failed)
    assert view["status"] == "failed" and view["units_failed"] == 1
    assert view["failed_units"] == [{"unit": 1, "label": "CUSCO"}]
    assert handle(w, 1, set()) == "CUSCO"  # a retry that lands after the job was settled
    done = w.jobs.get_job(job.job_id)
    assert done is not None and done.status is JobStatus.DONE and done.written == 3 and done.failed_units == ()
    assert done.message == "" and job_view(done)["units_failed"] == 0
    handle(w, 1, set())  # redelivered: counts nothing twice
    assert not unit_failed(job.job_id, 1, jobs=w.jobs, clock=w.clock, label="CUSCO")  # a late failure of a done unit
    again = w.jobs.get_job(job.job_id)
    assert again is not None and again.status is JobStatus.DONE and again.written == 3 and again.failed_units == ()


def test_a_failed_unit_while_others_run_leaves_the_job_writing_and_the_same_failure_twice_counts_once() -> None:
    w = World()
    job = three_districts(w)
    assert unit_failed(job.job_id, 1, jobs=w.jobs, clock=w.clock, label="CUSCO")
    assert unit_failed(job.job_id, 1, jobs=w.jobs, clock=w.clock, label="CUSCO")  # delivered twice
    running = w.jobs.get_job(job.job_id)
    assert running is not None and running.status is JobStatus.WRITING and running.failed_units == ("1:CUSCO",)
    assert job_view(running)["units_failed"] == 1
    handle(w, 0, set())
    handle(w, 2, set())  # the last unit settles it: two done, one failed
    settled = w.jobs.get_job(job.job_id)
    assert settled is not None and settled.status is JobStatus.FAILED and settled.failures == [(1, "CUSCO")]
    assert handle(w, 1, set()) == "CUSCO"
    assert w.jobs.get_job(job.job_id).status is JobStatus.DONE  # type: ignore[union-attr]


def test_a_failure_that_cannot_be_recorded_never_hides_the_units_own_exception() -> None:
    w = World()
    data = {"job_id": "reports-daily-gone", "unit": 0}  # its job is not there (a store that fails alike)

    def work() -> None:
        raise ServiceUnavailable("The signing service did not answer.", code="signer_unavailable")

    with pytest.raises(ServiceUnavailable) as raised:
        run_unit(data, work, jobs=w.jobs, clock=w.clock, label="LIMA")
    assert raised.value.code == "signer_unavailable"
    assert not unit_failed("reports-daily-gone", 0, jobs=w.jobs, clock=w.clock)

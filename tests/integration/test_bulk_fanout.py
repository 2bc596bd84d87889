"""Bulk notices and the daily reports as fan-out jobs on DynamoDB Local, through the scheduled functions, the
outbox worker and the admin's job endpoint: many people make many units, each person is reminded once, redelivered
units send nothing twice and count once, a failing unit is retried alone, planning twice makes one job, nothing goes
out of sending hours, and one district's failing report holds up no other. A unit given up after its retries is
listed on its job, which ends failed; a later retry that succeeds finishes it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import dynamo_models as m
from chalicelib.domain import fanout
from chalicelib.domain.errors import NotFound, ServiceUnavailable
from chalicelib.domain.jobs import Job, JobStatus
from chalicelib.domain.requests import Event, new_id
from chalicelib.handlers import NOTICES, WORK, dispatch
from chalicelib.services.control import calendar
from chalicelib.services.control import reports as reports_service
from infrastructure.local.seed import sample_calendar
from tests.integration.conftest import Api
from tests.integration.console_support import signed_in
from tests.integration.control_support import Chat, new_district, run_schedule
from tests.integration.test_control_ops_api import enrol_directly
from tests.unit.control.world import staff

# The day before group B's window closes; each test plans an hour of its own (the session's tables are shared, and
# an hour is planned once), none of them test_control_ops_api's 10:00.
CLOSING_EVE = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)  # 08:00 in Lima


def crowd(api: Api, district: str, people: int) -> list[str]:
    """People of the district with a measure and an enrolled chat (made by the use cases, for speed)."""
    owners = [f"telegram:{secrets_part()}{i:03d}" for i in range(people)]
    for owner in owners:
        enrol_directly(api, district, owner)
    api.run_worker()
    return owners


def secrets_part() -> str:
    return str(int(new_id().encode().hex(), 16) % 10**8)


def job_of(api: Api, job_id: str) -> dict[str, Any]:
    answer = api.get(f"/v1/admin/jobs/{job_id}", headers=api.operator_headers("admin"))
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def reminder_job_id(clock: Any) -> str:
    from chalicelib.domain.control.calendar import PERU

    return fanout.reminders_job_id(clock.now().astimezone(PERU))


def units_of(api: Api, job_id: str, owners: list[str]) -> list[Any]:
    """The units holding these people's measures (a plan covers every district with reminders due)."""
    mine = {api.c.control.enrolments.get_enrolment(owner).measure_id for owner in owners}  # type: ignore[union-attr]
    return [e for e in unit_events(api, job_id) if mine & set(e.data["measures"])]


def unit_events(api: Api, job_id: str) -> list[Any]:
    """The units' events of a job, read back from the outbox (tests only: a request path never scans)."""
    found = [Event(i.event_id, i.name, i.aggregate_id, datetime.fromisoformat(i.occurred_at), i.data)
             for i in m.OutboxModel.scan(m.OutboxModel.event_id.startswith(f"{job_id}.u"))]
    return sorted(found, key=lambda e: int(e.data["unit"]))


class FlakyChat(Chat):
    """A chat service that fails for some chats (a timeout: the notifier's ServiceUnavailable)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()
        self.lock = threading.Lock()

    def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        if f"telegram:{chat_id}" in self.failing:
            raise ServiceUnavailable("The chat service did not answer.", code="chat_unavailable")
        with self.lock:
            return super().send_message(chat_id, text)


@pytest.fixture
def flaky(api: Api, monkeypatch: pytest.MonkeyPatch) -> FlakyChat:
    recorder = FlakyChat()
    monkeypatch.setattr(api.c, "notifier", lambda: recorder)
    return recorder


def sent_to(chat: Chat, owners: list[str]) -> int:
    return sum(len(chat.to(owner)) for owner in owners)


def test_sixty_people_make_three_units_and_each_is_reminded_exactly_once(api, district, flaky, clock):
    owners = crowd(api, district, 60)
    clock.moment = CLOSING_EVE
    run_schedule(api, "control_reminders")
    job_id = reminder_job_id(clock)
    planned = job_of(api, job_id)
    assert planned["kind"] == "notices:reminders" and planned["status"] == "writing"
    assert flaky.sent == []  # the plan sends nothing itself
    mine = units_of(api, job_id, owners)
    assert len(mine) >= 3 and planned["units"] == len(unit_events(api, job_id))
    assert all(len(e.data["measures"]) <= fanout.UNIT_SIZE for e in unit_events(api, job_id))
    api.run_worker()
    assert all(len(flaky.to(owner)) == 1 for owner in owners)
    assert all("30/11/2026" in flaky.to(owner)[0] for owner in owners)
    done = job_of(api, job_id)
    assert done["status"] == "done" and done["written"] == done["units"] and done["percent"] == 100


def test_planning_twice_in_the_hour_is_one_job_and_redelivered_units_send_nothing_twice_and_count_once(
        api, district, flaky, clock):
    owners = crowd(api, district, 30)
    clock.moment = CLOSING_EVE + timedelta(hours=1)
    run_schedule(api, "control_reminders")
    clock.advance(minutes=30)
    run_schedule(api, "control_reminders")  # the same hour: the job is there, no unit is added
    job_id = reminder_job_id(clock)
    units = unit_events(api, job_id)
    assert job_of(api, job_id)["units"] == len(units) and len(units_of(api, job_id, owners)) >= 2
    api.run_worker()
    for event in units:  # the stream delivers every unit again
        dispatch(event, api.c, NOTICES)
    assert sent_to(flaky, owners) == 30 and all(len(flaky.to(owner)) == 1 for owner in owners)
    assert job_of(api, job_id)["written"] == len(units)


def test_a_failing_unit_leaves_the_others_sent_and_is_retried_later(api, district, flaky, clock):
    owners = crowd(api, district, 30)
    clock.moment = CLOSING_EVE + timedelta(hours=3)
    flaky.failing = {owners[0]}
    run_schedule(api, "control_reminders")
    job_id = reminder_job_id(clock)
    failed = []
    for event in unit_events(api, job_id):  # the outbox's first delivery of each unit
        try:
            dispatch(event, api.c, NOTICES)
        except ServiceUnavailable:
            failed.append(event)
    assert len(failed) == 1  # the unit of the failing chat; the others went through
    assert sent_to(flaky, owners) == 29 and flaky.to(owners[0]) == []
    settled = job_of(api, job_id)  # every unit done or failed: the job lists the failed one (no person)
    units = settled["units"]
    assert settled["written"] == units - 1 and settled["status"] == "failed" and settled["message"] == "units_failed"
    assert settled["failed_units"] == [{"unit": failed[0].data["unit"], "label": ""}]
    flaky.failing.clear()  # the chat service is back; the outbox retries the unit
    dispatch(failed[0], api.c, NOTICES)
    assert sent_to(flaky, owners) == 30 and all(len(flaky.to(owner)) == 1 for owner in owners)
    assert job_of(api, job_id)["status"] == "done" and job_of(api, job_id)["failed_units"] == []
    sent = len(flaky.sent)
    api.run_worker()  # the stream's own deliveries change nothing
    assert len(flaky.sent) == sent and job_of(api, job_id)["written"] == units


def test_outside_sending_hours_nothing_is_planned_and_a_late_unit_sends_nothing(api, district, flaky, clock):
    owners = crowd(api, district, 3)
    clock.moment = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 20:30 on the 29th in Lima
    run_schedule(api, "control_reminders")
    assert api.c.jobs.get_job(reminder_job_id(clock)) is None
    clock.moment = datetime(2026, 11, 30, 0, 59, tzinfo=UTC)  # 19:59: planned
    run_schedule(api, "control_reminders")
    job_id = reminder_job_id(clock)
    assert units_of(api, job_id, owners)
    clock.advance(minutes=2)  # handled at 20:01
    api.run_worker()
    assert sent_to(flaky, owners) == 0
    assert job_of(api, job_id)["status"] == "done"


def test_units_counted_from_parallel_consumers_add_up_and_a_repeated_unit_counts_once(api):
    job_id = f"test-{new_id()}"
    now = api.c.clock.now()
    api.c.jobs.put_job(Job(job_id=job_id, kind=fanout.REMINDERS, created_by="system", created_at=now, input_key="",
                           status=JobStatus.WRITING, total=40, checked=40, units=40))
    counted: list[bool] = []

    def count(index: int) -> None:
        counted.append(api.c.jobs.add_done(job_id, 1, once=fanout.unit_marker(job_id, index % 20)))

    threads = [threading.Thread(target=count, args=(i,)) for i in range(40)]  # each unit twice, all at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job = api.c.jobs.get_job(job_id)
    assert job is not None and job.written == 20 and counted.count(True) == 20
    assert job.version == 21  # each count moved the version: a save from an older read fails
    saved = job.progressed(now, message="folded")
    api.c.jobs.put_job(saved)
    assert api.c.jobs.get_job(job_id).written == 20  # type: ignore[union-attr]  # the save folds the count in
    assert api.c.jobs.add_done(job_id, 1, once=fanout.unit_marker(job_id, 20))
    assert api.c.jobs.get_job(job_id).written == 21  # type: ignore[union-attr]


def test_a_calendar_published_is_told_in_units_and_planned_once(api, district, flaky):
    owners = crowd(api, district, 30)
    calendar.put_calendar(2027, district, sample_calendar(2027), operator=staff("head", "cvp_head", district),
                          uow=api.c.control.uow, officers=api.c.control.officers, clock=api.c.clock)
    api.run_worker()
    [job] = [j for j in api.c.jobs.recent_jobs(200) if j.kind == fanout.CALENDAR and j.file_name.startswith(district)]
    assert job.units == 2 and job.status is JobStatus.DONE
    assert all(len([t for t in flaky.to(owner) if "2027" in t]) == 1 for owner in owners)


def daily_reports_planned(api: Any, clock: Any, day: date) -> tuple[str, dict[str, Event]]:
    """The schedule run at 00:30 in Lima the day after ``day``: the day's report job and its unit events by
    district."""
    clock.moment = datetime(day.year, day.month, day.day, 5, 30, tzinfo=UTC) + timedelta(days=1)
    run_schedule(api, "control_daily_reports")
    job_id = fanout.daily_reports_job_id(day)
    return job_id, {e.data["district"]: e for e in unit_events(api, job_id)}


def failing_reports(api: Any, monkeypatch: Any) -> tuple[str, str, set[str], list[str]]:
    """Two new districts; the first's daily report fails (the signing service down) while its name is in the
    returned set, each failed try noted in the returned list."""
    api.run_worker()
    failing, fine = new_district(api), new_district(api)
    for district in (failing, fine):
        api.c.control.officers.add_district(district)
    real = reports_service.daily_report
    broken, tries = {failing}, []

    def report(district: str, *args: Any, **kwargs: Any) -> Any:
        if district in broken:
            tries.append(district)
            raise ServiceUnavailable("The signing service did not answer.", code="signer_unavailable")
        return real(district, *args, **kwargs)

    monkeypatch.setattr(reports_service, "daily_report", report)
    return failing, fine, broken, tries


def test_one_districts_failing_report_holds_up_no_other_and_is_retried(api, clock, monkeypatch):
    failing, fine, broken, _ = failing_reports(api, monkeypatch)
    day = date(2026, 10, 20)
    job_id, units = daily_reports_planned(api, clock, day)
    assert {failing, fine} <= set(units) and job_of(api, job_id)["kind"] == "reports:daily"
    with pytest.raises(ServiceUnavailable):
        dispatch(units[failing], api.c, WORK)
    for district, event in units.items():
        if district != failing:
            dispatch(event, api.c, WORK)
    assert api.c.control.reports.get_report(fine, day) is not None
    assert api.c.control.reports.get_report(failing, day) is None
    assert job_of(api, job_id)["written"] == len(units) - 1
    assert job_of(api, job_id)["failed_units"] == [{"unit": units[failing].data["unit"], "label": failing}]
    broken.clear()
    dispatch(units[failing], api.c, WORK)  # the outbox's retry
    assert api.c.control.reports.get_report(failing, day) is not None
    assert job_of(api, job_id)["status"] == "done"
    run_schedule(api, "control_daily_reports")  # the day planned again: no second job, no unit added
    assert len(unit_events(api, job_id)) == len(units)
    api.run_worker()
    assert job_of(api, job_id)["written"] == len(units)


def test_a_district_failing_every_retry_is_listed_on_its_job_which_ends_failed_until_a_later_retry_succeeds(
        api, clock, monkeypatch):
    from infrastructure.local import worker

    monkeypatch.setattr("infrastructure.local.worker.time.sleep", lambda seconds: None)
    failing, fine, broken, tries = failing_reports(api, monkeypatch)
    day = date(2026, 10, 21)
    job_id, units = daily_reports_planned(api, clock, day)
    dead_letters = api.worker()._dead_letters
    before = dead_letters.read_text().splitlines() if dead_letters.exists() else []
    api.run_worker()  # the consumer: the failing unit's first delivery and its retries, then the dead letters
    assert len(tries) >= worker.ATTEMPTS
    assert api.c.control.reports.get_report(fine, day) is not None  # its batch's other units went through
    given_up = dead_letters.read_text().splitlines()[len(before):]
    [letter] = [json.loads(line)["Records"] for line in given_up]  # that unit alone, not its batch
    assert len(letter) == 1 and units[failing].event_id in json.dumps(letter)
    settled = job_of(api, job_id)
    assert settled["status"] == "failed" and settled["message"] == "units_failed" and settled["finished_at"]
    assert settled["units_failed"] == 1 and settled["written"] == len(units) - 1
    assert settled["failed_units"] == [{"unit": units[failing].data["unit"], "label": failing}]
    for _ in range(2):  # the same failure delivered twice more: still listed once
        with pytest.raises(ServiceUnavailable):
            dispatch(units[failing], api.c, WORK)
    assert job_of(api, job_id)["failed_units"] == settled["failed_units"]
    browser = signed_in(api, "admin")
    browser.get(f"/console/admin/jobs/{job_id}")
    page = browser.main()
    assert "Con unidades fallidas" in page and f"Unidades que fallaron: 1 de {len(units)}" in page
    assert f"<td>{failing}</td>" in page
    broken.clear()
    dispatch(units[failing], api.c, WORK)  # a retry that lands after (say, the dead letter sent again)
    done = job_of(api, job_id)
    assert done["status"] == "done" and done["units_failed"] == 0 and done["failed_units"] == []
    assert done["written"] == len(units) and done["message"] == ""
    dispatch(units[failing], api.c, WORK)  # and again: counted once
    assert job_of(api, job_id)["written"] == len(units) and job_of(api, job_id)["status"] == "done"


def test_failed_units_are_a_set_that_a_count_clears_and_a_done_unit_never_joins(api):
    job_id = f"test-{new_id()}"
    now = api.c.clock.now()
    jobs = api.c.jobs
    jobs.put_job(Job(job_id=job_id, kind=fanout.DAILY_REPORTS, created_by="system", created_at=now, input_key="",
                     status=JobStatus.WRITING, total=3, checked=3, units=3))
    assert jobs.add_failed(job_id, "1:LIMA", unless=fanout.unit_marker(job_id, 1))
    assert jobs.add_failed(job_id, "1:LIMA", unless=fanout.unit_marker(job_id, 1))  # the same failure again
    assert jobs.add_failed(job_id, "2", unless=fanout.unit_marker(job_id, 2))
    job = jobs.get_job(job_id)
    assert job is not None and job.failed_units == ("1:LIMA", "2") and job.version == 4
    jobs.put_job(job.progressed(now, message="saved"))  # a save keeps them as read
    assert jobs.get_job(job_id).failed_units == ("1:LIMA", "2")  # type: ignore[union-attr]
    assert jobs.add_done(job_id, 1, once=fanout.unit_marker(job_id, 1), cleared="1:LIMA")
    assert jobs.add_done(job_id, 1, once=fanout.unit_marker(job_id, 0), cleared="0")  # nothing to clear
    assert not jobs.add_failed(job_id, "1:LIMA", unless=fanout.unit_marker(job_id, 1))  # done: not listed again
    job = jobs.get_job(job_id)
    assert job is not None and job.failed_units == ("2",) and job.written == 2
    with pytest.raises(NotFound):
        jobs.add_failed(f"test-{new_id()}", "0", unless=fanout.unit_marker("gone", 0))

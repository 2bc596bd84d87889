"""Officers' side of virtual control without I/O: distribution, contact log, reminders, missed windows, the
registry breaker and the annex 4 report."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.control.calendar import (
    ReminderKind,
    Window,
    parse_calendar,
    reminders_due,
    window_due,
    windows_ended,
    within_sending_hours,
)
from chalicelib.domain.control.contingency import BreakerState, CircuitBreaker, RegistryUnavailable
from chalicelib.domain.control.enrolment import e164
from chalicelib.domain.control.incidents import (
    ANNEX4_COLUMNS,
    Incident,
    IncidentType,
    incidents_fingerprint,
    missed_observations,
    report_csv,
    report_result,
    stable_incident_id,
)
from chalicelib.domain.control.measures import parse_measure
from chalicelib.domain.control.officers import (
    CallOutcome,
    Case,
    ContactAttempt,
    Officer,
    distribute,
    parse_features,
    pick_officer,
)
from chalicelib.domain.errors import ServiceUnavailable, ValidationError
from chalicelib.services.control.contingency import GuardedIdentityRegistry
from chalicelib.services.time import FixedClock

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in Lima


def officers(*ids: str, **assigned: int) -> list[Officer]:
    return [Officer("LIMA", officer_id, assigned=assigned.get(officer_id, 0)) for officer_id in ids]


# --- distribution ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_thousands_of_enrolments_leave_officers_at_most_one_apart_at_every_step(seed):
    rng = random.Random(seed)
    current = officers("ana", "beto", "carla", "dario", "elena")
    for _ in range(3000):
        picks, current = distribute(current, 1, rng)
        counts = [o.assigned for o in current]
        assert max(counts) - min(counts) <= 1
    assert sum(o.assigned for o in current) == 3000


def test_distribution_is_reproducible_from_a_seed_whatever_order_the_officers_come_in():
    first, _ = distribute(officers("ana", "beto", "carla"), 2000, random.Random(42))
    again, _ = distribute(list(reversed(officers("ana", "beto", "carla"))), 2000, random.Random(42))
    other, _ = distribute(officers("ana", "beto", "carla"), 2000, random.Random(43))
    assert first == again
    assert first != other


def test_the_draw_among_the_least_loaded_is_uniform():
    # Each round starts level, so the first pick of a round is a fair draw among all three.
    rng = random.Random(5)
    first_picks = Counter(distribute(officers("ana", "beto", "carla"), 1, rng)[0][0] for _ in range(3000))
    assert set(first_picks) == {"ana", "beto", "carla"}
    assert all(800 <= n <= 1200 for n in first_picks.values()), first_picks


def test_a_new_officer_receives_every_enrolment_until_level_with_the_others():
    picks, after = distribute(officers("ana", "beto", "nuevo", ana=5, beto=5), 5, random.Random(1))
    assert picks == ["nuevo"] * 5
    assert {o.officer_id: o.assigned for o in after} == {"ana": 5, "beto": 5, "nuevo": 5}


def test_inactive_officers_never_receive_enrolments_and_none_active_means_none():
    team = [Officer("LIMA", "ana", active=False), Officer("LIMA", "beto")]
    picks, _ = distribute(team, 50, random.Random(3))
    assert set(picks) == {"beto"}
    assert pick_officer([Officer("LIMA", "ana", active=False)], random.Random(3)) is None


# --- contact log (annex 2 a) -----------------------------------------------------------------------------

def case() -> Case:
    return Case(chain_id="m1", district="LIMA", measure_id="m1", opened_at=NOW, officer="ana")


def call(outcome: CallOutcome, minutes: int = 0) -> ContactAttempt:
    return ContactAttempt(NOW + timedelta(minutes=minutes), "ana", outcome)


def test_the_second_unanswered_call_in_a_row_makes_the_sms_due_once():
    first, due_first = case().log_call(call(CallOutcome.NO_ANSWER))
    second, due_second = first.log_call(call(CallOutcome.BUSY, 1))
    third, due_third = second.log_call(call(CallOutcome.NO_ANSWER, 2))
    fourth, due_fourth = third.log_call(call(CallOutcome.NO_ANSWER, 3))
    assert (due_first, due_second, due_third, due_fourth) == (False, True, False, False)
    assert second.sms_requested_at == NOW + timedelta(minutes=1) and len(fourth.contacts) == 4


def test_an_answered_call_or_a_wrong_number_breaks_the_run_of_unanswered_calls():
    after_answer, _ = case().log_call(call(CallOutcome.NO_ANSWER))
    after_answer, _ = after_answer.log_call(call(CallOutcome.ANSWERED, 1))
    _, due = after_answer.log_call(call(CallOutcome.NO_ANSWER, 2))
    assert due is False
    wrong, _ = case().log_call(call(CallOutcome.WRONG_NUMBER))
    _, due = wrong.log_call(call(CallOutcome.NO_ANSWER, 1))
    assert due is False


def test_identifying_features_are_checked():
    assert parse_features({"height_cm": 170, "distinguishing_marks": "  cicatriz   en la ceja "}) == {
        "height_cm": 170, "distinguishing_marks": "cicatriz en la ceja"}
    with pytest.raises(ValidationError) as unknown:
        parse_features({"shoe_size": "42"})
    assert unknown.value.field == "features.shoe_size"
    with pytest.raises(ValidationError):
        parse_features({"height_cm": 20})


@pytest.mark.parametrize(("mobile", "expected"), [("987654321", "+51987654321"), ("+51987654321", "+51987654321"),
                                                  ("573001234567", "+573001234567")])
def test_mobiles_become_e164_and_peruvian_numbers_may_omit_the_country_code(mobile, expected):
    assert e164(mobile) == expected


# --- reminders and missed windows --------------------------------------------------------------------------

WINDOW = Window("B", 11, date(2026, 11, 16), date(2026, 11, 30))


@pytest.mark.parametrize(("day", "kinds"), [
    (date(2026, 11, 14), []),
    (date(2026, 11, 15), [ReminderKind.OPENS]),  # the day before it opens
    (date(2026, 11, 16), [ReminderKind.OPENS]),  # the opening day makes up for a missed run
    (date(2026, 11, 20), []),
    (date(2026, 11, 29), [ReminderKind.CLOSES]),  # the day before it closes
    (date(2026, 11, 30), [ReminderKind.CLOSES]),
    (date(2026, 12, 1), []),
])
def test_reminders_are_due_the_day_before_a_window_opens_and_the_day_before_it_closes(day, kinds):
    assert reminders_due(WINDOW, day) == kinds


@pytest.mark.parametrize(("utc_hour", "inside"), [(12, False), (13, True), (0, True), (1, False), (20, True)])
def test_sending_hours_are_eight_to_twenty_in_peru(utc_hour, inside):
    assert within_sending_hours(datetime(2026, 11, 20, utc_hour, 0, tzinfo=UTC)) is inside


def measure(**changes):  # type: ignore[no-untyped-def]
    body = {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI",
                       "document_number": "70112233", "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"},
            "case_file": "00123-2020-0-1801-JR-PE-01", "court": "1° Juzgado Penal de Lima", "district": "LIMA",
            "legal_status": "processed", "periodicity": "monthly", "start_date": "2026-01-01",
            "first_registration_deadline": "2026-02-01", "end_date": "2027-01-01", "group": "A", **changes}
    return parse_measure(body, measure_id="m1", now=NOW, created_by="judge")


def test_windows_that_ended_in_the_last_week_are_checked_and_later_ones_are_not():
    calendar = parse_calendar(2026, "LIMA", {"groups": {
        "A": [{"period": 11, "start": "2026-11-01", "end": "2026-11-15"},
              {"period": 12, "start": "2026-12-01", "end": "2026-12-15"}],
        "B": [{"period": 10, "start": "2026-10-16", "end": "2026-10-31"},
              {"period": 11, "start": "2026-11-16", "end": "2026-11-30"}]}})
    assert [w.key + w.group for w in windows_ended([calendar], date(2026, 11, 20))] == ["2026-P11A"]
    assert windows_ended([calendar], date(2026, 11, 15)) == []  # a window is missed only once it is over


def due(window, m, enrolled_on):  # type: ignore[no-untyped-def]
    return window_due(window, group=m.group, periodicity_months=m.periodicity_months, start=m.start_date,
                      end=m.end_date, first_registration_deadline=m.first_registration_deadline,
                      enrolled_on=enrolled_on)


def test_a_window_is_due_by_group_periodicity_and_enrolment_or_deadline():
    november_a = Window("A", 11, date(2026, 11, 1), date(2026, 11, 15))
    assert due(november_a, measure(), enrolled_on=date(2026, 10, 1))
    assert not due(november_a, measure(group="B"), enrolled_on=date(2026, 10, 1))
    december_a = Window("A", 12, date(2026, 12, 1), date(2026, 12, 15))
    assert due(november_a, measure(periodicity="bimonthly"), enrolled_on=date(2026, 10, 1))
    assert not due(december_a, measure(periodicity="bimonthly"), enrolled_on=date(2026, 10, 1))
    # Enrolled after the window, but the first-registration deadline (1 February) had long passed: it was due.
    assert due(november_a, measure(), enrolled_on=date(2026, 11, 16))
    assert due(november_a, measure(), enrolled_on=None)
    # Before the deadline a person who has not enrolled yet owes nothing.
    late_deadline = measure(first_registration_deadline="2026-12-31")
    assert not due(november_a, late_deadline, enrolled_on=None)
    assert not due(november_a, late_deadline, enrolled_on=date(2026, 11, 16))


def test_missed_observations_say_whether_the_once_only_group_change_is_still_available():
    window = Window("A", 11, date(2026, 11, 1), date(2026, 11, 15))
    assert "por única vez" in missed_observations(measure(), window, True)
    changed = measure(group="B").change_group("A")
    assert "Ya usó el cambio de grupo" in missed_observations(changed, window, True)
    assert "no se ha empadronado" in missed_observations(measure(), window, False)


def test_the_same_facts_always_name_the_same_incident():
    assert stable_incident_id("missed", "c1", "2026-P11") == stable_incident_id("missed", "c1", "2026-P11")
    assert stable_incident_id("missed", "c1", "2026-P11") != stable_incident_id("missed", "c1", "2026-P12")
    assert len(stable_incident_id("missed", "c1", "2026-P11")) == 32


# --- the registry breaker ---------------------------------------------------------------------------------

def test_breaker_opens_after_the_threshold_and_lets_one_trial_through_after_the_pause():
    breaker = CircuitBreaker("identity", threshold=2, reset_after=timedelta(seconds=60))
    breaker.record_failure(NOW)
    assert breaker.allow(NOW)
    breaker.record_failure(NOW)
    assert breaker.state(NOW) is BreakerState.OPEN and not breaker.allow(NOW + timedelta(seconds=59))
    later = NOW + timedelta(seconds=60)
    assert breaker.allow(later) and not breaker.allow(later)  # one trial call at a time
    breaker.record_failure(later)
    assert not breaker.allow(later + timedelta(seconds=1))  # the trial failed: open again
    assert breaker.allow(later + timedelta(seconds=60))
    breaker.record_success()
    assert breaker.state(later) is BreakerState.CLOSED


class Unreachable:
    calls = 0

    def ping(self) -> None:
        raise ServiceUnavailable("down", code="database_unavailable")

    def lookup(self, document_type: str, document_number: str) -> None:
        self.calls += 1
        raise ServiceUnavailable("down", code="database_unavailable")


def test_guarded_registry_turns_failures_into_registry_unavailable_and_stops_calling_when_open():
    inner = Unreachable()
    guarded = GuardedIdentityRegistry(inner, CircuitBreaker("identity", threshold=2), FixedClock(NOW))
    for _ in range(4):
        with pytest.raises(RegistryUnavailable) as down:
            guarded.lookup("DNI", "70112233")
        assert down.value.registry == "identity" and down.value.status == 503
    assert inner.calls == 2  # the breaker opened after two failures; the others never reached the registry


# --- the daily report (annex 4) -----------------------------------------------------------------------------

def incident(incident_id: str, **changes) -> Incident:  # type: ignore[no-untyped-def]
    values = {"incident_id": incident_id, "type": IncidentType.OUT_OF_AREA, "district": "LIMA",
              "day": date(2026, 11, 20), "created_at": NOW, "measure_id": "m1", "full_name": "Rosa Elvira de la Cruz",
              "identity_document": "DNI 70112233", "case_file": "00123-2020-0-1801-JR-PE-01",
              "court": "1° Juzgado Penal de Lima", "detail": "Usuario externo se encuentra fuera de la jurisdicción",
              "observations": "Fuera del área, \"Cusco\"; a 500 km", "addressed_to": ("court", "cvp_head"),
              **changes}
    return Incident(**values)


def test_the_csv_has_annex_4s_columns_and_survives_commas_quotes_and_accents():
    data = report_csv([incident("a"), incident("b", full_name="José Ñahui", type=IncidentType.WARRANT)])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == ANNEX4_COLUMNS
    assert rows[1] == ["20/11/2026", "Rosa Elvira de la Cruz", "DNI 70112233",
                       "00123-2020-0-1801-JR-PE-01 — 1° Juzgado Penal de Lima",
                       "Usuario externo se encuentra fuera de la jurisdicción", "Fuera del área, \"Cusco\"; a 500 km"]
    assert rows[2][1] == "José Ñahui" and len(rows) == 3



def test_the_same_incidents_make_the_same_fingerprint_in_any_order():
    assert incidents_fingerprint([incident("a"), incident("b")]) == incidents_fingerprint([incident("b"),
                                                                                         incident("a")])
    assert incidents_fingerprint([incident("a")]) != incidents_fingerprint([incident("a"), incident("b")])
    assert report_result(0) == "SIN INCIDENCIAS REGISTRADAS" and report_result(1) == "1 INCIDENCIA REGISTRADA"

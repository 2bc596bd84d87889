"""Virtual penal control in the chat: enrolment and check-ins through the local Bot API server, against the
real API (court measures, seeded identity registry and warrants) and DynamoDB Local."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

import httpx
import pytest

from bot.texts import text
from chalicelib.services.time import PERU
from tests.bot.harness import ChatUser

# Fictitious people of infrastructure/local/seed (identity.csv, and warrants.csv for Jorge).
ROSA = {"document_number": "70112233", "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán",
        "answers": ["Víctor de la Cruz y Julia Huamán", "01/08/2016", "01/08/2024"]}
JORGE = {"document_number": "44556677", "given_names": "Jorge Luis", "surnames": "Salazar Paredes",
         "answers": ["Luis Salazar, Marta Paredes", "04/04/2018", "04/04/2028"]}
INSIDE_LIMA = (-12.05, -77.03)
CUSCO = (-13.53, -71.97)
JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-body" * 10
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"fake-video-body" * 10


def _court_headers() -> dict[str, str]:
    from chalicelib.bootstrap import container

    token = container().tokens.issue("judge-bot-tests", ("court",), courts=("1801-JR-PE-01",))
    return {"Authorization": f"Bearer {token}"}


# The stack runs on the real clock: the group whose window (seeded calendar: A on days 1–15, B from the
# 16th) contains today, so these tests pass on any day.
TODAY = datetime.now(PERU).date()
YEAR = TODAY.year
GROUP = "A" if TODAY.day <= 15 else "B"


def create_measure(api_base_url: str, who: dict[str, Any]) -> dict[str, Any]:
    """A court measure for `who` (older ones for the same document are revoked: the tables are shared)."""
    from chalicelib.bootstrap import container

    headers = _court_headers()
    for old in container().control.measures.active_measures_of_person(f"DNI#{who['document_number']}"):
        httpx.post(f"{api_base_url}/v1/court/measures/{old.measure_id}/revoke", json={}, headers=headers)
    body = {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI",
                       "document_number": who["document_number"], "given_names": who["given_names"],
                       "surnames": who["surnames"]},
            "case_file": f"{secrets.randbelow(10**5):05d}-2020-0-1801-JR-PE-01", "court": "1° Juzgado Penal de Lima",
            "district": "LIMA",
            "legal_status": "processed", "periodicity": "monthly", "start_date": f"{YEAR}-01-01",
            "first_registration_deadline": f"{YEAR}-12-31", "end_date": f"{YEAR + 1}-12-31", "area": "LIMA",
            "group": GROUP}
    answer = httpx.post(f"{api_base_url}/v1/court/measures", json=body, headers=headers, timeout=20)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def compliance(api_base_url: str, measure_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{api_base_url}/v1/court/measures/{measure_id}/compliance", headers=_court_headers(),
                       timeout=20)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def enrol(user: ChatUser, who: dict[str, Any], *, contact: bool = True) -> list[dict[str, Any]]:
    user.send("/control")
    if contact:
        user.share_contact("+51 987 654 321")
    else:
        user.send("+51987654321")
    user.press(text("button.yes", "es"))
    user.press(text("button.peruvian_nat", "es"))
    user.press(text("doc.DNI", "es"))
    user.send(who["document_number"])
    user.send(who["given_names"])
    user.send(who["surnames"])
    return user.send("Av. Abancay 123, Lima")


def check_character(who: dict[str, Any]) -> str:
    from chalicelib.domain.identity import dni_check_characters

    return str(dni_check_characters(who["document_number"])[0])


def to_questions(user: ChatUser, where: tuple[float, float], *, round_video: bool = False) -> list[dict[str, Any]]:
    started = user.send("/registrar")
    assert "ubicación en tiempo real" in started[-1]["text"], started
    selfie = user.share_location(*where, live_period=900)
    assert selfie[-1]["text"] == text("checkin.ask_selfie", "es")
    if round_video:
        return user.upload("video_note", MP4, "round.mp4", "video/mp4")
    return user.upload("photo", JPEG, "selfie.jpg", "image/jpeg")


def answer_questions(user: ChatUser, who: dict[str, Any], *, right: bool = True) -> list[dict[str, Any]]:
    """One round of the four questions (the last answer sends them)."""
    replies: list[dict[str, Any]] = []
    parents, issued, expires = who["answers"]
    for typed in (parents if right else "Nadie Nadie", issued, expires, check_character(who)):
        replies = user.send(typed)
    return replies


@pytest.fixture
def rosa_measure(api_stack: dict[str, Any]) -> dict[str, Any]:
    return create_measure(api_stack["api_base_url"], ROSA)


def test_enrolment_with_contact_sharing_ends_with_annex_2d_and_the_first_window(person, rosa_measure):
    replies = person.send("/control")
    prompt = replies[-1]
    assert prompt["text"] == text("control.ask.mobile", "es")
    assert prompt["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    enrolled = enrol(person, ROSA)
    assert enrolled[-1]["text"].startswith("Sr.(a) Rosa Elvira de la Cruz Huamán, gracias por la atención")
    assert re.search(r"del <b>\d{1,2} \w+\.? \d{4}</b> al <b>\d{1,2} \w+\.? \d{4}</b>", enrolled[-1]["text"])


def test_enrolment_without_a_measure_asks_the_district_and_reaches_the_cvp_heads_queue(person, api_stack):
    """Nobody falls through: a person who enrols before the court registered the measure is routed to the CVP
    head of their district, who asks the court for it."""
    create_measure(api_stack["api_base_url"], ROSA)
    replies = enrol(person, {**ROSA, "document_number": "45678912", "given_names": "Ana Lucía",
                             "surnames": "Quispe Mamani"}, contact=False)
    assert replies[0]["text"] == text("err.no_measure", "es")
    assert replies[1]["text"] == text("control.ask.district", "es")
    assert person.send("Gotham")[-1]["text"] == text("control.ask.district", "es")  # refused by name, asked again
    queued = person.send("Lima")
    assert queued[-1]["text"] == text("control.unmatched_queued", "es", district="Lima")
    from chalicelib.bootstrap import container

    waiting, _ = container().control.enrolments.unmatched_page("LIMA", 200, None)
    assert f"telegram:{person.user['id']}" in [w.owner for w in waiting]


def test_a_second_chat_claiming_an_enrolled_person_is_refused_and_the_officers_are_told(make_user, api_stack):
    base = api_stack["api_base_url"]
    measure = create_measure(base, ROSA)
    rosa, impostor = make_user(first_name="Rosa"), make_user(first_name="Otra")
    assert enrol(rosa, ROSA)[-1]["text"].startswith("Sr.(a) Rosa Elvira de la Cruz Huamán, gracias")
    refused = enrol(impostor, {**ROSA, "given_names": "ROSA ELVIRA"})
    assert refused[-1]["text"] == text("err.measure_linked_elsewhere", "es", court="1° Juzgado Penal de Lima")
    assert impostor.send("/registrar")[-1]["text"] == text("err.not_enrolled", "es")
    view = compliance(base, measure["measure_id"])
    assert [i["type"] for i in view["incidents"]] == ["impersonation"]


def test_check_in_inside_the_area_with_questions_passed_is_registered_with_the_next_window(person, rosa_measure,
                                                                                          api_stack):
    enrol(person, ROSA)
    replies = to_questions(person, INSIDE_LIMA)
    assert replies[-1]["text"] == text("question.parents_names", "es")
    done = answer_questions(person, ROSA)
    expected = text("control.annex3.f", "es", name="Rosa Elvira de la Cruz Huamán", start="", end="")
    assert done[-1]["text"].split("\n")[0] == expected.split("\n")[0]
    assert re.search(r"Su próximo periodo de registro es del <b>\d{1,2} ", done[-1]["text"])
    view = compliance(api_stack["api_base_url"], rosa_measure["measure_id"])
    assert [k["outcome"] for k in view["checkins"]] == ["registered"]


def test_check_in_outside_the_area_with_a_round_video_ends_with_annex_3e_and_cannot_be_retried(person,
                                                                                                  rosa_measure):
    enrol(person, ROSA)
    assert to_questions(person, CUSCO, round_video=True)[-1]["text"] == text("question.parents_names", "es")
    ended = answer_questions(person, ROSA)
    assert ended[-1]["text"] == text("control.annex3.e", "es", name="Rosa Elvira de la Cruz Huamán")
    assert person.send("/registrar")[-1]["text"] == text("err.window_closed", "es")


def test_questions_failed_twice_end_with_annex_3c_and_a_retry_is_refused(person, rosa_measure):
    enrol(person, ROSA)
    to_questions(person, INSIDE_LIMA)
    again = answer_questions(person, ROSA, right=False)
    assert again[-2]["text"] == text("control.questions_retry", "es", name="Rosa Elvira de la Cruz Huamán",
                                     attempts="1")
    assert again[-1]["text"] == text("question.parents_names", "es")
    ended = answer_questions(person, ROSA, right=False)
    assert ended[-1]["text"] == text("control.annex3.c", "es", name="Rosa Elvira de la Cruz Huamán")
    # The refusal closed self-service for the window: /registrar again is refused until an officer reopens it.
    assert person.send("/registrar")[-1]["text"] == text("err.window_closed", "es")


def test_a_possible_warrant_reads_exactly_as_a_normal_check_in_and_is_recorded(make_user, api_stack):
    base = api_stack["api_base_url"]
    rosa, jorge = make_user(first_name="Rosa"), make_user(first_name="Jorge")
    create_measure(base, ROSA)
    jorge_measure = create_measure(base, JORGE)
    transcripts = []
    for user, who in ((rosa, ROSA), (jorge, JORGE)):
        enrol(user, who)
        to_questions(user, INSIDE_LIMA)
        answer_questions(user, who)
        names = who["given_names"] + " " + who["surnames"]
        transcripts.append([t.replace(names, "NAME") for t in user.bot_texts()])
    assert transcripts[0] == transcripts[1]
    view = compliance(base, jorge_measure["measure_id"])
    assert [i["type"] for i in view["incidents"]] == ["warrant"]
    assert [k["outcome"] for k in view["checkins"]] == ["registered"]


def test_a_plain_pin_is_refused_with_an_explanation_and_a_live_location_update_is_accepted(person, rosa_measure):
    enrol(person, ROSA)
    person.send("/registrar")
    refused = person.share_location(*INSIDE_LIMA)
    assert refused[-1]["text"] == text("err.location_not_live", "es")
    # A live location shared before, whose update arrives as an edited message, is taken.
    person.share_location(*INSIDE_LIMA, live_period=900)  # answered: now it is the selfie's turn
    assert person.last_bot_message()["text"] == text("checkin.ask_selfie", "es")
    assert person.move_live_location(-12.051, -77.031) == []  # later updates change nothing


def test_a_live_location_arriving_as_an_edit_is_sent_to_the_api(person, rosa_measure):
    enrol(person, ROSA)
    person.share_location(*CUSCO, live_period=900)  # shared before the check-in opened: not expected yet
    assert person.last_bot_message()["text"] == text("checkin.location_not_expected", "es")
    person.send("/registrar")
    replies = person.move_live_location(*INSIDE_LIMA)
    assert replies[-1]["text"] == text("checkin.ask_selfie", "es")


def test_a_seven_digit_dni_is_refused_before_the_next_question(person):
    from tests.bot.steps import to_document_number

    to_document_number(person)
    replies = person.send("1234567")
    assert [m["text"] for m in replies] == [text("err.document_number.DNI", "es")]  # one message per error
    assert person.send("45678912")[-1]["text"] == text("ask.given_names", "es")
    refused = person.send("Ana 2")
    assert [m["text"] for m in refused] == [text("err.name", "es", field=text("field.given_names", "es"))]

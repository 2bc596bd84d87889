"""Conversation state in DynamoDB: expiry and resume, several containers, duplicates, stale buttons."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.state import ConversationStore, Step
from bot.texts import text
from tests.bot.harness import ChatUser, Container, Delivery, buttons
from tests.bot.steps import (
    api_requests,
    birth_date_typed,
    to_document_number,
    to_identity,
    to_summary,
    to_terms,
)
from tests.conftest import free_port
from tests.factories import ANA, issue_date_typed


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(botapi, bot_settings, clock, new_user_id):
    """A person talking to a container whose clock the test moves."""
    container = Container(bot_settings, clock=clock)
    delivery = Delivery(botapi, container)
    person = ChatUser(botapi, new_user_id(), deliver=delivery)
    yield person
    person.close()
    delivery.close()
    container.close()


def test_an_abandoned_conversation_expires_with_how_to_resume_and_forgets_the_answers(clocked, clock, bot_settings):
    to_document_number(clocked)
    clocked.send(ANA["document_number"])
    clock.advance(hours=48, seconds=1)
    replies = clocked.send(ANA["given_names"])
    assert [m["text"] for m in replies] == [text("expired", "es", hours="48")]
    convo = ConversationStore(bot_settings).load(clocked.user["id"])
    assert convo.current is Step.IDLE and convo.answers == {}


def test_within_the_time_limit_a_person_continues_days_later_where_they_left(clocked, clock):
    to_document_number(clocked)
    clocked.send(ANA["document_number"])
    clock.advance(hours=47)
    assert clocked.send(ANA["given_names"])[0]["text"] == text("ask.first_surname", "es")


def test_after_expiry_the_request_is_kept_status_works_and_start_resumes_it(clocked, clock):
    to_identity(clocked)
    clock.advance(days=3)
    replies = clocked.send("/estado")
    assert replies[0]["text"] == text("expired", "es", hours="48")
    assert text("status.pending_identity", "es") in replies[1]["text"]
    replies = clocked.send("/start")
    assert replies[0]["text"].startswith("Tiene una solicitud en curso")
    assert buttons(replies[0]) == [text("button.resume", "es"), text("button.new_request", "es")]
    assert clocked.press(text("button.resume", "es"))[0]["text"] == text("ask.issue_date.DNI", "es")
    assert "Orden de pago" in clocked.send(issue_date_typed(ANA))[-1]["text"]


def test_a_second_container_continues_a_conversation_the_first_began(person, delivery, second_container):
    """Two warm Lambda containers take turns: each reads the chat's state from DynamoDB at every update."""
    first = delivery.container
    to_document_number(person)
    person.send(ANA["document_number"])
    delivery.container = second_container
    assert person.send(ANA["given_names"])[0]["text"] == text("ask.first_surname", "es")
    delivery.container = first
    assert person.send(ANA["first_surname"])[0]["text"] == text("ask.second_surname", "es")
    delivery.container = second_container
    person.send(ANA["second_surname"])
    person.send(birth_date_typed(ANA))
    person.press(text("button.confirm", "es"))
    delivery.container = first
    assert "Orden de pago" in person.send(issue_date_typed(ANA))[-1]["text"]


def test_the_same_update_delivered_twice_is_answered_once_and_makes_one_request(person, delivery, api_stack):
    to_summary(person)
    person.press(text("button.confirm", "es"))
    before = person.seq
    delivery.redeliver(delivery.delivered[-1])
    assert person.bot_messages_since(before) == []
    assert len(api_requests(api_stack["api_base_url"], person)) == 1


def test_a_retried_update_whose_first_handling_was_lost_still_makes_one_request(person, delivery, bot_settings,
                                                                               api_stack):
    """The chat state may not get saved (a crash after the API call): the Idempotency-Key still holds."""
    store = ConversationStore(bot_settings)
    to_summary(person)
    before_submit = store.load(person.user["id"])
    first = person.press(text("button.confirm", "es"))[0]["text"]
    lost = store.load(person.user["id"])
    for name in ("step", "answers", "prompt_message_id", "recent_updates", "request_id", "request_number",
                 "document_type", "fixing"):
        setattr(lost, name, getattr(before_submit, name))
    store.save(lost, datetime.now(UTC), timedelta(hours=48))
    before = person.seq
    delivery.redeliver(delivery.delivered[-1])
    again = person.bot_messages_since(before)
    assert again[0]["text"] == first  # the same request number
    assert len(api_requests(api_stack["api_base_url"], person)) == 1


def test_a_button_on_an_older_message_is_answered_as_stale_and_changes_nothing(person, bot_settings):
    first = person.send("/start")[1]
    person.send("/start")
    assert person.press(text("button.switch.en", "en"), message_id=first["message_id"]) == []
    assert person.callback_answers[person.last_callback]["text"] == text("stale_button", "es")
    convo = ConversationStore(bot_settings).load(person.user["id"])
    assert convo.current is Step.TERMS and convo.language == "es"


def test_two_quick_presses_on_one_keyboard_act_once_and_the_late_one_is_told_it_is_stale(person, delivery):
    to_terms(person)
    terms = person.latest_with_button(text("button.accept", "es"))
    person.press(text("button.accept", "es"), message_id=terms["message_id"], settle=False)
    person.press(text("button.decline", "es"), message_id=terms["message_id"], settle=False)
    before = person.seq
    delivery()
    assert [m["text"] for m in person.bot_messages_since(before)] == [text("ask.nationality", "es")]
    assert person.callback_answers[person.last_callback]["text"] == text("stale_button", "es")


def test_help_in_the_middle_keeps_the_step_and_cancel_ends_it_keeping_the_request(person):
    to_document_number(person)
    assert person.send("/ayuda")[0]["text"] == text("help", "es")
    assert person.send(ANA["document_number"])[0]["text"] == text("ask.given_names", "es")
    created = to_identity(person)[0]["text"]
    number = re.search(r"<b>(\S+)</b>", created).group(1)
    assert person.send("/cancelar")[0]["text"] == text("cancelled.with_request", "es", number=number)
    assert person.send("hola")[0]["text"] == text("idle", "es")
    assert text("status.pending_identity", "es") in person.send("/estado")[0]["text"]


def test_when_the_api_is_down_the_person_is_told_and_can_press_again(person, delivery, bot_settings, api_stack):
    from tests.bot.steps import api_requests

    to_summary(person)
    up = delivery.container
    down = Container(replace(bot_settings, api_base_url=f"http://127.0.0.1:{free_port()}"))
    try:
        delivery.container = down
        assert [m["text"] for m in person.press(text("button.confirm", "es"))] == [text("api.unavailable", "es")]
        assert buttons(person.latest_with_button(text("button.confirm", "es")))[0] == text("button.confirm", "es")
        assert ConversationStore(bot_settings).load(person.user["id"]).current is Step.SUMMARY
        delivery.container = up
        assert person.press(text("button.confirm", "es"))[0]["text"].startswith("Registramos su solicitud")
        assert len(api_requests(api_stack["api_base_url"], person)) == 1
    finally:
        delivery.container = up
        down.close()


def test_a_status_check_in_the_middle_of_a_new_application_does_not_interrupt_it(person):
    from tests.bot.steps import to_payment_order

    to_payment_order(person)
    assert person.send("/start")[0]["text"].startswith("Tiene una solicitud en curso")
    person.press(text("button.new_request", "es"))
    person.press(text("button.accept", "es"))
    person.press(text("button.peruvian", "es"))
    assert "Orden de pago" in person.send("/estado")[0]["text"]
    assert person.send(ANA["document_number"])[0]["text"] == text("ask.given_names", "es")

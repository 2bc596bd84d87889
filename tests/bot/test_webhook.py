"""The Lambda-style webhook handler: the secret token, one Application per container, failures never silent."""

from __future__ import annotations

import json
import logging

from bot import webhook
from bot.api_client import ApiClient
from bot.logs import JsonFormatter
from bot.state import ConversationStore
from bot.texts import text
from tests.bot.conftest import WEBHOOK_SECRET


def _event(update: dict, headers: dict) -> dict:
    return {"headers": headers, "body": json.dumps(update), "isBase64Encoded": False}


def _pending_start(person, delivery) -> dict:
    person.send("/start", settle=False)
    (update,) = delivery.pending()
    return update


def test_an_update_without_the_secret_token_is_refused_and_not_processed(person, delivery, bot_settings):
    update = _pending_start(person, delivery)
    response = webhook.handler(_event(update, {"Content-Type": "application/json"}))
    assert response["statusCode"] == 401
    assert person.bot_messages_since(0) == []
    assert ConversationStore(bot_settings).load(person.user["id"]).version is None  # never stored


def test_an_update_with_a_wrong_secret_token_is_refused_and_not_processed(person, delivery, bot_settings):
    update = _pending_start(person, delivery)
    response = webhook.handler(_event(update, {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"}))
    assert response["statusCode"] == 403
    assert person.bot_messages_since(0) == []
    assert ConversationStore(bot_settings).load(person.user["id"]).version is None


def test_with_no_secret_configured_every_update_is_refused(person, delivery, monkeypatch):
    update = _pending_start(person, delivery)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    webhook.reset()
    response = webhook.handler(_event(update, {"X-Telegram-Bot-Api-Secret-Token": ""}))
    assert response["statusCode"] == 403
    assert person.bot_messages_since(0) == []


def test_the_right_secret_token_is_processed_base64_bodies_too(person, delivery):
    import base64

    update = _pending_start(person, delivery)
    event = {"headers": {"x-telegram-bot-api-secret-token": WEBHOOK_SECRET}, "isBase64Encoded": True,
             "body": base64.b64encode(json.dumps(update).encode()).decode()}
    assert webhook.handler(event)["statusCode"] == 200
    assert [m["text"] for m in person.bot_messages_since(0)][-1] == text("terms", "es")


def test_a_body_that_is_not_an_update_is_refused(webhook_env):
    response = webhook.handler({"headers": {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, "body": "[1, 2]"})
    assert response["statusCode"] == 400


def test_one_application_and_one_event_loop_serve_every_invocation(person):
    person.send("/start")
    app, loop = webhook.application(), webhook._event_loop()
    person.press(text("button.accept", "es"))
    person.send("/ayuda")
    assert webhook.application() is app and webhook._event_loop() is loop and not loop.is_closed()


def test_a_failure_inside_a_handler_is_logged_with_the_update_id_and_the_person_asked_to_retry(
        person, delivery, monkeypatch, caplog):
    personal = " ".join(["Quispe", "45678912"])  # built at run time: not even the traceback's source shows it

    async def broken(self, user):
        raise RuntimeError(personal)

    monkeypatch.setattr(ApiClient, "latest_request", broken)
    with caplog.at_level(logging.INFO, logger="bot"):
        replies = person.send("/estado")
    assert [m["text"] for m in replies] == [text("retry", "es")]
    (failure,) = [r for r in caplog.records if r.getMessage() == "update failed"]
    assert failure.update_id == delivery.delivered[-1]["update_id"]
    assert failure.error == "RuntimeError"
    line = JsonFormatter().format(failure)
    assert json.loads(line)["update_id"] == failure.update_id
    assert "45678912" not in line and "Quispe" not in line
    assert "45678912" not in caplog.text


def test_a_failure_on_a_button_press_still_answers_the_press_and_apologises_in_english(make_user, delivery,
                                                                                      monkeypatch):
    from tests.bot.steps import to_summary

    person = make_user(language_code="en")
    to_summary(person, lang="en")

    async def broken(self, user, body, key):
        raise KeyError("boom")

    monkeypatch.setattr(ApiClient, "create_request", broken)
    replies = person.press(text("button.confirm", "en"))
    assert [m["text"] for m in replies] == [text("retry", "en")]
    assert person.last_callback in person.callback_answers


def test_during_a_rollover_the_previous_secret_token_is_accepted_and_an_older_one_refused(
        person, delivery, monkeypatch):
    """`make set-webhook ROTATE=1` puts a new secret token; Telegram may still send the previous one meanwhile."""
    update = _pending_start(person, delivery)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "new-secret-token-after-the-rollover")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET_PREVIOUS", WEBHOOK_SECRET)
    webhook.reset()
    older = webhook.handler(_event(update, {"X-Telegram-Bot-Api-Secret-Token": "the-token-before-that-one"}))
    assert older["statusCode"] == 403 and person.bot_messages_since(0) == []
    assert webhook.handler(_event(update, {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}))["statusCode"] == 200
    assert [m["text"] for m in person.bot_messages_since(0)][-1] == text("terms", "es")

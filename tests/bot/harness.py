"""Test helpers: a person driving the chat through the local Bot API server, and bot "containers" in-process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from telegram import Update

from bot import webhook
from bot.application import build_application, close
from bot.settings import BotSettings
from infrastructure.local.botapi import LocalBotApi


class Container:
    """One warm bot container: its own Application and event loop, handling updates in-process."""

    def __init__(self, settings: BotSettings, *, clock: Callable[[], datetime] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = build_application(settings, clock=clock, with_updater=False)
        self.loop.run_until_complete(self.app.initialize())

    def handle(self, update: dict[str, Any]) -> None:
        self.loop.run_until_complete(self.app.process_update(Update.de_json(update, self.app.bot)))

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.run_until_complete(close(self.app))
        self.loop.close()


class WebhookContainer:
    """The Lambda handler of bot/webhook.py, called with API Gateway events as Telegram would send them."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.responses: list[dict[str, Any]] = []

    def handle(self, update: dict[str, Any]) -> None:
        event = {"headers": {"content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": self.secret},
                 "body": json.dumps(update), "isBase64Encoded": False,
                 "requestContext": {"http": {"method": "POST"}}}
        response = webhook.handler(event, None)
        self.responses.append(response)
        assert response["statusCode"] == 200, response


class Delivery:
    """Takes the bot's pending updates from the local server (getUpdates, as a bot would) and hands each
    to a container; which container is switchable, to play several warm Lambda containers."""

    def __init__(self, server: LocalBotApi, container: Any) -> None:
        self.http = httpx.Client(base_url=f"{server.base_url}/bot{server.token}", timeout=10)
        self.container = container
        self.offset = 0
        self.delivered: list[dict[str, Any]] = []

    def pending(self) -> list[dict[str, Any]]:
        answer = self.http.post("/getUpdates", json={"offset": self.offset, "timeout": 0})
        updates: list[dict[str, Any]] = answer.json()["result"]
        if updates:
            self.offset = updates[-1]["update_id"] + 1
        return updates

    def __call__(self) -> None:
        for update in self.pending():
            self.delivered.append(update)
            self.container.handle(update)

    def redeliver(self, update: dict[str, Any]) -> None:
        self.container.handle(update)

    def close(self) -> None:
        self.pending()  # confirm what was taken
        self.http.close()


class ChatUser:
    """A person in the chat, using the same user-side endpoints as the browser chat page."""

    def __init__(self, server: LocalBotApi, user_id: int, *, language_code: str = "es", first_name: str = "Ana",
                 deliver: Callable[[], None] | None = None) -> None:
        self.http = httpx.Client(base_url=f"{server.base_url}/chat/api", timeout=30)
        self.user = {"id": user_id, "first_name": first_name, "language_code": language_code}
        self.deliver = deliver
        self.seq = 0
        self.messages: dict[int, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.last_callback: str | None = None
        self.last_location_id = 0

    # --- actions: each returns the bot messages that arrived because of it (in-process delivery) -----------

    def send(self, typed: str, *, settle: bool = True) -> list[dict[str, Any]]:
        self._post("message", {"text": typed})
        return self._settle() if settle else []

    def press(self, label: str, message_id: int | None = None, *, settle: bool = True) -> list[dict[str, Any]]:
        """Press the inline button with this label on the given message, or on the latest that has it."""
        message = self.messages[message_id] if message_id else self.latest_with_button(label)
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row
                    if b["text"] == label)
        answer = self._post("callback", {"message_id": message["message_id"], "data": data})
        self.last_callback = answer["callback_query_id"]
        return self._settle() if settle else []

    def share_location(self, latitude: float, longitude: float, *, live_period: int | None = None,
                       accuracy: float | None = 20) -> list[dict[str, Any]]:
        """A pin, or with live_period a live location (its message id is kept in last_location_id)."""
        body: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            body["live_period"] = live_period
        if accuracy is not None:
            body["horizontal_accuracy"] = accuracy
        self.last_location_id = self._post("location", body)["message_id"]
        return self._settle()

    def move_live_location(self, latitude: float, longitude: float) -> list[dict[str, Any]]:
        """The live location shared last moves: Telegram sends the bot an edited_message."""
        self._post("location/live", {"message_id": self.last_location_id, "latitude": latitude,
                                     "longitude": longitude, "horizontal_accuracy": 20})
        return self._settle()

    def share_contact(self, phone_number: str) -> list[dict[str, Any]]:
        self._post("contact", {"phone_number": phone_number})
        return self._settle()

    def upload(self, kind: str, data: bytes, filename: str, mime_type: str) -> list[dict[str, Any]]:
        answer = self.http.post("/upload", data={"user": json.dumps(self.user), "kind": kind},
                                files={"file": (filename, data, mime_type)})
        assert answer.status_code == 200, answer.text
        return self._settle()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(f"/{path}", json={"user": self.user, **body})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def _settle(self) -> list[dict[str, Any]]:
        before = self.seq
        if self.deliver is not None:
            self.deliver()
        return self.bot_messages_since(before)

    # --- reading the chat -------------------------------------------------------------------------------------

    def sync(self, timeout: float = 0) -> list[dict[str, Any]]:
        answer = self.http.get("/events", params={"chat_id": self.user["id"], "after": self.seq,
                                                  "timeout": timeout})
        events = answer.json()["events"]
        for event in events:
            if event["type"] == "message":
                self.messages[event["message"]["message_id"]] = event["message"]
            elif event["type"] == "callback_answer":
                self.callback_answers[event["callback_query_id"]] = event
            self.seq = max(self.seq, event["seq"])
        return list(events)

    def bot_messages_since(self, seq: int) -> list[dict[str, Any]]:
        """Bot messages created after event `seq` (edits of older messages are not new messages)."""
        known = set(self.messages)
        events = self.sync()
        fresh = [e["message"] for e in events if e["type"] == "message" and e["seq"] > seq
                 and not e["message"]["outgoing"] and e["message"]["message_id"] not in known]
        return fresh

    def bot_texts(self) -> list[str]:
        self.sync()
        return [m.get("text") or m.get("caption") or "" for m in self.messages.values() if not m["outgoing"]]

    def last_bot_message(self) -> dict[str, Any]:
        self.sync()
        return [m for m in self.messages.values() if not m["outgoing"]][-1]

    def latest_with_button(self, label: str) -> dict[str, Any]:
        self.sync()
        for message in reversed(list(self.messages.values())):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(b["text"] == label for row in rows for b in row):
                return message
        raise AssertionError(f"no message has a button {label!r}")

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        """Polling mode: wait until a bot message satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        checked: set[tuple[int, int | None]] = set()
        while True:
            for message in list(self.messages.values()):
                key = (message["message_id"], message.get("edit_date"))
                if not message["outgoing"] and key not in checked:
                    checked.add(key)
                    if predicate(message):
                        return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching bot message; last ones: {self.bot_texts()[-3:]}")
            self.sync(timeout=min(remaining, 5))

    def wait_for_text(self, expected: str, timeout: float = 20) -> dict[str, Any]:
        return self.wait_for(lambda m: expected in (m.get("text") or m.get("caption") or ""), timeout)

    def close(self) -> None:
        self.http.close()


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["text"] for row in rows for b in row]

"""Conversation steps shared by the bot tests: what a person presses and types to reach a given point."""

from __future__ import annotations

from typing import Any

from bot.texts import text
from tests.bot.harness import ChatUser
from tests.factories import ANA, issue_date_typed


def to_terms(user: ChatUser, lang: str = "es") -> list[dict[str, Any]]:
    """/start: the guide and the terms, in the person's Telegram language (or switched to `lang`)."""
    replies = user.send("/start")
    if user.user["language_code"][:2] != lang:
        replies = user.press(text(f"button.switch.{lang}", lang))
    return replies


def to_document_number(user: ChatUser, lang: str = "es") -> list[dict[str, Any]]:
    to_terms(user, lang)
    user.press(text("button.accept", lang))
    return user.press(text("button.peruvian", lang))


def to_birth_date(user: ChatUser, person: dict[str, Any] | None = None, lang: str = "es") -> list[dict[str, Any]]:
    person = person or ANA
    to_document_number(user, lang)
    user.send(person["document_number"])
    user.send(person["given_names"])
    user.send(person["first_surname"])
    return user.send(person["second_surname"])


def birth_date_typed(person: dict[str, Any]) -> str:
    year, month, day = person["birth_date"].split("-")
    return f"{day}/{month}/{year}"


def to_summary(user: ChatUser, person: dict[str, Any] | None = None, lang: str = "es") -> list[dict[str, Any]]:
    person = person or ANA
    to_birth_date(user, person, lang)
    return user.send(birth_date_typed(person))


def to_identity(user: ChatUser, person: dict[str, Any] | None = None, lang: str = "es") -> list[dict[str, Any]]:
    """The request registered from the summary; the answer asks for the card's issue date."""
    person = person or ANA
    to_summary(user, person, lang)
    return user.press(text("button.confirm", lang))


def to_payment_order(user: ChatUser, person: dict[str, Any] | None = None, lang: str = "es") -> list[dict[str, Any]]:
    person = person or ANA
    to_identity(user, person, lang)
    return user.send(issue_date_typed(person))


def order_code(message: dict[str, Any]) -> str:
    import re

    found = re.search(r"<b>([A-Z0-9]{4,20})</b>", message["text"])
    assert found, message["text"]
    return found.group(1)


def api_requests(api_base_url: str, user: ChatUser) -> list[dict[str, Any]]:
    """The person's requests as the API holds them (the channel's view)."""
    import httpx

    answer = httpx.get(f"{api_base_url}/v1/certificate-requests",
                       headers={"Authorization": "Bearer local-dev-channel-key",
                                "X-Channel-User": f"telegram:{user.user['id']}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def wait_for_status(api_base_url: str, user: ChatUser, wanted: set[str], seconds: float = 20) -> str | None:
    """The latest request's status once it is one of `wanted` (the worker applies events asynchronously)."""
    import time

    deadline = time.monotonic() + seconds
    current = None
    while time.monotonic() < deadline:
        items = api_requests(api_base_url, user)
        current = max(items, key=lambda r: r["created_at"])["status"] if items else None
        if current in wanted:
            return current
        time.sleep(0.2)
    return current

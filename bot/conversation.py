"""The conversation core: named steps, one small async handler per step, state read from DynamoDB.

Every handler receives a Turn: the update, the chat's conversation item (loaded fresh for each update) and
how to answer. `conversational` loads the item, skips an update it has already handled, closes an abandoned
conversation, runs the handler and saves the item with its version. The bot decides nothing itself: the API
validates every answer, and its errors are shown through the catalogue.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from .api_client import ApiClient, ApiUnavailable
from .settings import BotSettings
from .state import ConversationModel, ConversationStore, Step
from .texts import LANGUAGES, has, language_for, text

log = logging.getLogger("bot")

Context = ContextTypes.DEFAULT_TYPE
def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: BotSettings
    api: ApiClient
    store: ConversationStore
    clock: Callable[[], datetime] = utc_now

    @property
    def ttl(self) -> timedelta:
        return timedelta(hours=self.settings.conversation_ttl_hours)


def services_of(context: Context) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


class Turn:
    """One update being handled: who wrote, their conversation, and the ways to answer them."""

    def __init__(self, update: Update, context: Context, conversation: ConversationModel,
                 services: Services) -> None:
        self.update = update
        self.context = context
        self.convo = conversation
        self.services = services
        self.api = services.api
        self._answered = False
        self._close_keyboard = False

    @property
    def chat_id(self) -> int:
        assert self.update.effective_chat is not None
        return self.update.effective_chat.id

    @property
    def user(self) -> str:
        """The API's channel user for this person."""
        assert self.update.effective_user is not None
        return f"telegram:{self.update.effective_user.id}"

    @property
    def lang(self) -> str:
        if self.convo.language in LANGUAGES:
            return str(self.convo.language)
        user = self.update.effective_user
        return language_for(user.language_code if user else None)

    @property
    def typed(self) -> str:
        message = self.update.effective_message
        return (message.text or "").strip() if message else ""

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.lang, **values)

    def button(self, key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(self.t(key), callback_data=data)

    async def say(self, key: str, markup: InlineKeyboardMarkup | None = None, **values: Any) -> Message:
        return await self.send(self.t(key, **values), markup)

    async def send(self, body: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        return await self.context.bot.send_message(self.chat_id, body, reply_markup=markup)

    async def ask(self, key: str, markup: InlineKeyboardMarkup | None = None, **values: Any) -> Message:
        """Send a prompt; its keyboard becomes the live one (older keyboards turn stale)."""
        return await self.prompt(self.t(key, **values), markup)

    async def prompt(self, body: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        """Send an already written prompt (an error saying what to type instead, a summary) as the live one."""
        message = await self.send(body, markup)
        self.convo.prompt_message_id = message.message_id if markup else None
        return message

    @property
    def command_args(self) -> list[str]:
        """What follows a command: `/start r_abc` (a deep link's payload) gives ["r_abc"]."""
        return self.typed.split()[1:] if self.typed.startswith("/") else []

    async def answer(self, key: str | None = None) -> None:
        """Answer the button press (once): Telegram shows the person a spinner until we do."""
        query = self.update.callback_query
        if query is None or self._answered:
            return
        self._answered = True
        with contextlib.suppress(BadRequest):  # answered before (a redelivered update) or too old
            await query.answer(self.t(key) if key else None)

    async def close_keyboard(self) -> None:
        """Take the buttons off the message just pressed once the step has succeeded: if the API is down,
        the person can press again."""
        self._close_keyboard = True

    async def finish(self) -> None:
        query = self.update.callback_query
        if self._close_keyboard and query is not None and query.message is not None:
            with contextlib.suppress(BadRequest):  # already without buttons
                await query.edit_message_reply_markup(reply_markup=None)
        await self.answer()


Handler = Callable[[Turn], Awaitable[None]]


def _is_command(update: Update, *names: str) -> bool:
    message = update.effective_message
    word = (message.text or "").split(maxsplit=1)[0] if message and message.text else ""
    command = word.split("@", 1)[0].lstrip("/").lower() if word.startswith("/") else ""
    return bool(command) and (not names or command in names)


def conversational(handler: Handler) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run a step handler with the chat's conversation: loaded, de-duplicated, expired if abandoned, saved."""

    @functools.wraps(handler)
    async def run(update: Update, context: Context) -> None:
        services = services_of(context)
        if update.effective_chat is None or update.effective_user is None:
            return
        convo = services.store.load(update.effective_chat.id)
        if convo.seen(update.update_id):
            # Telegram redelivered an update we answered already (a retried webhook): answer it once only.
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
            return
        turn = Turn(update, context, convo, services)
        now = services.clock()
        try:
            step: Handler | None = handler
            if convo.is_expired(now, services.ttl):
                convo.go(Step.IDLE)
                convo.forget_answers()
                log.info("conversation expired", extra={"update_id": update.update_id})
                if not _is_command(update, "start"):
                    await turn.say("expired", hours=f"{services.settings.conversation_ttl_hours:g}")
                    if not _is_command(update):
                        step = None  # what they sent belonged to the closed conversation
            if step is not None:
                await step(turn)
            await turn.finish()
        except ApiUnavailable as error:
            log.warning("API unavailable", extra={"update_id": update.update_id, "reason": str(error)})
            await turn.say("api.unavailable")
            await turn.answer()
        except Exception as error:
            error.bot_language = turn.lang  # type: ignore[attr-defined]  # for the error handler's apology
            raise
        convo.remember(update.update_id)
        services.store.save(convo, now, services.ttl)

    return run


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows])


def as_iso_date(typed: str) -> str:
    """Day/month/year as people in Peru write it, turned into the API's YYYY-MM-DD; anything else as typed."""
    match = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", typed.strip())
    if not match:
        return typed.strip()
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def status_label(status: str, lang: str) -> str:
    key = f"status.{status}"
    return text(key, lang) if has(key, lang) else text("status.unknown", lang)


# --- commands every conversation shares ---------------------------------------------------------------------

async def help_(turn: Turn) -> None:
    """/ayuda, /help: what the bot can do; the conversation stays where it was."""
    await turn.say("help")


async def cancel(turn: Turn) -> None:
    """/cancelar, /cancel: leave the conversation; a request already made is kept."""
    convo = turn.convo
    number = convo.request_number
    convo.forget_answers()
    convo.request_id = convo.request_number = convo.document_type = None
    convo.go(Step.IDLE)
    if number:
        await turn.say("cancelled.with_request", number=number)
    else:
        await turn.say("cancelled")


async def unknown_command(turn: Turn) -> None:
    """A command the bot does not have."""
    await turn.say("unknown_command")


# --- dispatch of typed text and button presses --------------------------------------------------------------

# Filled by the modules that own the steps (certificate, following, control): register_steps() in each.
TEXT_STEPS: dict[Step, Handler] = {}
BUTTON_STEPS: set[Step] = set()

# Steps that wait for something other than typed text: what to tell a person who types instead.
STEP_PROMPTS: dict[Step, str] = {}

ButtonHandler = Callable[[Turn, str], Awaitable[None]]
# prefix -> (handler, the step its keyboard belongs to; None: valid whenever the API says it is)
BUTTONS: dict[str, tuple[ButtonHandler, frozenset[Step] | None]] = {}


async def on_text(turn: Turn) -> None:
    """Typed text goes to the step that expects it; elsewhere the person is told what to do."""
    handler = TEXT_STEPS.get(turn.convo.current)
    if handler is not None:
        await handler(turn)
    elif turn.convo.current in STEP_PROMPTS:
        await turn.say(STEP_PROMPTS[turn.convo.current])
    elif turn.convo.current in BUTTON_STEPS:
        await turn.say("use_buttons")
    else:
        await turn.say("idle")


async def on_button(turn: Turn) -> None:
    """A button press; one from an older message or another step is answered as stale and changes nothing."""
    query = turn.update.callback_query
    assert query is not None
    prefix, _, value = (query.data or "").partition(":")
    entry = BUTTONS.get(prefix)
    pressed_on = query.message.message_id if query.message else None
    if entry is not None:
        handler, steps = entry
        live = steps is None or (turn.convo.current in steps and pressed_on == turn.convo.prompt_message_id)
        if live:
            await handler(turn, value)
            return
    log.info("stale button", extra={"update_id": turn.update.update_id, "button": prefix})
    await turn.answer("stale_button")


async def on_unsupported(turn: Turn) -> None:
    """Stickers, voice notes, locations…: nothing in this conversation uses them."""
    await turn.say("unsupported")

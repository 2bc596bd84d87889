"""Builds the PTB Application: every handler wired in one place, plus the error handler."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime

import httpx
from telegram import BotCommand, BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from . import certificate, control, following, logs
from . import conversation as c
from .api_client import ApiClient
from .commands import menus
from .settings import BotSettings
from .state import ConversationStore
from .texts import language_for, text
from .verification import on_pdf_document

log = logging.getLogger("bot")



def build_application(settings: BotSettings, *, clock: Callable[[], datetime] | None = None,
                      api_transport: httpx.AsyncBaseTransport | None = None, with_updater: bool = True,
                      bot_request: BaseRequest | None = None) -> Application:  # type: ignore[type-arg]
    """An Application for `settings`; use it from one event loop only (its HTTP clients bind to it).
    `api_transport` and `bot_request` replace the network to the API and to the Bot API (benchmarks)."""
    logs.quiet_libraries()  # also when another module configured logging: request URLs carry the token
    builder = (Application.builder().token(settings.token)
               .base_url(settings.bot_api_url).base_file_url(settings.bot_file_url)
               .defaults(Defaults(parse_mode=ParseMode.HTML,
                                  link_preview_options=LinkPreviewOptions(is_disabled=True))))
    if bot_request is not None:
        builder = builder.request(bot_request)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    api = ApiClient(settings.api_base_url, settings.channel_key, timeout=settings.api_timeout_seconds,
                    transport=api_transport, api_key=settings.api_key)
    application.bot_data["services"] = c.Services(settings=settings, api=api, store=ConversationStore(settings),
                                                  clock=clock or c.utc_now)
    register(application)
    return application


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE  # edited messages change nothing in this conversation
    edited = filters.UpdateType.EDITED_MESSAGE  # a live location's updates arrive as edits
    on = c.conversational
    certificate.register_steps()
    following.register_steps()
    control.register_steps()
    application.add_handlers([
        CommandHandler("start", on(certificate.start), filters=private & new),
        CommandHandler(["estado", "status"], on(following.status), filters=private & new),
        CommandHandler(["ayuda", "help"], on(c.help_), filters=private & new),
        CommandHandler(["cancelar", "cancel"], on(c.cancel), filters=private & new),
        CommandHandler("control", on(control.enrolment), filters=private & new),
        CommandHandler(["registrar", "checkin"], on(control.checkin), filters=private & new),
        MessageHandler(private & new & filters.COMMAND, on(c.unknown_command)),
        CallbackQueryHandler(on(c.on_button)),
        MessageHandler(private & new & filters.TEXT, on(c.on_text)),
        MessageHandler(private & new & filters.Document.ALL, on(on_pdf_document)),
        MessageHandler(private & new & (filters.PHOTO | filters.VIDEO_NOTE), on(control.on_media)),
        MessageHandler(private & new & filters.CONTACT, on(control.on_contact)),
        MessageHandler(private & (new | edited) & filters.LOCATION, on(control.on_location)),
        MessageHandler(private & new, on(c.on_unsupported)),
        MessageHandler(~private & new, _private_only),
    ])
    application.add_error_handler(on_error)


async def _private_only(update: Update, context: c.Context) -> None:
    """Groups and channels: the bot only talks in private chats, and keeps no state for them."""
    message = update.effective_message
    if message is not None:
        user = update.effective_user
        await message.reply_text(text("private_only", language_for(user.language_code if user else None)))


async def on_error(update: object, context: c.Context) -> None:
    """A failed update is logged with its id (no personal data) and the person is asked to try again."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    stack = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    # The exception's text is left out on purpose: it may quote what the person typed.
    log.error("update failed", extra={"update_id": update_id, "error": type(error).__name__, "stack": stack})
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    lang = getattr(error, "bot_language", None) or language_for(user.language_code if user else None)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
    except TelegramError:
        pass  # already answered, or too old to answer
    try:
        await context.bot.send_message(update.effective_chat.id, text("retry", lang))
    except TelegramError:
        log.warning("could not send the retry message", extra={"update_id": update_id})


async def set_commands(application: Application) -> None:  # type: ignore[type-arg]
    """The command menu: Spanish by default, English for English-speaking clients (bot/commands.py)."""
    for language_code, commands in menus():
        await application.bot.set_my_commands(
            [BotCommand(c["command"], c["description"]) for c in commands], scope=BotCommandScopeDefault(),
            language_code=language_code)


async def close(application: Application) -> None:  # type: ignore[type-arg]
    """Release what build_application opened besides PTB's own clients."""
    services: c.Services = application.bot_data["services"]
    await services.api.aclose()

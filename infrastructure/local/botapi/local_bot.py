"""`make run`'s bot: polling Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the local Bot API and chat page.

With no token, the local Bot API server starts before the rest of the stack and TELEGRAM_BOT_TOKEN and
TELEGRAM_API_BASE_URL are pointed at it, so the API's own chat notifications (payment confirmed,
certificate issued...) reach the local chat page too.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any

from .server import LocalBotApi

log = logging.getLogger("run.bot")


@dataclass
class LocalBot:
    """What was started, for the banner and for stopping it."""

    server: LocalBotApi | None = None
    runner: Any = None
    lines: list[str] = field(default_factory=list)

    def start_bot(self, api_base_url: str) -> None:
        """Start the bot polling (once the API is up); a failure leaves the rest of the stack running."""
        from bot.polling import BotRunner
        from bot.settings import load_settings
        from bot.state import ensure_table

        settings = load_settings()
        if not os.environ.get("API_BASE_URL"):
            settings = replace(settings, api_base_url=api_base_url)
        if not settings.token:
            return  # no token and no local server (its port was taken): said so in the banner already
        if self.server is None:
            self.lines.append(f"bot                 polling {settings.telegram_api_base_url} with your token")
        try:
            ensure_table(settings)
            self.runner = BotRunner(settings).start()
        except Exception as error:  # the API and the rest keep running without the bot
            log.error("the bot did not start", extra={"error": type(error).__name__})
            self.lines.append("bot                 did not start (see the log)")

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self.server is not None:
            self.server.stop()


def prepare_local_chat() -> LocalBot:
    """Before the stack starts: with no TELEGRAM_BOT_TOKEN, start the local Bot API server and point the
    environment at it. Never raises: a taken port only means no local chat."""
    from infrastructure.local.dynamodb_local import port_open

    started = LocalBot()
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        return started
    port = int(os.environ.get("LOCAL_BOTAPI_PORT", "8081"))
    if port_open(port):
        log.warning("the local Bot API port is taken; the chat is not started", extra={"port": port})
        started.lines.append(f"chat                not started: port {port} is taken (set LOCAL_BOTAPI_PORT)")
        return started
    started.server = LocalBotApi(port).start()
    os.environ["TELEGRAM_BOT_TOKEN"] = started.server.token
    os.environ["TELEGRAM_API_BASE_URL"] = started.server.base_url
    started.lines.append(f"chat with the bot   {started.server.chat_url}   (local Bot API server)")
    return started

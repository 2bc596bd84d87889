"""Polling mode: `python -m bot.polling` on a machine with a token (or against the local Bot API server).

BotRunner runs the Application on its own thread and event loop, so `make run` can start it next to the
rest of the local stack and stop it with Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import logs
from .application import build_application, close, set_commands
from .settings import BotSettings, load_settings
from .state import ensure_table

log = logging.getLogger("bot.polling")

POLL_TIMEOUT_SECONDS = 10


class BotRunner:
    """One Application polling for updates on a background thread; start() waits until it polls."""

    def __init__(self, settings: BotSettings, *, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.application: Any = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self, timeout: float = 30) -> BotRunner:
        self._thread = threading.Thread(target=self._run, name="bot-polling", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the bot did not start polling in time")
        if self._failure is not None:
            raise RuntimeError("the bot could not start") from self._failure
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 20) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start() or logged; the thread ends
            self._failure = error
            log.error("the bot stopped", extra={"error": type(error).__name__})
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ensure_table(self.settings)
        application = build_application(self.settings, clock=self.clock)
        self.application = application
        try:
            async with application:  # initialize() ... shutdown()
                try:
                    await set_commands(application)
                except Exception:  # the menu is a nicety; the bot works without it
                    log.warning("could not set the command menu")
                assert application.updater is not None
                await application.updater.start_polling(timeout=POLL_TIMEOUT_SECONDS,
                                                        allowed_updates=["message", "edited_message",
                                                                         "callback_query"])
                await application.start()
                log.info("bot polling", extra={"api": self.settings.telegram_api_base_url})
                self._ready.set()
                await self._stop.wait()
                await application.updater.stop()
                await application.stop()
        finally:
            await close(application)


def main() -> int:
    logs.configure()
    settings = load_settings()
    if not settings.token:
        print("Set TELEGRAM_BOT_TOKEN (from @BotFather), or use `make run` for the local chat.", file=sys.stderr)
        return 2
    runner = BotRunner(settings).start()
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(f"Bot polling {settings.telegram_api_base_url}; API {settings.api_base_url}. Ctrl-C stops it.",
          flush=True)
    while not stopping.wait(0.5):
        if not runner.alive:
            return 1
    runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

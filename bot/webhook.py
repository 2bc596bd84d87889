"""Webhook mode: a Lambda handler for Telegram's updates (API Gateway or function URL events).

One Application and one event loop live at module level and are reused by every invocation of a warm
container: building an Application and calling asyncio.run() per update costs about five times as much, and
an Application cannot outlive the loop asyncio.run() closes. PTB does not check Telegram's secret-token
header, so this handler does, before anything in the body is believed.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from . import logs
from .application import build_application
from .settings import BotSettings, load_settings
from .state import ensure_table

log = logging.getLogger("bot.webhook")

SECRET_HEADER = "x-telegram-bot-api-secret-token"

_loop: asyncio.AbstractEventLoop | None = None
_application: Application | None = None  # type: ignore[type-arg]
_settings: BotSettings | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop


def settings() -> BotSettings:
    global _settings
    if _settings is None:
        logs.configure()
        _settings = load_settings()
    return _settings


def application() -> Application:  # type: ignore[type-arg]
    """The container's one Application, initialised on first use (cold start)."""
    global _application
    if _application is None:
        current = settings()
        if current.dynamodb_endpoint:
            # Local stacks create the table themselves; in AWS it comes from the infrastructure code.
            ensure_table(current)
        built = build_application(current, with_updater=False)
        _event_loop().run_until_complete(built.initialize())
        _application = built
    return _application


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point: check the secret token, then process the one update the event carries."""
    expected = settings().webhook_secret
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    given = headers.get(SECRET_HEADER)
    if not expected:
        log.error("TELEGRAM_WEBHOOK_SECRET is not set: every update is refused")
        return _response(403, {"error": "forbidden"})
    if given is None:
        log.warning("webhook call without the secret token refused")
        return _response(401, {"error": "unauthorized"})
    accepted = [secret for secret in (expected, settings().previous_webhook_secret) if secret]
    # Each one compared (no early exit): the time taken says nothing about which was close.
    if not any([hmac.compare_digest(given.encode(), secret.encode()) for secret in accepted]):
        log.warning("webhook call with a wrong secret token refused")
        return _response(403, {"error": "forbidden"})
    raw = event.get("body") or ""
    try:
        payload = base64.b64decode(raw) if event.get("isBase64Encoded") else raw
        data = json.loads(payload)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
    except ValueError:
        return _response(400, {"error": "expected a Telegram update"})
    app = application()
    # process_update never raises: failures go to the error handler, which logs them and apologises.
    _event_loop().run_until_complete(app.process_update(Update.de_json(data, app.bot)))
    return _response(200, {"ok": True})


def reset() -> None:
    """Shut the container's Application down (tests; a Lambda container simply ends)."""
    global _application, _settings
    from .application import close

    if _application is not None:
        loop = _event_loop()
        loop.run_until_complete(_application.shutdown())
        loop.run_until_complete(close(_application))
    _application = None
    _settings = None

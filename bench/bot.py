"""Bot handling time per update, in-process and without the network: p50/p99 of a text reply (/ayuda) and of
a step that calls the API (the summary's "correct" button, which submits the request). The Bot API is replaced by an
in-process stub and the API is the Chalice app served in-process; state is in DynamoDB Local, as deployed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import httpx  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.request import BaseRequest, RequestData  # noqa: E402

from infrastructure.local import dynamodb_local  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.factories import ANA  # noqa: E402

N = int(os.environ.get("BENCH_N", "300"))
CHAT = 880001


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class NoNetworkBotApi(BaseRequest):
    """Answers the Bot API calls the bot makes at once, as Telegram would, without a socket."""

    def __init__(self) -> None:
        self.message_id = 1000
        self.calls = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if name == "getMe":
            result: Any = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
        elif name in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            self.message_id += 1
            result = {"message_id": self.message_id, "date": 0, "chat": {"id": CHAT, "type": "private"},
                      "text": params.get("text", "")}
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()


class ChaliceTransport(httpx.AsyncBaseTransport):
    """The API's Chalice app called in-process (chalice.test.Client) behind the bot's HTTP client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = self.client.http.request(request.method, request.url.raw_path.decode(),
                                          headers=dict(request.headers), body=body)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.body)


SUMMARY_MESSAGE = 999_999


def press(update_id: int, data: str, message_id: int = SUMMARY_MESSAGE) -> dict[str, Any]:
    """A button press on the bot's message `message_id`."""
    user = {"id": CHAT, "is_bot": False, "first_name": "Ana", "language_code": "es"}
    message = {"message_id": message_id, "date": int(time.time()), "text": "…", "chat": {"id": CHAT, "type": "private"},
               "from": {"id": 1, "is_bot": True, "first_name": "Bench"}}
    return {"update_id": update_id, "callback_query": {"id": str(update_id), "from": user, "chat_instance": "1",
                                                       "data": data, "message": message}}


def update(update_id: int, typed: str) -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Ana", "language_code": "es"}
    message: dict[str, Any] = {"message_id": update_id, "date": int(time.time()), "text": typed, "from": user,
                               "chat": {"id": CHAT, "type": "private", "first_name": "Ana"}}
    if typed.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(typed.split()[0])}]
    return {"update_id": update_id, "message": message}


def main() -> None:
    port = free_port()
    process = dynamodb_local.start(port, None)
    try:
        from chalice.test import Client

        import app
        from bot.application import build_application, close
        from bot.settings import BotSettings
        from bot.state import ConversationStore, Step, ensure_table
        from chalicelib import bootstrap
        from chalicelib.adapters.dynamo_models import create_tables
        from chalicelib.settings import Settings
        from infrastructure.local.seed import seed

        endpoint = f"http://127.0.0.1:{port}"
        settings = Settings(dynamodb_endpoint=endpoint, table_prefix="bench-",
                            data_dir=Path("/tmp") / f"bench-bot-{uuid.uuid4().hex[:6]}")
        create_tables(settings)
        container = bootstrap.build(settings)
        seed(container)
        bootstrap.use(container)
        bot_settings = BotSettings(token="1:bench", dynamodb_endpoint=endpoint, table_prefix="bench-",
                                   api_base_url="http://api.invalid")
        ensure_table(bot_settings)
        store = ConversationStore(bot_settings)
        loop = asyncio.new_event_loop()
        with Client(app.app) as client:
            bot_api = NoNetworkBotApi()
            application = build_application(bot_settings, api_transport=ChaliceTransport(client),
                                            with_updater=False, bot_request=bot_api)
            loop.run_until_complete(application.initialize())
            next_id = iter(range(1, 10**9))

            def handle(data: dict[str, Any]) -> float:
                parsed = Update.de_json(data, application.bot)
                start = time.perf_counter()
                loop.run_until_complete(application.process_update(parsed))
                return (time.perf_counter() - start) * 1000

            def at_summary_step() -> None:
                convo = store.load(CHAT)
                convo.go(Step.SUMMARY)
                convo.language = "es"
                convo.answers = {**{k: v for k, v in ANA.items()}, "email": "ana@example.com"}
                convo.fixing = None
                convo.prompt_message_id = SUMMARY_MESSAGE
                store.save(convo, datetime.now(UTC), timedelta(hours=48))

            for _ in range(60):  # warm up imports, connections, the app and DynamoDB Local
                handle(update(next(next_id), "/ayuda"))
                at_summary_step()
                handle(press(next(next_id), "sum:ok"))
            text_ms = [handle(update(next(next_id), "/ayuda")) for _ in range(N)]
            calls_before = bot_api.calls
            submit_ms = []
            for _ in range(max(50, N // 2)):
                at_summary_step()
                submit_ms.append(handle(press(next(next_id), "sum:ok")))
            sends_per_submit = (bot_api.calls - calls_before) / len(submit_ms)
            assert store.load(CHAT).current is Step.IDENTITY, "the submission did not reach the identity step"
            loop.run_until_complete(application.shutdown())
            loop.run_until_complete(close(application))
        loop.close()
        print(f"bot_text_reply_p50_ms: {percentile(text_ms, 0.5):.2f}")
        print(f"bot_text_reply_p99_ms: {percentile(text_ms, 0.99):.2f}")
        print(f"bot_submit_request_p50_ms: {percentile(submit_ms, 0.5):.2f}")
        print(f"bot_submit_request_p99_ms: {percentile(submit_ms, 0.99):.2f}")
        print(f"bot_submit_request_bot_api_calls: {sends_per_submit:.1f}")
    finally:
        dynamodb_local.stop(process)


if __name__ == "__main__":
    main()

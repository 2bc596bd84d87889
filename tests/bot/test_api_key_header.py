"""In the cloud the bot names its channel's usage plan with X-API-Key (issue 16); locally it sends none."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.api_client import ApiClient
from bot.settings import load_settings


@pytest.fixture
def recorder() -> Iterator[dict[str, Any]]:
    """An HTTP server on 127.0.0.1 that records each request's headers and answers {}."""
    seen: dict[str, Any] = {"headers": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["headers"].append({k.lower(): v for k, v in self.headers.items()})
            data = json.dumps({}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()


def _create(url: str, **kwargs: Any) -> None:
    async def run() -> None:
        client = ApiClient(url, "the-channel-key", **kwargs)
        try:
            await client.create_request("telegram:1", {}, "key-1")
        finally:
            await client.aclose()

    asyncio.run(run())


def test_the_api_key_goes_with_every_call_beside_the_channel_key(recorder: dict[str, Any]) -> None:
    _create(recorder["url"], api_key="K" * 48)
    (headers,) = recorder["headers"]
    assert headers["x-api-key"] == "K" * 48 and headers["authorization"] == "Bearer the-channel-key"


def test_without_an_api_key_no_header_is_sent(recorder: dict[str, Any]) -> None:
    _create(recorder["url"])
    assert "x-api-key" not in recorder["headers"][0]


def test_the_bot_reads_its_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNEL_API_KEY", "from-secrets-manager-at-cold-start")
    assert load_settings().api_key == "from-secrets-manager-at-cold-start"
    monkeypatch.delenv("CHANNEL_API_KEY")
    assert load_settings().api_key == ""

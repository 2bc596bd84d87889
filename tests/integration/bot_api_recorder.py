"""A Bot API peer over real HTTP for the notification tests: records what the system asks it to send."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class BotApiRecorder:
    """A Bot API peer over real HTTP that records what it is asked to send (and can fail on demand)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.failures_left = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if recorder.failures_left > 0:
                    recorder.failures_left -= 1
                    self.send_response(502)
                    self.end_headers()
                    self.wfile.write(b'{"ok": false}')
                    return
                recorder.calls.append((self.path.rsplit("/", 1)[-1], body))
                answer = json.dumps({"ok": True, "result": {"message_id": len(recorder.calls)}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, chat_id: str) -> list[tuple[str, bytes]]:
        """The calls addressed to one chat: events other tests left in the shared stream go to other chats."""
        def chat_of(method: str, body: bytes) -> str:
            if method == "sendMessage":
                return str(json.loads(body)["chat_id"])
            return body.split(b'name="chat_id"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode()

        return [(m, b) for m, b in self.calls if chat_of(m, b) == chat_id]

    def texts(self, chat_id: str | None = None) -> list[str]:
        out = []
        for method, body in (self.to(chat_id) if chat_id else self.calls):
            if method == "sendMessage":
                out.append(json.loads(body)["text"])
            else:
                out.append(body.split(b'name="caption"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode())
        return out

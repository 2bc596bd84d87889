"""Outbound chat messages over the Telegram Bot API (or any server speaking it), with retries.

The API's functions do not ship python-telegram-bot: two Bot API methods over http.client are all they need. Each
thread keeps its connection open between messages (a new TLS connection per message costs more than the message).
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from ..domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class TelegramNotifier:
    def __init__(self, base_url: str, token: str, attempts: int = 4, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self._https = parts.scheme == "https"
        self._host = parts.netloc
        self._path = f"{parts.path}/bot{token}"
        self._attempts = attempts
        self._timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = self._local.connection = kind(self._host, timeout=self._timeout)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def _post(self, method: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        """One POST over this thread's kept-alive connection; a connection the server closed meanwhile is opened
        again once (the request had not reached it)."""
        for reused in (True, False):
            connection = self._connection()
            try:
                connection.request("POST", f"{self._path}/{method}", body=body,
                                   headers={"Content-Type": content_type})
                answer = connection.getresponse()
                return answer.status, answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop_connection()
                if not reused:
                    raise
            except (OSError, http.client.HTTPException):
                self._drop_connection()
                raise
        raise AssertionError("unreachable")

    def _call(self, method: str, body: bytes, content_type: str) -> dict[str, Any]:
        delay = 0.5
        for attempt in range(1, self._attempts + 1):
            try:
                status, raw = self._post(method, body, content_type)
            except (OSError, http.client.HTTPException):
                status, raw = 0, b""
            if 200 <= status < 300:
                result: dict[str, Any] = json.loads(raw)
                return result
            if status:
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {}
                retry_after = (payload.get("parameters") or {}).get("retry_after")
                if status == 429 or status >= 500:
                    delay = float(retry_after or delay)
                else:
                    # 400/403 (blocked the bot, chat not found): retrying will not help; record and move on.
                    log.warning("chat message refused", extra={"method": method, "status": status})
                    return dict(payload)
            if attempt < self._attempts:
                time.sleep(min(delay, 5.0))
                delay *= 2
        raise ServiceUnavailable("The chat service did not answer; the message will be retried.",
                                 code="chat_unavailable")

    def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        body = json.dumps({"chat_id": chat_id, "text": text}).encode()
        return self._call("sendMessage", body, "application/json")

    def send_document(self, chat_id: str, filename: str, data: bytes, caption: str) -> dict[str, Any]:
        boundary = secrets.token_hex(16)
        parts = []
        for name, value in (("chat_id", chat_id), ("caption", caption)):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="{filename}"\r\n'
                     "Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self._call("sendDocument", b"".join(parts), f"multipart/form-data; boundary={boundary}")

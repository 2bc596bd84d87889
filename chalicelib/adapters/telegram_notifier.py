"""Outbound chat messages over the Telegram Bot API (or any server speaking it), with retries.

The API's functions do not ship python-telegram-bot: two Bot API methods over urllib are all they need.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from ..domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class TelegramNotifier:
    def __init__(self, base_url: str, token: str, attempts: int = 4, timeout: float = 10.0) -> None:
        self._base = f"{base_url.rstrip('/')}/bot{token}"
        self._attempts = attempts
        self._timeout = timeout

    def _call(self, method: str, body: bytes, content_type: str) -> dict[str, Any]:
        delay = 0.5
        for attempt in range(1, self._attempts + 1):
            request = urllib.request.Request(f"{self._base}/{method}", data=body, method="POST",
                                             headers={"Content-Type": content_type})
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                    result: dict[str, Any] = json.loads(answer.read())
                    return result
            except urllib.error.HTTPError as error:
                payload = json.loads(error.read() or b"{}")
                retry_after = (payload.get("parameters") or {}).get("retry_after")
                if error.code == 429 or error.code >= 500:
                    delay = float(retry_after or delay)
                else:
                    # 400/403 (blocked the bot, chat not found): retrying will not help; record and move on.
                    log.warning("chat message refused", extra={"method": method, "status": error.code})
                    return payload
            except OSError:
                pass
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

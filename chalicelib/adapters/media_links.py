"""Signed, short-lived links served by the console's own route (the local stack's stand-in for S3 presigned URLs):
the token names the stored file, who may open it and until when, under an HMAC of the local secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..domain.media import LINK_SECONDS


@dataclass(frozen=True)
class SignedFile:
    key: str
    subject: str
    content_type: str
    filename: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignedTokens:
    """``<payload>.<signature>`` tokens: a JSON body with its expiry ("e", unix seconds), base64url, under an HMAC
    of the local secret kept apart by ``purpose``. One form for every signed local link (media, uploads)."""

    def __init__(self, purpose: str, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = hashlib.sha256(f"{purpose}#{secret}".encode()).digest()
        self._clock = clock

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def make(self, body: dict[str, Any], seconds: int) -> str:
        payload = _b64(json.dumps({**body, "e": int(self._clock()) + seconds}, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, token: str) -> dict[str, Any] | None:
        """The body a token carries, or None when it is forged, altered or expired."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(body, dict) or int(body.get("e", 0)) < self._clock():
            return None
        return body


class SignedLocalLinks:
    def __init__(self, secret: str, base_url: str, clock: Callable[[], float] = time.time) -> None:
        self._tokens = SignedTokens("console-media", secret, clock)
        self._base = base_url.rstrip("/")

    def link(self, key: str, *, subject: str, content_type: str, filename: str | None = None,
             seconds: int = LINK_SECONDS) -> str:
        token = self._tokens.make({"k": key, "s": subject, "t": content_type, "f": filename}, seconds)
        return f"{self._base}/console/media/{token}"

    def verify(self, token: str) -> SignedFile | None:
        """The file a token names, or None when it is forged, altered or expired."""
        body = self._tokens.read(token)
        if body is None:
            return None
        return SignedFile(str(body["k"]), str(body["s"]), str(body["t"]), body.get("f"))


class S3MediaLinks:
    """Presigned GET URLs of the documents bucket (the bucket stays private)."""

    def __init__(self, storage: object) -> None:
        self._storage = storage

    def link(self, key: str, *, subject: str, content_type: str, filename: str | None = None,
             seconds: int = LINK_SECONDS) -> str:
        url: str = self._storage.presigned_url(key, seconds, filename)  # type: ignore[attr-defined]
        return url

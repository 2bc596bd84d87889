"""Presigned uploads (domain.uploads): S3 presigned POSTs in the cloud; locally, a route of the local API
(``POST /v1/uploads/{token}``) whose token names the storage key, the content type, the largest size and the end
of its life under an HMAC of the local secret — the same form, the same conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..domain.uploads import UPLOAD_SECONDS
from .media_links import SignedTokens


@dataclass(frozen=True)
class SignedUpload:
    key: str
    content_type: str
    max_bytes: int


class SignedLocalUploads:
    def __init__(self, secret: str, base_path: str, clock: Callable[[], float] = time.time) -> None:
        self._tokens = SignedTokens("local-upload", secret, clock)
        self._base = base_path.rstrip("/")

    def presign(self, key: str, *, content_type: str, max_bytes: int, seconds: int = UPLOAD_SECONDS
                ) -> dict[str, Any]:
        token = self._tokens.make({"k": key, "t": content_type, "m": max_bytes}, seconds)
        return {"url": f"{self._base}/v1/uploads/{token}", "fields": {"Content-Type": content_type}}

    def origin(self) -> str:
        """Where a browser posts the file: the API's own origin ('self')."""
        return ""

    def verify(self, token: str) -> SignedUpload | None:
        """What a token allows, or None when it is forged, altered or expired."""
        body = self._tokens.read(token)
        if body is None:
            return None
        return SignedUpload(str(body["k"]), str(body["t"]), int(body["m"]))


class S3Uploads:
    """Presigned POSTs to the documents bucket (private; its CORS lets the console's origin post)."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    def presign(self, key: str, *, content_type: str, max_bytes: int, seconds: int = UPLOAD_SECONDS
                ) -> dict[str, Any]:
        post: dict[str, Any] = self._storage.presigned_post(key, content_type, max_bytes, seconds)
        return post

    def origin(self) -> str:
        """The bucket's origin, for the console's Content-Security-Policy (signing a form makes no request)."""
        from urllib.parse import urlsplit

        url = urlsplit(self.presign("uploads/origin/file.csv", content_type="text/csv", max_bytes=1, seconds=60)["url"])
        return f"{url.scheme}://{url.netloc}"

"""Short-lived links to stored files (photos, exports, reports): S3 presigned URLs in the cloud, a signed route of
the console locally. A link is made only after the operator's scope was checked, and each is audited there."""

from __future__ import annotations

from typing import Protocol

LINK_SECONDS = 300


class MediaLinks(Protocol):
    def link(self, key: str, *, subject: str, content_type: str, filename: str | None = None,
             seconds: int = LINK_SECONDS) -> str:
        """A URL that serves the stored file for ``seconds``; ``filename`` makes it a download."""
        ...

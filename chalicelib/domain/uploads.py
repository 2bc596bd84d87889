"""Uploads straight to storage: a short-lived, signed upload (an S3 presigned POST in the cloud, with the content
type and a length range as conditions; a route of the local API under an HMAC of the local secret), so that a file
never travels through the API's request body (API Gateway and Lambda cap it at 6 MB). The client then names the
upload to start the job (services.jobs: reserve_upload, start_upload)."""

from __future__ import annotations

from typing import Any, Protocol

UPLOAD_SECONDS = 900  # how long a presigned upload may be used
UPLOAD_CONTENT_TYPE = "text/csv"


class UploadLinks(Protocol):
    def presign(self, key: str, *, content_type: str, max_bytes: int, seconds: int = UPLOAD_SECONDS
                ) -> dict[str, Any]:
        """``{"url", "fields"}``: POST a multipart form to ``url`` with ``fields`` then the file (as ``file``)."""
        ...

    def origin(self) -> str:
        """The origin a browser posts to ("" when it is the API's own)."""
        ...

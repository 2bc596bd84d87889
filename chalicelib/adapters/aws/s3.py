"""Document storage on Amazon S3: the same port as the local folder, plus presigned download links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .clients import client, error_code

_KEY = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_\-./]{0,200}")
_MISSING = {"NoSuchKey", "404", "NotFound"}
# Documents of legal value: issued certificates, attendance records and the daily reports. Their every version is
# kept under S3 Object Lock (governance mode) for `lock_days`; exports and import uploads are not locked (they
# expire after a day or 90 days by lifecycle rules).
LOCKED_PREFIXES = ("certificates/", "attendance/", "reports/")


class S3DocumentStorage:
    """Implements :class:`~chalicelib.domain.ports.DocumentStorage` on one private, versioned bucket."""

    def __init__(self, bucket: str, region: str, s3: Any = None, lock_days: int = 0) -> None:
        self.bucket = bucket
        self.region = region
        self._s3 = s3
        self.lock_days = lock_days  # 0: no object lock (a bucket made without it refuses lock headers)

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3", self.region)
        return self._s3

    @staticmethod
    def _key(key: str) -> str:
        # The same keys as the local folder accepts, so a key that works locally works here and vice versa.
        if not _KEY.fullmatch(key) or ".." in key:
            raise ValueError("invalid storage key")
        return key

    def put(self, key: str, data: bytes, content_type: str = "application/pdf") -> None:
        extra: dict[str, Any] = {}
        if self.lock_days and key.startswith(LOCKED_PREFIXES):
            extra = {"ObjectLockMode": "GOVERNANCE",
                     "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=self.lock_days)}
        self.s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, **extra)

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            if error_code(error) in _MISSING:
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def presigned_post(self, key: str, content_type: str, max_bytes: int, seconds: int) -> dict[str, Any]:
        """A time-limited upload of one object: only this key, this content type, at most ``max_bytes``."""
        if not 1 <= seconds <= 3600:
            raise ValueError("a presigned upload lives between 1 second and an hour")
        post: dict[str, Any] = self.s3.generate_presigned_post(
            Bucket=self.bucket, Key=self._key(key), Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]], ExpiresIn=seconds)
        return post

    def ping(self) -> None:
        self.s3.head_bucket(Bucket=self.bucket)

    def presigned_url(self, key: str, seconds: int = 300, filename: str | None = None) -> str:
        """A time-limited GET link (the bucket stays private); at most 7 days, as S3 allows."""
        if not 1 <= seconds <= 7 * 24 * 3600:
            raise ValueError("a presigned link lives between 1 second and 7 days")
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        return url

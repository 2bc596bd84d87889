"""S3 document storage against a moto server: the storage port's behaviour and presigned links over HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest

from chalicelib.adapters.aws.clients import client
from chalicelib.adapters.aws.s3 import S3DocumentStorage

from .conftest import REGION


@pytest.fixture
def storage(server_endpoint: str) -> S3DocumentStorage:
    bucket = f"documents-{uuid.uuid4().hex[:12]}"
    client("s3", REGION).create_bucket(Bucket=bucket)
    return S3DocumentStorage(bucket, REGION)


def test_put_then_get_returns_the_same_bytes_and_content_type(storage: S3DocumentStorage) -> None:
    storage.put("certificates/2026/abc.pdf", b"%PDF-1.7 test", "application/pdf")

    assert storage.get("certificates/2026/abc.pdf") == b"%PDF-1.7 test"
    head = storage.s3.head_object(Bucket=storage.bucket, Key="certificates/2026/abc.pdf")
    assert head["ContentType"] == "application/pdf"


def test_get_of_a_missing_key_returns_none(storage: S3DocumentStorage) -> None:
    assert storage.get("certificates/missing.pdf") is None


def test_ping_passes_for_the_bucket_and_fails_for_a_missing_one(storage: S3DocumentStorage) -> None:
    storage.ping()
    with pytest.raises(Exception, match="404|Not Found|NoSuchBucket"):
        S3DocumentStorage("no-such-bucket-here", REGION).ping()


@pytest.mark.parametrize("key", ["../etc/passwd", "/absolute.pdf", "a/../b.pdf", "", "spaces in key.pdf"])
def test_keys_the_local_folder_refuses_are_refused_too(storage: S3DocumentStorage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.put(key, b"x")


def test_presigned_url_downloads_the_document_over_http(storage: S3DocumentStorage, server_endpoint: str) -> None:
    storage.put("certificates/signed.pdf", b"%PDF-1.7 signed bytes")

    url = storage.presigned_url("certificates/signed.pdf", seconds=120, filename="certificado.pdf")

    assert url.startswith(server_endpoint) and "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"%PDF-1.7 signed bytes"
        assert 'filename="certificado.pdf"' in answer.headers["Content-Disposition"]


def test_presigned_url_lifetime_is_bounded(storage: S3DocumentStorage) -> None:
    with pytest.raises(ValueError):
        storage.presigned_url("certificates/signed.pdf", seconds=8 * 24 * 3600)


def test_issued_documents_are_locked_and_exports_are_not(server_endpoint: str) -> None:
    """With object lock on the bucket (the cloud's documents bucket), each certificate, attendance record and
    report version is kept in governance mode for the retention; a governed delete of that version is refused."""
    bucket = f"locked-{uuid.uuid4().hex[:12]}"
    s3 = client("s3", REGION)
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    storage = S3DocumentStorage(bucket, REGION, lock_days=3650)

    storage.put("certificates/c1-abc.pdf", b"%PDF-1.7 issued")
    storage.put("exports/list.csv", b"a,b", "text/csv")

    locked = s3.head_object(Bucket=bucket, Key="certificates/c1-abc.pdf")
    assert locked["ObjectLockMode"] == "GOVERNANCE"
    assert (locked["ObjectLockRetainUntilDate"].year - locked["LastModified"].year) in (9, 10)
    with pytest.raises(Exception, match="AccessDenied|locked|Object Lock|WORM"):
        s3.delete_object(Bucket=bucket, Key="certificates/c1-abc.pdf", VersionId=locked["VersionId"])
    assert "ObjectLockMode" not in s3.head_object(Bucket=bucket, Key="exports/list.csv")


def test_a_presigned_post_uploads_one_csv_under_its_key_and_its_policy_bounds_type_and_size(
        storage: S3DocumentStorage) -> None:
    """The form a browser posts (the imports' presigned upload). The policy is what S3 enforces; moto stores the
    file without checking it, so its conditions are read back from the signed policy."""
    import base64
    import json
    import secrets

    post = storage.presigned_post("uploads/job-1/file.csv", "text/csv", 8 * 1024 * 1024, 900)
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert ["content-length-range", 1, 8 * 1024 * 1024] in policy["conditions"]
    assert {"Content-Type": "text/csv"} in policy["conditions"]
    assert {"key": "uploads/job-1/file.csv"} in policy["conditions"]
    boundary = secrets.token_hex(8)
    fields = {**post["fields"]}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
             f"Content-Type: text/csv\r\n\r\n").encode() + b"a,b\r\n1,2\r\n" + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(post["url"], data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 201, 204)
    assert storage.get("uploads/job-1/file.csv") == b"a,b\r\n1,2\r\n"
    with pytest.raises(ValueError):
        storage.presigned_post("uploads/job-1/file.csv", "text/csv", 10, 2 * 3600)

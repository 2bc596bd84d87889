"""Imports through a presigned upload, on DynamoDB Local and the local API's signed upload route (S3's presigned
POST in the cloud): the admin reserves an upload, posts the file straight to storage (never through the API's
request body, so its 6 MB cap does not bound the file), then starts the job by naming the upload — once. A forged,
altered or expired upload link, a wrong content type, a file over the signed size, an unknown, another's, an
expired, an empty or a reused upload reference are all refused."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib.adapters.upload_links import SignedLocalUploads
from chalicelib.domain.jobs import JobStatus
from tests.integration.conftest import Api

HEADER = "document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date," \
         "expiry_date,nationality,father_name,mother_name\n"


def multipart(fields: dict[str, str], data: bytes, filename: str = "padron.csv") -> tuple[bytes, str]:
    boundary = "b" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def reserve(api: Api, registry: str = "identity", subject: str = "admin-up") -> dict[str, Any]:
    answer = api.post("/v1/admin/uploads", {"registry": registry, "file_name": "padron.csv"},
                      headers=api.operator_headers("admin", subject=subject))
    assert answer.status_code == 201, answer.body
    return dict(answer.json_body)


def post_file(api: Api, upload: dict[str, Any], data: bytes, fields: dict[str, str] | None = None) -> Any:
    """The client's multipart POST to a presigned upload (``{"url", "fields"}``)."""
    body, content_type = multipart(upload["fields"] if fields is None else fields, data)
    return api.client.http.post(upload["url"], body=body, headers={"Content-Type": content_type})


def start(api: Api, upload_id: Any, registry: str = "identity", subject: str = "admin-up") -> Any:
    return api.post(f"/v1/admin/registries/{registry}/jobs", {"upload_id": upload_id},
                    headers=api.operator_headers("admin", subject=subject))


def rows(prefix: int, count: int, pad: int = 0) -> bytes:
    return (HEADER + "".join(f"DNI,{prefix + n:08d},Subida,Carga,Prueba,1990-01-01,,,PER,{'P' * pad},\n"
                             for n in range(count))).encode()


def test_a_file_posted_to_its_presigned_upload_starts_its_job_once_and_is_imported(api: Api) -> None:
    prefix = 50_000_000 + time.time_ns() // 1000 % 100_000 * 10
    ticket = reserve(api)
    assert ticket["upload"]["url"].startswith("/v1/uploads/") and ticket["content_type"] == "text/csv"
    reserved = api.c.jobs.get_job(ticket["upload_id"])
    assert reserved is not None and reserved.status is JobStatus.AWAITING_UPLOAD
    api.run_worker()
    assert api.c.jobs.get_job(ticket["upload_id"]).status is JobStatus.AWAITING_UPLOAD, "nothing runs before"

    uploaded = post_file(api, ticket["upload"], rows(prefix, 10))
    assert uploaded.status_code == 204, uploaded.body
    started = start(api, ticket["upload_id"])
    assert started.status_code == 202 and started.headers["Location"] == f"/v1/admin/jobs/{ticket['upload_id']}"
    assert started.json_body["status"] == "queued"
    post_file(api, ticket["upload"], rows(prefix + 5_000, 10))  # the link is still alive: posting again changes nothing
    again = start(api, ticket["upload_id"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "upload_used"

    api.run_worker()
    done = api.c.jobs.get_job(ticket["upload_id"])
    assert done is not None and done.status is JobStatus.DONE and done.units == 10
    assert api.c.registries.identity.lookup("DNI", f"{prefix + 9:08d}") is not None
    assert api.c.registries.identity.lookup("DNI", f"{prefix + 5_000:08d}") is None
    actions = [e.action for e in api.c.audit.entries_for_target(ticket["upload_id"], 10)]
    assert "job.reserve_upload" in actions and "job.submit" in actions


def test_a_file_larger_than_the_api_body_cap_goes_through_the_upload(api: Api) -> None:
    """About 6.6 MB (API Gateway and Lambda take 6 MB at most); its one bad row is reported by line."""
    data = rows(10_000_000, 30_000, pad=160).replace(b"1990-01-01", b"1990-02-30", 1)
    assert len(data) > 6 * 1024 * 1024
    ticket = reserve(api)
    assert post_file(api, ticket["upload"], data).status_code == 204
    assert start(api, ticket["upload_id"]).status_code == 202
    assert len(api.c.storage.get(api.c.jobs.get_job(ticket["upload_id"]).input_key)) == len(data)
    api.run_worker()
    failed = api.c.jobs.get_job(ticket["upload_id"])
    assert failed is not None and failed.status is JobStatus.FAILED and failed.total == 30_000
    assert [(e["line"], e["field"]) for e in failed.errors] == [(2, "birth_date")]


def test_forged_altered_or_expired_upload_links_and_wrong_files_are_refused(api: Api) -> None:
    ticket = reserve(api)
    url = ticket["upload"]["url"]
    payload, signature = url.rsplit("/", 1)[1].split(".")
    forged = {**ticket["upload"], "url": f"/v1/uploads/{payload}.{signature[:-2]}AA"}
    assert post_file(api, forged, b"a,b\n1,2\n").status_code == 403
    other_key = json.dumps({"k": "certificates/x.pdf", "t": "text/csv", "m": 100, "e": int(time.time()) + 60})
    import base64

    altered = base64.urlsafe_b64encode(other_key.encode()).rstrip(b"=").decode()
    answer = post_file(api, {"url": f"/v1/uploads/{altered}.{signature}", "fields": ticket["upload"]["fields"]},
                       b"a,b\n")
    assert answer.status_code == 403 and api.c.storage.get("certificates/x.pdf") is None

    settings = api.c.settings
    expired = SignedLocalUploads(settings.console_link_secret, "", clock=lambda: time.time() - 3600).presign(
        "uploads/expired/file.csv", content_type="text/csv", max_bytes=100, seconds=60)
    assert post_file(api, expired, b"a,b\n").status_code == 403
    small = SignedLocalUploads(settings.console_link_secret, "").presign(
        "uploads/small/file.csv", content_type="text/csv", max_bytes=10, seconds=60)
    assert post_file(api, small, b"a,b\n" * 10).status_code == 413
    wrong_type = post_file(api, ticket["upload"], b"a,b\n", fields={"Content-Type": "application/pdf"})
    assert wrong_type.status_code == 403 and wrong_type.json_body["error"]["field"] == "Content-Type"
    assert api.c.storage.get(f"uploads/{ticket['upload_id']}/file.csv") is None, "nothing stored by any of them"


def test_unknown_anothers_empty_expired_or_reused_upload_references_are_refused(api: Api) -> None:
    forged = start(api, "A" * 22)
    assert forged.status_code == 404 and forged.json_body["error"]["code"] == "unknown_upload"
    assert start(api, 12345).status_code == 422
    ticket = reserve(api)
    never = start(api, ticket["upload_id"])
    assert never.status_code == 422 and never.json_body["error"]["code"] == "upload_missing"
    assert post_file(api, ticket["upload"], rows(60_000_000, 2)).status_code == 204
    assert start(api, ticket["upload_id"], subject="another-admin").status_code == 404
    assert start(api, ticket["upload_id"], registry="warrants").status_code == 404

    job = api.c.jobs.get_job(ticket["upload_id"])
    api.c.jobs.put_job(replace(job, upload_expires_at=api.c.clock.now() - timedelta(seconds=1)))
    late = start(api, ticket["upload_id"])
    assert late.status_code == 422 and late.json_body["error"]["code"] == "upload_expired"
    assert api.c.jobs.get_job(ticket["upload_id"]).status is JobStatus.AWAITING_UPLOAD


def test_only_an_admin_reserves_an_upload_for_a_known_registry(api: Api) -> None:
    refused = api.post("/v1/admin/uploads", {"registry": "identity"}, headers=api.operator_headers("reviewer"))
    assert refused.status_code == 403
    unknown = api.post("/v1/admin/uploads", {"registry": "nonsense"}, headers=api.operator_headers("admin"))
    assert unknown.status_code == 422 and unknown.json_body["error"]["field"] == "registry"

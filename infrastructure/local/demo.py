"""`make demo`: the whole certificate path against the running local stack, through the public HTTP API
and a signed payment webhook, printing each step; the last line is one JSON object."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.settings import load_settings  # noqa: E402
from infrastructure.local.payment_simulator import pay_online  # noqa: E402

ISSUE_DATES = {"45678912": "2019-03-15", "41234567": "2018-11-02"}
ANA = {"nationality": "PER", "document_type": "DNI", "document_number": "45678912", "given_names": "Ana Lucía",
       "first_surname": "Quispe", "second_surname": "Mamani", "birth_date": "1990-04-12"}
JOSE = {"nationality": "PER", "document_type": "DNI", "document_number": "41234567", "given_names": "José Luis",
        "first_surname": "Ramírez", "second_surname": "González", "birth_date": "1985-07-30"}


class Client:
    def __init__(self, base: str, key: str, user: str) -> None:
        self.base, self.key, self.user = base, key, user

    def fetch(self, path: str) -> tuple[int, bytes]:
        """A PDF as the person's app asks for it (binary answers need an Accept naming their type): status, body."""
        request = urllib.request.Request(self.base + path, headers={
            "Authorization": f"Bearer {self.key}", "X-Channel-User": self.user, "Accept": "application/pdf"})
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return answer.status, bytes(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, bytes(error.read())

    def download(self, path: str) -> bytes:
        status, body = self.fetch(path)
        assert status == 200, f"{path}: {status} {body[:200]!r}"
        return body

    def upload(self, path: str, data: bytes, content_type: str) -> Any:
        request = urllib.request.Request(self.base + path, data=data, method="POST", headers={
            "Authorization": f"Bearer {self.key}", "X-Channel-User": self.user, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read() or b"{}")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {token or self.key}"}
        if token is None:
            headers["X-Channel-User"] = self.user
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                raw = answer.read()
                return answer.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def step(text: str) -> None:
    print(f"→ {text}", flush=True)


def wait_for(client: Client, request_id: str, statuses: set[str], seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        _, body = client.call("GET", f"/v1/certificate-requests/{request_id}")
        if body.get("status") in statuses or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.2)


def apply_and_pay(client: Client, person: dict[str, str]) -> dict[str, Any]:
    status, created = client.call("POST", "/v1/certificate-requests",
                                  {"applicant": person, "terms_accepted": True, "language": "es"})
    assert status == 201, created
    step(f"request {created['number']} created: {created['status']}")
    rid = created["request_id"]
    # Possession of the card: its issue date, printed on it and held by the identity registry (the seed's).
    status, confirmed = client.call("POST", f"/v1/certificate-requests/{rid}/identity",
                                    {"issue_date": ISSUE_DATES[person["document_number"]]})
    assert status == 200, confirmed
    order = confirmed["payment"]
    step(f"identity confirmed; payment order {order['order_code']} for {order['currency']} {order['amount']}"
         f" (pay at {order['pay_url']})")
    status, answer = pay_online(order["order_code"], order["amount"], order["currency"], api_base=client.base)
    assert status == 200, answer
    step(f"provider's signed webhook accepted: {answer['disposition']}")
    return confirmed


def main() -> int:
    from infrastructure.local.run import local_environment

    os.environ.update(local_environment())  # the same ports and URLs `make run` derives
    settings = load_settings()
    base = os.environ.get("API_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    key = settings.channel_keys["telegram"]
    client = Client(base, key, f"telegram:demo{secrets.randbelow(10**9)}")

    step("citizen without records")
    request = apply_and_pay(client, ANA)
    final = wait_for(client, request["request_id"], {"issued", "in_review"})
    step(f"record check done and certificate issued: {final['status']} — {final['result']}")
    pdf = client.download(f"/v1/certificate-requests/{final['request_id']}/document")
    out_dir = settings.data_dir / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    document_path = out_dir / f"certificado-{final['number']}.pdf"
    document_path.write_bytes(pdf)
    verification_url = f"{settings.public_base_url}/v/{final['document_id']}"
    step(f"signed PDF saved to {document_path} ({len(pdf)} bytes)")
    with urllib.request.urlopen(urllib.request.Request(
            f"{base}/v/{final['document_id']}", headers={"Accept": "application/json"}), timeout=15) as answer:
        step(f"verification at {verification_url}: {json.loads(answer.read())['status']}")

    step("citizen with a homonym in the penitentiary registry")
    homonym = apply_and_pay(client, JOSE)
    queued = wait_for(client, homonym["request_id"], {"in_review", "approved", "issued"})
    step(f"record check done: {queued['status']}")
    from chalicelib.adapters.auth import LocalTokenVerifier

    token = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience).issue(
        "demo-reviewer", ["reviewer"])
    _, case = client.call("GET", f"/v1/admin/review-queue/{homonym['request_id']}", token=token)
    for candidate in case.get("candidates", []):
        step(f"reviewer sees candidate {candidate['record_id']} score {candidate['score']}: "
             f"{'; '.join(candidate['reasons'])}")
        client.call("POST", f"/v1/admin/review-queue/{homonym['request_id']}/candidates/{candidate['record_id']}",
                    {"decision": "cleared", "note": "demo: different person"}, token=token)
    decided = wait_for(client, homonym["request_id"], {"issued"})
    step(f"reviewer cleared the homonym: {decided['status']} — {decided['result']}")

    print(json.dumps({"request_id": final["request_id"], "number": final["number"], "status": final["status"],
                      "result": final["result"], "document_path": str(document_path),
                      "verification_url": verification_url,
                      "homonym_request": {"number": decided["number"], "status": decided["status"]}}))
    return 0 if final["status"] == "issued" and decided["status"] == "issued" else 1


if __name__ == "__main__":
    sys.exit(main())

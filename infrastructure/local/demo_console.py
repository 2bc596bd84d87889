"""`make demo-console` (after `make demo` and `make demo-control`, which it runs first): what the console's pages
need beyond them, through the HTTP API against the running local stack, so every page has something to show.

The seeded officer `oficial` goes on duty in LIMA (taking a share of the list), a check-in waits for the officer's
review (the identity registry has no record of the person), a name-only warrant match waits for the CVP head, a
check-in is held under the contingency plan (the identity registry switched off for it, then back) with its
callback queued, a person enrolled by name only waits for confirmation with the photo they sent, two import jobs
run (one refused by line, one done), and the day's report gets a second revision. The last line is one JSON
object; the accounts to sign in with are in the README ("Signing in to the console")."""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.domain.identity import dni_check_characters  # noqa: E402
from chalicelib.services.time import PERU  # noqa: E402
from chalicelib.settings import load_settings  # noqa: E402
from infrastructure.local.demo import JOSE, Client, apply_and_pay, step, wait_for  # noqa: E402
from infrastructure.local.demo_control import upload_csv  # noqa: E402

IDENTITY_HEADER = ("document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date,"
                   "expiry_date,nationality,father_name,mother_name")
WARRANT_HEADER = "warrant_id,given_names,surnames,document_number,issued_by,issued_on"
LIMA = (-12.0464, -77.0428)


def photo(seed: int) -> bytes:
    """A small JPEG portrait-like picture (Pillow is in the development environment that runs the demo)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return b"\xff\xd8\xff\xe0" + b"demo-photo" * 30
    image = Image.new("RGB", (200, 200), (70 + seed * 30 % 120, 110, 150))
    draw = ImageDraw.Draw(image)
    draw.ellipse((50, 35, 150, 160), fill=(214, 168, 120))
    draw.ellipse((78, 80, 92, 94), fill=(30, 30, 30))
    draw.ellipse((108, 80, 122, 94), fill=(30, 30, 30))
    draw.arc((78, 105, 122, 135), 20, 160, fill=(110, 40, 40), width=4)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def person(given: str, first: str, second: str) -> dict[str, Any]:
    number = f"6{secrets.randbelow(10**7):07d}"
    return {"person": {"has_document": True, "nationality": "PER", "document_type": "DNI",
                       "document_number": number, "given_names": given, "surnames": f"{first} {second}"},
            "registry": ["DNI", number, given, first, second, "1987-03-12", "2019-05-06", "2029-05-06", "PER",
                         f"Pedro {first}", f"Ana {second}"],
            "answers": {"parents_names": f"Pedro {first} y Ana {second}", "dni_issue_date": "2019-05-06",
                        "dni_expiry_date": "2029-05-06", "dni_check_character": dni_check_characters(number)[0]}}


def measure(client: Client, who: dict[str, Any], court: str, group: str) -> str:
    today = datetime.now(PERU).date()
    status, made = client.call("POST", "/v1/court/measures", {
        "person": who, "case_file": f"{secrets.randbelow(10**5):05d}-{today.year}-0-1801-JR-PE-01",
        "court": "1° Juzgado Penal de Lima", "district": "LIMA", "legal_status": "processed", "periodicity": "monthly",
        "start_date": today.replace(month=1, day=1).isoformat(), "first_registration_deadline":
        today.replace(month=12, day=31).isoformat(), "end_date": f"{today.year + 1}-12-31", "area": "LIMA",
        "group": group, **({} if who.get("has_document") else {"resolution_date": f"{today.year - 1}-05-05",
                                                                 "other_names": ["Lucho"]})}, token=court)
    assert status == 201, made
    return str(made["measure_id"])


def enrolled(base: str, key: str, who: dict[str, Any]) -> Client:
    chat = Client(base, key, f"telegram:console{secrets.randbelow(10**9)}")
    status, answer = chat.call("POST", "/v1/control/enrolments", {**who, "mobile": "987654321",
                                                                 "address": "Jr. Lampa 1, Lima", "language": "es"})
    assert status == 201, answer
    return chat


def check_in(chat: Client, answers: dict[str, Any], seed: int) -> dict[str, Any]:
    status, started = chat.call("POST", "/v1/control/check-ins", {})
    assert status == 201, started
    cid = started["checkin_id"]
    chat.call("POST", f"/v1/control/check-ins/{cid}/location", {"latitude": LIMA[0], "longitude": LIMA[1],
                                                               "accuracy_m": 25, "live_period": 900,
                                                               "sent_at": time.time()})
    chat.upload(f"/v1/control/check-ins/{cid}/selfie", photo(seed), "image/jpeg")
    _, result = chat.call("POST", f"/v1/control/check-ins/{cid}/answers", {"answers": answers})
    return {**result, "checkin_id": cid}


def wait_job(base: str, job_id: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(f"{base}/v1/admin/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            job: dict[str, Any] = json.loads(answer.read())
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def submit_job(base: str, registry: str, text: str, token: str) -> str:
    request = urllib.request.Request(f"{base}/v1/admin/registries/{registry}/jobs", data=text.encode(),
                                     method="POST", headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["job_id"])


def main() -> int:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from chalicelib.adapters.local_registries import RegistrySwitch
    from infrastructure.local.run import local_environment

    os.environ.update(local_environment())
    settings = load_settings()
    base, key = settings.public_base_url, settings.channel_keys["telegram"]
    issuer = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience)
    court = issuer.issue("juzgado", ["court"], courts=["1801-JR-PE-01"])
    cvp_head = issuer.issue("jefe.cvp", ["cvp_head"], districts=["LIMA"])
    admin = issuer.issue("admin", ["admin"])
    api = Client(base, key, "telegram:console-admin")
    today = datetime.now(PERU).date()
    group = "A" if today.day <= 15 else "B"
    status, _ = api.call("PUT", "/v1/cvp/districts/LIMA/officers/oficial",
                         {"active": True, "name": "Óscar Oficial de atención"}, token=cvp_head)
    assert status == 200
    status, _ = api.call("PUT", "/v1/cvp/districts/LIMA/officers/demo-officer", {"active": False}, token=cvp_head)
    assert status == 200
    step("CVP head: the seeded officer `oficial` is on duty in LIMA and takes demo-officer's list")
    marco, luz = person("Marco Antonio", "Vílchez", "Rojas"), person("Luz Marina", "Quispe", "Condori")
    upload_csv(base, "/v1/admin/registries/identity/import",
               f"{IDENTITY_HEADER}\n{','.join(marco['registry'])}\n{','.join(luz['registry'])}\n", admin)
    held = {"has_document": True, "nationality": "PER", "document_type": "DNI",
            "document_number": f"5{secrets.randbelow(10**7):07d}", "given_names": "Elena", "surnames": "Ramos Tello"}
    nameless = {"has_document": False, "nationality": "VEN", "given_names": "Teodoro",
                "surnames": f"Pérez Rojas {secrets.choice(['Uno', 'Dos', 'Tres'])}"}
    ids = {name: measure(api, who, court, group)
           for name, who in (("held", held), ("warrant", marco["person"]), ("callback", luz["person"]),
                             ("to_confirm", nameless))}
    chats = {name: enrolled(base, key, who) for name, who in (("held", held), ("warrant", marco["person"]),
                                                               ("callback", luz["person"]), ("to_confirm", nameless))}
    chats["to_confirm"].upload("/v1/control/enrolment/photo", photo(4), "image/jpeg")
    step("four more people enrolled in LIMA (one by name only, with the photo they sent)")
    time.sleep(2)  # the worker assigns the new cases to the officers
    answers = {"parents_names": "Nadie", "dni_issue_date": "2020-01-01", "dni_expiry_date": "2030-01-01",
               "dni_check_character": dni_check_characters(held["document_number"])[0]}
    outcomes = {"held": check_in(chats["held"], answers, 1)["message"]}
    step(f"[held] the identity registry has no record of Elena: the check-in waits for review ({outcomes['held']})")
    outcomes["warrant"] = check_in(chats["warrant"], marco["answers"], 2)["outcome"]
    step("[warrant] Marco Antonio Vílchez Rojas registered; the warrants registry's REQ-0002 matches his name only: "
         "the CVP head decides before the police are told")
    switch = RegistrySwitch(settings.data_dir / "switches", "identity")
    switch.set_down(True)
    try:
        outcomes["callback"] = check_in(chats["callback"], luz["answers"], 3)["message"]
    finally:
        switch.set_down(False)
    step(f"[callback] the identity registry was switched off mid check-in: {outcomes['callback']}, callback queued")
    bad = submit_job(base, "warrants", f"{WARRANT_HEADER}\nDEMO-1,Ana,Pérez Soto,12,Juzgado,2026-01-01\n"
                                       "DEMO-2,Luis,Soto Vera,,Juzgado,2026-02-30\n", admin)
    good = submit_job(base, "warrants", f"{WARRANT_HEADER}\nDEMO-{secrets.token_hex(3)},Ana,Pérez Soto,,"
                                        f"1° Juzgado Penal de Lima,{today.year}-01-15\n", admin)
    jobs = {"refused": wait_job(base, bad, admin), "done": wait_job(base, good, admin)}
    refused_lines = [e["line"] for e in jobs["refused"]["errors"]]
    step(f"imports: {jobs['refused']['status']} (lines {refused_lines}) and {jobs['done']['status']}")
    citizen = Client(base, key, f"telegram:console{secrets.randbelow(10**9)}")
    homonym = apply_and_pay(citizen, JOSE)
    queued = wait_for(citizen, homonym["request_id"], {"in_review"})
    step(f"a citizen with a homonym in the penitentiary registry waits in the review queue ({queued['number']})")
    status, report = api.call("POST", f"/v1/cvp/reports/LIMA/{today.isoformat()}", {}, token=cvp_head)
    assert status == 201, report
    step(f"day closed again: the daily report of LIMA is now revision {report['revision']}")
    print(f"\nSign in at {base}/console — accounts in the README (\"Signing in to the console\").")
    print(json.dumps({"measures": ids, "outcomes": outcomes, "jobs": {k: v["status"] for k, v in jobs.items()},
                      "review_request": queued["number"],
                      "report_revision": report["revision"], "console": f"{base}/console"}))
    ok = (outcomes["held"] == "review" and outcomes["warrant"] == "registered" and outcomes["callback"] == "annex5"
          and jobs["refused"]["status"] == "failed" and jobs["done"]["status"] == "done" and report["revision"] >= 2
          and queued["status"] == "in_review")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

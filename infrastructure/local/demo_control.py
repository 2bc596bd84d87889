"""`make demo-control`: virtual penal control against the running local stack, through the HTTP API.

A court registers four fictitious people's measures (new people each run: they are added to the local identity
and warrants registries first), an officer is on duty, three people enrol and an impostor's chat is refused,
check-ins run (inside the area; outside, then a refused retry; with a possible warrant), the nightly job finds
the person who never enrolled, and the CVP head closes the day with the daily incident report (annex 4) as a
signed PDF and a CSV. The last line is one JSON object."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.domain.identity import dni_check_characters  # noqa: E402
from chalicelib.services.time import PERU  # noqa: E402
from chalicelib.settings import load_settings  # noqa: E402
from infrastructure.local.demo import Client, step  # noqa: E402

SELFIE = b"\xff\xd8\xff\xe0" + b"demo-selfie" * 20
PLACES = {"inside": (-12.0464, -77.0428), "outside": (-13.5319, -71.9675), "warrant": (-12.1211, -77.0297)}
NAMES = {"inside": ("Rosa Elvira", "Cárdenas", "Huamán"), "outside": ("Juana Rosa", "Quispe", "Ccori"),
         "warrant": ("Jorge Luis", "Salazar", "Paredes"), "never": ("Teófilo", "Mendoza", "Ríos")}


def download(base: str, path: str, token: str) -> bytes:
    """A report file, as an operator downloads it (binary, so the PDF is not base64-encoded)."""
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}",
                                                           "Accept": "application/pdf, text/csv"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


def upload_csv(base: str, path: str, text: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(base + path, data=text.encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def fictitious_people() -> dict[str, dict[str, Any]]:
    """New people for this run (DNI numbers drawn at random), with what the identity registry holds of them."""
    people = {}
    for case, (given, first, second) in NAMES.items():
        number = f"7{secrets.randbelow(10**7):07d}"
        people[case] = {
            "person": {"has_document": True, "nationality": "PER", "document_type": "DNI",
                       "document_number": number, "given_names": given, "surnames": f"{first} {second}"},
            "registry": ["DNI", number, given, first, second, "1988-02-10", "2019-05-06", "2029-05-06", "PER",
                         f"Pedro {first}", f"Ana {second}"],
            "answers": {"parents_names": f"Pedro {first} y Ana {second}", "dni_issue_date": "2019-05-06",
                        "dni_expiry_date": "2029-05-06", "dni_check_character": dni_check_characters(number)[0]}}
    return people


def main() -> int:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from infrastructure.local.run import local_environment

    os.environ.update(local_environment())
    settings = load_settings()
    base = settings.public_base_url
    issuer = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience)
    court = issuer.issue("demo-judge", ["court"], courts=["1801-JR-PE-01"])
    cvp_head = issuer.issue("demo-cvp-head", ["cvp_head"], districts=["LIMA"])
    officer = issuer.issue("demo-officer", ["officer"], districts=["LIMA"])
    admin = issuer.issue("demo-admin", ["admin"])
    today = datetime.now(PERU).date()
    group = "A" if today.day <= 15 else "B"
    people = fictitious_people()
    header = ("document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date,"
              "expiry_date,nationality,father_name,mother_name")
    rows = "\n".join(",".join(p["registry"]) for p in people.values())
    upload_csv(base, "/v1/admin/registries/identity/import", f"{header}\n{rows}\n", admin)
    warrant = people["warrant"]["person"]
    upload_csv(base, "/v1/admin/registries/warrants/import",
               "warrant_id,given_names,surnames,document_number,issued_by,issued_on\n"
               f"REQ-DEMO-{secrets.token_hex(3).upper()},{warrant['given_names']},{warrant['surnames']},"
               f"{warrant['document_number']},2° Juzgado Penal de Lima,{today.year}-01-15\n", admin)
    step("four fictitious people added to the local identity registry (and one to the warrants registry)")
    admin_client = Client(base, settings.channel_keys["telegram"], "telegram:demo-admin")
    status, _ = admin_client.call("PUT", "/v1/cvp/districts/LIMA/officers/demo-officer",
                                  {"active": True, "name": "Encargada de atención (demo)"}, token=cvp_head)
    assert status == 200
    step("CVP head: demo-officer is on duty in LIMA")
    measures: dict[str, str] = {}
    for case, data in people.items():
        never = case == "never"
        start = today - timedelta(days=40) if never else today.replace(month=1, day=1)
        deadline = today - timedelta(days=1) if never else today.replace(month=12, day=31)
        status, measure = admin_client.call("POST", "/v1/court/measures", {
            "person": data["person"], "case_file": f"{secrets.randbelow(10**5):05d}-{today.year}-0-1801-JR-PE-01",
            "court": "1° Juzgado Penal de Lima", "district": "LIMA", "legal_status": "processed",
            "periodicity": "monthly", "start_date": start.isoformat(),
            "first_registration_deadline": deadline.isoformat(), "end_date": f"{today.year + 1}-12-31",
            "area": "LIMA", "group": group}, token=court)
        assert status == 201, measure
        measures[case] = measure["measure_id"]
        step(f"[{case}] court registered measure {measure['case_file']} (area: {measure['area']}, group {group})")
    clients: dict[str, Client] = {}
    for case in ("inside", "outside", "warrant"):
        client = Client(base, settings.channel_keys["telegram"], f"telegram:ctl{secrets.randbelow(10**9)}")
        status, enrolled = client.call("POST", "/v1/control/enrolments", {
            **people[case]["person"], "mobile": "+51987654321", "address": "Av. Abancay 123, Lima", "language": "es"})
        assert status == 201, enrolled
        clients[case] = client
        window = enrolled["first_window"]
        step(f"[{case}] {enrolled['name']} enrolled; first window {window['start']} → {window['end']}")
    impostor = Client(base, settings.channel_keys["telegram"], f"telegram:ctl{secrets.randbelow(10**9)}")
    status, refused = impostor.call("POST", "/v1/control/enrolments", {
        **people["inside"]["person"], "mobile": "+51900000000", "address": "Jr. Lampa 1, Lima", "language": "es"})
    impostor_code = refused["error"]["code"]
    step(f"[impostor] another chat claiming the same person: {status} {impostor_code}")
    outcomes: dict[str, Any] = {}
    attendance: dict[str, Any] = {}
    for case, client in clients.items():
        status, checkin = client.call("POST", "/v1/control/check-ins", {})
        assert status == 201, checkin
        cid = checkin["checkin_id"]
        lat, lon = PLACES[case]
        client.call("POST", f"/v1/control/check-ins/{cid}/location", {
            "latitude": lat, "longitude": lon, "accuracy_m": 15, "live_period": 900, "sent_at": time.time()})
        selfie = client.upload(f"/v1/control/check-ins/{cid}/selfie", SELFIE, "image/jpeg")
        step(f"[{case}] live location and selfie sent; face match not conclusive → questions {selfie['questions']}")
        _, result = client.call("POST", f"/v1/control/check-ins/{cid}/answers",
                                {"answers": people[case]["answers"]})
        outcomes[case] = result["outcome"]
        step(f"[{case}] outcome: {result['outcome']} (message {result['message']})")
        if case == "inside":
            attendance = {"client": client, "checkin_id": cid}
    status, retry = clients["outside"].call("POST", "/v1/control/check-ins", {})
    retry_code = retry["error"]["code"] if status >= 400 else "accepted"
    step(f"[outside] /registrar again in the same window: {status} {retry_code} (only an officer reopens it)")
    client = attendance["client"]
    deadline_at = time.monotonic() + 90  # signed at the long-term level: a time stamp and revocation data
    checkin_route = f"/v1/control/check-ins/{attendance['checkin_id']}"
    while True:
        status, pdf = client.fetch(f"{checkin_route}/document")  # 400 not_issued until the worker has signed it
        if status == 200 or time.monotonic() > deadline_at:
            break
        time.sleep(0.3)
    assert status == 200, f"the attendance certificate was not ready in 90 s: {status} {pdf[:200]!r}"
    document_id = client.call("GET", checkin_route)[1]["document_id"]
    out = settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    document_path = out / f"constancia-{attendance['checkin_id'][:8]}.pdf"
    document_path.write_bytes(pdf)
    step(f"attendance certificate saved to {document_path}")
    # The nightly job (the same function the 00:10 schedule runs) finds the person who never enrolled.
    from chalicelib.bootstrap import build
    from chalicelib.handlers import control

    found = control.not_enrolled(build())
    step(f"nightly job: {found} measure(s) past their first-registration deadline with no enrolment")
    incidents = {}
    for case, measure_id in measures.items():
        _, compliance = admin_client.call("GET", f"/v1/court/measures/{measure_id}/compliance", token=court)
        incidents[case] = sorted(i["type"] for i in compliance["incidents"])
    step(f"incidents for the officers: {incidents}")
    deadline_at = time.monotonic() + 20
    to_phone: list[str] = []
    while time.monotonic() < deadline_at and measures["never"] not in to_phone:
        _, mine = admin_client.call("GET", "/v1/officer/enrolments", token=officer)
        to_phone = [i["measure_id"] for i in mine["items"] if i["enrolment"] == "not_enrolled"]
        time.sleep(0.3)
    step(f"demo-officer's list: {len(to_phone)} person(s) to phone who never enrolled")
    day = today.isoformat()
    status, report = admin_client.call("POST", f"/v1/cvp/reports/LIMA/{day}", {}, token=cvp_head)
    assert status == 201, report
    report_paths = {}
    for kind in ("pdf", "csv"):
        path = out / f"reporte-incidencias-lima-{day}-r{report['revision']}.{kind}"
        path.write_bytes(download(base, report[kind], cvp_head))
        report_paths[kind] = path
    table = report_paths["csv"].read_text(encoding="utf-8-sig")
    in_report = all(people[case]["person"]["given_names"] in table for case in ("outside", "warrant", "never"))
    step(f"day closed: daily incident report of LIMA ({report['incident_count']} incident(s), revision "
         f"{report['revision']}) saved to {report_paths['pdf']} and {report_paths['csv']}")
    print(json.dumps({"checkins": outcomes, "refused_retry": retry_code, "impostor": impostor_code,
                      "incidents": incidents, "not_enrolled_to_phone": measures["never"] in to_phone,
                      "document_path": str(document_path), "verification_url": f"{base}/v/{document_id}",
                      "daily_report_pdf": str(report_paths["pdf"]), "daily_report_csv": str(report_paths["csv"]),
                      "daily_report_verification_url": report["verification_url"]}))
    ok = (outcomes == {"inside": "registered", "outside": "out_of_area", "warrant": "registered"}
          and retry_code == "window_closed" and impostor_code == "measure_linked_elsewhere"
          and incidents["warrant"] == ["warrant"] and incidents["never"] == ["not_enrolled"]
          and "impersonation" in incidents["inside"] and measures["never"] in to_phone and in_report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make demo-control`: virtual penal control against the running local stack, through the HTTP API:
a court registers measures, a person enrols, three check-ins run (inside, outside, with a warrant), and the
CVP head closes the day: the daily incident report (annex 4) as a signed PDF and a CSV.
The last line is one JSON object."""

from __future__ import annotations

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
from infrastructure.local.demo import Client, step  # noqa: E402

PEOPLE = {
    "inside": ({"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "70112233",
                "given_names": "Rosa Elvira", "surnames": "de la Cruz Huamán"},
               {"parents_names": "Víctor de la Cruz y Julia Huamán", "dni_issue_date": "2016-08-01",
                "dni_expiry_date": "2024-08-01"}, (-12.0464, -77.0428)),
    "outside": ({"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "46677889",
                 "given_names": "Juana Rosa", "surnames": "Quispe Huamán"},
                {"parents_names": "Pedro Quispe y Ana Huamán", "dni_issue_date": "2020-02-02",
                 "dni_expiry_date": "2030-02-02"}, (-13.5319, -71.9675)),
    "warrant": ({"has_document": True, "nationality": "PER", "document_type": "DNI", "document_number": "44556677",
                 "given_names": "Jorge Luis", "surnames": "Salazar Paredes"},
                {"parents_names": "Luis Salazar y Marta Paredes", "dni_issue_date": "2018-04-04",
                 "dni_expiry_date": "2028-04-04"}, (-12.1211, -77.0297)),
}
SELFIE = b"\xff\xd8\xff\xe0" + b"demo-selfie" * 20


def download(base: str, path: str, token: str) -> bytes:
    """A report file, as an operator downloads it (binary, so the PDF is not base64-encoded)."""
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}",
                                                           "Accept": "application/pdf, text/csv"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


def main() -> int:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from infrastructure.local.run import local_environment

    os.environ.update(local_environment())
    settings = load_settings()
    base = settings.public_base_url
    issuer = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience)
    court = issuer.issue("demo-judge", ["court"])
    cvp_head = issuer.issue("demo-cvp-head", ["cvp_head"])
    group = "A" if datetime.now(PERU).day <= 15 else "B"
    outcomes: dict[str, Any] = {}
    measures: dict[str, str] = {}
    attendance: dict[str, Any] = {}
    for case, (person, answers, (lat, lon)) in PEOPLE.items():
        client = Client(base, settings.channel_keys["telegram"], f"telegram:ctl{secrets.randbelow(10**9)}")
        status, measure = client.call("POST", "/v1/court/measures", {
            "person": person, "case_file": "00123-2020-0-1801-JR-PE-01", "court": "1° Juzgado Penal de Lima",
            "district": "LIMA", "legal_status": "processed", "periodicity": "monthly",
            "start_date": f"{datetime.now(PERU).year}-01-01",
            "first_registration_deadline": f"{datetime.now(PERU).year}-12-31",
            "end_date": f"{datetime.now(PERU).year + 1}-12-31", "area": "LIMA", "group": group}, token=court)
        assert status == 201, measure
        measures[case] = measure["measure_id"]
        step(f"[{case}] court registered measure {measure['case_file']} (area: {measure['area']}, group {group})")
        status, enrolled = client.call("POST", "/v1/control/enrolments", {
            **person, "mobile": "+51987654321", "address": "Av. Abancay 123, Lima", "language": "es"})
        assert status == 201, enrolled
        window = enrolled["first_window"]
        step(f"[{case}] enrolled; first check-in window {window['start']} → {window['end']}")
        status, checkin = client.call("POST", "/v1/control/check-ins", {})
        assert status == 201, checkin
        cid = checkin["checkin_id"]
        client.call("POST", f"/v1/control/check-ins/{cid}/location", {
            "latitude": lat, "longitude": lon, "accuracy_m": 15, "live_period": 900, "sent_at": time.time()})
        selfie = client.upload(f"/v1/control/check-ins/{cid}/selfie", SELFIE, "image/jpeg")
        step(f"[{case}] live location and selfie sent; face match not conclusive → questions {selfie['questions']}")
        _, result = client.call("POST", f"/v1/control/check-ins/{cid}/answers", {"answers": {
            **answers, "dni_check_character": dni_check_characters(person["document_number"])[0]}})
        outcomes[case] = result["outcome"]
        step(f"[{case}] outcome: {result['outcome']} (message {result['message']})")
        if result["outcome"] == "registered" and case == "inside":
            attendance = {"client": client, "checkin_id": cid}
    client = attendance["client"]
    deadline = time.monotonic() + 30
    document_id = None
    while time.monotonic() < deadline:
        _, view = client.call("GET", f"/v1/control/check-ins/{attendance['checkin_id']}")
        document_id = view.get("document_id")
        status, _ = client.call("GET", f"/v1/control/check-ins/{attendance['checkin_id']}/document") \
            if document_id else (0, None)
        if status == 200:
            break
        time.sleep(0.3)
    pdf = client.download(f"/v1/control/check-ins/{attendance['checkin_id']}/document")
    out = settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    document_path = out / f"constancia-{attendance['checkin_id'][:8]}.pdf"
    document_path.write_bytes(pdf)
    step(f"attendance certificate saved to {document_path}")
    incidents = {}
    for case, measure_id in measures.items():
        _, compliance = client.call("GET", f"/v1/court/measures/{measure_id}/compliance", token=court)
        incidents[case] = [i["type"] for i in compliance["incidents"]]
    step(f"incidents for the officers: {incidents}")
    # The CVP head closes the day: the same function the daily schedule runs (a new revision if the day
    # already had a report and new incidents came since).
    day = datetime.now(PERU).date().isoformat()
    status, report = client.call("POST", f"/v1/cvp/reports/LIMA/{day}", {}, token=cvp_head)
    assert status == 201, report
    report_paths = {}
    for kind in ("pdf", "csv"):
        path = out / f"reporte-incidencias-lima-{day}-r{report['revision']}.{kind}"
        path.write_bytes(download(base, report[kind], cvp_head))
        report_paths[kind] = path
    table = report_paths["csv"].read_text(encoding="utf-8-sig")
    in_report = all(PEOPLE[case][0]["given_names"] in table for case in ("outside", "warrant"))
    step(f"day closed: daily incident report of LIMA ({report['incident_count']} incident(s), revision "
         f"{report['revision']}) saved to {report_paths['pdf']} and {report_paths['csv']}")
    print(json.dumps({"checkins": outcomes, "incidents": incidents, "document_path": str(document_path),
                      "verification_url": f"{base}/v/{document_id}",
                      "daily_report_pdf": str(report_paths["pdf"]), "daily_report_csv": str(report_paths["csv"]),
                      "daily_report_verification_url": report["verification_url"]}))
    ok = outcomes == {"inside": "registered", "outside": "out_of_area", "warrant": "registered"}
    return 0 if ok and incidents["warrant"] == ["warrant"] and in_report else 1


if __name__ == "__main__":
    sys.exit(main())

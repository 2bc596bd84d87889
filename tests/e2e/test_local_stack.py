"""End to end: start the local stack exactly as `make run` does, drive the demo, and stop it with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from infrastructure.local.dynamodb_local import port_open
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
DEMO: dict = {}
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    ports = {"PORT": free_port(), "DYNAMODB_PORT": free_port(), "PAYMENT_SIMULATOR_PORT": free_port(),
             "PKI_SERVICES_PORT": free_port(), "SMTP_PORT": free_port(), "MAIL_WEB_PORT": free_port()}
    data_dir = tmp_path_factory.mktemp("local-data")
    env = {**{k: v for k, v in os.environ.items() if k != "TIMESTAMP_URL"}, **{k: str(v) for k, v in ports.items()},
           "DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    # The stack's output goes to a file: a pipe nobody reads fills up and blocks the API on its next log line.
    output = (data_dir / "run.log").open("w")
    process = subprocess.Popen([sys.executable, "infrastructure/local/run.py"], cwd=ROOT, env=env,
                               stdout=output, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while not port_open(ports["PAYMENT_SIMULATOR_PORT"]) or not port_open(ports["PORT"]):
        assert process.poll() is None, (data_dir / "run.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the local stack did not start in 90 s"
        time.sleep(0.3)
    yield process, ports, env
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    output.close()


def test_health_reports_every_component(stack):
    _, ports, _ = stack
    with urllib.request.urlopen(f"http://127.0.0.1:{ports['PORT']}/health") as answer:
        body = json.loads(answer.read())
    assert body["components"] == {"database": "ok", "documents": "ok", "identity_registry": "ok",
                                  "warrants_registry": "ok"}
    assert body["status"] == "ok"


def test_demo_drives_the_whole_path_and_ends_with_one_json_line(stack):
    _, ports, env = stack
    result = subprocess.run([sys.executable, "infrastructure/local/demo.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    DEMO.update(last)
    assert last["status"] in ("approved", "issued")
    assert last["number"].startswith(time.strftime("%Y-"))
    assert len(last["request_id"]) >= 22
    assert last["homonym_request"]["status"] in ("approved", "issued")
    assert "reviewer sees candidate SIP-0002" in result.stdout


@pytest.mark.parametrize("run", [1, 2])  # a second run works too: new people each time
def test_demo_control_enrols_refuses_an_impostor_and_a_retry_and_finds_who_never_enrolled(stack, run):
    _, _, env = stack
    result = subprocess.run([sys.executable, "infrastructure/local/demo_control.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["checkins"] == {"inside": "registered", "outside": "out_of_area", "warrant": "registered"}
    assert last["refused_retry"] == "window_closed" and last["impostor"] == "measure_linked_elsewhere"
    assert last["incidents"]["warrant"] == ["warrant"] and last["incidents"]["outside"] == ["out_of_area"]
    assert last["incidents"]["never"] == ["not_enrolled"] and last["not_enrolled_to_phone"] is True
    assert Path(last["document_path"]).read_bytes().startswith(b"%PDF-")
    with urllib.request.urlopen(urllib.request.Request(last["verification_url"],
                                                       headers={"Accept": "application/json"})) as answer:
        assert json.loads(answer.read())["status"] == "valid"


def test_payment_simulator_page_shows_the_order(stack):
    _, ports, env = stack
    from tests.factories import ANA, proof, request_body

    base = f"http://127.0.0.1:{ports['PORT']}"
    headers = {"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": "telegram:e2e",
               "Content-Type": "application/json"}

    def call(path: str, body: object) -> dict:
        request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers)
        with urllib.request.urlopen(request) as answer:
            return dict(json.loads(answer.read()))

    created = call("/v1/certificate-requests", request_body())
    ordered = call(f"/v1/certificate-requests/{created['request_id']}/identity",
                   proof(ANA))
    with urllib.request.urlopen(ordered["payment"]["pay_url"]) as page:
        html = page.read().decode()
    assert ordered["payment"]["order_code"] in html and "37.70" in html


def test_demo_certificate_is_a_signed_pdf_whose_qr_opens_the_verification_page(stack, tmp_path):
    import zxingcpp
    from PIL import Image

    assert DEMO, "the demo test runs first"
    pdf = Path(DEMO["document_path"])
    assert pdf.read_bytes().startswith(b"%PDF-")
    out = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in out
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "p")], check=True)
    (text,) = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "p.png"))]
    assert text.split("#")[0] == DEMO["verification_url"]


def test_verification_page_in_a_browser_for_valid_revoked_and_unknown(stack):
    from playwright.sync_api import sync_playwright

    from chalicelib.adapters.auth import LocalTokenVerifier
    from chalicelib.settings import load_settings

    _, ports, env = stack
    url = DEMO["verification_url"]
    base = url.split("/v/")[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        assert page.locator("#verdict").get_attribute("data-status") == "valid"
        assert "Documento auténtico y vigente" in page.locator("#verdict").inner_text()
        assert "****8912" in page.content() and "45678912" not in page.content()

        settings = load_settings()
        token = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience).issue(
            "e2e-reviewer", ["reviewer"])
        request = urllib.request.Request(f"{base}/v1/admin/documents/{url.rsplit('/', 1)[1]}/revoke",
                                         data=json.dumps({"reason": "issued_in_error"}).encode(),
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 200
        page.reload()
        assert page.locator("#verdict").get_attribute("data-status") == "revoked"
        assert "Documento revocado" in page.locator("#verdict").inner_text()
        assert "emitido por error" in page.content()

        page.goto(f"{base}/v/{'Z' * 22}")
        assert page.locator("#verdict").get_attribute("data-status") == "unknown"
        assert "Documento no reconocido" in page.locator("#verdict").inner_text()
        browser.close()


def _api(ports: dict, path: str, body: object = None, *, user: str = "telegram:e2e-mail",
         headers: dict | None = None, method: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{ports['PORT']}{path}", data=None if body is None else json.dumps(body).encode(),
        method=method, headers=headers or {"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": user,
                                           "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _operator(env: dict, role: str) -> dict:
    from chalicelib.adapters.auth import LocalTokenVerifier
    from chalicelib.settings import load_settings

    settings = load_settings()
    token = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience).issue(
        f"e2e-{role}", [role])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _until(check, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _ordered(ports: dict, person: dict, user: str, email: str | None = None) -> dict:
    from tests.factories import proof, request_body

    applicant = {**person, **({"email": email} if email else {})}
    status, created = _api(ports, "/v1/certificate-requests", request_body(applicant), user=user)
    assert status == 201, created
    status, ordered = _api(ports, f"/v1/certificate-requests/{created['request_id']}/identity", proof(person),
                           user=user)
    assert status == 200, ordered
    return ordered


def test_a_request_with_an_email_ends_with_its_messages_in_the_local_mail_server(stack):
    from infrastructure.local.payment_simulator import pay_online
    from tests.factories import ANA

    _, ports, _ = stack
    ordered = _ordered(ports, ANA, "telegram:e2e-mail", "ana.e2e@example.org")
    payment = ordered["payment"]
    assert pay_online(payment["order_code"], payment["amount"],
                      api_base=f"http://127.0.0.1:{ports['PORT']}")[0] == 200
    inbox = f"http://127.0.0.1:{ports['MAIL_WEB_PORT']}"

    def four() -> list:
        with urllib.request.urlopen(f"{inbox}/api/messages?to=ana.e2e@example.org") as answer:
            found = json.loads(answer.read())["messages"]
        return found if len(found) >= 4 else []

    messages = _until(four)
    assert len(messages) == 4, messages
    assert {m["subject"].split(":")[0].split(" registrada")[0] for m in messages} == {f"Solicitud {ordered['number']}",
                                                                                   "Su Certificado de Antecedentes "
                                                                                   "Judiciales (solicitud "
                                                                                   f"{ordered['number']})"}
    certificate = next(m for m in messages if m["attachments"])
    assert certificate["attachments"][0]["filename"] == f"certificado-{ordered['number']}.pdf"
    with urllib.request.urlopen(inbox) as page:
        assert f"Solicitud {ordered['number']}: comprobante de pago" in page.read().decode()
    # The tracking link in every message opens the request's public page.
    link = next(line for line in certificate["body"].splitlines() if "/track/" in line).split(": ", 1)[1]
    with urllib.request.urlopen(link) as page:
        assert ordered["number"] in page.read().decode()


def test_a_refund_goes_from_payment_to_refunded_through_the_simulator(stack):
    from infrastructure.local.payment_simulator import pay_online
    from tests.factories import ANA

    _, ports, env = stack
    user = "telegram:e2e-refund"
    ordered = _ordered(ports, ANA, user)
    code, base = ordered["payment"]["order_code"], f"http://127.0.0.1:{ports['PORT']}"
    assert pay_online(code, "37.70", api_base=base)[0] == 200
    status, twice = pay_online(code, "37.70", api_base=base)
    assert status == 409 and twice["error"]["details"]["recorded_for_refund"] is True
    payment_id = twice["error"]["details"]["payment_id"]
    status, listed = _api(ports, "/v1/admin/refunds", headers=_operator(env, "admin"))
    assert status == 200 and payment_id in [r["payment_id"] for r in listed["items"]]
    status, sent = _api(ports, f"/v1/admin/refunds/local/{payment_id}", {}, headers=_operator(env, "admin"))
    assert status == 200 and sent["state"] == "requested", sent

    def refunded() -> dict:
        _, view = _api(ports, f"/v1/certificate-requests/{ordered['request_id']}", user=user)
        return view if view["refunds"] and view["refunds"][0]["state"] == "refunded" else {}

    view = _until(refunded)
    assert view and view["refunds"][0]["operation"] == payment_id and view["receipt"]["amount"] == "37.70"


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _axe(page, tags: tuple[str, ...] = ("wcag2a", "wcag2aa", "best-practice")) -> list:  # type: ignore[no-untyped-def]
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: tags})", list(tags))
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


@pytest.mark.browser
def test_the_registra_page_and_the_upload_form_in_a_browser_are_accessible(stack, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from infrastructure.local.payment_simulator import pay_online
    from tests.factories import CARLOS

    _, ports, env = stack
    user = "telegram:e2e-registra"
    ordered = _ordered(ports, CARLOS, user)
    base = f"http://127.0.0.1:{ports['PORT']}"
    pay_online(ordered["payment"]["order_code"], "37.70", api_base=base)
    rid = ordered["request_id"]
    assert _until(lambda: _api(ports, f"/v1/certificate-requests/{rid}", user=user)[1]["status"] == "in_review")
    status, _ = _api(ports, f"/v1/admin/review-queue/{rid}/candidates/SIP-0001", {"decision": "confirmed"},
                     headers=_operator(env, "reviewer"))
    assert status == 200
    assert _until(lambda: _api(ports, f"/v1/certificate-requests/{rid}", user=user)[1]["status"] == "issued")
    view = _api(ports, f"/v1/certificate-requests/{rid}", user=user)[1]
    request = urllib.request.Request(f"{base}/v1/certificate-requests/{rid}/document",
                                     headers={"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": user,
                                              "Accept": "application/pdf"})
    with urllib.request.urlopen(request) as answer:
        (tmp_path / "registra.pdf").write_bytes(answer.read())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        # The page's CSP lets no script in: only the test's own axe-core is let past it.
        context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{base}/v/{view['document_id']}")
        heading = page.locator("h1#verdict")
        expect(heading).to_have_attribute("data-status", "valid")
        expect(heading).to_contain_text("Documento auténtico y vigente")
        expect(page.locator("table")).to_contain_text("REGISTRA ANTECEDENTES JUDICIALES — 1 caso")
        assert "Hurto" not in page.content() and "00456-2015" not in page.content()
        assert _axe(page) == []
        page.screenshot(path=str(tmp_path / "registra-page.png"), full_page=True)

        page.set_input_files("#file", str(tmp_path / "registra.pdf"))
        page.get_by_role("button", name="Verificar / Check").click()
        expect(page.locator("h1#verdict")).to_have_attribute("data-status", "authentic")
        expect(page.locator(".verdict-status")).to_have_attribute("data-status", "valid")
        assert page.url.endswith("/v/check")
        assert _axe(page) == []
        page.screenshot(path=str(tmp_path / "upload-result.png"), full_page=True)

        page.goto(f"{base}/v/check")
        expect(page.locator("h1")).to_contain_text("Verificar un documento del INPE")
        assert _axe(page) == []
        browser.close()


@pytest.mark.browser
def test_the_indicators_of_the_demo_read_back_from_the_api_the_csv_and_the_public_page(stack, tmp_path):
    """After the demos (certificates issued, check-ins registered and refused, people who never enrolled), the
    figures are read as an auditor would (JSON, CSV) and as the public would (the page, on a phone, in Chromium),
    and the rebuild command finds the live counters right."""
    import csv
    import io

    from playwright.sync_api import expect, sync_playwright

    _, ports, env = stack
    base = f"http://127.0.0.1:{ports['PORT']}"

    def national() -> dict:
        status, body = _api(ports, "/v1/indicators", headers=_operator(env, "auditor"))
        assert status == 200, body
        found = {f["code"]: f for f in body["figures"]}
        # Counters follow the events a little later, and each kind by its own event: wait for all of both
        # control demos' (two registered check-ins and one out of the area each), not just the first to arrive.
        return found if found["certificates.issued.peruvian"]["value"] >= 1 and \
            found["checkins.registered"]["value"] >= 4 and found["incidents.out_of_area"]["value"] >= 2 and \
            found["checkins.out_of_area"]["value"] >= 2 else {}

    figures = _until(national)
    assert figures, "the demos' certificates, check-ins and out-of-area incidents are counted"
    assert figures["IOP.04.03"]["target"]["baseline"] == 41.0
    period = time.strftime("%Y-%m", time.gmtime(time.time() - 5 * 3600))
    request = urllib.request.Request(f"{base}/v1/indicators?format=csv", headers=_operator(env, "auditor"))
    with urllib.request.urlopen(request) as answer:
        rows = {r["indicator"]: r for r in csv.DictReader(io.StringIO(answer.read().decode("utf-8-sig")))}
    assert rows["certificates.issued.peruvian"]["value"] == str(figures["certificates.issued.peruvian"]["value"])
    assert rows["IOP.04.03"]["period"] == period
    with urllib.request.urlopen(f"{base}/transparencia/datos.csv") as answer:
        public = {r["indicator"]: r for r in csv.DictReader(io.StringIO(answer.read().decode("utf-8-sig")))}
    count = figures["checkins.registered"]["value"]
    assert public["checkins.registered"]["value"] == ("<5" if count < 5 else str(count))
    rebuilt = subprocess.run([sys.executable, "-m", "chalicelib.handlers.indicators_rebuild", "--from", period,
                              "--to", period], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**env, "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{ports['DYNAMODB_PORT']}"})
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    result = json.loads(rebuilt.stdout.strip().splitlines()[-1])
    assert result["differences"] == [] and result["unrecorded_events"] == 0 and result["scopes_checked"] >= 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{base}/transparencia")
        expect(page.locator("h1")).to_contain_text("Portal de transparencia")
        assert page.locator("svg[role=img]").count() == 3 and page.locator("table").count() == 4
        assert _axe(page, ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
        page.screenshot(path=str(tmp_path / "transparencia.png"), full_page=True)
        page.get_by_role("link", name="English").click()
        expect(page.locator("h1")).to_contain_text("Transparency portal")
        page.select_option("#district", "LIMA")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("table").first).to_contain_text("Lima")
        assert page.locator("svg[role=img]").count() == 2  # certificates are national: no chart of them here
        assert _axe(page, ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")) == []
        browser.close()

def test_demo_console_leaves_data_on_every_page_for_the_seeded_operators(stack):
    """`make demo-console` after the other demos: each seeded operator signs in and finds their page filled."""
    import http.cookiejar
    import re
    import urllib.parse

    _, ports, env = stack
    result = subprocess.run([sys.executable, "infrastructure/local/demo_console.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    base = f"http://127.0.0.1:{ports['PORT']}"
    expected = {"revisora": ("/console/review", "Posible homonimia"),
                "oficial": ("/console/officer", "Por confirmar"),
                "jefe.cvp": ("/console/cvp", "Marco Antonio Vílchez Rojas"),
                "juzgado": ("/console/court/measures", "medidas del juzgado 1801-JR-PE-01"),
                "admin": ("/console/admin/operators", "jefe.cvp"),
                "auditora": ("/console/audit", "console.sign_in")}
    for username, (landing, shown) in expected.items():
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(f"{base}/console/login").read().decode()
        token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": "Consola-Local-2026", "login_token": token})
        answer = opener.open(f"{base}/console/login", form.encode())
        text = answer.read().decode()
        assert answer.geturl() == base + landing and shown in text, (username, answer.geturl())


def test_ctrl_c_stops_everything_it_started(stack):
    process, ports, _ = stack
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    time.sleep(1)
    assert not any(port_open(p) for p in ports.values())


def test_the_pki_services_refuse_to_start_on_a_taken_port_and_answer_on_a_free_one(tmp_path, monkeypatch):
    """`make run` would otherwise sign against whatever already answers on that port (a stack left running)."""
    import socket

    from infrastructure.local.run import pki_services_ready, start_pki_services

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_pki_services(port)
        with pytest.raises(RuntimeError, match=f"is port {port} taken"):
            pki_services_ready(process, port)
        assert process.poll() is not None
    port = free_port()
    process = start_pki_services(port)
    try:
        pki_services_ready(process, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/certs/ca.cer", timeout=10) as answer:
            assert answer.status == 200 and answer.read()[:1] == b"\x30"  # a DER certificate
    finally:
        process.terminate()
        process.wait(timeout=10)

"""End to end: start the local stack exactly as `make run` does, drive the demo, and stop it with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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
             "SMTP_PORT": free_port(), "MAIL_WEB_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DATA_DIR": str(tmp_path_factory.mktemp("local-data")), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "infrastructure/local/run.py"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while not port_open(ports["PAYMENT_SIMULATOR_PORT"]) or not port_open(ports["PORT"]):
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "the local stack did not start in 90 s"
        time.sleep(0.3)
    yield process, ports, env
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_health_reports_every_component(stack):
    _, ports, _ = stack
    with urllib.request.urlopen(f"http://127.0.0.1:{ports['PORT']}/health") as answer:
        body = json.loads(answer.read())
    assert body["components"] == {"database": "ok", "documents": "ok"}


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


def test_demo_control_enrols_and_checks_in_three_times(stack):
    _, _, env = stack
    result = subprocess.run([sys.executable, "infrastructure/local/demo_control.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["checkins"] == {"inside": "registered", "outside": "out_of_area", "warrant": "registered"}
    assert last["incidents"]["warrant"] == ["warrant"] and last["incidents"]["outside"] == ["out_of_area"]
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


def test_ctrl_c_stops_everything_it_started(stack):
    process, ports, _ = stack
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    time.sleep(1)
    assert not any(port_open(p) for p in ports.values())

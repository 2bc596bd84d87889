"""Polling mode as `make run` uses it, and a person completing a request in the browser chat page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.polling import BotRunner
from bot.texts import text
from infrastructure.local.dynamodb_local import port_open
from infrastructure.local.run import wait_http
from tests.bot.harness import ChatUser
from tests.conftest import free_port
from tests.factories import ANA, issue_date_typed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def polling_bot(bot_settings):
    runner = BotRunner(bot_settings).start()
    yield runner
    runner.stop()


def test_the_polling_bot_guides_a_person_to_the_payment_order(botapi, polling_bot, new_user_id):
    person = ChatUser(botapi, new_user_id())
    try:
        person.send("/start")
        person.wait_for_text(text("terms", "es"))
        for label, expected in ((text("button.accept", "es"), "nacionalidad"),
                                (text("button.peruvian", "es"), text("ask.document_number", "es", document="DNI"))):
            person.press(label)
            person.wait_for_text(expected)
        for typed, expected in ((ANA["document_number"], text("ask.given_names", "es")),
                                (ANA["given_names"], text("ask.first_surname", "es")),
                                (ANA["first_surname"], text("ask.second_surname", "es")),
                                (ANA["second_surname"], text("ask.birth_date", "es")),
                                ("12/04/1990", "Revise sus datos")):
            person.send(typed)
            person.wait_for_text(expected)
        person.press(text("button.confirm", "es"))
        person.wait_for_text(text("ask.issue_date.DNI", "es"))
        person.send(issue_date_typed(ANA))
        order = person.wait_for_text("Orden de pago")
        assert "S/ 37.70" in order["text"]
    finally:
        person.close()


def test_the_polling_bot_publishes_its_command_menu_in_both_languages(botapi, polling_bot):
    import httpx

    spanish = httpx.get(f"{botapi.base_url}/chat/api/commands", params={"lang": "es"}).json()["commands"]
    english = httpx.get(f"{botapi.base_url}/chat/api/commands", params={"lang": "en"}).json()["commands"]
    assert [c["command"] for c in spanish] == ["start", "estado", "control", "registrar", "ayuda", "cancelar"]
    assert [c["command"] for c in english] == ["start", "status", "control", "checkin", "help", "cancel"]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    """`make run` itself (infrastructure/local/run.py) with no bot token: the local chat is part of it."""
    ports = {"PORT": free_port(), "DYNAMODB_PORT": free_port(), "PAYMENT_SIMULATOR_PORT": free_port(),
             "SMTP_PORT": free_port(), "MAIL_WEB_PORT": free_port(),
             "LOCAL_BOTAPI_PORT": free_port(), "PKI_SERVICES_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_") and k not in
           ("TABLE_PREFIX", "DYNAMODB_ENDPOINT", "PUBLIC_BASE_URL", "PAYMENT_PAY_URL_TEMPLATE", "API_BASE_URL",
            "TIMESTAMP_URL")}
    env.update({k: str(v) for k, v in ports.items()})
    env.update({"DATA_DIR": str(tmp_path_factory.mktemp("make-run")), "PYTHONPATH": str(ROOT)})
    log = tmp_path_factory.mktemp("make-run-log") / "run.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "infrastructure/local/run.py"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while "The local system is up" not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "make run did not start in 90 s"
        time.sleep(0.3)
    chat = f"http://127.0.0.1:{ports['LOCAL_BOTAPI_PORT']}/chat"
    assert wait_http(chat, 10), log.read_text()[-3000:]
    yield ports, log
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert not port_open(ports["LOCAL_BOTAPI_PORT"])


@pytest.mark.browser
@pytest.mark.e2e
def test_a_person_completes_a_request_and_pays_in_the_browser_chat(local_stack, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ports, log = local_stack
    chat_url = f"http://127.0.0.1:{ports['LOCAL_BOTAPI_PORT']}/chat"
    assert chat_url in log.read_text(), log.read_text()[-3000:]  # the banner says where the chat is
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 480, "height": 900})
            page.goto(f"{chat_url}?user=5550101&name=Ana&lang=es")
            expect(page.locator("#bot-name")).to_have_text("INPE Antecedentes (local)")

            def say(typed: str, then: str) -> None:
                page.fill("#text", typed)
                page.press("#text", "Enter")
                expect(page.locator(".msg.in").last).to_contain_text(then)

            def press(label: str, then: str) -> None:
                page.locator(".msg.in .inline-keyboard").last.get_by_role("button", name=label, exact=True).click()
                expect(page.locator(".msg.in").last).to_contain_text(then)

            say("/start", "¿Acepta?")
            press("Acepto", "nacionalidad")
            press("Peruana (DNI)", "número de su DNI")
            say(ANA["document_number"], "nombres")
            say(ANA["given_names"], "primer apellido")
            say(ANA["first_surname"], "segundo apellido")
            say(ANA["second_surname"], "fecha de nacimiento")
            say("12/04/1990", "Revise sus datos")
            press(text("button.confirm", "es"), "fecha de emisión")
            say(issue_date_typed(ANA), "Orden de pago")
            order = page.locator(".msg.in").last
            expect(order).to_contain_text("S/ 37.70")
            code = re.search(r"Código: ([A-Z0-9]+)", order.inner_text()).group(1)
            page.screenshot(path=str(tmp_path / "payment-order.png"), full_page=True)

            # Pay through the pay link, as a person would: the simulator sends the signed webhook.
            with page.context.expect_page() as opened:
                order.locator("a", has_text="Pagar en línea").click()
            pay_page = opened.value
            pay_page.wait_for_load_state()
            expect(pay_page.locator("body")).to_contain_text(code)
            pay_page.click("button[value=online]")
            expect(pay_page.locator("body")).to_contain_text("HTTP 200")
            # The API's own notifications reach the local chat: payment confirmed, then the certificate PDF.
            expect(page.locator(".msg.in", has_text="Pago recibido")).to_have_count(1, timeout=30_000)
            document = page.locator(".msg.in a.file").last
            expect(document).to_contain_text(".pdf", timeout=30_000)
            page.screenshot(path=str(tmp_path / "certificate.png"), full_page=True)
            say("/estado", "Estado:")
            expect(page.locator(".msg.in").last).to_contain_text(text("status.issued", "es"))
        finally:
            browser.close()


@pytest.mark.browser
def test_the_chat_page_renders_keyboards_sends_media_and_a_live_location(botapi, tmp_path):
    """The page's other controls, driven against the server alone (a bot's side played with plain calls)."""
    import io

    import httpx
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    bot = httpx.Client(base_url=f"{botapi.base_url}/bot{botapi.token}", timeout=10)
    picture = tmp_path / "selfie.png"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(f"{botapi.chat_url}?user=5550202&name=Rosa&lang=es")
            page.fill("#text", "hola")
            page.press("#text", "Enter")
            expect(page.locator(".msg.out")).to_have_text(re.compile("hola"))
            keyboard = {"keyboard": [[{"text": "Compartir ubicación", "request_location": True}], ["Sí", "No"]],
                        "one_time_keyboard": True}
            bot.post("/sendMessage", json={"chat_id": 5550202, "text": "<b>Ubicación</b>", "parse_mode": "HTML",
                                           "reply_markup": keyboard})
            expect(page.locator(".msg.in b")).to_have_text("Ubicación")
            expect(page.locator("#reply-keyboard button")).to_have_count(3)
            page.locator("#reply-keyboard button", has_text="Compartir ubicación").click()
            expect(page.locator("#location-panel")).to_be_visible()
            page.select_option("#loc-preset", label="Cusco")
            page.check("#loc-live")
            page.click("#loc-send")
            expect(page.locator("#live-row")).to_be_visible()
            page.fill("#loc-lat", "-13.5")
            page.click("#loc-update")
            page.click("#attach")
            page.set_input_files("#file-photo", str(picture))
            expect(page.locator(".msg.out img")).to_have_count(1)
            bot.post("/sendDocument", data={"chat_id": "5550202"},
                     files={"document": ("constancia.pdf", b"%PDF-1.7 x", "application/pdf")})
            expect(page.locator(".msg.in a.file")).to_contain_text("constancia.pdf")
            page.screenshot(path=str(tmp_path / "controls.png"), full_page=True)
        finally:
            browser.close()
    updates = bot.post("/getUpdates", json={"offset": 0}).json()["result"]
    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["message", "message", "edited_message", "message"]
    shared = updates[1]["message"]["location"]
    assert shared["live_period"] == 3600 and round(shared["latitude"], 3) == -13.532
    assert updates[2]["edited_message"]["location"]["latitude"] == -13.5
    assert updates[3]["message"]["photo"][0]["width"] == 40
    bot.close()

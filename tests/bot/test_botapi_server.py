"""The local Bot API server: the bot side behaves as Telegram's does, the user side as the chat page uses it."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from infrastructure.local.botapi import LocalBotApi
from infrastructure.local.botapi.server import image_size

USER = {"id": 4242, "first_name": "Rosa", "language_code": "es"}


@pytest.fixture
def server():
    running = LocalBotApi(port=0).start()
    yield running
    running.stop()


@pytest.fixture
def bot(server):
    with httpx.Client(base_url=f"{server.base_url}/bot{server.token}", timeout=10) as client:
        yield client


@pytest.fixture
def user(server):
    with httpx.Client(base_url=f"{server.base_url}/chat/api", timeout=10) as client:
        yield client


def _result(answer: httpx.Response):
    body = answer.json()
    assert body["ok"], body
    return body["result"]


def test_get_me_answers_the_bot_and_a_wrong_token_is_unauthorized(server, bot):
    assert _result(bot.get("/getMe"))["is_bot"] is True
    answer = httpx.get(f"{server.base_url}/bot0:wrong/getMe")
    assert answer.status_code == 401 and answer.json()["ok"] is False


def test_a_message_the_person_types_becomes_an_update_with_a_command_entity(bot, user):
    user.post("/message", json={"user": USER, "text": "/start hola"})
    (update,) = _result(bot.post("/getUpdates", data={"offset": "0", "timeout": "0"}))
    message = update["message"]
    assert message["text"] == "/start hola" and message["chat"] == {"id": 4242, "type": "private",
                                                                       "first_name": "Rosa"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"]["language_code"] == "es"
    # Asking from the next offset confirms it: it is not delivered again.
    assert _result(bot.post("/getUpdates", data={"offset": str(update["update_id"] + 1), "timeout": "0"})) == []


def test_get_updates_waits_for_an_update_until_its_timeout(bot, user):
    got = {}

    def poll():
        got["updates"] = _result(bot.post("/getUpdates", json={"timeout": 10}, timeout=20))

    waiting = threading.Thread(target=poll)
    waiting.start()
    time.sleep(0.3)
    assert waiting.is_alive()  # nothing to deliver yet: the long poll is still open
    user.post("/message", json={"user": USER, "text": "hola"})
    waiting.join(10)
    assert [u["message"]["text"] for u in got["updates"]] == ["hola"]


def test_sending_to_a_chat_that_never_wrote_fails_as_on_telegram(bot):
    answer = bot.post("/sendMessage", data={"chat_id": "999", "text": "hola"})
    assert answer.status_code == 400 and answer.json()["description"] == "Bad Request: chat not found"


def test_html_that_telegram_would_refuse_is_refused(bot, user):
    user.post("/message", json={"user": USER, "text": "hola"})
    for broken in ("<b>sin cerrar", "<br>", "a & b"):
        answer = bot.post("/sendMessage", data={"chat_id": "4242", "text": broken, "parse_mode": "HTML"})
        assert answer.status_code == 400, broken
    assert _result(bot.post("/sendMessage", data={"chat_id": "4242", "text": "<b>ok</b> &amp;",
                                                   "parse_mode": "HTML"}))


def test_inline_and_reply_keyboards_reach_the_page_and_a_press_becomes_a_callback_query(bot, user):
    user.post("/message", json={"user": USER, "text": "hola"})
    inline = {"inline_keyboard": [[{"text": "Sí", "callback_data": "yes"}, {"text": "Web", "url": "https://x.test"}]]}
    sent = _result(bot.post("/sendMessage", data={"chat_id": "4242", "text": "¿Sí?",
                                                   "reply_markup": json.dumps(inline)}))
    reply = {"keyboard": [[{"text": "Ubicación", "request_location": True}], [{"text": "Teléfono",
                                                                               "request_contact": True}]],
             "one_time_keyboard": True}
    _result(bot.post("/sendMessage", json={"chat_id": 4242, "text": "Comparta", "reply_markup": reply}))
    events = user.get("/events", params={"chat_id": 4242, "after": 0}).json()["events"]
    shown = [e["message"] for e in events if e["type"] == "message" and not e["message"]["outgoing"]]
    assert shown[0]["reply_markup"] == inline and shown[1]["reply_markup"] == reply
    assert user.post("/callback", json={"user": USER, "message_id": sent["message_id"], "data": "nope"}
                     ).status_code == 400
    pressed = user.post("/callback", json={"user": USER, "message_id": sent["message_id"], "data": "yes"}).json()
    updates = _result(bot.post("/getUpdates", json={"offset": 0}))
    query = updates[-1]["callback_query"]
    assert query["data"] == "yes" and query["message"]["message_id"] == sent["message_id"]
    assert _result(bot.post("/answerCallbackQuery", data={"callback_query_id": pressed["callback_query_id"],
                                                           "text": "Listo"})) is True
    again = bot.post("/answerCallbackQuery", data={"callback_query_id": pressed["callback_query_id"]})
    assert again.status_code == 400  # a query is answered once
    answers = [e for e in user.get("/events", params={"chat_id": 4242, "after": 0}).json()["events"]
               if e["type"] == "callback_answer"]
    assert answers[0]["text"] == "Listo"


def test_editing_a_message_and_removing_its_keyboard(bot, user):
    user.post("/message", json={"user": USER, "text": "hola"})
    inline = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = _result(bot.post("/sendMessage", json={"chat_id": 4242, "text": "uno", "reply_markup": inline}))
    edited = _result(bot.post("/editMessageText", json={"chat_id": 4242, "message_id": sent["message_id"],
                                                         "text": "dos", "reply_markup": inline}))
    assert edited["text"] == "dos" and edited["edit_date"]
    bare = _result(bot.post("/editMessageReplyMarkup", json={"chat_id": 4242, "message_id": sent["message_id"]}))
    assert "reply_markup" not in bare
    unchanged = bot.post("/editMessageReplyMarkup", json={"chat_id": 4242, "message_id": sent["message_id"]})
    assert "message is not modified" in unchanged.json()["description"]
    missing = bot.post("/editMessageText", json={"chat_id": 4242, "message_id": 999, "text": "x"})
    assert missing.json()["description"] == "Bad Request: message to edit not found"


def test_uploads_both_ways_keep_every_byte_and_files_download_through_get_file(bot, user, server):
    payload = os.urandom(50_000) + b"\r\n--boundary\r\n" + os.urandom(1000)
    sent = user.post("/upload", data={"user": json.dumps(USER), "kind": "document"},
                     files={"file": ("scan.pdf", payload, "application/pdf")}).json()
    update = _result(bot.post("/getUpdates", json={"offset": 0}))[-1]
    assert update["message"]["message_id"] == sent["message_id"]
    document = update["message"]["document"]
    assert document["file_name"] == "scan.pdf" and document["file_size"] == len(payload)
    info = _result(bot.post("/getFile", data={"file_id": document["file_id"]}))
    assert httpx.get(f"{server.base_url}/file/bot{server.token}/{info['file_path']}").content == payload
    # The bot sends a document back (multipart, as PTB does); the person downloads it from the page.
    back = _result(bot.post("/sendDocument", data={"chat_id": "4242", "caption": "Su PDF"},
                            files={"document": ("certificado.pdf", b"%PDF-1.7 fake", "application/pdf")}))
    assert back["document"]["file_name"] == "certificado.pdf" and back["caption"] == "Su PDF"
    assert user.get(f"/file/{back['document']['file_id']}").content == b"%PDF-1.7 fake"


def test_a_photo_and_a_video_note_from_the_person_arrive_as_telegram_objects(bot, user):
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(picture, format="PNG")
    user.post("/upload", data={"user": json.dumps(USER), "kind": "photo"},
              files={"file": ("selfie.png", picture.getvalue(), "image/png")})
    user.post("/upload", data={"user": json.dumps(USER), "kind": "video_note", "duration": "7"},
              files={"file": ("round.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")})
    photo_update, video_update = _result(bot.post("/getUpdates", json={"offset": 0}))
    (size,) = photo_update["message"]["photo"]
    assert (size["width"], size["height"]) == (64, 48)
    assert video_update["message"]["video_note"]["duration"] == 7


def test_a_live_location_is_shared_and_its_moves_arrive_as_edited_messages(bot, user):
    sent = user.post("/location", json={"user": USER, "latitude": -12.0464, "longitude": -77.0428,
                                        "horizontal_accuracy": 15, "live_period": 900}).json()
    moved = user.post("/location/live", json={"user": USER, "message_id": sent["message_id"],
                                              "latitude": -12.05, "longitude": -77.03})
    assert moved.status_code == 200
    first, second = _result(bot.post("/getUpdates", json={"offset": 0}))
    assert first["message"]["location"]["live_period"] == 900
    assert first["message"]["location"]["horizontal_accuracy"] == 15
    assert second["edited_message"]["message_id"] == sent["message_id"]
    assert second["edited_message"]["location"]["latitude"] == -12.05 and second["edited_message"]["edit_date"]
    still = user.post("/location", json={"user": USER, "latitude": 1, "longitude": 2}).json()
    refused = user.post("/location/live", json={"user": USER, "message_id": still["message_id"],
                                                "latitude": 1, "longitude": 2})
    assert refused.status_code == 400  # not a live location
    contact = user.post("/contact", json={"user": USER, "phone_number": "+51 987 654 321"})
    assert contact.status_code == 200


def test_with_a_webhook_set_updates_are_posted_with_the_secret_header_and_get_updates_conflicts(bot, user):
    received: list[tuple[str | None, dict]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            return

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        assert _result(bot.post("/setWebhook", data={"url": f"http://127.0.0.1:{hook.server_address[1]}/hook",
                                                      "secret_token": "s3cret"}))
        assert bot.post("/getUpdates", json={"timeout": 0}).status_code == 409
        user.post("/message", json={"user": USER, "text": "hola"})
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received[0][0] == "s3cret" and received[0][1]["message"]["text"] == "hola"
        assert _result(bot.post("/deleteWebhook"))
        assert _result(bot.post("/getUpdates", json={"timeout": 0})) == []
    finally:
        hook.shutdown()
        hook.server_close()


def test_the_chat_page_and_its_assets_are_served_without_external_resources(server):
    page = httpx.get(server.chat_url).text
    assert "/chat/chat.js" in page and "/chat/chat.css" in page
    for asset in ("/chat/chat.js", "/chat/chat.css", "/chat"):
        body = httpx.get(f"{server.base_url}{asset}").text
        assert "https://" not in body and "cdn" not in body.lower()


def test_image_size_reads_png_and_jpeg_headers():
    import io

    from PIL import Image

    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        Image.new("RGB", (123, 45)).save(buffer, format=fmt)
        assert image_size(buffer.getvalue()) == (123, 45)
    assert image_size(b"not an image") == (0, 0)

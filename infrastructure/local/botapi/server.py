"""A small Telegram Bot API server on 127.0.0.1, with the user's side that the browser chat page drives.

Bot side (what python-telegram-bot calls, as on Telegram): /bot<token>/<method> with query, JSON,
urlencoded or multipart parameters, and /file/bot<token>/<path> for downloads. Methods: getMe, getUpdates
(long polling), setWebhook/deleteWebhook/getWebhookInfo, sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendDocument, sendPhoto, sendChatAction, getFile,
setMyCommands/getMyCommands/deleteMyCommands, deleteMessage.

User side (the chat page at /chat and tests): JSON under /chat/api/ — send text, press a button, share a
(live) location or contact, upload a photo, video note or document, and read the chat's events by long
polling. Everything is kept in memory; nothing is logged (messages and file URLs carry personal data and
the bot token).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LOCAL_BOT_TOKEN = "123456789:local-chat-token"
STATIC = Path(__file__).with_name("static")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT = 4096
LONG_POLL_LIMIT = 50  # seconds
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}
_INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "live_period",
               "cache_time", "max_connections", "duration", "length", "width", "height"}
_JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "caption_entities", "reply_parameters",
                "link_preview_options", "commands", "scope"}
_BOOL_PARAMS = {"show_alert", "drop_pending_updates", "disable_notification", "protect_content"}


class ApiFailure(Exception):
    """A Bot API error answer: {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def bad(description: str) -> ApiFailure:
    return ApiFailure(400, f"Bad Request: {description}")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str
    file_name: str


@dataclass
class Chat:
    user: dict[str, Any]
    messages: dict[int, dict[str, Any]]
    next_message_id: int = 1


class BotApiState:
    """Chats, messages, pending updates and files, behind one lock; waiters are woken on every change."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user = {"id": self.bot_id, "is_bot": True, "first_name": "INPE Antecedentes (local)",
                         "username": "inpe_antecedentes_local_bot", "can_join_groups": False,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.changed = threading.Condition()
        self.closing = False
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.events: list[dict[str, Any]] = []
        self.seq = 0
        self.files: dict[str, StoredFile] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] | None = None

    # --- shared helpers (callers hold self.changed) -------------------------------------------------------

    def _event(self, chat_id: int, kind: str, payload: dict[str, Any]) -> None:
        self.seq += 1
        self.events.append({"seq": self.seq, "chat_id": chat_id, "type": kind, **payload})
        self.changed.notify_all()

    def _update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        # A snapshot: later edits of the message must not change an update already queued.
        self.updates.append({"update_id": update_id, kind: copy.deepcopy(payload)})
        self.changed.notify_all()
        return update_id

    def _chat(self, chat_id: Any) -> Chat:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad("chat not found")
        return chat

    def _chat_object(self, chat: Chat) -> dict[str, Any]:
        user = chat.user
        return {"id": user["id"], "type": "private", "first_name": user["first_name"],
                **({"username": user["username"]} if user.get("username") else {})}

    def _new_message(self, chat: Chat, sender: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": chat.next_message_id, "from": sender, "chat": self._chat_object(chat),
                   "date": int(time.time()), **fields}
        chat.next_message_id += 1
        chat.messages[message["message_id"]] = message
        return message

    def _publish(self, chat_id: int, message: dict[str, Any], *, outgoing: bool,
                 reply_markup: dict[str, Any] | None = None) -> None:
        """Tell the page about a new or changed message (with any reply keyboard, which bots never get back)."""
        view = {**copy.deepcopy(message), "outgoing": outgoing}
        if reply_markup is not None:
            view["reply_markup"] = reply_markup
        self._event(chat_id, "message", {"message": view})

    def store_file(self, data: bytes, mime_type: str, file_name: str, folder: str) -> StoredFile:
        if len(data) > MAX_FILE_BYTES:
            raise bad("file is too big")
        file_id = f"{folder[:3].upper()}{secrets.token_urlsafe(24)}"
        extension = Path(file_name).suffix.lower() or _extension(mime_type)
        stored = StoredFile(file_id=file_id, file_unique_id=secrets.token_hex(8), data=data,
                            file_path=f"{folder}/file_{len(self.files)}{extension}", mime_type=mime_type,
                            file_name=file_name)
        self.files[file_id] = stored
        return stored

    # --- bot side ------------------------------------------------------------------------------------------

    def get_me(self, _: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0, min(LONG_POLL_LIMIT, int(params.get("timeout") or 0)))
        deadline = time.monotonic() + timeout
        with self.changed:
            if self.webhook is not None:
                raise ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                      "deleteWebhook to delete the webhook first")
            while True:
                if offset:
                    # Asking from `offset` confirms every earlier update: they are gone for good.
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = self.updates[:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self.closing:
                    return ready
                self.changed.wait(min(remaining, 1.0))

    def set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        with self.changed:
            if params.get("drop_pending_updates"):
                self.updates.clear()
            if not url:
                self.webhook = None
                return True
            if not url.startswith(("http://", "https://")):
                raise bad("bad webhook: An HTTPS URL must be provided for webhook")
            secret = params.get("secret_token")
            if secret is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,256}", str(secret)):
                raise bad("secret token contains unallowed characters")
            self.webhook = {"url": url, "secret_token": secret}
            self.changed.notify_all()
        return True

    def delete_webhook(self, params: dict[str, Any]) -> bool:
        with self.changed:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self.updates.clear()
        return True

    def get_webhook_info(self, _: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self.updates)}

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        body = str(params.get("text") or "")
        if not body.strip():
            raise bad("message text is empty")
        if len(body) > MAX_TEXT:
            raise bad("message is too long")
        _check_markup_text(body, params.get("parse_mode"))
        markup = _check_reply_markup(params.get("reply_markup"))
        with self.changed:
            chat = self._chat(params.get("chat_id"))
            fields: dict[str, Any] = {"text": body}
            if params.get("parse_mode"):
                fields["parse_mode"] = params["parse_mode"]  # kept for the page; Telegram sends entities
            if markup and "inline_keyboard" in markup:
                fields["reply_markup"] = markup
            message = self._new_message(chat, self.bot_user, fields)
            self._publish(chat.user["id"], message, outgoing=False, reply_markup=markup)
            return message

    def _bot_message(self, params: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        chat = self._chat(params.get("chat_id"))
        message = chat.messages.get(int(params.get("message_id") or 0))
        if message is None or message["from"].get("id") != self.bot_id:
            raise bad("message to edit not found")
        return chat, message

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        body = str(params.get("text") or "")
        if not body.strip():
            raise bad("message text is empty")
        _check_markup_text(body, params.get("parse_mode"))
        markup = _check_reply_markup(params.get("reply_markup"))
        with self.changed:
            chat, message = self._bot_message(params)
            if message.get("text") == body and message.get("reply_markup") == markup:
                raise bad("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
            message["text"] = body
            message["parse_mode"] = params.get("parse_mode")
            _set_inline_markup(message, markup)
            message["edit_date"] = int(time.time())
            self._publish(chat.user["id"], message, outgoing=False)
            return message

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = _check_reply_markup(params.get("reply_markup"))
        with self.changed:
            chat, message = self._bot_message(params)
            if message.get("reply_markup") == markup:
                raise bad("message is not modified: specified new message content and reply markup are exactly "
                          "the same as a current content and reply markup of the message")
            _set_inline_markup(message, markup)
            message["edit_date"] = int(time.time())
            self._publish(chat.user["id"], message, outgoing=False)
            return message

    def delete_message(self, params: dict[str, Any]) -> bool:
        with self.changed:
            chat, message = self._bot_message(params)
            del chat.messages[message["message_id"]]
            self._event(chat.user["id"], "deleted", {"message_id": message["message_id"]})
        return True

    def answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self.changed:
            query = self.callbacks.get(query_id)
            if query is None or query.get("answered"):
                raise bad("query is too old and response timeout expired or query ID is invalid")
            query.update(answered=True, text=params.get("text"), show_alert=bool(params.get("show_alert")),
                         url=params.get("url"))
            self._event(query["chat_id"], "callback_answer",
                        {"callback_query_id": query_id, "text": params.get("text") or "",
                         "show_alert": bool(params.get("show_alert"))})
        return True

    def _send_file(self, params: dict[str, Any], files: dict[str, UploadedPart], field: str,
                   folder: str) -> tuple[Chat, StoredFile, dict[str, Any]]:
        value = params.get(field)
        upload = files.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://"):])
        with self.changed:
            chat = self._chat(params.get("chat_id"))
            if upload is not None:
                stored = self.store_file(upload.data, upload.content_type, upload.filename or field, folder)
            elif isinstance(value, str) and value in self.files:
                stored = self.files[value]
            else:
                raise bad(f"there is no {field} in the request")
            extra: dict[str, Any] = {}
            if params.get("caption"):
                _check_markup_text(str(params["caption"]), params.get("parse_mode"))
                extra["caption"] = str(params["caption"])
                if params.get("parse_mode"):
                    extra["parse_mode"] = params["parse_mode"]
            return chat, stored, extra

    def send_document(self, params: dict[str, Any], files: dict[str, UploadedPart]) -> dict[str, Any]:
        markup = _check_reply_markup(params.get("reply_markup"))
        chat, stored, extra = self._send_file(params, files, "document", "documents")
        with self.changed:
            if params.get("filename"):
                stored.file_name = str(params["filename"])
            fields = {"document": _document_object(stored), **extra}
            if markup and "inline_keyboard" in markup:
                fields["reply_markup"] = markup
            message = self._new_message(chat, self.bot_user, fields)
            self._publish(chat.user["id"], message, outgoing=False, reply_markup=markup)
            return message

    def send_photo(self, params: dict[str, Any], files: dict[str, UploadedPart]) -> dict[str, Any]:
        markup = _check_reply_markup(params.get("reply_markup"))
        chat, stored, extra = self._send_file(params, files, "photo", "photos")
        with self.changed:
            fields = {"photo": _photo_sizes(stored), **extra}
            if markup and "inline_keyboard" in markup:
                fields["reply_markup"] = markup
            message = self._new_message(chat, self.bot_user, fields)
            self._publish(chat.user["id"], message, outgoing=False, reply_markup=markup)
            return message

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        with self.changed:
            chat = self._chat(params.get("chat_id"))
            self._event(chat.user["id"], "chat_action", {"action": str(params.get("action") or "typing")})
        return True

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data),
                "file_path": stored.file_path}

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise bad("commands must be a list")
        with self.changed:
            self.commands[str(params.get("language_code") or "")] = [
                {"command": str(c.get("command")), "description": str(c.get("description"))} for c in commands]
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        with self.changed:
            return list(self.commands.get(str(params.get("language_code") or ""), []))

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        with self.changed:
            self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    # --- user side -----------------------------------------------------------------------------------------

    def _user_chat(self, raw_user: Any) -> Chat:
        if not isinstance(raw_user, dict) or not isinstance(raw_user.get("id"), int) or raw_user["id"] <= 0:
            raise bad("expected user: {id: positive integer, first_name, language_code}")
        user = {"id": raw_user["id"], "is_bot": False,
                "first_name": str(raw_user.get("first_name") or "Persona")[:64]}
        if raw_user.get("language_code"):
            user["language_code"] = str(raw_user["language_code"])[:8]
        if raw_user.get("username"):
            user["username"] = str(raw_user["username"])[:32]
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = Chat(user=user, messages={})
        else:
            chat.user = user
        return chat

    def user_message(self, body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        with self.changed:
            chat = self._user_chat(body.get("user"))
            message = self._new_message(chat, chat.user, fields)
            self._publish(chat.user["id"], message, outgoing=True)
            update_id = self._update("message", message)
            return {"message_id": message["message_id"], "update_id": update_id}

    def user_text(self, body: dict[str, Any]) -> dict[str, Any]:
        typed = str(body.get("text") or "")
        if not typed.strip():
            raise bad("message text is empty")
        if len(typed) > MAX_TEXT:
            raise bad("message is too long")
        fields: dict[str, Any] = {"text": typed}
        if typed.startswith("/"):
            command = typed.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.user_message(body, fields)

    def user_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        data = str(body.get("data") or "")
        with self.changed:
            chat = self._user_chat(body.get("user"))
            message = chat.messages.get(int(body.get("message_id") or 0))
            buttons = [b for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard", [])
                       for b in row]
            if message is None or not any(b.get("callback_data") == data for b in buttons):
                raise bad("that message has no such button")
            query_id = str(secrets.randbelow(10**18))
            self.callbacks[query_id] = {"chat_id": chat.user["id"], "answered": False}
            query = {"id": query_id, "from": chat.user, "message": message,
                     "chat_instance": str(chat.user["id"] * 7919), "data": data}
            update_id = self._update("callback_query", query)
            return {"callback_query_id": query_id, "update_id": update_id}

    def user_location(self, body: dict[str, Any]) -> dict[str, Any]:
        location = _location(body)
        if body.get("live_period") is not None:
            period = int(body["live_period"])
            if not (60 <= period <= 86400 or period == 0x7FFFFFFF):
                raise bad("live_period must be 60 to 86400 seconds, or 2147483647 for indefinitely")
            location["live_period"] = period
        return self.user_message(body, {"location": location})

    def user_live_location(self, body: dict[str, Any]) -> dict[str, Any]:
        location = _location(body)
        with self.changed:
            chat = self._user_chat(body.get("user"))
            message = chat.messages.get(int(body.get("message_id") or 0))
            if message is None or "location" not in message or message["from"]["id"] != chat.user["id"]:
                raise bad("message with a live location not found")
            period = message["location"].get("live_period")
            if not period or time.time() > message["date"] + period:
                raise bad("the live location is not active")
            message["location"] = {**location, "live_period": period}
            message["edit_date"] = int(time.time())
            self._publish(chat.user["id"], message, outgoing=True)
            update_id = self._update("edited_message", message)
            return {"message_id": message["message_id"], "update_id": update_id}

    def user_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        phone = str(body.get("phone_number") or "").strip()
        if not re.fullmatch(r"\+?[0-9 ]{6,20}", phone):
            raise bad("expected a phone number")
        with self.changed:
            chat = self._user_chat(body.get("user"))
            contact = {"phone_number": phone, "first_name": chat.user["first_name"], "user_id": chat.user["id"]}
        return self.user_message(body, {"contact": contact})

    def user_upload(self, fields: dict[str, Any], files: dict[str, UploadedPart]) -> dict[str, Any]:
        kind = str(fields.get("kind") or "document")
        upload = files.get("file")
        if upload is None or not upload.data:
            raise bad("expected a file")
        try:
            body = {"user": json.loads(str(fields.get("user") or "null"))}
        except ValueError:
            raise bad("user must be JSON") from None
        with self.changed:
            stored = self.store_file(upload.data, upload.content_type, upload.filename or kind, f"{kind}s")
        message: dict[str, Any]
        if kind == "photo":
            message = {"photo": _photo_sizes(stored)}
        elif kind == "video_note":
            message = {"video_note": {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                      "length": 240, "duration": int(fields.get("duration") or 5),
                                      "file_size": len(stored.data)}}
        elif kind == "document":
            message = {"document": _document_object(stored)}
        else:
            raise bad("kind must be photo, video_note or document")
        if fields.get("caption"):
            message["caption"] = str(fields["caption"])[:1024]
        return self.user_message(body, message)

    def user_events(self, chat_id: int, after: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + max(0.0, min(timeout, LONG_POLL_LIMIT))
        with self.changed:
            while True:
                found = [e for e in self.events if e["seq"] > after and e["chat_id"] == chat_id]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self.closing:
                    return {"seq": self.seq, "events": found}
                self.changed.wait(min(remaining, 1.0))

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()


@dataclass
class UploadedPart:
    data: bytes
    filename: str | None
    content_type: str


def _extension(mime_type: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4",
            "image/webp": ".webp", "video/webm": ".webm"}.get(mime_type, ".bin")


def _document_object(stored: StoredFile) -> dict[str, Any]:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": stored.file_name,
            "mime_type": stored.mime_type, "file_size": len(stored.data)}


def _photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    width, height = image_size(stored.data)
    return [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width,
             "height": height, "file_size": len(stored.data)}]


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG from its header (0, 0 when unknown); no imaging library needed."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            i += 2 + length
    return 0, 0


def _location(body: dict[str, Any]) -> dict[str, Any]:
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        raise bad("expected latitude and longitude") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad("latitude or longitude out of range")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if body.get("horizontal_accuracy") not in (None, ""):
        location["horizontal_accuracy"] = max(0.0, min(1500.0, float(body["horizontal_accuracy"])))
    return location


def _set_inline_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup and markup.get("inline_keyboard"):
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Reject what Telegram rejects: malformed keyboards, empty labels, callback data over 64 bytes."""
    if markup in (None, "", {}):
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if not str(button.get("text") or "").strip():
                    raise bad("BUTTON_TEXT_EMPTY")
                if "callback_data" in button:
                    if not 1 <= len(str(button["callback_data"]).encode()) <= 64:
                        raise bad("BUTTON_DATA_INVALID")
                elif "url" in button:
                    if not str(button["url"]).startswith(("http://", "https://", "tg://")):
                        raise bad("BUTTON_URL_INVALID")
                else:
                    raise bad("can't find field \"callback_data\" or \"url\" in the button")
    elif "keyboard" in markup:
        for row in markup["keyboard"]:
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if not str(label or "").strip():
                    raise bad("BUTTON_TEXT_EMPTY")
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad("can't parse reply keyboard markup JSON object")
    return markup


def _check_markup_text(body: str, parse_mode: Any) -> None:
    """Telegram refuses HTML with unknown or unbalanced tags; so does this server, to catch such bugs early."""
    if str(parse_mode or "").upper() != "HTML":
        return
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>", body):
        name = name.lower()
        if name not in ALLOWED_TAGS:
            raise bad(f"can't parse entities: unsupported start tag \"{name}\"")
        if closing:
            if not stack or stack.pop() != name:
                raise bad(f"can't parse entities: unexpected end tag \"{name}\"")
        else:
            stack.append(name)
    if stack:
        raise bad(f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", body):
        raise bad("can't parse entities: character entity expected")


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    """Form and multipart values arrive as text (PTB sends JSON-encoded text): give them their types."""
    result: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, str):
            if name in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise bad(f"can't parse {name} JSON object") from None
            elif name in _INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            elif name in _BOOL_PARAMS:
                value = value.lower() in ("true", "1")
        result[name] = value
    return result


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedPart]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise bad("multipart without a boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, str] = {}
    files: dict[str, UploadedPart] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_match = re.search(r'\bname="([^"]*)"', disposition)
        if not name_match:
            continue
        file_match = re.search(r'filename="([^"]*)"', disposition)
        if file_match is not None:
            files[name_match.group(1)] = UploadedPart(data=data, filename=unquote(file_match.group(1)) or None,
                                                      content_type=headers.get("content-type",
                                                                               "application/octet-stream"))
        else:
            fields[name_match.group(1)] = data.decode("utf-8")
    return fields, files


BOT_METHODS = {
    "getme": "get_me", "getupdates": "get_updates", "setwebhook": "set_webhook",
    "deletewebhook": "delete_webhook", "getwebhookinfo": "get_webhook_info", "sendmessage": "send_message",
    "editmessagetext": "edit_message_text", "editmessagereplymarkup": "edit_message_reply_markup",
    "deletemessage": "delete_message", "answercallbackquery": "answer_callback_query",
    "sendchataction": "send_chat_action", "getfile": "get_file", "setmycommands": "set_my_commands",
    "getmycommands": "get_my_commands", "deletemycommands": "delete_my_commands",
}
FILE_METHODS = {"senddocument": "send_document", "sendphoto": "send_photo"}
STATIC_FILES = {"/chat": ("chat.html", "text/html; charset=utf-8"),
                "/chat/": ("chat.html", "text/html; charset=utf-8"),
                "/chat/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
                "/chat/chat.css": ("chat.css", "text/css; charset=utf-8")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: LocalBotApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        return  # request lines carry the bot token and file paths: never logged

    @property
    def state(self) -> BotApiState:
        return self.server.state

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FILE_BYTES + 1024 * 1024:
            raise ApiFailure(413, "Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def _params(self) -> tuple[dict[str, Any], dict[str, UploadedPart]]:
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        body = self._body()
        content_type = self.headers.get("Content-Type", "")
        files: dict[str, UploadedPart] = {}
        if content_type.startswith("application/json") and body.strip():
            try:
                decoded = json.loads(body)
            except ValueError:
                raise bad("can't parse JSON body") from None
            if not isinstance(decoded, dict):
                raise bad("expected a JSON object")
            params.update(decoded)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()})
        elif content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(body, content_type)
            params.update(fields)
        return _coerce(params), files

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        path = unquote(urlsplit(self.path).path)  # PTB quotes file URLs: the token's ":" arrives as %3A
        try:
            if path.startswith("/bot"):
                self._bot_method(path)
            elif path.startswith("/file/bot"):
                self._bot_file(path)
            elif path.startswith("/chat/api/"):
                self._user_api(path)
            elif path in STATIC_FILES:
                name, content_type = STATIC_FILES[path]
                self._send(200, (STATIC / name).read_bytes(), content_type)
            elif path == "/":
                self._send(302, b"", "text/plain", {"Location": "/chat"})
            else:
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except ApiFailure as failure:
            self._json(failure.code, {"ok": False, "error_code": failure.code, "description": failure.description})
        except (ValueError, TypeError, KeyError):
            self._json(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid parameters"})

    def _bot_method(self, path: str) -> None:
        token, _, method = path[len("/bot"):].partition("/")
        if token != self.state.token:
            raise ApiFailure(401, "Unauthorized")
        name = method.lower()
        params, files = self._params()
        if name in BOT_METHODS:
            result = getattr(self.state, BOT_METHODS[name])(params)
        elif name in FILE_METHODS:
            result = getattr(self.state, FILE_METHODS[name])(params, files)
        elif name in ("close", "logout"):
            result = True
        else:
            raise ApiFailure(404, "Not Found: method not found")
        self._json(200, {"ok": True, "result": result})

    def _bot_file(self, path: str) -> None:
        token, _, file_path = path[len("/file/bot"):].partition("/")
        if token != self.state.token:
            raise ApiFailure(401, "Unauthorized")
        stored = next((f for f in self.state.files.values() if f.file_path == file_path), None)
        if stored is None:
            raise ApiFailure(404, "Not Found: file not found")
        self._send(200, stored.data, stored.mime_type)

    def _user_api(self, path: str) -> None:
        state = self.state
        action = path[len("/chat/api/"):]
        if action.startswith("file/"):
            stored = state.files.get(action[len("file/"):])
            if stored is None:
                raise ApiFailure(404, "Not Found: file not found")
            safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", stored.file_name) or "file"
            self._send(200, stored.data, stored.mime_type,
                       {"Content-Disposition": f'inline; filename="{safe_name}"'})
            return
        if self.command == "GET":
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if action == "events":
                self._json(200, state.user_events(int(query.get("chat_id", 0)), int(query.get("after", 0)),
                                                  float(query.get("timeout", 0))))
            elif action == "bot":
                self._json(200, {"bot": state.bot_user})
            elif action == "commands":
                self._json(200, {"commands": state.commands.get(query.get("lang", ""))
                                 or state.commands.get("", [])})
            else:
                raise ApiFailure(404, "Not Found")
            return
        if action == "upload":
            params, files = self._params()
            self._json(200, state.user_upload(params, files))
            return
        params, _ = self._params()
        handlers = {"message": state.user_text, "callback": state.user_callback, "location": state.user_location,
                    "location/live": state.user_live_location, "contact": state.user_contact}
        if action not in handlers:
            raise ApiFailure(404, "Not Found")
        self._json(200, handlers[action](params))


class LocalBotApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # long polls hold connections open while browsers open several more

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client (a closed tab, a stopping bot) hung up during a long poll: nothing to report
        super().handle_error(request, client_address)

    def __init__(self, port: int, state: BotApiState) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class LocalBotApi:
    """The server and its webhook deliverer on background threads; `stop()` ends both."""

    def __init__(self, port: int = 8081, token: str = LOCAL_BOT_TOKEN) -> None:
        self.state = BotApiState(token)
        self.server = LocalBotApiServer(port, self.state)
        self.port = int(self.server.server_address[1])
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat"

    @property
    def token(self) -> str:
        return self.state.token

    def start(self) -> LocalBotApi:
        serve = lambda: self.server.serve_forever(poll_interval=0.05)  # noqa: E731 - stop() returns promptly
        for target, name in ((serve, "botapi-http"), (self._deliver_webhooks, "botapi-hook")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.state.close()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(5)

    def _deliver_webhooks(self) -> None:
        """With a webhook set, POST each update to it (with the secret header) until it answers 2xx."""
        state = self.state
        while True:
            with state.changed:
                while not state.closing and (state.webhook is None or not state.updates):
                    state.changed.wait(1.0)
                if state.closing:
                    return
                hook = dict(state.webhook or {})
                update = state.updates[0]
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
            request = urllib.request.Request(hook["url"], data=json.dumps(update).encode(), headers=headers,
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    delivered = 200 <= answer.status < 300
            except (urllib.error.URLError, OSError):
                delivered = False
            with state.changed:
                if delivered and state.updates and state.updates[0] is update:
                    state.updates.pop(0)
                elif not delivered:
                    state.changed.wait(1.0)  # Telegram retries too, a little later

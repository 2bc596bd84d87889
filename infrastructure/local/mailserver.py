"""The local stack's mail server: a real SMTP server (aiosmtpd) and a page listing what it received.

The API's e-mail port sends to it over SMTP exactly as it would to any relay, so what a citizen would get by
e-mail can be read at http://127.0.0.1:8026/ (`MAIL_WEB_PORT`). Like Amazon SES's mailbox simulator, the
local part `bounce` is refused for good (550), which is how the suppression of bouncing addresses is tried
locally. Messages are kept as .eml files under DATA_DIR/mail, so they survive a restart.

`python -m infrastructure.local.mailserver` runs it alone.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import signal
import threading
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REFUSED_LOCAL_PARTS = frozenset({"bounce"})


class Mailbox:
    """Received messages as .eml files in one folder; the newest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def store(self, data: bytes, recipients: list[str]) -> str:
        message_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
        header = "".join(f"X-Envelope-To: {r}\r\n" for r in recipients).encode()
        with self._lock:
            (self.folder / f"{message_id}.eml").write_bytes(header + data)
        return message_id

    def ids(self) -> list[str]:
        return sorted((p.stem for p in self.folder.glob("*.eml")), reverse=True)

    def read(self, message_id: str) -> EmailMessage | None:
        path = self.folder / f"{message_id}.eml"
        if not message_id.replace("-", "").isalnum() or not path.is_file():
            return None
        parsed: EmailMessage = BytesParser(policy=policy.default).parsebytes(path.read_bytes())  # type: ignore[assignment]
        return parsed

    def summary(self, message_id: str, message: EmailMessage) -> dict[str, Any]:
        body = message.get_body(preferencelist=("plain",))
        return {"id": message_id, "to": message.get_all("X-Envelope-To") or [str(message["To"])],
                "from": str(message["From"]), "subject": str(message["Subject"]),
                "received": message_id.split("-")[0],
                "body": body.get_content() if body is not None else "",
                "attachments": [{"filename": part.get_filename(), "content_type": part.get_content_type(),
                                 "size": len(part.get_payload(decode=True) or b"")}
                                for part in message.iter_attachments()]}

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        found = []
        for message_id in self.ids():
            message = self.read(message_id)
            if message is None:
                continue
            item = self.summary(message_id, message)
            if to is None or to.lower() in (t.lower() for t in item["to"]):
                found.append(item)
        return found


class _SmtpHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.partition("@")[0].lower() in REFUSED_LOCAL_PARTS:
            return "550 5.1.1 Mailbox does not exist (local bounce simulator)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.mailbox.store(content, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Local mail</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem}}
table{{width:100%;border-collapse:collapse}}td,th{{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:1rem}}</style></head>
<body><main><h1>{title}</h1>{content}</main></body></html>"""


def _page(title: str, content: str) -> bytes:
    return _PAGE.format(title=html.escape(title), content=content).encode()


def _web_handler(mailbox: Mailbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            to = (parse_qs(url.query).get("to") or [None])[0]
            parts = [p for p in url.path.split("/") if p]
            if parts == ["api", "messages"]:
                self._send(200, json.dumps({"messages": mailbox.messages(to)}).encode(), "application/json")
            elif not parts:
                rows = "".join(
                    f"<tr><td>{html.escape(', '.join(m['to']))}</td><td><a href=\"/m/{m['id']}\">"
                    f"{html.escape(m['subject'])}</a></td><td>{len(m['attachments'])}</td></tr>"
                    for m in mailbox.messages(to))
                table = (f"<table><thead><tr><th>To</th><th>Subject</th><th>Attachments</th></tr></thead>"
                         f"<tbody>{rows}</tbody></table>") if rows else "<p>No messages yet.</p>"
                self._send(200, _page("Local mail: messages received", table), "text/html; charset=utf-8")
            elif len(parts) == 2 and parts[0] == "m" and (message := mailbox.read(parts[1])) is not None:
                item = mailbox.summary(parts[1], message)
                files = "".join(f"<li><a href=\"/m/{item['id']}/{n}\">{html.escape(a['filename'] or 'file')}</a> "
                                f"({a['size']} bytes)</li>" for n, a in enumerate(item["attachments"]))
                content = (f"<p><a href=\"/\">All messages</a></p><p>To: {html.escape(', '.join(item['to']))}"
                           f"<br>From: {html.escape(item['from'])}</p><pre>{html.escape(item['body'])}</pre>"
                           + (f"<h2>Attachments</h2><ul>{files}</ul>" if files else ""))
                self._send(200, _page(item["subject"], content), "text/html; charset=utf-8")
            elif len(parts) == 3 and parts[0] == "m" and parts[2].isdigit() and \
                    (message := mailbox.read(parts[1])) is not None:
                attachments = list(message.iter_attachments())
                if int(parts[2]) >= len(attachments):
                    self._send(404, b"no such attachment", "text/plain")
                    return
                part = attachments[int(parts[2])]
                self._send(200, part.get_payload(decode=True) or b"", part.get_content_type(),
                           {"Content-Disposition": f"attachment; filename=\"{part.get_filename() or 'file'}\""})
            else:
                self._send(404, _page("Not found", "<p>No such message.</p>"), "text/html; charset=utf-8")

    return Handler


class MailServer:
    """The SMTP server and its web page, both on 127.0.0.1; stop() takes both down."""

    def __init__(self, folder: Path, smtp_port: int, web_port: int) -> None:
        self.mailbox = Mailbox(folder)
        self.smtp_port, self.web_port = smtp_port, web_port
        self._controller = Controller(_SmtpHandler(self.mailbox), hostname="127.0.0.1", port=smtp_port)
        self._web = ThreadingHTTPServer(("127.0.0.1", web_port), _web_handler(self.mailbox))

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self._web.server_address[1]}"

    def start(self) -> MailServer:
        self._controller.start()
        threading.Thread(target=self._web.serve_forever, name="mail-page", daemon=True).start()
        return self

    def stop(self) -> None:
        self._web.shutdown()
        self._web.server_close()
        self._controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local SMTP server with a page of received messages")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--web-port", type=int, default=8026)
    parser.add_argument("--folder", type=Path, default=Path(".local/mail"))
    args = parser.parse_args(argv)
    server = MailServer(args.folder, args.smtp_port, args.web_port).start()
    print(f"SMTP 127.0.0.1:{args.smtp_port}; messages at {server.web_url}. Ctrl-C stops it.", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

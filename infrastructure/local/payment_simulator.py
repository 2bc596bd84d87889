"""The local payment provider: a page and a command that pay an order and send the signed webhook,
or record an agent payment whose voucher the citizen then gives. It plays Pagalo.pe / Banco de la Nación."""

from __future__ import annotations

import argparse
import html
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from chalicelib.domain.payments import sign_webhook
from chalicelib.settings import load_settings


def send_webhook(api_base: str, provider: str, secret: str, payload: dict[str, Any],
                 timestamp: int | None = None, kind: str = "payments") -> tuple[int, dict[str, Any]]:
    """POST a correctly signed webhook (payments or refunds); returns the HTTP status and the JSON answer."""
    body = json.dumps(payload).encode()
    header = sign_webhook(secret, int(time.time()) if timestamp is None else timestamp, body)
    request = urllib.request.Request(f"{api_base}/v1/webhooks/{kind}/{provider}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Signature": header})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def pay_online(order_code: str, amount: str, currency: str = "PEN", api_base: str | None = None
               ) -> tuple[int, dict[str, Any]]:
    settings = load_settings()
    payload = {"payment_id": f"PG-{secrets.token_hex(8)}", "order_code": order_code, "amount": amount,
               "currency": currency, "paid_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
    return send_webhook(api_base or settings.public_base_url, "local", settings.payment_webhook_secrets["local"],
                        payload)


def pay_at_agent(order_code: str, amount: str, currency: str = "PEN") -> tuple[str, date]:
    """Record a Banco de la Nación agent payment; returns the voucher's operation number and date."""
    from chalicelib.bootstrap import build

    provider = build().provider
    operation = f"{secrets.randbelow(10**8):08d}"
    today = date.today()
    provider.record_agent_payment(operation, today, f"BN-{operation}", order_code,  # type: ignore[attr-defined]
                                  Decimal(amount), currency)
    return operation, today


_PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Pasarela de pago (simulador local)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1.1rem;padding:.7rem 1rem;margin:.3rem 0;width:100%}}.note{{color:#555}}</style></head>
<body><h1>Simulador de pagos</h1><p class="note">Local simulator / Simulador local: no real money moves.</p>
<p>Orden / Order: <b>{order}</b><br>Monto / Amount: <b>{currency} {amount}</b></p>{message}
<form method="post"><input type="hidden" name="amount" value="{amount}">
<button name="method" value="online">Pagar en línea / Pay online</button>
<button name="method" value="agent">Pagar en Agente / Pay at an agent (voucher)</button></form></body></html>"""


# Refunds the simulator was asked for, by payment id: asking again for the same payment answers the same refund.
_REFUNDS: dict[str, str] = {}
_REFUNDS_LOCK = threading.Lock()


def confirm_refund_later(payment_id: str, refund_id: str, delay: float = 0.3, attempts: int = 8,
                         api_base: str | None = None) -> threading.Thread:
    """What a provider does once the money is back with the payer: a signed refund webhook, retried until the
    API takes it (the API may still be committing the request that asked for the refund)."""

    def run() -> None:
        settings = load_settings()
        wait = delay
        for _ in range(attempts):
            time.sleep(wait)
            status, _answer = send_webhook(api_base or settings.public_base_url, "local",
                                           settings.payment_webhook_secrets["local"],
                                           {"refund_id": refund_id, "payment_id": payment_id, "status": "refunded"},
                                           kind="refunds")
            if status == 200:
                return
            wait = min(wait * 2, 5.0)

    thread = threading.Thread(target=run, name="refund-confirmation", daemon=True)
    thread.start()
    return thread


def take_refund(body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """A refund request from the API: checked like the webhooks are, recorded once per payment."""
    from chalicelib.domain.errors import DomainError
    from chalicelib.domain.payments import verify_webhook_signature

    settings = load_settings()
    try:
        verify_webhook_signature(settings.payment_webhook_secrets["local"], signature, body, time.time(),
                                 settings.payment_webhook_tolerance_seconds)
        data = json.loads(body)
        payment_id = str(data["payment_id"])
    except (DomainError, ValueError, KeyError, TypeError):
        return 401, {"error": "refused"}
    with _REFUNDS_LOCK:
        refund_id = _REFUNDS.get(payment_id)
        fresh = refund_id is None
        if refund_id is None:
            refund_id = _REFUNDS[payment_id] = f"RF-{secrets.token_hex(6)}"
    if fresh:
        confirm_refund_later(payment_id, refund_id)
    return 202, {"refund_id": refund_id, "payment_id": payment_id}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        return

    def _order(self) -> tuple[str, Any] | None:
        match = re.fullmatch(r"/pay/([A-Z0-9]{4,20})", self.path.split("?")[0])
        if not match:
            return None
        from chalicelib.bootstrap import container

        return match.group(1), container().store.get_order(match.group(1))

    def _page(self, status: int, order: str, amount: str, currency: str, message: str = "") -> None:
        body = _PAGE.format(order=html.escape(order), amount=html.escape(amount), currency=html.escape(currency),
                            message=message).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        found = self._order()
        if not found or found[1] is None:
            self.send_error(404, "Unknown order")
            return
        code, order = found
        self._page(200, code, f"{order.amount:.2f}", order.currency)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?")[0] == "/refunds":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._json(*take_refund(raw, self.headers.get("X-Signature")))
            return
        found = self._order()
        if not found or found[1] is None:
            self.send_error(404, "Unknown order")
            return
        code, order = found
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        amount = f"{order.amount:.2f}"
        if form.get("method", [""])[0] == "agent":
            operation, day = pay_at_agent(code, amount, order.currency)
            message = (f"<p>Voucher: operación <b>{operation}</b>, fecha <b>{day.isoformat()}</b>. "
                       "Give these to the bot / Entréguelos al bot.</p>")
        else:
            status, answer = pay_online(code, amount, order.currency)
            message = f"<p>Webhook: HTTP {status} — {html.escape(json.dumps(answer))}</p>"
        self._page(200, code, amount, order.currency, message)


def serve(port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer(("127.0.0.1", port), _Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local payment simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    online = sub.add_parser("pay", help="pay an order online: sends a signed webhook to the API")
    online.add_argument("order_code")
    online.add_argument("--amount", default="37.70")
    online.add_argument("--currency", default="PEN")
    agent = sub.add_parser("agent", help="pay at a bank agent: prints the voucher for the citizen")
    agent.add_argument("order_code")
    agent.add_argument("--amount", default="37.70")
    args = parser.parse_args(argv)
    if args.command == "pay":
        status, answer = pay_online(args.order_code, args.amount, args.currency)
        print(json.dumps({"http_status": status, **answer}))
        return 0 if status == 200 else 1
    operation, day = pay_at_agent(args.order_code, args.amount)
    print(json.dumps({"operation_number": operation, "date": day.isoformat()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

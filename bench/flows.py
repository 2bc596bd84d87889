"""Citizens' flows under load on the local stack, this tree beside a baseline tree, in the same run.

A flow is what a citizen's chat does: create a request, prove identity, pay (the provider's signed webhook), then
the signed PDF arrives in the chat. Each tree's stack is started as its own `make run` starts it
(bench/_flows_stack.py), its chat notices going to a recording Bot API server here, on DynamoDB Local with a data
folder. Prints `name: value` lines, each figure for the baseline (`_before`) and this tree (`_after`):

  webhook_to_chat_p50_ms / _p95_ms at 1 and at 10 concurrent flows (10 webhooks sent at once, after the 10
      requests were prepared): from sending the webhook to the PDF reaching the chat;
  flows_per_s / flow_p95_s / flows_failed at 50 and at 200 concurrent flows (all started at once);
  restart_events_handled: events the worker handles when the stack restarts on the same data after the load
      (everything was handled before the stop);
and `*_ratio` lines (before ÷ after, or after ÷ before for rates).

BENCH_BASELINE=<path> names the baseline tree; by default the commit before issue 17 is unpacked from git.
BENCH_FLOWS_QUICK=1 runs smaller rounds (a smoke run, not figures to quote); BENCH_FLOWS_SIDES=before or after
measures one side only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import percentile  # noqa: E402
from chalicelib.domain.payments import sign_webhook  # noqa: E402
from chalicelib.settings import DEV_CHANNEL_KEY, DEV_WEBHOOK_SECRET  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.factories import ANA, proof, request_body  # noqa: E402

BASELINE_REF = "04cc1bd"  # the last commit before issue 17
QUICK = os.environ.get("BENCH_FLOWS_QUICK") == "1"
LATENCY_ROUNDS = {1: 6 if QUICK else 15, 10: 2 if QUICK else 4}
THROUGHPUT = (20,) if QUICK else tuple(int(n) for n in os.environ.get("BENCH_FLOWS_THROUGHPUT", "50,200").split(","))
FLOW_DEADLINE_S = 300.0
BOT_TOKEN = "424242:bench-recorder"


# --- the chat: a Bot API server that records when each chat got what ------------------------------------------

class ChatRecorder:
    """Answers sendMessage/sendDocument like the Bot API and notes the time each chat received a document."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.documents: dict[int, float] = {}
        self.messages: dict[int, int] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Bot API allows

            def log_message(self, *_: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                found = re.search(rb'"chat_id":\s*"?(\d+)', body) or \
                    re.search(rb'name="chat_id"\r\n\r\n(\d+)', body)
                chat_id = int(found.group(1)) if found else 0
                recorder.record(method, chat_id)
                answer = json.dumps({"ok": True, "result": {"message_id": 1, "date": int(time.time()),
                                                            "chat": {"id": chat_id, "type": "private"}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, method: str, chat_id: int) -> None:
        with self.changed:
            if method == "sendDocument":
                self.documents.setdefault(chat_id, time.monotonic())
            else:
                self.messages[chat_id] = self.messages.get(chat_id, 0) + 1
            self.changed.notify_all()

    def wait_document(self, chat_id: int, deadline: float) -> float | None:
        with self.changed:
            while chat_id not in self.documents:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.changed.wait(min(remaining, 1.0))
            return self.documents[chat_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- a tree's stack ---------------------------------------------------------------------------------------------

class Stack:
    def __init__(self, tree: Path, chat: ChatRecorder, data_dir: Path) -> None:
        self.tree = tree
        self.ports = {name: free_port() for name in ("PORT", "DYNAMODB_PORT", "PAYMENT_SIMULATOR_PORT",
                                                     "PKI_SERVICES_PORT", "SMTP_PORT", "MAIL_WEB_PORT")}
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TIMESTAMP_"))},
                    **{k: str(v) for k, v in self.ports.items()}, "DATA_DIR": str(data_dir),
                    "PYTHONPATH": str(tree), "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                    "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{chat.port}"}
        self.log_path = data_dir / "stack.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_offset = 0

    @property
    def base(self) -> tuple[str, int]:
        return "127.0.0.1", self.ports["PORT"]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_flows_stack.py"), str(self.tree)],
                                            cwd=self.tree, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while b"READY" not in self.log_path.read_bytes()[self.ready_offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n" + self.log_path.read_text()[-3000:])
            time.sleep(0.3)
        text = self.log_path.read_bytes()
        self.ready_offset = text.index(b"READY", self.ready_offset) + 5

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def events_handled_since_ready(self) -> int:
        """Outbox events the worker handled since the last READY (one "handling event" log line per handler)."""
        ids = set()
        for line in self.log_path.read_bytes()[self.ready_offset:].splitlines():
            if b'"handling event"' in line:
                try:
                    ids.add(json.loads(line)["event_id"])
                except (ValueError, KeyError):
                    continue
        return len(ids)


# --- one citizen --------------------------------------------------------------------------------------------------

class FlowError(Exception):
    pass


def call(base: tuple[str, int], path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    connection = http.client.HTTPConnection(*base, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        payload = answer.read()
    except (OSError, http.client.HTTPException) as error:
        raise FlowError(type(error).__name__) from None
    finally:
        connection.close()
    if answer.status >= 300:
        raise FlowError(f"HTTP {answer.status}")
    return dict(json.loads(payload))


def prepare(base: tuple[str, int], chat_id: int) -> dict[str, Any]:
    """Create the request and prove identity: the payment order the citizen then pays."""
    headers = {"Authorization": f"Bearer {DEV_CHANNEL_KEY}", "X-Channel-User": f"telegram:{chat_id}",
               "Content-Type": "application/json"}
    created = call(base, "/v1/certificate-requests", json.dumps(request_body(ANA)).encode(), headers)
    ordered = call(base, f"/v1/certificate-requests/{created['request_id']}/identity",
                   json.dumps(proof(ANA)).encode(), headers)
    return dict(ordered["payment"])


def pay(base: tuple[str, int], order: dict[str, Any]) -> None:
    body = json.dumps({"payment_id": f"PAY-{uuid.uuid4().hex[:12]}", "order_code": order["order_code"],
                       "amount": order["amount"], "currency": order["currency"]}).encode()
    call(base, "/v1/webhooks/payments/local", body,
         {"Content-Type": "application/json", "X-Signature": sign_webhook(DEV_WEBHOOK_SECRET, int(time.time()), body)})


@dataclass
class Outcome:
    webhook_to_chat_s: list[float] = field(default_factory=list)
    flow_s: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


_next_chat = iter(range(70_000_000, 80_000_000))
_chat_lock = threading.Lock()


def new_chat() -> int:
    with _chat_lock:
        return next(_next_chat)


def latency(stack: Stack, chat: ChatRecorder, concurrent: int, rounds: int) -> Outcome:
    """Prepare ``concurrent`` orders, send their webhooks at once, time each until its PDF is in the chat."""
    outcome = Outcome()
    for _ in range(rounds):
        chats = [new_chat() for _ in range(concurrent)]
        orders: dict[int, dict[str, Any]] = {}

        def prepare_one(i: int, chats: list[int] = chats, orders: dict[int, dict[str, Any]] = orders) -> None:
            try:
                orders[i] = prepare(stack.base, chats[i])
            except FlowError as error:
                outcome.fail(str(error))

        run_threads(concurrent, prepare_one)
        time.sleep(1.0)  # let the notices of the preparation pass
        barrier = threading.Barrier(len(orders))

        def pay_one(i: int, chats: list[int] = chats, orders: dict[int, dict[str, Any]] = orders,
                    barrier: threading.Barrier = barrier) -> None:
            order = orders[i]
            barrier.wait()
            sent = time.monotonic()
            try:
                pay(stack.base, order)
            except FlowError as error:
                outcome.fail(str(error))
                return
            arrived = chat.wait_document(chats[i], sent + FLOW_DEADLINE_S)
            if arrived is None:
                outcome.fail("no document")
                return
            with outcome.lock:
                outcome.webhook_to_chat_s.append(arrived - sent)

        indices = sorted(orders)
        run_threads(len(indices), lambda k, indices=indices: pay_one(indices[k]))  # type: ignore[misc]
    return outcome


def throughput(stack: Stack, chat: ChatRecorder, concurrent: int) -> tuple[Outcome, float]:
    """``concurrent`` whole flows started at once; returns the outcome and the seconds until the last finished."""
    outcome = Outcome()
    barrier = threading.Barrier(concurrent)
    start = [0.0]

    def flow(_: int) -> None:
        chat_id = new_chat()
        if barrier.wait() == 0:
            start[0] = time.monotonic()
        began = time.monotonic()
        try:
            order = prepare(stack.base, chat_id)
            pay(stack.base, order)
        except FlowError as error:
            outcome.fail(str(error))
            return
        arrived = chat.wait_document(chat_id, began + FLOW_DEADLINE_S)
        if arrived is None:
            outcome.fail("no document")
            return
        with outcome.lock:
            outcome.flow_s.append(arrived - began)
            outcome.finished_at.append(arrived)

    run_threads(concurrent, flow)
    elapsed = (max(outcome.finished_at) - start[0]) if outcome.finished_at else float("nan")
    return outcome, elapsed


def wait_quiet(stack: Stack, quiet_s: float = 8.0, limit_s: float = 600.0) -> None:
    """Until the stack's log stops growing (the worker has nothing left to do)."""
    deadline = time.monotonic() + limit_s
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = stack.log_path.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)


def measure(tree: Path, work: Path) -> dict[str, Any]:
    chat = ChatRecorder()
    stack = Stack(tree, chat, work / f"data-{uuid.uuid4().hex[:6]}")
    figures: dict[str, Any] = {}
    try:
        stack.start()
        for concurrent, rounds in LATENCY_ROUNDS.items():
            outcome = latency(stack, chat, concurrent, rounds)
            samples = outcome.webhook_to_chat_s
            figures[f"webhook_to_chat_p50_ms_at_{concurrent}"] = percentile(samples, 0.5) * 1000 if samples else None
            figures[f"webhook_to_chat_p95_ms_at_{concurrent}"] = percentile(samples, 0.95) * 1000 if samples else None
            figures[f"latency_failed_at_{concurrent}"] = sum(outcome.errors.values())
        for concurrent in THROUGHPUT:
            wait_quiet(stack, quiet_s=3.0, limit_s=120.0)
            outcome, elapsed = throughput(stack, chat, concurrent)
            finished = len(outcome.flow_s)
            figures[f"flows_per_s_at_{concurrent}"] = finished / elapsed if finished else 0.0
            figures[f"flow_p95_s_at_{concurrent}"] = percentile(outcome.flow_s, 0.95) if finished else None
            figures[f"flows_finished_at_{concurrent}"] = f"{finished}/{concurrent}"
            figures[f"flows_failed_at_{concurrent}"] = concurrent - finished
            figures[f"flow_errors_at_{concurrent}"] = ",".join(f"{k}x{v}" for k, v in sorted(outcome.errors.items())) \
                or "none"
        wait_quiet(stack)
        stack.stop()
        stack.start()
        wait_quiet(stack)
        figures["restart_events_handled"] = stack.events_handled_since_ready()
    finally:
        stack.stop()
        chat.stop()
    return figures


def baseline_tree(work: Path) -> Path:
    given = os.environ.get("BENCH_BASELINE")
    if given:
        return Path(given).resolve()
    target = work / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_REF], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    return target


def show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="flows-") as scratch:
        work = Path(scratch)
        wanted = os.environ.get("BENCH_FLOWS_SIDES", "before,after").split(",")
        trees = {"before": lambda: baseline_tree(work), "after": lambda: ROOT}
        results = {side: measure(trees[side](), work) for side in ("before", "after") if side in wanted}
        if os.environ.get("BENCH_FLOWS_KEEP") == "1":  # the stacks' logs, to read afterwards
            kept = Path(tempfile.mkdtemp(prefix="flows-kept-"))
            shutil.copytree(work, kept, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dynamodb", "baseline"))
            print(f"logs kept in {kept}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    before, after = results.get("before", {}), results.get("after", {})
    for name in before or after:
        if before:
            print(f"{name}_before: {show(before[name])}")
        if after:
            print(f"{name}_after: {show(after.get(name))}")
        b, a = before.get(name), after.get(name)
        if isinstance(b, float) and isinstance(a, float) and a and b:
            ratio = a / b if name.startswith("flows_per_s") else b / a
            print(f"{name}_ratio: {ratio:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

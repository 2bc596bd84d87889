"""`make run`: the whole system on 127.0.0.1 with no cloud account. Ctrl-C stops everything it started.

DynamoDB Local (data kept in .local/dynamodb) → the test PKI's OCSP/CRL/TSA services → tables from the models →
registries seeded from CSV →
the API under `chalice local` → the worker (outbox stream + schedules) → the payment simulator → the bot
(polling Telegram with TELEGRAM_BOT_TOKEN; otherwise the local Bot API server and its chat page).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chalicelib import logs  # noqa: E402
from chalicelib.settings import load_settings  # noqa: E402
from infrastructure.local import dynamodb_local  # noqa: E402

log = logging.getLogger("run")


def local_environment() -> dict[str, str]:
    """Defaults for the local stack; anything already in the environment wins."""
    port = os.environ.get("PORT", "8000")
    ddb_port = os.environ.get("DYNAMODB_PORT", "8001")
    pay_port = os.environ.get("PAYMENT_SIMULATOR_PORT", "8002")
    pki_port = os.environ.get("PKI_SERVICES_PORT", "8003")
    smtp_port = os.environ.get("SMTP_PORT", "8025")
    defaults = {
        "STAGE": "local",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{ddb_port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYMENT_PAY_URL_TEMPLATE": f"http://127.0.0.1:{pay_port}/pay/{{order_code}}",
        # The local test PKI's time-stamping authority: documents are signed at PAdES B-LT/B-LTA.
        "TIMESTAMP_URL": f"http://127.0.0.1:{pki_port}/tsa",
        "DATA_DIR": str(ROOT / ".local"),
        # The API's e-mail port sends to the mail server started here (infrastructure/local/mailserver.py).
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
    }
    return {**defaults, **{k: v for k, v in os.environ.items() if k in defaults and v}}


def wait_http(url: str, seconds: float) -> bool:
    """Poll until the URL answers. Each try waits for its answer (the first request of a process is slow):
    a client that hung up early made the server print a BrokenPipeError traceback at every start."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.monotonic())) as answer:
                answer.read()
                return True
        except OSError:
            time.sleep(0.1)
    return False


def start_pki_services(port: int) -> subprocess.Popen[bytes]:
    """The test PKI's services (infrastructure/local/pki_services.py) in a process of their own; pki_services_ready
    waits for them, so the stack can start its other parts meanwhile."""
    return subprocess.Popen([sys.executable, "-m", "infrastructure.local.pki_services", "--port", str(port)],
                            cwd=ROOT, env=os.environ.copy(), start_new_session=True, stdout=subprocess.PIPE)


def pki_services_ready(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait for the services' first line, printed once they listen. A process that ends before it (its port taken,
    by a stack left running for instance) is an error: otherwise documents would be signed against whatever answers
    on that port."""
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()  # it prints nothing more
    if not line.startswith(b"local PKI services"):
        process.wait(timeout=10)
        raise RuntimeError(f"the local PKI services did not start (is port {port} taken?)")


class LocalStack:
    """Every part of the local system; `start()` brings it up, `stop()` takes down what it started."""

    def __init__(self, *, port: int, ddb_port: int, pay_port: int, data_dir: Path | None,
                 in_memory: bool = False, pki_port: int | None = None, smtp_port: int | None = None,
                 mail_web_port: int | None = None) -> None:
        self.port, self.ddb_port, self.pay_port = port, ddb_port, pay_port
        self.pki_port = pki_port or int(os.environ.get("PKI_SERVICES_PORT", "8003"))
        self.smtp_port = smtp_port or int(os.environ.get("SMTP_PORT", "8025"))
        self.mail_web_port = mail_web_port or int(os.environ.get("MAIL_WEB_PORT", "8026"))
        self.mail: Any = None
        self.data_dir = data_dir
        self.in_memory = in_memory
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stoppers: list[Any] = []
        self.worker: Any = None

    def start(self) -> None:
        os.environ.update(local_environment())
        os.environ["SMTP_PORT"] = str(self.smtp_port)
        settings = load_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        from infrastructure.local.mailserver import MailServer

        # DynamoDB Local's JVM takes seconds to listen: launched first, waited for after the PKI and mail start.
        ddb_process = None
        if dynamodb_local.port_open(self.ddb_port):
            log.info("DynamoDB Local already listening; using it", extra={"port": self.ddb_port})
        else:
            db_dir = None if self.in_memory else settings.data_dir / "dynamodb"
            ddb_process = dynamodb_local.launch(self.ddb_port, db_dir, settings.data_dir / "dynamodb.log")
            self._processes.append(ddb_process)

        # The API (and the worker) send e-mail to it from their first event on.
        self.mail = MailServer(settings.data_dir / "mail", self.smtp_port, self.mail_web_port).start()
        self._stoppers.append(self.mail.stop)

        from chalicelib.adapters.documents.pki import ensure_local_pki
        from chalicelib.adapters.dynamo_models import create_tables

        # The test PKI's OCSP, CRL and TSA, before anything signs: certificates name this address. In a process
        # of their own, as a real TSA and OCSP responder are elsewhere: each time stamp costs the worker's
        # interpreter nothing (in this process it took 7 ms of a certificate's 84 ms under the GIL).
        ensure_local_pki(settings.pki_dir, f"http://127.0.0.1:{self.pki_port}")
        pki_process = start_pki_services(self.pki_port)
        self._processes.append(pki_process)

        if ddb_process is not None:
            dynamodb_local.wait_ready(ddb_process, self.ddb_port)
            log.info("DynamoDB Local started", extra={"port": self.ddb_port})
        created = create_tables(settings)
        log.info("tables ready", extra={"tables_created": len(created)})

        # The API: app.py behind Chalice's local gateway, in API_PROCESSES processes sharing the port
        # (infrastructure/local/api_server.py: a large backlog where `chalice local` resets connections beyond five
        # waiting clients; unknown paths and HEAD answered as the gateway answers them). Their interpreters import
        # Chalice and the app while this one seeds the registries.
        processes = max(1, int(os.environ.get("API_PROCESSES", "2")))
        for _ in range(processes):
            self._processes.append(subprocess.Popen(
                [sys.executable, "-m", "infrastructure.local.api_server", "--host", "127.0.0.1", "--port",
                 str(self.port), "--stage", "local", *(["--reuse-port"] if processes > 1 else [])],
                cwd=ROOT, env=os.environ.copy(), start_new_session=True))
        from chalicelib.bootstrap import container
        from infrastructure.local.seed import seed

        counts = seed(container())
        log.info("registries seeded", extra=counts)
        if not wait_http(f"http://127.0.0.1:{self.port}/health", 60):
            raise RuntimeError("the API did not start")

        import app as chalice_app
        from chalicelib.adapters.dynamo_models import OUTBOX_TABLE
        from infrastructure.local.payment_simulator import serve
        from infrastructure.local.worker import Scheduler, StreamWorker, app_consumers

        pki_services_ready(pki_process, self.pki_port)
        log.info("local PKI services started", extra={"port": self.pki_port})
        container().warm(documents=True)  # the worker issues documents: its first costs what the next do
        # The checkpoint lives beside the database it refers to: an in-memory database starts from nothing.
        checkpoint = None if self.in_memory else settings.data_dir / "dynamodb" / "outbox-checkpoint.json"
        self.worker = StreamWorker(settings.dynamodb_endpoint or "", settings.aws_region,
                                   settings.table_name(OUTBOX_TABLE),
                                   app_consumers(), settings.data_dir / "dead-letters.jsonl",
                                   checkpoint_path=checkpoint)
        # The cloud runs the virtual-control jobs on their own rates and daily crons (app.py); locally the
        # daily ones run hourly too: each is idempotent, so extra runs only catch up.
        scheduler = Scheduler([(60.0, chalice_app.expire_payment_orders), (60.0, chalice_app.control_recovery),
                               (60.0, chalice_app.retry_partner_callbacks),
                               (3600.0, chalice_app.control_reminders),
                               (3600.0, chalice_app.control_missed_checkins),
                               (3600.0, chalice_app.control_daily_reports)])
        simulator = serve(self.pay_port)
        for target, stopper in ((self.worker.run, self.worker.stop), (scheduler.run, scheduler.stop),
                                (simulator.serve_forever, simulator.shutdown)):
            threading.Thread(target=target, daemon=True).start()
            self._stoppers.append(stopper)

    def stop(self) -> None:
        for stopper in reversed(self._stoppers):  # the worker finishes its events while what it calls still runs
            stopper()
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def main() -> int:
    logs.configure()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter
    port = int(os.environ.get("PORT", "8000"))
    stack = LocalStack(port=port, ddb_port=int(os.environ.get("DYNAMODB_PORT", "8001")),
                       pay_port=int(os.environ.get("PAYMENT_SIMULATOR_PORT", "8002")), data_dir=None)
    stopping = threading.Event()
    # Set explicitly: a shell that starts us in the background would otherwise leave SIGINT ignored.
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    from infrastructure.local.botapi.local_bot import prepare_local_chat

    chat = prepare_local_chat()  # before the stack, so the API's chat notifications reach the local chat
    try:
        stack.start()
        chat.start_bot(f"http://127.0.0.1:{port}")
        chat_lines = "".join(f"    {line}\n" for line in chat.lines)
        print(f"""
  The local system is up (Ctrl-C stops everything):
    API                 http://127.0.0.1:{port}   (health: /health)
    payment simulator   http://127.0.0.1:{stack.pay_port}/pay/<order code>
    test PKI services   http://127.0.0.1:{stack.pki_port}   (OCSP /ocsp, CRL /crl/ca.crl, TSA /tsa)
    e-mail received     {stack.mail.web_url}   (SMTP 127.0.0.1:{stack.smtp_port}; bounce@… is refused)
    DynamoDB Local      http://127.0.0.1:{stack.ddb_port}   (data in .local/dynamodb)
    documents           .local/documents
{chat_lines}  Try: make demo    ·    operator token: make token ROLE=reviewer
""", flush=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        chat.stop()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

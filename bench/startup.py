"""`make run` time to a healthy API: a first start on an empty data directory (tables created, registries
seeded) and a second start on the data the first one left (tables only checked), each timed from launching
`infrastructure/local/run.py` to the first 200 from /health. Every port is a free one and the data lives in a
temporary directory, so a `make run` already going on this machine is left alone.

Prints `name: value` lines: run_first_start_s, run_next_start_s (to /health), run_first_ready_s,
run_next_ready_s (to the banner), run_tracebacks and run_error_lines (over both starts and stops; a
clean start prints none). Target: ≤ 15 s to healthy on a warm machine.
`bench/startup.py --root DIR` times another checkout (the "before" figure of a change).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0
BANNER = b"The local system is up"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # never hang up first
            return bool(answer.status == 200)
    except OSError:
        return False


def one_start(root: Path, data_dir: Path, log_path: Path) -> tuple[float, float]:
    """Seconds from launch to a 200 from /health and to the banner saying everything is up (registries
    seeded, worker and bot started); the stack is then stopped with Ctrl-C (SIGINT)."""
    ports = {name: str(free_port()) for name in ("PORT", "DYNAMODB_PORT", "PAYMENT_SIMULATOR_PORT",
                                                  "PKI_SERVICES_PORT", "SMTP_PORT", "MAIL_WEB_PORT",
                                                  "LOCAL_BOTAPI_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DYNAMODB_ENDPOINT"))}
    env.update(ports, DATA_DIR=str(data_dir), PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    url = f"http://127.0.0.1:{ports['PORT']}/health"
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "infrastructure/local/run.py"], cwd=root, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while not healthy(url):
                if process.poll() is not None:
                    raise SystemExit(f"the stack exited with code {process.returncode}; see {log_path}")
                if time.monotonic() - started > 300:
                    raise SystemExit(f"no healthy API after 300 s; see {log_path}")
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            while BANNER not in log_path.read_bytes()[offset:]:
                if process.poll() is not None or time.monotonic() - started > 300:
                    raise SystemExit(f"the stack never said it was up; see {log_path}")
                time.sleep(0.1)
            ready = time.monotonic() - started
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return elapsed, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to time (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data_dir, log_path = Path(tmp) / "data", Path(tmp) / "run.log"
        first = one_start(args.root.resolve(), data_dir, log_path)
        following = one_start(args.root.resolve(), data_dir, log_path)
        text = log_path.read_text(errors="replace")
        tracebacks = text.count("Traceback (most recent call last)")
        errors = text.count('"level": "ERROR"')
        if os.environ.get("BENCH_KEEP_LOG"):
            Path(os.environ["BENCH_KEEP_LOG"]).write_text(text)
    print(f"run_first_start_s: {first[0]:.1f}")
    print(f"run_first_ready_s: {first[1]:.1f}")
    print(f"run_next_start_s: {following[0]:.1f}")
    print(f"run_next_ready_s: {following[1]:.1f}")
    print(f"run_target_s: {TARGET_S:.0f}")
    print(f"run_tracebacks: {tracebacks}")
    print(f"run_error_lines: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

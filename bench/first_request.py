"""Cold against warm, this tree beside the baseline tree: each figure from fresh processes started as Lambda starts a
function (AWS_LAMBDA_FUNCTION_NAME and an X-Ray daemon address set), against one DynamoDB Local.

  api_init_ms / api_first_request_ms / api_second_request_ms / api_first_to_second: importing app.py (Lambda's init
      phase), then two certificate requests in a row (POST /v1/certificate-requests);
  worker_init_ms / worker_first_certificate_ms / worker_second_certificate_ms / worker_first_to_second: the outbox
      consumer's start, then two certificates from their request.paid events (B-B signatures: no time-stamping
      authority here, the same for both trees).
Medians of BENCH_COLD_RUNS (5) processes; `_before` is the baseline tree (BENCH_BASELINE, or the commit before
issue 17 unpacked from git), `_after` this one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flows import baseline_tree, show  # noqa: E402
from tests.conftest import free_port  # noqa: E402

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
CHILD = ROOT / "bench" / "_first_request_child.py"


def child(tree: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    answer = subprocess.run([sys.executable, str(CHILD), str(tree), *args], cwd=tree, env=env, capture_output=True,
                            text=True, timeout=600)
    lines = [line for line in answer.stdout.splitlines() if line.startswith("RESULT ")]
    if answer.returncode != 0 or not lines:
        raise RuntimeError(f"{args[0]} failed on {tree}:\n{answer.stdout[-2000:]}\n{answer.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT "):]))


def measure(tree: Path, side: str, endpoint: str, work: Path) -> dict[str, float]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TIMESTAMP_", "AWS_"))},
           "PYTHONPATH": str(tree), "DYNAMODB_ENDPOINT": endpoint, "TABLE_PREFIX": f"cold-{side}-",
           "DATA_DIR": str(work / side), "STAGE": "local", "AWS_ACCESS_KEY_ID": "local",
           "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
           # compiled once, outside the trees, as the deployment packages carry their bytecode
           "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "bench-pycache")}
    events = child(tree, env, "setup", str(2 * RUNS))["events"]
    lambda_env = {**env, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}
    api = [child(tree, {**lambda_env, "AWS_LAMBDA_FUNCTION_NAME": "antecedentes-dev-app"}, "api")
           for _ in range(RUNS)]
    worker = []
    for run in range(RUNS):
        batch = work / f"{side}-events-{run}.json"
        batch.write_text(json.dumps(events[2 * run:2 * run + 2]))
        worker.append(child(tree, {**lambda_env, "AWS_LAMBDA_FUNCTION_NAME": "antecedentes-dev-handle_outbox"},
                            "worker", str(batch)))

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(row[key] for row in rows))

    figures = {"api_init_ms": median(api, "init_ms"), "api_first_request_ms": median(api, "first_ms"),
               "api_second_request_ms": median(api, "second_ms"),
               "api_first_to_second": statistics.median(r["first_ms"] / r["second_ms"] for r in api),
               "worker_init_ms": median(worker, "init_ms"),
               "worker_first_certificate_ms": median(worker, "first_ms"),
               "worker_second_certificate_ms": median(worker, "second_ms"),
               "worker_first_to_second": statistics.median(r["first_ms"] / r["second_ms"] for r in worker)}
    return figures


def main() -> int:
    from infrastructure.local import dynamodb_local

    port = free_port()
    process = dynamodb_local.start(port, None)
    try:
        with tempfile.TemporaryDirectory(prefix="cold-") as scratch:
            work = Path(scratch)
            wanted = os.environ.get("BENCH_FLOWS_SIDES", "before,after").split(",")
            trees = {"before": lambda: baseline_tree(work), "after": lambda: ROOT}
            results = {side: measure(trees[side](), side, f"http://127.0.0.1:{port}", work)
                       for side in ("before", "after") if side in wanted}
    finally:
        dynamodb_local.stop(process)
    before, after = results.get("before", {}), results.get("after", {})
    for name in before or after:
        for side, values in (("before", before), ("after", after)):
            if values:
                print(f"{name}_{side}: {show(values[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

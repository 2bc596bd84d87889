"""The record check's registry reads as the registry grows, this tree beside the baseline tree, on DynamoDB Local.

For 40 applicants (20 new "Quispe Mamani", 20 homonyms of registry people) against a synthetic registry of 1,000
and of 10,000 people: items DynamoDB returns per check (index entries and records), read units it charges, calls;
`*_growth` is the 10x figure over the 1x one; `same_outcomes` compares each tree's outcomes and candidates.
BENCH_BASELINE=<path> names the baseline tree (default: the commit before issue 17, unpacked from git).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flows import baseline_tree, show  # noqa: E402
from tests.conftest import free_port  # noqa: E402

SIZES = tuple(int(s) for s in os.environ.get("BENCH_RECORD_CHECK_SIZES", "1000,10000").split(","))
CHILD = ROOT / "bench" / "_record_check_child.py"


def run(tree: Path, side: str, size: int, endpoint: str, work: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "DYNAMODB_ENDPOINT": endpoint,
           "TABLE_PREFIX": f"rc-{side}-{size}-", "DATA_DIR": str(work / side), "STAGE": "local",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}
    answer = subprocess.run([sys.executable, str(CHILD), str(tree), str(size)], cwd=tree, env=env,
                            capture_output=True, text=True, timeout=1800)
    lines = [line for line in answer.stdout.splitlines() if line.startswith("RESULT ")]
    if answer.returncode != 0 or not lines:
        raise RuntimeError(f"{side} {size} failed:\n{answer.stdout[-2000:]}\n{answer.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT "):]))


def main() -> int:
    from infrastructure.local import dynamodb_local

    port = free_port()
    process = dynamodb_local.start(port, None)
    try:
        with tempfile.TemporaryDirectory(prefix="record-check-") as scratch:
            work = Path(scratch)
            trees = {"before": baseline_tree(work), "after": ROOT}
            results = {(side, size): run(tree, side, size, f"http://127.0.0.1:{port}", work)
                       for side, tree in trees.items() for size in SIZES}
    finally:
        dynamodb_local.stop(process)
    for figure in ("items_per_check", "read_units_per_check", "calls_per_check"):
        for side in ("before", "after"):
            small, large = results[(side, SIZES[0])][figure], results[(side, SIZES[1])][figure]
            print(f"record_check_{figure}_at_1x_{side}: {show(small)}")
            print(f"record_check_{figure}_at_10x_{side}: {show(large)}")
            print(f"record_check_{figure}_growth_{side}: {large / small:.2f}" if small else
                  f"record_check_{figure}_growth_{side}: n/a")
    for size in SIZES:
        same = results[("before", size)]["outcomes"] == results[("after", size)]["outcomes"]
        print(f"record_check_same_outcomes_at_{size}: {'yes' if same else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

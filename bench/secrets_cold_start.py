"""The API function's cold-start reads of its secrets (issue 16: rotation reads AWSPREVIOUS too, so there are more
of them): one after another, as before, and all at once, as chalicelib.adapters.aws.secrets does now.

Secrets Manager is moto's server on 127.0.0.1; each call is given ROUND_TRIP_MS more (a botocore hook), the order
of a call to the regional endpoint from Lambda. Prints `name: value` lines: secrets_reads (calls per cold start),
secrets_sequential_ms, secrets_parallel_ms, secrets_parallel_ratio (parallel / sequential, measured in this run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROUND_TRIP_MS = float(os.environ.get("SECRETS_ROUND_TRIP_MS", "25"))
RUNS = int(os.environ.get("SECRETS_RUNS", "7"))


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    from tests.conftest import free_port

    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return process, endpoint
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def main() -> None:
    import boto3

    from chalicelib.adapters.aws.config import CloudConfig
    from chalicelib.adapters.aws.secrets import ROLLED_OVER, previous_secret_value, secret_changes, secret_value

    process, endpoint = _moto()
    try:
        service = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=endpoint,
                               aws_access_key_id="bench", aws_secret_access_key="bench")
        arns = {name: service.create_secret(Name=f"bench-{name}", SecretString="A" * 48)["ARN"]
                for name in ("channel", "webhook", "links", "partners")}
        service.put_secret_value(SecretId=arns["channel"], SecretString="B" * 48)  # a rollover under way
        service.put_secret_value(SecretId=arns["partners"], SecretString="unset")
        config = CloudConfig(region="us-east-1", channel_key_secret_arn=arns["channel"],
                             payment_webhook_secret_arn=arns["webhook"], console_link_secret_arn=arns["links"],
                             partners_secret_arn=arns["partners"])

        def round_trip(**_: Any) -> None:
            time.sleep(ROUND_TRIP_MS / 1000)

        service.meta.events.register("before-send.secrets-manager.*", round_trip)

        def sequential() -> None:  # what the cold start did before: one read after another
            for name, arn in config.secret_arns.items():
                secret_value(arn, config.region, service)
                if name in ROLLED_OVER:
                    previous_secret_value(arn, config.region, service)

        def timed(work: Any) -> float:
            samples = []
            for _ in range(RUNS):
                start = time.perf_counter()
                work()
                samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)

        reads = len(config.secret_arns) + len(set(config.secret_arns) & ROLLED_OVER)
        before = timed(sequential)
        after = timed(lambda: secret_changes(config, service))
        print(f"secrets_reads: {reads}")
        print(f"secrets_round_trip_ms: {ROUND_TRIP_MS:.0f}")
        print(f"secrets_sequential_ms: {before:.1f}")
        print(f"secrets_parallel_ms: {after:.1f}")
        print(f"secrets_parallel_ratio: {after / before:.2f}")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()

"""API latency in-process against DynamoDB Local: create-request and status, p50/p99, DynamoDB calls each."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container, percentile  # noqa: E402
from bench.dynamo_calls import counting_dynamodb_calls  # noqa: E402
from tests.factories import request_body  # noqa: E402

N = int(os.environ.get("BENCH_N", "300"))


def main() -> None:
    with local_container():
        from chalice.test import Client

        import app

        headers = {"Authorization": "Bearer local-dev-channel-key", "X-Channel-User": "telegram:bench",
                   "Content-Type": "application/json"}
        body = json.dumps(request_body()).encode()
        with Client(app.app) as client:
            for _ in range(20):  # warm up connections and imports
                client.http.post("/v1/certificate-requests", headers=headers, body=body)
            create_ms, ids = [], []
            with counting_dynamodb_calls() as create_calls:
                for _ in range(N):
                    start = time.perf_counter()
                    answer = client.http.post("/v1/certificate-requests", headers=headers, body=body)
                    create_ms.append((time.perf_counter() - start) * 1000)
                    ids.append(answer.json_body["request_id"])
            status_ms = []
            with counting_dynamodb_calls() as status_calls:
                for request_id in ids:
                    start = time.perf_counter()
                    answer = client.http.get(f"/v1/certificate-requests/{request_id}", headers=headers)
                    status_ms.append((time.perf_counter() - start) * 1000)
                    assert answer.status_code == 200
        print(f"create_request_p50_ms: {percentile(create_ms, 0.5):.2f}")
        print(f"create_request_p99_ms: {percentile(create_ms, 0.99):.2f}")
        print(f"create_request_dynamodb_calls: {sum(create_calls.values()) / N:.1f}")
        print(f"create_request_dynamodb_operations: {'+'.join(sorted(create_calls))}")
        print(f"status_p50_ms: {percentile(status_ms, 0.5):.2f}")
        print(f"status_p99_ms: {percentile(status_ms, 0.99):.2f}")
        print(f"status_dynamodb_calls: {sum(status_calls.values()) / N:.1f}")
        print(f"status_dynamodb_operations: {'+'.join(sorted(status_calls))}")
        print(f"status_mean_ms: {statistics.mean(status_ms):.2f}")


if __name__ == "__main__":
    main()

"""The capacity model's inputs (docs/capacity.md): for one certificate (request, identity, payment webhook, the
worker's record check and issue with a signed PDF, the status read and the download) and one check-in (start,
location, selfie, answers), in-process on DynamoDB Local:
  - DynamoDB calls, read and write capacity units (DynamoDB Local's own ConsumedCapacity, asked of every call),
  - the largest and mean item written per table (bytes of the attribute values),
  - the time spent in the app (a proxy for Lambda duration at the same CPU), API steps and worker steps apart.
Prints `name: value` lines (per flow, the mean over BENCH_N runs).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container  # noqa: E402

N = int(os.environ.get("BENCH_N", "20"))
CAPACITY_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                       "BatchWriteItem", "TransactWriteItems", "TransactGetItems"}


class Meter:
    """Counts calls and consumed capacity of every DynamoDB call, and the size of each item written."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.rcu = 0.0
        self.wcu = 0.0
        self.items: dict[str, list[int]] = defaultdict(list)

    def _written(self, table: str, item: dict[str, Any]) -> None:
        self.items[table.split("-", 1)[-1]].append(len(json.dumps(item, separators=(",", ":"))))

    def observe(self, operation: str, kwargs: dict[str, Any], answer: Any) -> None:
        self.calls[operation] += 1
        if operation == "PutItem":
            self._written(kwargs["TableName"], kwargs["Item"])
        for write in kwargs.get("TransactItems", []):
            if "Put" in write:
                self._written(write["Put"]["TableName"], write["Put"]["Item"])
        for table, requests in kwargs.get("RequestItems", {}).items():
            for request in requests if isinstance(requests, list) else []:
                if "PutRequest" in request:
                    self._written(table, request["PutRequest"]["Item"])
        consumed = answer.get("ConsumedCapacity") if isinstance(answer, dict) else None
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            units = float(entry.get("CapacityUnits", 0))
            if operation in {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}:
                self.rcu += units
            else:
                self.wcu += units


@contextmanager
def metering() -> Iterator[Meter]:
    from pynamodb.connection.base import Connection

    meter = Meter()
    original = Connection._make_api_call

    def metered(self: Any, operation: str, kwargs: dict[str, Any], *args: Any, **kw: Any) -> Any:
        if operation in CAPACITY_OPERATIONS:
            kwargs = {**kwargs, "ReturnConsumedCapacity": "TOTAL"}
        answer = original(self, operation, kwargs, *args, **kw)
        meter.observe(operation, kwargs, answer)
        return answer

    Connection._make_api_call = metered  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


def report(name: str, meter: Meter, api_ms: float, worker_ms: float, runs: int) -> None:
    print(f"{name}_dynamodb_calls: {sum(meter.calls.values()) / runs:.1f}")
    print(f"{name}_dynamodb_operations: {'+'.join(f'{k}x{v / runs:g}' for k, v in sorted(meter.calls.items()))}")
    print(f"{name}_read_units: {meter.rcu / runs:.1f}")
    print(f"{name}_write_units: {meter.wcu / runs:.1f}")
    print(f"{name}_api_ms: {api_ms / runs:.1f}")
    print(f"{name}_worker_ms: {worker_ms / runs:.1f}")
    written = sum(sum(sizes) for sizes in meter.items.values()) / runs
    print(f"{name}_bytes_written: {written:.0f}")
    biggest = sorted(((max(s), t) for t, s in meter.items.items()), reverse=True)[:5]
    print(f"{name}_largest_items: {', '.join(f'{t}={size}B' for size, t in biggest)}")


def certificates(api: Any) -> None:
    from tests.factories import ANA

    api_ms = worker_ms = 0.0
    pdf_bytes = 0
    with metering() as meter:
        for i in range(N):
            user = f"telegram:capacity{i}"
            start = time.perf_counter()
            request = api.paid(ANA, user=user)
            api_ms += time.perf_counter() - start
            start = time.perf_counter()
            api.run_worker()
            worker_ms += time.perf_counter() - start
            start = time.perf_counter()
            status = api.get(f"/v1/certificate-requests/{request['request_id']}", user=user).json_body
            assert status["status"] == "issued", status
            document = api.client.http.get(f"/v1/certificate-requests/{request['request_id']}/document",
                                           headers={**api.channel_headers(user), "Accept": "application/pdf"})
            assert document.status_code == 200, (document.status_code, document.body[:300])
            api_ms += time.perf_counter() - start
            pdf_bytes += len(document.body)
    report("certificate", meter, api_ms * 1000, worker_ms * 1000, N)
    print(f"certificate_pdf_kb: {pdf_bytes / N / 1024:.1f}")


def check_ins(api: Any) -> None:
    from chalicelib.domain.identity import dni_check_characters
    from tests.integration.control_support import JPEG, ROSA, ROSA_ANSWERS, location, measure_body

    answers = {**ROSA_ANSWERS, "dni_check_character": dni_check_characters(ROSA["document_number"])[0]}
    court = api.operator_headers("court")
    api_ms = worker_ms = 0.0
    runs = 0
    for i in range(N):
        user = f"telegram:capacity-c{i}"
        measure = api.post("/v1/court/measures", measure_body(ROSA), headers=court).json_body
        api.post("/v1/control/enrolments", {**ROSA, "mobile": "+51987654321", "address": "Av. Abancay 123, Lima"},
                 user=user)
        api.run_worker()
        with metering() as meter:
            start = time.perf_counter()
            cid = api.post("/v1/control/check-ins", {}, user=user).json_body["checkin_id"]
            api.post(f"/v1/control/check-ins/{cid}/location", location(api, -12.05, -77.03), user=user)
            api.client.http.post(f"/v1/control/check-ins/{cid}/selfie", body=JPEG,
                                 headers={**api.channel_headers(user), "Content-Type": "image/jpeg"})
            result = api.post(f"/v1/control/check-ins/{cid}/answers", {"answers": answers}, user=user)
            api_ms += time.perf_counter() - start
            start = time.perf_counter()
            api.run_worker()  # the attendance record and notices
            worker_ms += time.perf_counter() - start
        assert result.json_body["outcome"] == "registered", result.body
        api.post(f"/v1/court/measures/{measure['measure_id']}/revoke", {}, headers=court)
        runs += 1
        if i == 0:
            total = meter
        else:
            total.calls.update(meter.calls)
            total.rcu += meter.rcu
            total.wcu += meter.wcu
            for table, sizes in meter.items.items():
                total.items[table].extend(sizes)
    report("checkin", total, api_ms * 1000, worker_ms * 1000, runs)


def main() -> None:
    from chalicelib.services.time import FixedClock

    with local_container(clock=FixedClock(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))) as container:
        from chalice.test import Client

        import app
        from tests.integration.conftest import Api

        with Client(app.app) as client:
            api = Api(client, container)
            api.paid(user="telegram:warm-up")  # imports, connections, fonts
            api.run_worker()
            certificates(api)
            check_ins(api)


if __name__ == "__main__":
    main()

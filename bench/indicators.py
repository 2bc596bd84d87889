"""The indicators' cost against DynamoDB Local: one event's counter update (the fact and its counters in one
transaction; DynamoDB calls and ms), against a single counter UpdateItem measured in the same run; and the public
transparency page (twelve months of figures and their charts: ms, DynamoDB calls, bytes), against /health."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container, percentile  # noqa: E402
from bench.dynamo_calls import counting_dynamodb_calls  # noqa: E402

N = int(os.environ.get("BENCH_N", "200"))


def main() -> None:
    from chalice.test import Client

    import app
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.domain.requests import Event, new_id
    from chalicelib.services import indicators
    from chalicelib.services.time import FixedClock

    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    with local_container(clock=FixedClock(now)) as c:
        ports = {"indicators": c.indicators, "store": c.store, "checkins": c.control.checkins,
                 "measures": c.control.measures}
        update, record, calls = [], [], 0
        for i in range(N + 10):
            # A year of incidents across the months, so that the page reads figures for every month.
            at = now - timedelta(days=(i % 365))
            event = Event(new_id(), "control.incident", new_id(), at,
                          {"type": ("out_of_area", "missed_checkin", "impersonation")[i % 3], "district": "LIMA",
                           "checkin": i % 3 != 1, "day": f"{at:%Y-%m-%d}"})
            start = time.perf_counter()
            m.IndicatorCounterModel("bench#PERU", "baseline").update(
                actions=[m.IndicatorCounterModel.value.add(1)])
            middle = time.perf_counter()
            with counting_dynamodb_calls() as counted:
                assert indicators.record(event, **ports)
            end = time.perf_counter()
            if i >= 10:
                update.append((middle - start) * 1000)
                record.append((end - middle) * 1000)
            calls = sum(counted.values())
            assert indicators.record(event, **ports) is False  # redelivered: nothing added
        base, event_ms = percentile(update, 0.5), percentile(record, 0.5)
        print(f"indicators_event_dynamodb_calls: {calls}")
        print(f"indicators_event_p50_ms: {event_ms:.2f}")
        print(f"single_update_item_p50_ms: {base:.2f}")
        print(f"indicators_event_over_single_update_ratio: {event_ms / base:.2f}")

        with Client(app.app) as client:
            page, health, size, page_calls = [], [], 0, 0
            for i in range(60):
                start = time.perf_counter()
                with counting_dynamodb_calls() as counted:
                    answer = client.http.get("/transparencia?period=2026-11")
                middle = time.perf_counter()
                client.http.get("/health")
                end = time.perf_counter()
                assert answer.status_code == 200
                if i >= 10:
                    page.append((middle - start) * 1000)
                    health.append((end - middle) * 1000)
                size, page_calls = len(answer.body), sum(counted.values())
        print(f"transparency_page_p50_ms: {percentile(page, 0.5):.1f}")
        print(f"transparency_page_p95_ms: {percentile(page, 0.95):.1f}")
        print(f"transparency_page_dynamodb_calls: {page_calls}")
        print(f"transparency_page_bytes: {size}")
        print(f"transparency_page_over_health_ratio: {percentile(page, 0.5) / percentile(health, 0.5):.2f}")


if __name__ == "__main__":
    main()

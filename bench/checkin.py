"""Check-in pipeline latency in-process against DynamoDB Local (face matching excluded: the embedded
matcher answers at once), and point-in-area checks per second against a district-sized polygon."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container, percentile  # noqa: E402
from bench.dynamo_calls import counting_dynamodb_calls  # noqa: E402

N = int(os.environ.get("BENCH_N", "100"))


def area_checks() -> float:
    import random

    from chalicelib.domain.control.areas import area_of, check_place, gazetteer

    area = area_of(gazetteer()["LIMA"]["geometry"])
    rng = random.Random(7)
    points = [(rng.uniform(-12.3, -11.8), rng.uniform(-77.25, -76.75)) for _ in range(20_000)]
    start = time.perf_counter()
    for lat, lon in points:
        check_place(area, lat, lon, 25.0)
    return len(points) / (time.perf_counter() - start)


def main() -> None:
    from chalicelib.services.time import FixedClock

    with local_container(clock=FixedClock(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))) as container:
        from chalice.test import Client

        import app
        from chalicelib.domain.identity import dni_check_characters
        from tests.integration.conftest import Api
        from tests.integration.control_support import JPEG, ROSA, ROSA_ANSWERS, location, measure_body

        answers = {**ROSA_ANSWERS, "dni_check_character": dni_check_characters(ROSA["document_number"])[0]}
        timings = []
        with Client(app.app) as client:
            api = Api(client, container)
            court = api.operator_headers("court")
            for i in range(N + 5):
                user = f"telegram:bench{i}"
                measure = api.post("/v1/court/measures", measure_body(ROSA), headers=court).json_body
                api.post("/v1/control/enrolments", {**ROSA, "mobile": "+51987654321",
                                                    "address": "Av. Abancay 123, Lima"}, user=user)
                start = time.perf_counter()
                with counting_dynamodb_calls() as counted:
                    cid = api.post("/v1/control/check-ins", {}, user=user).json_body["checkin_id"]
                    api.post(f"/v1/control/check-ins/{cid}/location", location(api, -12.05, -77.03), user=user)
                    api.client.http.post(f"/v1/control/check-ins/{cid}/selfie", body=JPEG,
                                         headers={**api.channel_headers(user), "Content-Type": "image/jpeg"})
                    result = api.post(f"/v1/control/check-ins/{cid}/answers", {"answers": answers}, user=user)
                elapsed = (time.perf_counter() - start) * 1000
                calls = sum(counted.values())
                assert result.json_body["outcome"] == "registered", result.body
                api.post(f"/v1/court/measures/{measure['measure_id']}/revoke", {}, headers=court)
                if i >= 5:
                    timings.append(elapsed)
        print(f"checkin_pipeline_p50_ms: {percentile(timings, 0.5):.1f}")
        print(f"checkin_pipeline_p99_ms: {percentile(timings, 0.99):.1f}")
        print(f"checkin_pipeline_dynamodb_calls: {calls}")
        print(f"point_in_area_checks_per_second: {area_checks():.0f}")


if __name__ == "__main__":
    main()

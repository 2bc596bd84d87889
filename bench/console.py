"""The console's busiest pages, in-process on DynamoDB Local with a world of data on every page: server time
p50/p95, DynamoDB calls and page weight of each, beside the JSON route that reads the same list (the baseline
measured in the same run); and a registry import's rows per second as a job."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import local_container, percentile  # noqa: E402
from bench.dynamo_calls import counting_dynamodb_calls  # noqa: E402

N = int(os.environ.get("BENCH_N", "40"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))


def timed(call: object, n: int) -> tuple[list[float], float, int]:
    """Milliseconds of each call, DynamoDB calls per call, and the size of the last answer's body."""
    samples: list[float] = []
    size = 0
    with counting_dynamodb_calls() as calls:
        for _ in range(n):
            start = time.perf_counter()
            answer = call()  # type: ignore[operator]
            samples.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.status_code
            size = len(answer.body)
    return samples, sum(calls.values()) / n, size


def main() -> None:
    from chalice.test import Client

    import app
    from chalicelib.services.time import FixedClock
    from tests.conftest import TEST_NOW
    from tests.integration import console_world
    from tests.integration.conftest import Api
    from tests.integration.console_support import Console

    with local_container(FixedClock(TEST_NOW)) as c, Client(app.app) as client:
        api = Api(client, c)
        world = console_world.build(api)

        def as_role(role: str) -> Console:
            browser = Console(api)
            browser.sign_in(world["accounts"][role])
            return browser

        officer, head, court, reviewer = (as_role(r) for r in ("officer", "cvp_head", "court", "reviewer"))
        pages = {
            "officer_home": lambda: officer.get("/console/officer"),
            "officer_person": lambda: officer.get(f"/console/officer/people/{world['rosa']}"),
            "cvp_day": lambda: head.get(f"/console/cvp?district={world['district']}"),
            "court_search": lambda: court.get("/console/court/measures?q=rosa"),
            "review_queue": lambda: reviewer.get("/console/review"),
        }
        for call in pages.values():  # warm up templates, connections and imports
            for _ in range(3):
                call()
        token = c.tokens.issue(world["officer_id"], ["officer"], districts=[world["district"]])
        json_list = timed(lambda: client.http.get("/v1/officer/enrolments", headers={
            "Authorization": f"Bearer {token}"}), N)
        for name, call in pages.items():
            samples, calls, size = timed(call, N)
            print(f"console_{name}_p50_ms: {percentile(samples, 0.5):.1f}")
            print(f"console_{name}_p95_ms: {percentile(samples, 0.95):.1f}")
            print(f"console_{name}_dynamodb_calls: {calls:.0f}")
            print(f"console_{name}_html_kb: {size / 1024:.1f}")
            if name == "officer_home":
                base = percentile(json_list[0], 0.5)
                print(f"json_officer_list_p50_ms: {base:.1f}")
                print(f"console_officer_home_vs_json_list: {percentile(samples, 0.5) / base:.2f}")
        static = ROOT / "chalicelib" / "console" / "static"
        print(f"console_css_kb: {(static / 'console.css').stat().st_size / 1024:.1f}")
        print(f"console_js_kb: {(static / 'console.js').stat().st_size / 1024:.1f}")
        header = ("document_type,document_number,given_names,first_surname,second_surname,birth_date,issue_date,"
                  "expiry_date,nationality,father_name,mother_name\n")
        rows = "".join(f"DNI,{30_000_000 + n:08d},Persona,Prueba,Carga,1990-01-01,,,PER,,\n"
                       for n in range(IMPORT_ROWS))
        admin = {"Authorization": f"Bearer {c.tokens.issue('bench-admin', ['admin'])}", "Content-Type": "text/csv"}
        start = time.perf_counter()
        submitted = client.http.post("/v1/admin/registries/identity/jobs", body=(header + rows).encode(),
                                     headers=admin)
        accepted_ms = (time.perf_counter() - start) * 1000
        api.run_worker()
        elapsed = time.perf_counter() - start
        job = c.jobs.get_job(submitted.json_body["job_id"])
        assert job is not None and job.status.value == "done"
        print(f"import_job_accepted_ms: {accepted_ms:.0f}")
        print(f"import_rows_per_second: {IMPORT_ROWS / elapsed:.0f}")


if __name__ == "__main__":
    main()

"""One fresh process of bench/first_request.py, run on a given tree's code: `python _first_request_child.py TREE MODE`.

MODE setup: tables, registries and keys, then paid requests whose request.paid events it prints (DynamoDB JSON).
MODE api: start as a Lambda function does (import app), then time two certificate requests in a row.
MODE worker: start as the outbox consumer does, then time two certificates from their request.paid events (and, where
the tree still issues on a second event, from request.approved too).
Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _setup(count: int) -> dict[str, Any]:
    from chalice.test import Client

    import app
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_models import create_tables
    from chalicelib.bootstrap import container
    from chalicelib.settings import load_settings
    from infrastructure.local.seed import seed
    from tests.integration.conftest import Api

    create_tables(load_settings())
    c = container()
    seed(c)
    c.pki()  # the local keys, created once here rather than in a measured process
    paid = []
    with Client(app.app) as client:
        api = Api(client, c)
        for i in range(count):
            paid.append(api.paid(user=f"telegram:{9_000_000 + i}")["request_id"])
    events = {e.aggregate_id: e.serialize() for e in m.OutboxModel.scan()
              if e.name == "request.paid" and e.aggregate_id in paid}
    return {"events": [events[r] for r in paid]}


def _record(image: dict[str, Any]) -> dict[str, Any]:
    return {"eventID": "bench", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "eventSourceARN": "arn:bench",
            "dynamodb": {"NewImage": image, "ApproximateCreationDateTime": time.time(), "Keys": {},
                         "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_IMAGE"}}


def _api() -> dict[str, Any]:
    started = time.perf_counter()
    import app

    initialised = time.perf_counter()
    from chalice.test import Client

    from chalicelib.settings import DEV_CHANNEL_KEY
    from tests.factories import request_body

    body = json.dumps(request_body()).encode()
    times = []
    with Client(app.app) as client:
        for i in range(2):
            headers = {"Authorization": f"Bearer {DEV_CHANNEL_KEY}", "X-Channel-User": f"telegram:{os.getpid()}{i}",
                       "Content-Type": "application/json"}
            begin = time.perf_counter()
            answer = client.http.post("/v1/certificate-requests", headers=headers, body=body)
            times.append((time.perf_counter() - begin) * 1000)
            assert answer.status_code == 201, answer.body
    return {"init_ms": (initialised - started) * 1000, "first_ms": times[0], "second_ms": times[1]}


def _worker(images: list[dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    import app

    initialised = time.perf_counter()
    from chalicelib.adapters import dynamo_models as m

    times = []
    for image in images:
        begin = time.perf_counter()
        app.handle_outbox({"Records": [_record(image)]}, None)
        elapsed = time.perf_counter() - begin
        aggregate = image["aggregate_id"]["S"]
        # A tree that issues on a second event: that event's handling is part of the certificate's time.
        approved = [e for e in m.OutboxModel.scan() if e.aggregate_id == aggregate and e.name == "request.approved"]
        for event in approved:
            begin = time.perf_counter()
            app.handle_outbox({"Records": [_record(event.serialize())]}, None)
            elapsed += time.perf_counter() - begin
        times.append(elapsed * 1000)
    return {"init_ms": (initialised - started) * 1000, "first_ms": times[0], "second_ms": times[1]}


def main() -> int:
    tree, mode = Path(sys.argv[1]).resolve(), sys.argv[2]
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    if mode == "setup":
        result = _setup(int(sys.argv[3]))
    elif mode == "api":
        result = _api()
    else:
        result = _worker(json.loads(Path(sys.argv[3]).read_text()))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

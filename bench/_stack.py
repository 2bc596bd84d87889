"""The benchmarks' stack: an in-memory DynamoDB Local with the project's tables, seeded, and the app's
container pointing at it (what the API runs on, minus HTTP)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@contextmanager
def local_container(clock: Any = None, seeded: bool = True) -> Iterator[Any]:
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import create_tables
    from chalicelib.settings import Settings
    from infrastructure.local import dynamodb_local
    from infrastructure.local.seed import seed
    from tests.conftest import free_port

    port = free_port()
    process = dynamodb_local.start(port, None)
    try:
        settings = Settings(dynamodb_endpoint=f"http://127.0.0.1:{port}", table_prefix="bench-",
                            data_dir=Path("/tmp") / f"bench-{uuid.uuid4().hex[:6]}")
        create_tables(settings)
        container = bootstrap.build(settings, clock=clock)
        if seeded:
            seed(container)
        bootstrap.use(container)
        yield container
    finally:
        bootstrap.use(None)
        dynamodb_local.stop(process)

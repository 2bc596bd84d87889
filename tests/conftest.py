"""Shared fixtures: DynamoDB Local (the real jar) for integration tests, settings and a container."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


TEST_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port nothing listens on, never handed out before in this session, and outside the kernel's ephemeral
    range: a port taken with bind(0) and released is the kind the kernel gives the next outgoing connection, so a
    server started a few seconds later could find it in use (seen in CI: "Address already in use")."""
    low, high = _ephemeral_range()
    candidates = range(20000, low) if low - 20000 >= 2000 else range(high + 1, 65535)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(candidates)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port found outside the ephemeral range")


@contextmanager
def dynamodb_local_server() -> Iterator[str]:
    """An in-memory DynamoDB Local on a free port, stopped on exit; yields its endpoint."""
    from infrastructure.local import dynamodb_local

    port = free_port()
    process = dynamodb_local.start(port, None)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        dynamodb_local.stop(process)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """One in-memory DynamoDB Local for the whole session; each test gets its own table prefix."""
    with dynamodb_local_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def table_prefix(dynamodb_endpoint: str) -> str:
    """Tables created and seeded once per session (creating twelve tables costs about two seconds)."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import create_tables
    from chalicelib.services.time import FixedClock
    from chalicelib.settings import Settings
    from infrastructure.local.seed import seed

    prefix = f"t{uuid.uuid4().hex[:8]}-"
    settings = Settings(dynamodb_endpoint=dynamodb_endpoint, table_prefix=prefix)
    create_tables(settings)
    # The tests' fixed clock lies more than a week back, so DynamoDB Local's TTL sweep would take events out of the
    # outbox while tests read it: the outbox keeps them for the session.
    from chalicelib.adapters.dynamo_models import OutboxModel

    OutboxModel._get_connection().connection.client.update_time_to_live(
        TableName=OutboxModel.Meta.table_name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"})
    # Calendars are seeded for the year of the tests' fixed clock, so the tests do not depend on today.
    seed(bootstrap.build(settings, clock=FixedClock(TEST_NOW)))
    return prefix


@pytest.fixture
def settings(tmp_path: Path, dynamodb_endpoint: str, table_prefix: str):  # type: ignore[no-untyped-def]
    from chalicelib.settings import Settings

    return Settings(dynamodb_endpoint=dynamodb_endpoint, table_prefix=table_prefix, data_dir=tmp_path / "data")


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    from chalicelib.services.time import FixedClock

    return FixedClock(TEST_NOW)


@pytest.fixture
def container(settings, clock):  # type: ignore[no-untyped-def]
    """A container on DynamoDB Local (shared seeded tables), installed as the app's container."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import configure

    configure(settings)
    c = bootstrap.build(settings, clock=clock)
    bootstrap.use(c)
    yield c
    bootstrap.use(None)

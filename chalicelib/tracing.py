"""AWS X-Ray: on in the cloud (where a daemon address is set), off and free of import cost locally.

Beside botocore's calls (patched), the work the product needs to see gets its own subsegment: render, sign and
seal of each document, the record match, and every registry call (`subsegment` / `traced`). Off, both cost one
boolean check.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_enabled = False


def configure() -> None:
    global _enabled
    if not (os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or os.environ.get("TRACING") == "on"):
        return
    from aws_xray_sdk.core import patch, xray_recorder

    xray_recorder.configure(context_missing="LOG_ERROR", service="antecedentes-api")
    patch(["botocore"])
    _enabled = True


def enabled() -> bool:
    return _enabled


@contextmanager
def subsegment(name: str) -> Iterator[None]:
    """An X-Ray subsegment around the block (named e.g. "document.sign", "registry.identity.lookup")."""
    if not _enabled:
        yield
        return
    from aws_xray_sdk.core import xray_recorder

    with xray_recorder.in_subsegment(name):
        yield


def traced(name: str) -> Callable[[F], F]:
    """The decorated function runs in a subsegment of that name."""
    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with subsegment(name):
                return function(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate

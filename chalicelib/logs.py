"""Structured JSON logs; callers pass identifiers in `extra`, never personal data.

Standard library only: the bot's package ships this module too (one formatter for both deployables).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextvars import ContextVar
from typing import Any

# The id of the HTTP request being served (set by the API's middleware): every log line written meanwhile carries
# it, and the response returns it in X-Request-Id.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_first_trace: str | None = None  # the X-Ray trace of this process's first invocation


def lambda_fields(environ: Any = None) -> dict[str, Any]:
    """In Lambda: the function, the X-Ray trace id of the invocation and whether it is the cold start (the
    process's init and its first invocation). The runtime sets _X_AMZN_TRACE_ID for each invocation."""
    global _first_trace
    environ = os.environ if environ is None else environ  # read at each call: tests may swap os.environ
    function = environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function:
        return {}
    header = environ.get("_X_AMZN_TRACE_ID", "")
    trace = next((part[5:] for part in header.split(";") if part.startswith("Root=")), None)
    if trace and _first_trace is None:
        _first_trace = trace
    return {"function": function, "cold_start": trace is None or trace == _first_trace, "trace_id": trace}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                                 "time": self.formatTime(record)}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if "request_id" not in entry and (current := REQUEST_ID.get()) is not None:
            entry["request_id"] = current
        if record.exc_info and record.exc_info[0] is not None:
            # The type and stack, never the exception's message: it may quote a person's data.
            entry["exception"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        for key, value in lambda_fields().items():
            entry.setdefault(key, value)
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("pynamodb").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)

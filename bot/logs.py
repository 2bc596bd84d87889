"""JSON log lines for the bot: identifiers only (update id, request id), never what a person typed."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                                 "time": self.formatTime(record)}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # The type and the stack, never the exception's text: it may quote what a person typed.
            entry["exception"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, default=str)


def quiet_libraries() -> None:
    # httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
    for name in ("httpx", "httpcore", "telegram", "pynamodb", "botocore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: int = logging.INFO) -> None:
    quiet_libraries()
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)

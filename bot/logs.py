"""JSON log lines for the bot: identifiers only (update id, request id), never what a person typed."""

from __future__ import annotations

import logging
import sys

from chalicelib.logs import JsonFormatter  # the API's formatter; the bot's package ships that one module


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

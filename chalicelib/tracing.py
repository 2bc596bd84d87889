"""AWS X-Ray: on in the cloud (where a daemon address is set), off and free of import cost locally."""

from __future__ import annotations

import os


def configure() -> None:
    if not (os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or os.environ.get("TRACING") == "on"):
        return
    from aws_xray_sdk.core import patch, xray_recorder

    xray_recorder.configure(context_missing="LOG_ERROR", service="antecedentes-api")
    patch(["botocore"])

"""Business metrics in CloudWatch Embedded Metric Format (EMF): one JSON line on stdout per event, which
CloudWatch Logs turns into a metric in the cloud (no API call, no extra dependency in the package).

Counted from the outbox events (one place every use case already reports to): the dashboard and the alarms of
infrastructure/cdk/observability.py read these names. Locally nothing is printed unless METRICS=emf; the
figures then go to the `emitted` list of the test that asks for them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

NAMESPACE = "Antecedentes"
# outbox event -> metric (a count per event); dimension: the stage.
BUSINESS_METRICS = {
    "request.created": "CertificateRequests",
    "request.issued": "CertificatesIssued",
    "payment.refunded": "RefundsPaid",
    "control.registered": "CheckInsRegistered",
    "control.review_needed": "CheckInsHeldForReview",
    "control.incident": "Incidents",
    "control.outage_started": "ContingenciesStarted",
    "control.outage_ended": "ContingenciesEnded",
}


def enabled() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) or os.environ.get("METRICS") == "emf"


def emf_line(metric: str, value: float = 1, unit: str = "Count", **properties: Any) -> str:
    """One EMF document: the metric under NAMESPACE with the stage as its dimension; `properties` are logged
    beside it (searchable in Logs Insights, not dimensions: they must never carry personal data)."""
    stage = os.environ.get("STAGE", "local")
    document: dict[str, Any] = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
            {"Namespace": NAMESPACE, "Dimensions": [["Stage"]], "Metrics": [{"Name": metric, "Unit": unit}]}]},
        "Stage": stage, metric: value, **properties}
    return json.dumps(document, separators=(",", ":"))


def count(metric: str, value: float = 1, *, out: TextIO | None = None, **properties: Any) -> None:
    if out is None and not enabled():
        return
    print(emf_line(metric, value, **properties), file=out or sys.stdout, flush=True)


def count_event(event_name: str, *, out: TextIO | None = None, **properties: Any) -> str | None:
    """The business metric of an outbox event, if it has one; returns its name."""
    metric = BUSINESS_METRICS.get(event_name)
    if metric:
        count(metric, out=out, **properties)
    return metric

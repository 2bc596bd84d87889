"""Observability in the code: the Lambda fields of every log line, the business metrics as CloudWatch EMF, and
X-Ray subsegments around render, sign, seal, match and the registry calls."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from chalicelib import logs, metrics, tracing


def _line(record_extra: dict[str, object] | None = None) -> dict[str, object]:
    record = logging.makeLogRecord({"msg": "handled", "levelname": "INFO", "name": "t", **(record_extra or {})})
    return json.loads(logs.JsonFormatter().format(record))


def test_lambda_log_lines_carry_function_trace_and_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_first_trace", None)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "antecedentes-prod-APIHandler")
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    init = _line()
    assert init["function"] == "antecedentes-prod-APIHandler" and init["cold_start"] is True
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1")
    first = _line()
    assert first["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793" and first["cold_start"] is True
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-00000000000000000000000a;Parent=1;Sampled=1")
    warm = _line()
    assert warm["cold_start"] is False and warm["trace_id"].endswith("a")
    assert _line({"function": "given"})["function"] == "given", "a caller's own field is kept"


def test_local_log_lines_have_no_lambda_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert {"function", "cold_start", "trace_id"}.isdisjoint(_line())


def test_an_outbox_event_becomes_one_emf_metric_with_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "prod")
    out = io.StringIO()
    assert metrics.count_event("request.issued", out=out, event_id="ev-1") == "CertificatesIssued"
    document = json.loads(out.getvalue())
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive == {"Namespace": "Antecedentes", "Dimensions": [["Stage"]],
                         "Metrics": [{"Name": "CertificatesIssued", "Unit": "Count"}]}
    assert document["Stage"] == "prod" and document["CertificatesIssued"] == 1 and document["event_id"] == "ev-1"
    assert isinstance(document["_aws"]["Timestamp"], int)
    assert metrics.count_event("request.review_required", out=out) is None


def test_metrics_are_printed_in_lambda_only(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("METRICS", raising=False)
    metrics.count_event("control.registered")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "worker")
    metrics.count_event("control.registered")
    assert json.loads(capsys.readouterr().out)["CheckInsRegistered"] == 1


def test_the_outbox_dispatch_counts_each_business_event(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from chalicelib.domain.requests import Event
    from chalicelib.handlers import NOTICES, WORK, dispatch

    monkeypatch.setenv("METRICS", "emf")
    # Both consumers are fed this event: the metric is counted by the first one only, never twice.
    monkeypatch.setattr("chalicelib.handlers.HANDLERS", {WORK: {"control.outage_started": []},
                                                         NOTICES: {"control.outage_started": []}})
    event = Event(event_id="e1", name="control.outage_started", aggregate_id="identity",
                  occurred_at=datetime(2026, 11, 20, tzinfo=UTC))
    dispatch(event, None)  # type: ignore[arg-type]
    assert json.loads(capsys.readouterr().out)["ContingenciesStarted"] == 1
    dispatch(event, None, WORK)  # type: ignore[arg-type]
    dispatch(event, None, NOTICES)  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["ContingenciesStarted"] for line in lines] == [1]


def test_documents_are_traced_in_seal_render_and_sign_subsegments(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """With X-Ray on, one certificate's production shows seal, render and sign as subsegments."""
    from aws_xray_sdk.core import xray_recorder

    from chalicelib.adapters.documents import ensure_local_pki, local_pipeline
    from tests.factories_documents import make_content

    monkeypatch.setenv("TRACING", "on")
    monkeypatch.setenv("AWS_XRAY_NOOP_ID", "FALSE")
    tracing.configure()
    xray_recorder.configure(sampling=False, context_missing="LOG_ERROR")
    try:
        pipeline = local_pipeline(ensure_local_pki(tmp_path / "pki"), timestamp_url=None)
        segment = xray_recorder.begin_segment("test")
        pipeline.produce(make_content())
        names = [s.name for s in segment.subsegments]
        xray_recorder.end_segment()
    finally:
        monkeypatch.setattr(tracing, "_enabled", False)
    assert names[:3] == ["document.seal", "document.render", "document.sign"]


def test_subsegments_cost_nothing_when_tracing_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_enabled", False)
    calls = []

    @tracing.traced("registry.identity.lookup")
    def lookup(number: str) -> str:
        calls.append(number)
        return number

    assert lookup("12345678") == "12345678" and calls == ["12345678"]

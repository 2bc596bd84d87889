"""The indicators' facts, counters and settings over DynamoDB: a fact and its counter additions in one
transaction (so a redelivered event adds nothing), key queries only.

Every certificate adds to the same national counters, and two transactions on one item at once conflict: each
counter is kept in COUNTER_SHARDS items (``metric#shard``; the event picks the shard), summed when read."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..domain.indicators import Fact, Target
from ..domain.ports import AuditEntry
from . import dynamo_models as m
from .dynamo_store import audit_to_model, translate_errors

COUNTER_SHARDS = 8


def _counter_key(period: str, scope: str) -> str:
    return f"{period}#{scope}"


def _metric(sort_key: str) -> str:
    """``metric#shard`` (or a bare ``metric``, as a rebuild writes it) → ``metric``."""
    return sort_key.rsplit("#", 1)[0] if "#" in sort_key else sort_key


class DynamoIndicators:
    def __init__(self, region: str, host: str | None) -> None:
        self._connection = m.connection_for(region, host)

    @translate_errors
    def apply(self, fact: Fact, added: dict[str, int]) -> bool:
        item = m.IndicatorFactModel(fact.period, fact.event_id, name=fact.name,
                                    occurred_at=fact.occurred_at.isoformat(), district=fact.district,
                                    data=fact.data)
        try:
            shard = zlib.crc32(fact.event_id.encode()) % COUNTER_SHARDS
            with TransactWrite(connection=self._connection) as tx:
                tx.save(item, condition=m.IndicatorFactModel.event_id.does_not_exist())
                for scope in fact.scopes:
                    for metric, amount in sorted(added.items()):
                        counter = m.IndicatorCounterModel(_counter_key(fact.period, scope), f"{metric}#{shard}")
                        tx.update(counter, actions=[m.IndicatorCounterModel.value.add(amount)])
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and getattr(reasons[0], "code", "") == "ConditionalCheckFailed":
                return False  # this event was counted before
            raise
        return True

    @translate_errors
    def counters(self, period: str, scope: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in m.IndicatorCounterModel.query(_counter_key(period, scope), consistent_read=True):
            metric = _metric(item.metric)
            totals[metric] = totals.get(metric, 0) + int(item.value)
        return totals

    @translate_errors
    def facts(self, period: str) -> list[Fact]:
        return [Fact(item.event_id, item.name, datetime.fromisoformat(item.occurred_at), item.district,
                     dict(item.data)) for item in m.IndicatorFactModel.query(period, consistent_read=True)]

    @translate_errors
    def replace_counters(self, period: str, scope: str, counters: dict[str, int]) -> None:
        key = _counter_key(period, scope)
        stale = [item for item in m.IndicatorCounterModel.query(key) if item.metric not in counters]
        with m.IndicatorCounterModel.batch_write() as batch:
            for item in stale:  # the shards too: the repaired totals are written whole
                batch.delete(item)
            for metric, value in counters.items():
                batch.save(m.IndicatorCounterModel(key, metric, value=value))

    @translate_errors
    def target(self, code: str) -> Target | None:
        try:
            body = m.IndicatorSettingModel.get(f"target#{code}", consistent_read=True).body
        except m.IndicatorSettingModel.DoesNotExist:
            return None
        return Target(code, float(body["baseline"]), float(body["expected"]), body.get("baseline_year"),
                      body.get("expected_year"))

    def _with_audit(self, item: Any, audit: AuditEntry) -> None:
        with TransactWrite(connection=self._connection) as tx:
            tx.save(item)
            tx.save(audit_to_model(audit), condition=m.AuditModel.entry.does_not_exist())

    @translate_errors
    def put_target(self, target: Target, audit: AuditEntry) -> None:
        self._with_audit(m.IndicatorSettingModel(f"target#{target.code}", body={
            "baseline": target.baseline, "expected": target.expected, "baseline_year": target.baseline_year,
            "expected_year": target.expected_year}), audit)

    @translate_errors
    def in_person(self, period: str) -> dict[str, int]:
        try:
            body = m.IndicatorSettingModel.get(f"in_person#{period}", consistent_read=True).body
        except m.IndicatorSettingModel.DoesNotExist:
            return {}
        return {str(k): int(v) for k, v in body.get("offices", {}).items()}

    @translate_errors
    def put_in_person(self, period: str, offices: dict[str, int], audit: AuditEntry) -> None:
        self._with_audit(m.IndicatorSettingModel(f"in_person#{period}", body={"offices": offices}), audit)

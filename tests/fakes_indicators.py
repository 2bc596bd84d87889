"""The indicators' port in memory, for the unit tests: the same contract as DynamoIndicators (a fact is kept
once, and its counters are added with it or not at all), checked on both by the contract test."""

from __future__ import annotations

from chalicelib.domain.indicators import Fact, Target
from chalicelib.domain.ports import AuditEntry


class MemoryIndicators:
    def __init__(self) -> None:
        self.kept: dict[str, dict[str, Fact]] = {}  # period -> event id -> fact
        self.values: dict[tuple[str, str], dict[str, int]] = {}  # (period, scope) -> metric -> value
        self.targets: dict[str, Target] = {}
        self.offices: dict[str, dict[str, int]] = {}
        self.audit: list[AuditEntry] = []
        self.writes = 0  # counter items written (what the bench counts on DynamoDB)

    def apply(self, fact: Fact, added: dict[str, int]) -> bool:
        facts = self.kept.setdefault(fact.period, {})
        if fact.event_id in facts:
            return False
        facts[fact.event_id] = fact
        for scope in fact.scopes:
            counters = self.values.setdefault((fact.period, scope), {})
            for metric, amount in added.items():
                counters[metric] = counters.get(metric, 0) + amount
                self.writes += 1
        return True

    def counters(self, period: str, scope: str) -> dict[str, int]:
        return dict(self.values.get((period, scope), {}))

    def facts(self, period: str) -> list[Fact]:
        return list(self.kept.get(period, {}).values())

    def replace_counters(self, period: str, scope: str, counters: dict[str, int]) -> None:
        self.values[(period, scope)] = dict(counters)

    def target(self, code: str) -> Target | None:
        return self.targets.get(code)

    def put_target(self, target: Target, audit: AuditEntry) -> None:
        self.targets[target.code] = target
        self.audit.append(audit)

    def in_person(self, period: str) -> dict[str, int]:
        return dict(self.offices.get(period, {}))

    def put_in_person(self, period: str, offices: dict[str, int], audit: AuditEntry) -> None:
        self.offices[period] = dict(offices)
        self.audit.append(audit)

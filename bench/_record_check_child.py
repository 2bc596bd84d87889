"""One side of bench/record_check.py, run on a given tree's code: `python _record_check_child.py TREE SIZE`.

Fills that tree's penitentiary registry tables (its own table prefix) with SIZE synthetic people
(tests.factories.synthetic_registry, the same people first whatever the size), then runs the record check's registry
reads for a fixed set of applicants, counting what DynamoDB returns. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

COUNTS = {"calls": 0, "items": 0, "read_units": 0.0}


def _count_reads() -> None:
    from pynamodb.connection.base import Connection

    original = Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        reading = operation_name in ("Query", "GetItem", "BatchGetItem", "Scan")
        if reading:
            operation_kwargs = {**operation_kwargs, "ReturnConsumedCapacity": "TOTAL"}
        answer: dict[str, Any] = original(self, operation_name, operation_kwargs)
        if reading:
            COUNTS["calls"] += 1
            if operation_name == "BatchGetItem":
                COUNTS["items"] += sum(len(v) for v in answer.get("Responses", {}).values())
            else:
                COUNTS["items"] += int(answer.get("Count", 1 if answer.get("Item") else 0))
            consumed = answer.get("ConsumedCapacity") or []
            for entry in consumed if isinstance(consumed, list) else [consumed]:
                COUNTS["read_units"] += float(entry.get("CapacityUnits", 0.0))
        return answer

    Connection._make_api_call = counted  # type: ignore[method-assign]


def applicants(people: list[Any]) -> list[Any]:
    """Twenty new "Quispe Mamani" applicants, and twenty homonyms of registry people (their name and birth date,
    another document)."""
    import random

    from chalicelib.domain.identity import Applicant, DocumentType

    rng = random.Random(5)
    out = []
    for i in range(20):
        given = rng.choice(["Ana Lucía", "Juan Carlos", "Rosa", "Luis Alberto", "Teodora", "Pedro"])
        born = date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
        out.append(Applicant("PER", DocumentType.DNI, f"4{i:07d}", given, "Quispe", "Mamani", born))
    for i, (person, surnames) in enumerate(people[:200:10]):
        words = person.full_name.title().split()
        out.append(Applicant("PER", DocumentType.DNI, f"3{i:07d}", " ".join(words[:-2]), surnames[0], surnames[1],
                             person.birth_date or date(1980, 1, 1)))
    return out


def _factories() -> Any:
    """tests/factories.py of the benchmark's own tree (the baseline tree may not have synthetic_registry)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_factories", Path(__file__).resolve().parents[1] / "tests"
                                                  / "factories.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    tree, size = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import DynamoPenitentiaryRegistry
    from chalicelib.domain.matching import MatchThresholds, match_applicant
    from chalicelib.settings import load_settings
    synthetic_registry = _factories().synthetic_registry

    settings = load_settings()
    m.create_tables(settings)
    m.configure(settings)
    registry = DynamoPenitentiaryRegistry()
    people = synthetic_registry(size)
    if hasattr(registry, "put_many"):
        for start in range(0, len(people), 500):
            registry.put_many(people[start:start + 500])
    else:
        for person, surnames in people:
            registry.put(person, surnames)
    _count_reads()
    thresholds = MatchThresholds()
    outcomes = []
    for applicant in applicants(people):
        from chalicelib.services import review

        if hasattr(review, "registry_match"):
            result, _ = review.registry_match(applicant, registry, thresholds)
        else:
            found = review.candidates_for(SimpleNamespace(applicant=applicant), registry)  # type: ignore[arg-type]
            result = match_applicant(applicant.full_name, applicant.document_number, applicant.birth_date, found,
                                     thresholds)
        outcomes.append([result.outcome.value, [c.record_id for c in result.candidates]])
    checks = len(outcomes)
    print("RESULT " + json.dumps({"items_per_check": COUNTS["items"] / checks,
                                  "read_units_per_check": COUNTS["read_units"] / checks,
                                  "calls_per_check": COUNTS["calls"] / checks, "outcomes": outcomes}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

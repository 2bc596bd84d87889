"""Load the fictitious people of the local registries from CSV (safe to run at every start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib.services import registries

SEED_DIR = Path(__file__).resolve().parent / "seed"


def seed(c: Any) -> dict[str, int]:
    counts = {}
    for registry, name in (("identity", "identity.csv"), ("penitentiary", "penitentiary.csv")):
        report = registries.import_csv(registry, (SEED_DIR / name).read_text(encoding="utf-8"), c)
        counts[registry] = report["imported"]
    return counts

"""The warrants registry's bulk import (its local stand-in): the same importer as every registry's, at once."""

from __future__ import annotations

from typing import Any

from ...domain.control.ports import WarrantsRegistry
from ...domain.operators import Operator
from ...domain.ports import AuditLog, Clock
from ..registries import WarrantsImporter, import_now
from .common import audit_entry


def import_warrants(text: str, *, operator: Operator, warrants: WarrantsRegistry, audit: AuditLog,
                    clock: Clock) -> dict[str, Any]:
    report = import_now("warrants", text.encode("utf-8"), {"warrants": WarrantsImporter(warrants)})
    audit.append(audit_entry(operator, clock.now(), "registry.import", "warrants", imported=report["imported"]))
    return {"imported": report["imported"]}

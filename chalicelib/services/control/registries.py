"""The warrants registry's bulk import (its local stand-in): every row checked first, then all written."""

from __future__ import annotations

import csv
import io
from typing import Any

from ...domain.control.ports import WarrantsRegistry
from ...domain.control.warrants import WARRANT_COLUMNS, Warrant, parse_warrant_row
from ...domain.errors import ValidationError
from ...domain.operators import Operator
from ...domain.ports import AuditLog, Clock
from ...domain.requests import new_id
from .common import audit_entry


def import_warrants(text: str, *, operator: Operator, warrants: WarrantsRegistry, audit: AuditLog,
                    clock: Clock) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [col for col in WARRANT_COLUMNS if col not in (reader.fieldnames or ())]
    if missing:
        raise ValidationError(f"The CSV header lacks columns: {', '.join(missing)}.", field="header",
                              code="missing_columns")
    rows: list[tuple[Warrant, str]] = []
    errors = []
    for line, row in enumerate(reader, start=2):
        try:
            rows.append(parse_warrant_row(row, new_id()))
        except ValidationError as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.message})
    if errors:
        raise ValidationError(f"{len(errors)} row(s) are invalid; nothing was imported.", field="rows",
                              code="invalid_rows", details={"errors": errors[:100]})
    warrants.put_warrants(rows)
    audit.append(audit_entry(operator, clock.now(), "registry.import", "warrants", imported=len(rows)))
    return {"imported": len(rows)}

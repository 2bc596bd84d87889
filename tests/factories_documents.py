"""Factory for document contents (valid by default)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.documents import DocumentContent


def sample_content(**changes: Any) -> DocumentContent:
    issued = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "document_id": "x", "kind": "certificate", "title": "CERTIFICADO DE ANTECEDENTES JUDICIALES",
        "number": "2026-000001", "holder_name": "Ana Lucía Quispe Mamani", "document_type": "DNI",
        "document_number": "45678912", "result": "NO REGISTRA ANTECEDENTES JUDICIALES", "cases": (),
        "issued_at": issued, "valid_until": issued + timedelta(days=90),
        "verification_url": "https://example.invalid/v/x"}
    return DocumentContent(**{**fields, **changes})

"""Sample documents for the integration tests: the shared factory, each document with its own id, issued now
(the test PKI's keys are certified from the moment the session creates them)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from chalicelib.domain.documents import DocumentContent
from tests.factories_documents import VERIFY_BASE, case
from tests.factories_documents import make_content as _make_content

__all__ = ["ISSUED", "ORIGIN", "VERIFY_BASE", "case", "make_content"]

ISSUED = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
ORIGIN = VERIFY_BASE.removesuffix("/v/")


def make_content(**changes: object) -> DocumentContent:
    document_id = str(changes.pop("document_id", secrets.token_urlsafe(16)))
    values: dict[str, object] = {"document_id": document_id, "issued_at": ISSUED,
                                 "valid_until": ISSUED + timedelta(days=90),
                                 "verification_url": VERIFY_BASE + document_id}
    return _make_content(**{**values, **changes})

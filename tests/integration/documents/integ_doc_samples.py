"""Sample documents for the integration tests: the shared factory, each document with its own id."""

from __future__ import annotations

import secrets

from chalicelib.domain.documents import DocumentContent
from tests.factories_documents import ISSUED, VERIFY_BASE, case
from tests.factories_documents import make_content as _make_content

__all__ = ["ISSUED", "VERIFY_BASE", "case", "make_content"]


def make_content(**changes: object) -> DocumentContent:
    return _make_content(**{"document_id": secrets.token_urlsafe(16), **changes})

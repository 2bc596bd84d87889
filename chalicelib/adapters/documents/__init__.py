"""Signed documents: local PKI, PDF rendering with a sealed QR, PAdES signing, offline checks.

Names are imported lazily: pyHanko's signing and validation modules cost about
0.2 s to import, and a function that only verifies QR codes should not pay it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.adapters.documents.pipeline import (
        DocumentPipeline,
        ProducedDocument,
        local_pipeline,
    )
    from chalicelib.adapters.documents.pki import LocalPki, ensure_local_pki
    from chalicelib.adapters.documents.render import build_writer, render_pdf
    from chalicelib.adapters.documents.seal import (
        LocalQrSealer,
        SealVerification,
        der_to_raw_signature,
        local_es256_signer,
        verify_qr_text,
    )
    from chalicelib.adapters.documents.signing import (
        CallbackSigner,
        LocalPdfSigner,
        PadesPdfSigner,
    )
    from chalicelib.adapters.documents.validation import PdfCheck, validate_pdf

_EXPORTS = {
    "DocumentPipeline": "pipeline",
    "ProducedDocument": "pipeline",
    "local_pipeline": "pipeline",
    "LocalPki": "pki",
    "ensure_local_pki": "pki",
    "build_writer": "render",
    "render_pdf": "render",
    "LocalQrSealer": "seal",
    "SealVerification": "seal",
    "der_to_raw_signature": "seal",
    "local_es256_signer": "seal",
    "verify_qr_text": "seal",
    "CallbackSigner": "signing",
    "LocalPdfSigner": "signing",
    "PadesPdfSigner": "signing",
    "PdfCheck": "validation",
    "validate_pdf": "validation",
}

__all__ = [
    "CallbackSigner",
    "DocumentPipeline",
    "LocalPdfSigner",
    "LocalPki",
    "LocalQrSealer",
    "PadesPdfSigner",
    "PdfCheck",
    "ProducedDocument",
    "SealVerification",
    "build_writer",
    "der_to_raw_signature",
    "ensure_local_pki",
    "local_es256_signer",
    "local_pipeline",
    "render_pdf",
    "validate_pdf",
    "verify_qr_text",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

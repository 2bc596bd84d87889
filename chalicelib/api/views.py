"""How a certificate request is shown to its owner and to reviewers (JSON)."""

from __future__ import annotations

from typing import Any

from ..domain.documents import mask_document_number
from ..domain.requests import CertificateRequest
from ..services.certificate_requests import payment_order_view
from ..services.revocation import document_state


def request_view(request: CertificateRequest, c: Any) -> dict[str, Any]:
    applicant = request.applicant
    return {
        "request_id": request.request_id,
        "number": request.number,
        "status": request.status.value,
        "language": request.language,
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "applicant": {
            "given_names": applicant.given_names,
            "first_surname": applicant.first_surname,
            "second_surname": applicant.second_surname,
            "document_type": applicant.document_type.value,
            "document_number": mask_document_number(applicant.document_number),
        },
        "identity_attempts_left": max(0, c.settings.identity_max_attempts - request.identity_attempts),
        # After the identity check the names above are the registry's: the applicant sees them before paying.
        "identity_confirmed": request.identity_proof is not None and request.rejection is None,
        "identity_proof": request.identity_proof,
        "rejection": request.rejection,
        "payment": payment_order_view(request, c.store, c.provider),
        "receipt": request.receipt,
        "refunds": list(request.refunds),
        "result": request.result.value if request.result else None,
        "document_id": request.document_id,
        "document": document_state(request, c.store, c.clock.now()),
        "replaced_by": request.replaced_by,
        "replaces": request.replaces,
        "tracking_url": f"{c.settings.public_base_url}/track/{request.request_id}",
        "history": [{"status": h.status.value, "at": h.at.isoformat()} for h in request.history],
    }


def case_view(request: CertificateRequest) -> dict[str, Any]:
    """What a reviewer needs to decide: the applicant in full, and every candidate with score and reasons."""
    applicant = request.applicant
    return {
        "request_id": request.request_id,
        "number": request.number,
        "status": request.status.value,
        "check_outcome": request.check_outcome,
        "applicant": {**applicant.to_dict(), "full_name": applicant.full_name},
        "candidates": [
            {"record_id": c.record_id, "registry_name": c.registry_name, "score": c.score,
             "reasons": list(c.reasons), "kind": c.kind, "decision": c.decision.value,
             "decided_by": c.decided_by, "decided_at": c.decided_at.isoformat() if c.decided_at else None,
             "cases": list(c.cases)}
            for c in request.candidates],
        "result": request.result.value if request.result else None,
    }


def queue_item_view(request: CertificateRequest) -> dict[str, Any]:
    return {"request_id": request.request_id, "number": request.number, "check_outcome": request.check_outcome,
            "candidates": len(request.candidates), "pending": len(request.pending_candidates),
            "queued_at": request.updated_at.isoformat()}


def tracking_view(request: CertificateRequest, c: Any) -> dict[str, Any]:
    """The public tracking page's data: the number, where it stands and the money; nothing about the person."""
    view = request_view(request, c)
    return {key: view[key] for key in ("number", "status", "language", "created_at", "updated_at", "receipt",
                                       "refunds", "document", "history")}

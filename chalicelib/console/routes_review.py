"""The reviewer's pages: the queue (oldest first, paged, with its age), a case with the applicant and every
candidate side by side, a decision per candidate with its note, and revoking an issued certificate."""

from __future__ import annotations

import re

from chalice import Blueprint, Response

from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.issued import RevocationReason
from ..domain.operators import Role
from ..domain.requests import CandidateDecision, CertificateRequest, Status
from ..services import documents, review
from ..services.notifications import has_text, texts
from .exports import export
from .web import Ctx, field_errors, page

bp = Blueprint(__name__)
PAGE = 25
TOLD = {Status.PAID: "push.paid", Status.IN_REVIEW: "push.in_review", Status.APPROVED: "push.approved",
        Status.ISSUED: "push.issued", Status.EXPIRED: "push.expired",
        Status.IDENTITY_REJECTED: "push.identity_rejected"}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def _notice(key: str, request: CertificateRequest) -> str:
    """The notice as the citizen read it (values the page does not hold show as an ellipsis)."""
    entry = texts()[key]
    receipt = request.receipt or {}
    return entry.get(request.language, entry["es"]).format_map(_Blank(
        number=request.number, amount=str(receipt.get("amount", "…")), currency=str(receipt.get("currency", ""))))


def told(request: CertificateRequest) -> list[tuple[str, str, str | None]]:
    """What the citizen was told at each step, in their language: (status, when, the notice's text)."""
    result = []
    for entry in request.history:
        key = TOLD.get(entry.status)
        if key == "push.in_review" and request.check_outcome == "record_found":
            key = "push.in_review.record_found"
        text = _notice(key, request) if key and has_text(key) else None
        result.append((entry.status.value, entry.at.isoformat(), text))
    return result


@page(bp, "/console/review", roles=(Role.REVIEWER,))
def review_queue(ctx: Ctx) -> Response:
    raw = ctx.query.get("page", "1")
    number = int(raw) if raw.isdigit() and 1 <= int(raw) <= 40 else 1
    c = ctx.c
    limit = 1000 if ctx.query.get("format") else number * PAGE + 1
    queue, _ = review.review_queue(store=c.store, audit=c.audit, clock=c.clock, operator=ctx.operator, limit=limit)
    if ctx.query.get("format"):
        return export(ctx, "cola-revision", ["number", "check_outcome", "candidates", "pending", "queued_at"],
                      [(r.number, r.check_outcome, len(r.candidates), len(r.pending_candidates),
                        r.updated_at.isoformat()) for r in queue])
    shown = queue[(number - 1) * PAGE:number * PAGE]
    return ctx.render("review_queue.html", title=ctx.t("review.queue.title"), items=shown, page=number,
                      more=len(queue) > number * PAGE)


@page(bp, "/console/review/{request_id}", roles=(Role.REVIEWER,))
def review_case(ctx: Ctx, request_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    c = ctx.c
    case = review.open_case(request_id, store=c.store, audit=c.audit, clock=c.clock, operator=ctx.operator)
    document = c.store.get_document(case.document_id) if case.document_id else None
    state = documents.verification_view(document, c.clock.now()) if document else None
    return ctx.render("review_case.html", status=status, title=ctx.t("review.case.title", number=case.number),
                      case=case, told=told(case), document=document, state=state, errors=errors or {},
                      reason_options=reason_options(ctx), pending=CandidateDecision.PENDING,
                      reason_text=lambda r: reason_text(ctx, r))


REASONS = {"different document number in the registry": "reason.other_document",
           "no document number in the registry": "reason.no_document", "no date of birth in the registry":
           "reason.no_birth_date", "same date of birth": "reason.same_birth_date",
           "different date of birth": "reason.other_birth_date",
           "the registry's name is part of the applicant's name": "reason.part_of_name"}


def reason_text(ctx: Ctx, reason: str) -> str:
    """A candidate's reason (the matcher writes them in English) in the operator's language."""
    found = re.fullmatch(r"name similarity (\d+)/100", reason)
    if found:
        return ctx.t("reason.name_similarity", score=found.group(1))
    return ctx.t(REASONS[reason]) if reason in REASONS else reason


def reason_options(ctx: Ctx) -> list[tuple[str, str]]:
    return [("", ctx.t("form.choose"))] + [(r.value, ctx.t(f"revoke.reason.{r.value}")) for r in RevocationReason]


@page(bp, "/console/documents", roles=(Role.REVIEWER,))
def find_document(ctx: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """A certificate by its id or its verification link (what the QR opens), to revoke it."""
    ref = ctx.query.get("ref", "").strip()
    document_id = ref.rstrip("/").split("/v/")[-1].split("#")[0].split("?")[0] if ref else ""
    document = documents.lookup(document_id, ctx.c.store) if document_id else None
    if document is None:
        raise NotFound("No such document.")
    state = documents.verification_view(document, ctx.c.clock.now())
    return ctx.render("document.html", status=status, title=ctx.t("document.title", number=document.number),
                      document=document, state=state, case=None, errors=errors or {},
                      reason_options=reason_options(ctx), ref=ref)


@page(bp, "/console/review/{request_id}/candidates/{record_id}", methods=("POST",), roles=(Role.REVIEWER,))
def review_decide(ctx: Ctx, request_id: str, record_id: str) -> Response:
    form, c = ctx.form, ctx.c
    note = " ".join(form.get("note").split())
    errors: dict[str, str] = {}
    if len(note) < 5:
        errors[f"note-{record_id}"] = ctx.t("review.note_required")
    if not errors:
        try:
            review.decide(request_id, record_id, {"decision": form.get("decision"), "note": note}, store=c.store,
                          clock=c.clock, operator=ctx.operator)
            return ctx.redirect(f"/console/review/{request_id}", notice="decided")
        except NotFound:
            raise
        except DomainError as refused:
            errors = {f"{refused.field or 'form'}-{record_id}" if refused.field else "form": refused.message}
    return review_case(ctx, request_id, errors=errors, status=422)


@page(bp, "/console/documents/{document_id}/revoke", methods=("POST",), roles=(Role.REVIEWER,))
def revoke_document(ctx: Ctx, document_id: str) -> Response:
    form, c = ctx.form, ctx.c
    request_id = form.get("request_id")
    try:
        documents.revoke(document_id, {"reason": form.get("reason"), "note": form.get("note")},
                         operator=ctx.operator, store=c.store, clock=c.clock)
    except ValidationError as refused:
        errors = {f"revoke-{k}": v for k, v in field_errors(refused).items()}
        if request_id:
            return review_case(ctx, request_id, errors=errors, status=422)
        return ctx.render("document.html", status=422, title=ctx.t("document.title", number=document_id),
                          document=documents.lookup(document_id, c.store), case=None, errors=errors,
                          state=None, reason_options=reason_options(ctx), ref=document_id)
    if request_id:
        return ctx.redirect(f"/console/review/{request_id}", notice="revoked")
    return ctx.redirect(f"/console/documents?ref={document_id}", notice="revoked")

"""Public verification: the QR's page and JSON, PDF upload checks, and the published keys."""

from __future__ import annotations

import html
import json
from typing import Any

from chalice import Blueprint, Response

from ..bootstrap import container
from ..domain.documents import ISSUERS
from ..domain.errors import DomainError
from ..services import documents
from .http import handled, json_body, json_response

bp = Blueprint(__name__)


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _wants_json(request: Any) -> bool:
    accept = (request.headers.get("accept") or "").lower()
    return "application/json" in accept and "text/html" not in accept


@bp.route("/v/{document_id}", methods=["GET"])
@handled(_request)
def verify_page(document_id):  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    document = documents.lookup(document_id, c.store)
    view = documents.verification_view(document, c.clock.now())
    status = 200 if document is not None else 404
    # No caching: a revocation must show at once.
    if _wants_json(request):
        return json_response(view, status)
    return Response(body=render_page(view), status_code=status,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                             "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.route("/v1/verify", methods=["POST"], content_types=["application/pdf", "application/json"])
@handled(_request)
def verify_upload():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = json_body(request)
        text = body.get("qr_text") if isinstance(body, dict) else None
        from ..adapters.documents.seal import load_roots, verify_qr_text

        return json_response(documents.check_qr_text(
            text, store=c.store, jwks=c.jwks(), verify=verify_qr_text, clock=c.clock,
            roots=load_roots(c.pki().ca_cert_pem), origin=c.settings.public_base_url))
    raw = request.raw_body or b""
    if not raw:
        raise DomainError("Expected the PDF file as the request body.", code="missing_body", field="file")
    from ..adapters.documents import validate_pdf

    pki = c.pki()
    names = pki.signer_common_names() if hasattr(pki, "signer_common_names") else {
        pki.signer_certificate.subject.rfc4514_string().split("CN=")[-1].split(",")[0]}
    return json_response(documents.check_upload(raw, store=c.store, validate=validate_pdf,
                                                trust_roots=[pki.ca_cert_pem], signer_cn=names, clock=c.clock))


@bp.route("/.well-known/status/{issuer}/{list_id}", methods=["GET"])
@handled(_request)
def status_list(issuer, list_id):  # type: ignore[no-untyped-def]
    """The issuer's signed status list (IETF Token Status List, JWT): what offline verifiers check
    revocation and supersession against. Cacheable for as long as its ``ttl`` says."""
    c = container()
    from ..adapters.documents.status_token import TTL, sign_status_list

    token = documents.status_list_token(
        issuer, list_id, store=c.store, clock=c.clock,
        sign_list=sign_status_list(c.producer().sealer(issuer) if issuer in ISSUERS else None,
                                   c.settings.public_base_url))
    return Response(body=token, status_code=200,
                    headers={"Content-Type": "application/statuslist+jwt",
                             "Cache-Control": f"public, max-age={int(TTL.total_seconds())}"})


@bp.route("/.well-known/jwks.json", methods=["GET"])
@handled(_request)
def jwks():  # type: ignore[no-untyped-def]
    return json_response(container().jwks(), headers={"Cache-Control": "public, max-age=3600"})


@bp.route("/.well-known/ca.pem", methods=["GET"])
@handled(_request)
def ca_certificate():  # type: ignore[no-untyped-def]
    return Response(body=container().pki().ca_cert_pem.decode(), status_code=200,
                    headers={"Content-Type": "application/x-pem-file", "Cache-Control": "public, max-age=3600"})


_STATUS_TEXT = {
    "valid": ("ok", "Documento auténtico y vigente", "Authentic and current"),
    "expired": ("warn", "Documento auténtico, pero vencido", "Authentic, but expired"),
    "revoked": ("bad", "Documento revocado: no tiene valor", "Revoked: this document is not valid"),
    "superseded": ("bad", "Documento reemplazado por una revisión posterior: no tiene valor",
                   "Superseded by a later revision: this version is not valid"),
    "unknown": ("bad", "Documento no reconocido", "Unknown document: we did not issue it"),
}
_REASONS = {
    "issued_in_error": ("emitido por error", "issued in error"),
    "wrong_data": ("datos incorrectos", "wrong data"),
    "identity_fraud": ("suplantación de identidad", "identity fraud"),
    "court_order": ("orden judicial", "court order"),
    "other": ("otro motivo", "other reason"),
}


def _date(iso: str) -> str:
    from datetime import datetime

    from ..services.time import PERU

    return datetime.fromisoformat(iso).astimezone(PERU).strftime("%d/%m/%Y %H:%M")


def render_page(view: dict[str, Any]) -> str:
    """A mobile-first page in Spanish with English: the verdict first, then the data printed on the paper."""
    status = view["status"]
    tone, es, en = _STATUS_TEXT[status]
    rows = ""
    document = view.get("document")
    issuer = (view.get("issuer") or {}).get("name") or "el Estado peruano"
    if document:
        holder = ("Ámbito / Scope", document["holder_name"]) if document["kind"] == "report" else (
            "Titular / Holder", document["holder_name"])
        reference = ("Fecha y revisión / Date and revision", document["document_number"]) \
            if document["kind"] == "report" else (
            "Documento de identidad / ID", f"{document['document_type']} {document['document_number']}")
        fields = [("Emitido por / Issued by", issuer), ("Documento / Document", document["title"]),
                  ("Número / Number", document["number"]), holder, reference,
                  ("Resultado / Result", document["result"]),
                  ("Emitido / Issued", _date(document["issued_at"]) + " (hora de Perú)"),
                  ("Válido hasta / Valid until", _date(document["valid_until"]))]
        for case in document.get("cases", []):
            fields.append(("Caso / Case", " · ".join(v for v in case.values() if v)))
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in fields)
    revoked = ""
    if status == "revoked":
        reason_es, reason_en = _REASONS.get(view.get("revocation_reason") or "other", _REASONS["other"])
        revoked = (f"<p class=detail>Revocado el {_date(view['revoked_at'])} — motivo: {reason_es}.<br>"
                   f"<span lang=en>Revoked on {_date(view['revoked_at'])} — reason: {reason_en}.</span></p>")
    if status == "superseded" and view.get("superseded_at"):
        revoked = (f"<p class=detail>Reemplazado el {_date(view['superseded_at'])} por una revisión posterior; "
                   f"pida la versión vigente.<br><span lang=en>Replaced on {_date(view['superseded_at'])} by a "
                   "later revision; ask for the current one.</span></p>")
    table = f"<table>{rows}</table>" if rows else (
        "<p class=detail>Este código no corresponde a ningún documento emitido por este servicio "
        "(Instituto Nacional Penitenciario, Poder Judicial del Perú).<br>"
        "<span lang=en>This code does not match any document issued by this service.</span></p>")
    data = html.escape(json.dumps({"status": status}))
    heading = issuer if view.get("issuer") else "INPE · Poder Judicial del Perú"
    return f"""<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Verificación de documento — {html.escape(issuer)}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1b1b1b}}
header{{background:#7a0c0c;color:#fff;padding:.8rem 1rem;font-size:.95rem}}
main{{max-width:34rem;margin:0 auto;padding:1rem}}
.verdict{{border-radius:.8rem;padding:1.1rem;margin:.5rem 0 1rem;font-size:1.35rem;font-weight:700}}
.verdict small{{display:block;font-size:1rem;font-weight:500;margin-top:.3rem}}
.ok{{background:#e3f5e8;border:2px solid #1e7d3a;color:#11522a}}
.warn{{background:#fff4db;border:2px solid #a86b00;color:#6b4500}}
.bad{{background:#fde7e7;border:2px solid #a61b1b;color:#7a0c0c}}
table{{width:100%;border-collapse:collapse;background:#fff;border-radius:.6rem;overflow:hidden}}
th,td{{text-align:left;padding:.6rem .7rem;border-bottom:1px solid #e5e5e5;vertical-align:top;font-size:1rem}}
th{{width:40%;color:#555;font-weight:600;font-size:.9rem}}
.detail{{font-size:1rem}} footer{{color:#666;font-size:.85rem;padding:1rem 0}}
</style></head>
<body data-verification="{data}"><header>{html.escape(heading)} · Verificación de documentos</header>
<main><div class="verdict {tone}" id="verdict" data-status="{status}">{html.escape(es)}
<small lang="en">{html.escape(en)}</small></div>{revoked}{table}
<footer>Compare estos datos con los del documento impreso. Los datos personales se muestran
parcialmente ocultos.<br><span lang="en">Compare this data with the printed document. Personal data is
partly masked.</span></footer></main></body></html>"""

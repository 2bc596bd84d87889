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
from .http import handled, json_body, json_response, sends_json

bp = Blueprint(__name__)


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def _wants_json(request: Any) -> bool:
    accept = (request.headers.get("accept") or "").lower()
    return "application/json" in accept and "text/html" not in accept


# The page has no script and loads nothing; its one form posts the PDF back to this site, and nowhere else.
PAGE_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'"}


@bp.route("/v/check", methods=["GET"])
@handled(_request)
def upload_page():  # type: ignore[no-untyped-def]
    """The form the printed certificate promises: upload the PDF to check its signature and content."""
    return Response(body=render_upload_page(), status_code=200, headers=PAGE_HEADERS)


@bp.route("/v/check", methods=["POST"], content_types=["multipart/form-data"])
@handled(_request)
def upload_check():  # type: ignore[no-untyped-def]
    """The form's POST: the PDF's verdict as a page (the same check as POST /v1/verify)."""
    request, c = bp.current_request, container()
    pdf = form_file(request.headers.get("content-type") or "", request.raw_body or b"")
    from ..adapters.documents import validate_pdf

    pki = c.pki()
    signer_cn = pki.signer_certificate.subject.rfc4514_string().split("CN=")[-1].split(",")[0]
    try:
        result = documents.check_upload(pdf, store=c.store, validate=validate_pdf, trust_roots=[pki.ca_cert_pem],
                                        signer_cn=signer_cn, clock=c.clock)
    except DomainError as error:
        return Response(body=render_upload_page(problem=error.code), status_code=error.status, headers=PAGE_HEADERS)
    return Response(body=render_upload_result(result), status_code=200, headers=PAGE_HEADERS)


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
    return Response(body=render_page(view), status_code=status, headers=PAGE_HEADERS)


def form_file(content_type: str, body: bytes, name: str = "file") -> bytes:
    """The named file of a multipart/form-data body (parsed with the standard library's MIME parser)."""
    from email import policy
    from email.parser import BytesParser

    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise DomainError("Expected a form with the PDF file.", code="missing_body", field="file")
    if len(body) > documents.MAX_UPLOAD_BYTES + 64 * 1024:
        from ..domain.errors import PayloadTooLarge

        raise PayloadTooLarge(f"The PDF is larger than {documents.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") == name:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                return data
    raise DomainError("Choose the PDF file to check.", code="missing_body", field="file")


@bp.route("/v1/verify", methods=["POST"], content_types=["application/pdf", "application/json"])
@handled(_request)
def verify_upload():  # type: ignore[no-untyped-def]
    request, c = bp.current_request, container()
    if sends_json(request):
        from .models import QrCheck, parse

        text = parse(QrCheck, json_body(request)).qr_text
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
_UPLOAD_TEXT = {
    "authentic": ("ok", "El PDF es el que emitimos, sin cambios", "This PDF is the one we issued, unchanged"),
    "altered": ("bad", "El PDF fue modificado después de firmarse: no tiene valor",
                "This PDF was changed after it was signed: it is not valid"),
    "not_ours": ("bad", "El PDF no tiene una firma del INPE", "This PDF carries no INPE signature"),
}
_PROBLEMS = {
    "not_a_pdf": ("El archivo no es un PDF.", "The file is not a PDF."),
    "payload_too_large": ("El archivo es demasiado grande (máximo 5 MB).", "The file is too large (at most 5 MB)."),
    "missing_body": ("Elija el archivo PDF que desea verificar.", "Choose the PDF file to check."),
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


def _result(document: dict[str, Any]) -> str:
    """The result printed on the paper; for REGISTRA, how many cases (the cases stay on the holder's PDF)."""
    result = str(document.get("result") or "")
    count = int(document.get("cases_count") or 0)
    if count:
        result += f" — {count} {'caso' if count == 1 else 'casos'} / {count} {'case' if count == 1 else 'cases'}"
    return result


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1b1b1b}
header{background:#7a0c0c;color:#fff;padding:.8rem 1rem;font-size:.95rem}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1.verdict{border-radius:.8rem;padding:1.1rem;margin:.5rem 0 1rem;font-size:1.35rem;font-weight:700}
h1.verdict small{display:block;font-size:1rem;font-weight:500;margin-top:.3rem}
.ok{background:#e3f5e8;border:2px solid #1e7d3a;color:#11522a}
.warn{background:#fff4db;border:2px solid #a86b00;color:#6b4500}
.bad{background:#fde7e7;border:2px solid #a61b1b;color:#7a0c0c}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:.6rem;overflow:hidden}
th,td{text-align:left;padding:.6rem .7rem;border-bottom:1px solid #e5e5e5;vertical-align:top;font-size:1rem}
th{width:40%;color:#555;font-weight:600;font-size:.9rem}
form{background:#fff;border-radius:.6rem;padding:1rem;margin:1rem 0}
label{display:block;font-weight:600;margin-bottom:.5rem}
button{font-size:1rem;padding:.6rem 1rem;margin-top:.8rem;background:#7a0c0c;color:#fff;border:0;border-radius:.4rem}
.detail{font-size:1rem} footer{color:#555;font-size:.85rem;padding:1rem 0}
.verdict-status{padding:.7rem .9rem;border-radius:.6rem;font-weight:600;margin:0 0 1rem}
"""


def _layout(title: str, body: str, data: dict[str, Any], issuer: str | None = None) -> str:
    heading = issuer or "Instituto Nacional Penitenciario · Poder Judicial del Perú"
    return f"""<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} — {html.escape(heading)}</title>
<style>{_STYLE}</style></head>
<body data-verification="{html.escape(json.dumps(data))}"><header>{html.escape(heading)} · Verificación
de documentos</header>
<main>{body}</main></body></html>"""


def _verdict(tone: str, status: str, es: str, en: str) -> str:
    return (f'<h1 class="verdict {tone}" id="verdict" data-status="{html.escape(status)}">{html.escape(es)}'
            f'<small lang="en">{html.escape(en)}</small></h1>')


def _upload_form(action: str = "check") -> str:
    return f"""<form method="post" action="{action}" enctype="multipart/form-data">
<label for="file">Verifique el PDF del documento <span lang="en">/ Check the document's PDF</span></label>
<input id="file" name="file" type="file" accept="application/pdf,.pdf" required>
<p class="detail">Comprobamos su firma digital y que sea exactamente el archivo que emitimos.<br>
<span lang="en">We check its digital signature and that it is exactly the file we issued.</span></p>
<button type="submit">Verificar / Check</button></form>"""


def _document_table(document: dict[str, Any], issuer: str | None = None) -> str:
    report = document.get("kind") == "report"
    holder = ("Ámbito / Scope" if report else "Titular / Holder", document["holder_name"])
    reference = ("Fecha y revisión / Date and revision", document["document_number"]) if report else (
        "Documento de identidad / ID", f"{document['document_type']} {document['document_number']}")
    fields = [*([("Emitido por / Issued by", issuer)] if issuer else []),
              ("Documento / Document", document["title"]), ("Número / Number", document["number"]),
              holder, reference, ("Resultado / Result", _result(document)),
              ("Emitido / Issued", _date(document["issued_at"]) + " (hora de Perú)"),
              ("Válido hasta / Valid until", _date(document["valid_until"]))]
    rows = "".join(f"<tr><th scope=row>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in fields)
    return f"<table>{rows}</table>"


def render_page(view: dict[str, Any]) -> str:
    """A mobile-first page in Spanish with English: the verdict as the heading, then what the paper must say."""
    status = view["status"]
    tone, es, en = _STATUS_TEXT[status]
    document = view.get("document")
    issuer = (view.get("issuer") or {}).get("name")
    revoked = ""
    if status == "revoked":
        reason_es, reason_en = _REASONS.get(view.get("revocation_reason") or "other", _REASONS["other"])
        revoked = (f"<p class=detail>Revocado el {_date(view['revoked_at'])} — motivo: {reason_es}.<br>"
                   f"<span lang=en>Revoked on {_date(view['revoked_at'])} — reason: {reason_en}.</span></p>")
    if status == "superseded" and view.get("superseded_at"):
        revoked = (f"<p class=detail>Reemplazado el {_date(view['superseded_at'])} por una revisión posterior; "
                   f"pida la versión vigente.<br><span lang=en>Replaced on {_date(view['superseded_at'])} by a "
                   "later revision; ask for the current one.</span></p>")
    table = _document_table(document, issuer) if document else (
        "<p class=detail>Este código no corresponde a ningún documento emitido por este servicio "
        "(Instituto Nacional Penitenciario, Poder Judicial del Perú).<br>"
        "<span lang=en>This code does not match any document issued by this service.</span></p>")
    footer = ("<footer>Compare estos datos con los del documento impreso, resultado incluido. Los datos personales "
              "se muestran parcialmente ocultos y el detalle de los casos solo figura en el documento del titular."
              "<br><span lang=\"en\">Compare this data with the printed document, result included. Personal data is "
              "partly masked, and the cases are detailed only on the holder's document.</span></footer>")
    body = _verdict(tone, status, es, en) + revoked + table + (_upload_form() if document else "") + footer
    return _layout(es, body, {"status": status}, issuer)


def render_upload_page(problem: str | None = None) -> str:
    es, en = _PROBLEMS.get(problem or "", ("", ""))
    notice = f'<p class="detail" role="alert">{html.escape(es)}<br><span lang="en">{html.escape(en)}</span></p>' \
        if problem else ""
    body = ("<h1>Verificar un documento del INPE <small lang=\"en\">Check an INPE document</small></h1>" + notice
            + _upload_form())
    return _layout("Verificar un documento", body, {"status": "form"})


def render_upload_result(result: dict[str, Any]) -> str:
    """An uploaded PDF's verdict: the file itself first (ours, unchanged?), then the document's standing."""
    verdict = str(result.get("verdict"))
    tone, es, en = _UPLOAD_TEXT.get(verdict, _UPLOAD_TEXT["not_ours"])
    body = _verdict(tone, verdict, es, en)
    if verdict == "authentic":
        status = result["status"]
        s_tone, s_es, s_en = _STATUS_TEXT[status]
        body += f'<p class="detail verdict-status {s_tone}" data-status="{html.escape(status)}">{html.escape(s_es)}' \
                f'<br><span lang="en">{html.escape(s_en)}</span></p>'
        body += _document_table(result["document"])
    return _layout(es, body + _upload_form(), {"verdict": verdict, "status": result.get("status")})

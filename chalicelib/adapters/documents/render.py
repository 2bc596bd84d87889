"""Lays out the signed documents: the certificate and attendance certificate (A4 portrait) and the daily
incident report of annex 4 (A4 landscape, one table row per incident), each with its issuer's heading, a
visible signature block and the verification block with the vector QR; written as tagged PDF/A-2b."""

from __future__ import annotations

import io
from collections.abc import Iterable

from pyhanko.pdf_utils.writer import PdfFileWriter

from chalicelib.adapters.documents import qr
from chalicelib.adapters.documents.layout import (
    BOLD,
    REGULAR,
    SUBSETS,
    TIME_SUFFIX,
    Flow,
    Page,
    Tags,
    Text,
    clean_text,
    font_face,
    font_path,
    format_peru_time,
    text_lines,
    text_width,
    wrap,
)
from chalicelib.adapters.documents.pdfa import write_document
from chalicelib.domain.documents import DocumentContent, Issuer, ReportContent, SignedContent

__all__ = ["TIME_SUFFIX", "build_writer", "clean_text", "font_path", "format_peru_time", "render_pdf", "warm_up",
           "wrap"]

PORTRAIT = (595.28, 841.89)  # A4 in points
LANDSCAPE = (841.89, 595.28)
MARGIN = 48.0
REPORT_MARGIN = 36.0
QR_SIDE = 150.0  # symbol without quiet zone
REPORT_QR_SIDE = 118.0
FOOTER_HEIGHT = 22.0
VERIFY_BLOCK_HEIGHT = QR_SIDE + 28.0  # kept free at the bottom of page 1
SIGNATURE_BLOCK_HEIGHT = 42.0

HOW_TO_VERIFY_TITLE = "Cómo verificar"
HOW_TO_VERIFY = (
    "Escanee el código QR con la cámara de su teléfono o abra la dirección de abajo en un "
    "navegador: verá si el documento es auténtico y está vigente. En esa página también puede "
    "subir este PDF para comprobar que su firma digital es válida y que no fue modificado. "
    "El QR lleva los datos esenciales firmados, que se pueden comprobar sin conexión."
)
QR_ALT = "Código QR de verificación del documento {number}: abre {url}"

REPORT_COLUMNS = ("Fecha y hora", "Nombre completo", "Documento de identidad", "Expediente y órgano jurisdiccional",
                  "Tipo de incidencia", "Detalle", "Observaciones", "Estado")
REPORT_FRACTIONS = (0.075, 0.165, 0.095, 0.16, 0.095, 0.185, 0.145, 0.08)  # full names and case files fit a line


def _signature_block(page: Page, tags: Tags, issuer: Issuer, content: SignedContent, x: float, y: float,
                     width: float) -> None:
    """The visible signature: who signed, when, the document number; the signature field lies over it."""
    page.graphics.append(f"0.97 g 0.2 G 0.8 w {x:.2f} {y:.2f} {width:.2f} {SIGNATURE_BLOCK_HEIGHT:.2f} re B 0 g 0 G")
    tag = tags.add("P")
    lines = (
        (BOLD, f"Firmado digitalmente por: {issuer.name}"),
        (REGULAR, f"Fecha y hora de la firma: {format_peru_time(content.issued_at)} · "
                  f"Documento N.° {clean_text(content.number)}"),
        (REGULAR, "Firma electrónica PAdES con sello de tiempo y datos de validación incorporados."),
    )
    baseline = y + SIGNATURE_BLOCK_HEIGHT - 13
    for font, line in lines:
        fitted = text_lines(font, line, 8.5, width - 16)[0]
        page.texts.append(Text(font, 8.5, x + 8, baseline, fitted, tag=tag))
        baseline -= 11
    form = tags.add("Form")
    page.annotations.append((form, (x, y, x + width, y + SIGNATURE_BLOCK_HEIGHT)))


def _verification_block(flow: Flow, page: Page, content: SignedContent, qr_text: str, *, top: float,
                        qr_side: float, qr_x: float, text_x: float, text_width_: float) -> float:
    """Draws the explanation, the URL and the QR from ``top`` down; returns the lowest y it used."""
    block = Flow(flow.width, flow.height, flow.margin, 0, flow.tags)
    block.pages = [page]
    block.y = top
    section = flow.tags.add("Sect")
    block.block("H2", HOW_TO_VERIFY_TITLE, BOLD, 12.5, section, x=text_x, width=text_width_)
    block.block("P", HOW_TO_VERIFY, REGULAR, 9.5, section, x=text_x, width=text_width_)
    block.space(3)
    block.block("P", clean_text(content.verification_url), BOLD, 9.5, section, x=text_x, width=text_width_)
    figure = flow.tags.add("Figure", section, alt=QR_ALT.format(number=content.number, url=content.verification_url))
    qr_y = top - qr_side - 2
    page.figures.append((figure, qr.pdf_path(qr.encode(qr_text), qr_x, qr_y, qr_side)))
    return min(block.y, qr_y)


def _footer(pages: list[Page], note: str, margin: float) -> None:
    """The issuer's note and "Página i de n" on every page (artifacts: page furniture)."""
    total = len(pages)
    for index, page in enumerate(pages, start=1):
        page.texts.append(Text(REGULAR, 8.5, margin, margin + 4, note, 0.3))
        label = f"Página {index} de {total}"
        width = font_face(REGULAR).text_width(label, 8.5)
        page.texts.append(Text(REGULAR, 8.5, page.width - margin - width, margin + 4, label, 0.3))


def _heading(flow: Flow, issuer: Issuer, title: str, number: str) -> None:
    flow.block("P", issuer.heading, BOLD, 15, align="center")
    flow.block("P", issuer.unit, REGULAR, 12, align="center", gray=0.2)
    flow.rule(1.2, 14)
    flow.block("H1", title, BOLD, 18, align="center")
    flow.block("P", f"N.° {number}", REGULAR, 13, align="center")


def _continuation(title: str) -> object:
    def draw(flow: Flow) -> None:
        flow.paragraph(title, BOLD, 11, gray=0.3)  # page furniture: an artifact
        flow.rule()

    return draw


def _certificate_pages(content: DocumentContent, qr_text: str, tags: Tags) -> list[Page]:
    issuer = content.issuer
    title, number = clean_text(content.title), clean_text(content.number)
    width, height = PORTRAIT
    reserved = MARGIN + FOOTER_HEIGHT + VERIFY_BLOCK_HEIGHT + SIGNATURE_BLOCK_HEIGHT + 20
    flow = Flow(width, height, MARGIN, reserved, tags, _continuation(f"{title} N.° {number} (continuación)"))  # type: ignore[arg-type]
    _heading(flow, issuer, title, number)
    flow.space(14)
    flow.field("Titular", clean_text(content.holder_name), value_font=BOLD, value_size=16)
    flow.field("Documento de identidad", clean_text(f"{content.document_type} {content.document_number}"))
    flow.space(4)
    flow.boxed(clean_text(content.result), BOLD, 20)
    flow.space(12)
    if content.cases:
        flow.block("H2", "Antecedentes confirmados", BOLD, 13, keep_with_next=60)
        flow.space(2)
        flow.table(
            ("Expediente", "Órgano jurisdiccional", "Delito", "Fecha"),
            (0.39, 0.29, 0.18, 0.14),  # a case file number fits on one line
            (tuple(clean_text(cell) for cell in (case.case_file, case.court, case.offence, case.date))
             for case in content.cases),
        )
        flow.space(12)
    for label, value in content.extra_lines:
        flow.field(clean_text(label), clean_text(value))
    flow.field("Fecha y hora de emisión", format_peru_time(content.issued_at))
    flow.field("Válido hasta", format_peru_time(content.valid_until))

    first = flow.pages[0]
    block_top = MARGIN + FOOTER_HEIGHT + VERIFY_BLOCK_HEIGHT
    _signature_block(first, tags, issuer, content, MARGIN, block_top + 8, flow.content_width)
    first.graphics.append(f"0.8 w {MARGIN:.2f} {block_top:.2f} m {width - MARGIN:.2f} {block_top:.2f} l S")
    _verification_block(flow, first, content, qr_text, top=block_top - 8, qr_side=QR_SIDE,
                        qr_x=width - MARGIN - QR_SIDE, text_x=MARGIN, text_width_=flow.content_width - QR_SIDE - 18)
    _footer(flow.pages, issuer.signed_note, MARGIN)
    return flow.pages


def _report_rows(content: ReportContent) -> Iterable[tuple[str, ...]]:
    for row in content.rows:
        yield tuple(clean_text(cell) for cell in (
            format_peru_time(row.occurred_at).replace(f" {TIME_SUFFIX}", ""), row.full_name, row.identity_document,
            f"{row.case_file} — {row.court}", row.incident_type, row.detail, row.observations, row.status))


def _report_pages(content: ReportContent, qr_text: str, tags: Tags) -> list[Page]:
    issuer = content.issuer
    title, number = clean_text(content.title), clean_text(content.number)
    width, height = LANDSCAPE
    flow = Flow(width, height, REPORT_MARGIN, REPORT_MARGIN + FOOTER_HEIGHT, tags,
                _continuation(f"{title} N.° {number} — Distrito Judicial de {clean_text(content.district)} — "  # type: ignore[arg-type]
                              f"{content.day:%d/%m/%Y} (continuación)"))
    flow.next_bottom = REPORT_MARGIN + FOOTER_HEIGHT
    header_width = flow.content_width - REPORT_QR_SIDE - 250
    flow.block("P", issuer.heading, BOLD, 13, width=header_width)
    flow.block("P", issuer.unit, REGULAR, 10.5, gray=0.2, width=header_width)
    flow.block("H1", title, BOLD, 15, width=header_width)
    flow.block("P", f"N.° {number}", REGULAR, 11, width=header_width)
    flow.space(4)
    fields = [("Distrito judicial", content.district), ("Fecha del reporte", f"{content.day:%d/%m/%Y}"),
              ("Revisión", str(content.revision) + (f" (reemplaza al reporte N.° {content.supersedes})"
                                                    if content.supersedes else "")),
              ("Elaborado por", content.prepared_by), ("Incidencias", content.result)]
    for label, value in fields:
        flow.block("P", clean_text(f"{label}: {value}"), REGULAR, 9.5, width=header_width)
    header_bottom = flow.y
    first = flow.pages[0]
    top = height - REPORT_MARGIN
    block_x = REPORT_MARGIN + header_width + 12
    block_bottom = _verification_block(flow, first, content, qr_text, top=top, qr_side=REPORT_QR_SIDE,
                                       qr_x=width - REPORT_MARGIN - REPORT_QR_SIDE, text_x=block_x,
                                       text_width_=width - REPORT_MARGIN - REPORT_QR_SIDE - 12 - block_x)
    flow.y = min(header_bottom, block_bottom) - 6
    _signature_block(first, tags, issuer, content, REPORT_MARGIN, flow.y - SIGNATURE_BLOCK_HEIGHT, flow.content_width)
    flow.y -= SIGNATURE_BLOCK_HEIGHT + 10
    if content.rows:
        flow.table(REPORT_COLUMNS, REPORT_FRACTIONS, _report_rows(content), size=7.5)
    else:
        flow.block("P", "No se registraron incidencias en el distrito judicial en esta fecha.", REGULAR, 11)
    _footer(flow.pages, issuer.signed_note, REPORT_MARGIN)
    return flow.pages


def build_writer(content: SignedContent, qr_text: str | None = None) -> PdfFileWriter:
    """Lay out ``content`` and return a pyHanko writer holding the unsigned PDF/A document.

    ``qr_text`` is what the QR encodes; by default the verification URL alone.
    Signing this writer directly avoids writing and parsing the PDF twice.
    """
    text = qr_text if qr_text is not None else content.verification_url
    tags = Tags()
    if isinstance(content, ReportContent):
        pages = _report_pages(content, text, tags)
        subject = f"Reporte de incidencias del Distrito Judicial de {content.district}, {content.day:%d/%m/%Y}"
    else:
        pages = _certificate_pages(content, text, tags)
        subject = f"{content.title} de {content.holder_name}"
    return write_document(
        pages, tags, title=f"{clean_text(content.title)} N.° {clean_text(content.number)}",
        author=content.issuer.name, subject=clean_text(subject), created=content.issued_at,
        signature_field=content.issuer.signature_field)


def warm_up(qr_versions: Iterable[int] = range(8, 14)) -> None:
    """Build the per-process caches (fonts, base subsets, QR tables) ahead of the first document.

    About 60 ms; worth doing while a Lambda function initialises rather than on its
    first request. Signs nothing and touches no key.
    """
    for key in (REGULAR, BOLD):
        SUBSETS.get(key, frozenset())
    for version in qr_versions:
        qr.prepare(version)
    text_width(REGULAR, "", 10)


def render_pdf(content: SignedContent, qr_text: str | None = None) -> bytes:
    """An unsigned PDF of ``content``; the QR encodes ``qr_text`` (default: the verification URL)."""
    out = io.BytesIO()
    build_writer(content, qr_text).write(out)
    return out.getvalue()

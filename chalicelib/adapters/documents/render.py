"""Renders a document's content as an unsigned A4 PDF with pyHanko's writer, an embedded font and a vector QR."""

from __future__ import annotations

import hashlib
import io
import threading
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from chalicelib.adapters.documents import qr
from chalicelib.adapters.documents.ttf import REPLACEMENT_CHARACTER, FontSubset, TrueTypeFont
from chalicelib.domain.documents import DocumentContent

PAGE_WIDTH = 595.28  # A4 in points
PAGE_HEIGHT = 841.89
MARGIN = 48.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIDE = 150.0  # symbol without quiet zone; about 2 pt a module at version 15
FOOTER_HEIGHT = 22.0
VERIFY_BLOCK_HEIGHT = QR_SIDE + 28.0  # kept free at the bottom of page 1
LEADING = 1.3

REGULAR = "F1"
BOLD = "F2"
_FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_PACKAGED_FONTS = Path(__file__).with_name("fonts")
_SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")

INSTITUTION = "INSTITUTO NACIONAL PENITENCIARIO"
DIRECTORATE = "Dirección de Registro Penitenciario"
HOW_TO_VERIFY_TITLE = "Cómo verificar"
HOW_TO_VERIFY = (
    "Escanee el código QR con la cámara de su teléfono o abra la dirección de abajo en un "
    "navegador: verá si el documento es auténtico y está vigente. En esa página también puede "
    "subir este PDF para comprobar que su firma digital es válida y que no fue modificado. "
    "El QR lleva los datos esenciales firmados, que se pueden comprobar sin conexión."
)
SIGNED_NOTE = "Documento firmado digitalmente por el Instituto Nacional Penitenciario (INPE)."
# Attendance certificates belong to the judiciary's virtual control; the platform signs them for it.
_JUDICIARY = ("PODER JUDICIAL DEL PERÚ", "Control Virtual Penal de Procesados y Sentenciados Libres",
              "Documento firmado digitalmente; verifíquelo con su código QR.")
HEADINGS = {"attendance": _JUDICIARY, "report": _JUDICIARY}
TIME_SUFFIX = "(hora de Perú)"

# Characters every document may use; a subset of exactly these glyphs is built once per
# process and reused, so that only names in other scripts cost a new font subset.
_BASE_CHARS = frozenset(
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "".join(chr(code) for code in range(0xA0, 0x180))
    + "‐–—‘’“”„•…€°ºª"
)


def font_path(file_name: str) -> Path:
    """Path of a bundled font: the copy inside the package first (what Lambda has), then Debian's."""
    for directory in (_PACKAGED_FONTS, _SYSTEM_FONTS):
        candidate = directory / file_name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"font {file_name} not found in {_PACKAGED_FONTS} or {_SYSTEM_FONTS}")


@cache
def _font(key: str) -> TrueTypeFont:
    return TrueTypeFont.from_path(font_path(_FONT_FILES[key]))


@cache
def _supported_chars() -> frozenset[str]:
    """Characters both the regular and the bold font can draw."""
    return frozenset(_font(REGULAR).char_widths) & frozenset(_font(BOLD).char_widths)


@cache
def _lima() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Lima")
    except Exception:  # noqa: BLE001 - no tz database (slim images): Peru has kept UTC-5, no DST, since 1994
        return timezone(timedelta(hours=-5), "PET")


def format_peru_time(moment: datetime) -> str:
    """``22/11/2026 10:15 (hora de Perú)``."""
    return f"{moment.astimezone(_lima()):%d/%m/%Y %H:%M} {TIME_SUFFIX}"


def clean_text(text: str) -> str:
    """NFC-normalise and replace what the font cannot draw, so that every name renders."""
    text = unicodedata.normalize("NFC", text)
    supported = _supported_chars()
    if supported.issuperset(text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in supported:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch)[0] == "C":
            continue  # control and format characters have no glyph and no meaning on paper
        else:
            out.append(REPLACEMENT_CHARACTER)
    return "".join(out)


class _RawObject(generic.PdfObject):
    """An object serialised in advance.

    pyHanko serialises names byte by byte in Python; the font resources alone
    cost about a millisecond per document that way. These objects never change
    (or only in their references), so their bytes are prepared once.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self._data)


def _raw_stream(encoded: bytes, extra: bytes = b"") -> _RawObject:
    header = b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(encoded), extra)
    return _RawObject(header + encoded + b"\nendstream")


@dataclass(frozen=True, slots=True)
class _EmbeddedFont:
    """A font subset and its PDF objects; ``%d`` in the templates are object numbers."""

    subset: FontSubset
    encode: Callable[[str], str]  # cached FontSubset.encode: static texts recur in every document
    font_file: _RawObject
    to_unicode: _RawObject
    descriptor: bytes  # % font file
    cid_font: bytes  # % descriptor
    type0: bytes  # % (CID font, ToUnicode)


def _embedded_font(key: str, subset: FontSubset) -> _EmbeddedFont:
    digest = hashlib.sha256("".join(sorted(subset.codes)).encode("utf-8")).digest()
    tag = "".join(chr(65 + byte % 26) for byte in digest[:6])  # subset prefix, e.g. "KQBXWZ+"
    name = f"/{tag}+{subset.postscript_name}".encode("ascii")
    face = _font(key)
    scale = 1000 / face.units_per_em
    bbox = b" ".join(b"%d" % round(v * scale) for v in face.bbox)
    widths = b" ".join(b"%d" % w for w in subset.widths)
    descriptor = (
        b"<< /Type /FontDescriptor /FontName %s /Flags 32 /FontBBox [%s] /ItalicAngle %g"
        b" /Ascent %d /Descent %d /CapHeight %d /StemV %d /FontFile2 %%d 0 R >>"
        % (
            name,
            bbox,
            face.italic_angle,
            round(face.ascent * scale),
            round(face.descent * scale),
            round(face.cap_height * scale),
            face.stem_v,
        )
    )
    cid_font = (
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont %s"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor %%d 0 R /CIDToGIDMap /Identity /W [0 [%s]] >>" % (name, widths)
    )
    type0 = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont %s /Encoding /Identity-H"
        b" /DescendantFonts [%%d 0 R] /ToUnicode %%d 0 R >>" % name
    )
    return _EmbeddedFont(
        subset=subset,
        encode=lru_cache(maxsize=1024)(subset.encode),
        font_file=_raw_stream(subset.font_file, b" /Length1 %d" % subset.font_file_length),
        to_unicode=_raw_stream(subset.to_unicode),
        descriptor=descriptor,
        cid_font=cid_font,
        type0=type0,
    )


class _SubsetCache:
    """Font subsets by (font, extra characters beyond the base set), least recently used out."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, frozenset[str]], _EmbeddedFont] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, extra: frozenset[str]) -> _EmbeddedFont:
        with self._lock:
            found = self._items.get((key, extra))
            if found is not None:
                self._items.move_to_end((key, extra))
                return found
        embedded = _embedded_font(key, _font(key).subset(_BASE_CHARS | extra))
        with self._lock:
            self._items[(key, extra)] = embedded
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return embedded


_SUBSETS = _SubsetCache()


@dataclass(slots=True)
class _Text:
    font: str
    size: float
    x: float
    y: float
    text: str
    gray: float = 0.0


@dataclass(slots=True)
class _Page:
    graphics: list[str] = field(default_factory=list)
    texts: list[_Text] = field(default_factory=list)


def wrap(font: TrueTypeFont, text: str, size: float, width: float) -> list[str]:
    """Greedy line breaking at spaces; words wider than the line are cut between characters."""
    widths = font.char_widths
    limit = width * 1000 / size  # compare in font units: no float scaling per word
    space = widths[" "]
    lines: list[str] = []
    current = ""
    current_width = 0.0
    for word in text.split():
        word_width = sum(map(widths.__getitem__, word))
        if current and current_width + space + word_width <= limit:
            current += " " + word
            current_width += space + word_width
            continue
        if current:
            lines.append(current)
        while word_width > limit and len(word) > 1:
            cut, used = 0, 0.0
            while cut < len(word) and used + widths[word[cut]] <= limit:
                used += widths[word[cut]]
                cut += 1
            cut = max(cut, 1)
            lines.append(word[:cut])
            word = word[cut:]
            word_width = sum(map(widths.__getitem__, word))
        current, current_width = word, word_width
    if current or not lines:
        lines.append(current)
    return lines


@lru_cache(maxsize=2048)
def _lines(font: str, text: str, size: float, width: float) -> tuple[str, ...]:
    """Cached :func:`wrap`: most of a page (headings, labels, explanations) is the same every time."""
    return tuple(wrap(_font(font), text, size, width))


@lru_cache(maxsize=2048)
def _width(font: str, text: str, size: float) -> float:
    return _font(font).text_width(text, size)


class _Flow:
    """Top-to-bottom single-column layout that continues on new pages when needed."""

    def __init__(self, continuation_title: str) -> None:
        self.pages: list[_Page] = [_Page()]
        self.y = PAGE_HEIGHT - MARGIN
        self.bottom = MARGIN + FOOTER_HEIGHT + VERIFY_BLOCK_HEIGHT + 12
        self._continuation_title = continuation_title

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = PAGE_HEIGHT - MARGIN
        self.bottom = MARGIN + FOOTER_HEIGHT
        self.paragraph(self._continuation_title, BOLD, 11, gray=0.3)
        self.rule()

    def ensure(self, height: float) -> None:
        if self.y - height < self.bottom and self.y < PAGE_HEIGHT - MARGIN - 40:
            self.new_page()

    def space(self, height: float) -> None:
        self.y -= height

    def rule(self, width: float = 0.8, gap: float = 8) -> None:
        self.y -= gap / 2
        self.page.graphics.append(
            f"{width:.2f} w {MARGIN:.2f} {self.y:.2f} m {PAGE_WIDTH - MARGIN:.2f} {self.y:.2f} l S"
        )
        self.y -= gap / 2

    def paragraph(
        self,
        text: str,
        font: str,
        size: float,
        *,
        align: str = "left",
        gray: float = 0.0,
        x: float = MARGIN,
        width: float = CONTENT_WIDTH,
        keep_with_next: float = 0.0,
    ) -> None:
        lines = _lines(font, text, size, width)
        line_height = size * LEADING
        self.ensure(min(len(lines) * line_height, 3 * line_height) + keep_with_next)
        for line in lines:
            self.ensure(line_height + keep_with_next)
            baseline = self.y - size * 0.95
            left = x
            if align == "center":
                left = x + (width - _width(font, line, size)) / 2
            self.page.texts.append(_Text(font, size, left, baseline, line, gray))
            self.y -= line_height

    def field(self, label: str, value: str, *, value_font: str = REGULAR, value_size: float = 14) -> None:
        """A label in small grey type above its value, kept on the same page."""
        self.paragraph(label, REGULAR, 10.5, gray=0.35, keep_with_next=value_size * LEADING)
        self.paragraph(value, value_font, value_size)
        self.space(6)

    def boxed(self, text: str, font: str, size: float) -> None:
        padding = 10.0
        lines = _lines(font, text, size, CONTENT_WIDTH - 2 * padding)
        line_height = size * LEADING
        height = len(lines) * line_height + 2 * padding
        self.ensure(height)
        top = self.y
        self.page.graphics.append(
            f"0.94 g 1.2 w {MARGIN:.2f} {top - height:.2f} {CONTENT_WIDTH:.2f} {height:.2f} re B 0 g"
        )
        y = top - padding
        for line in lines:
            left = MARGIN + (CONTENT_WIDTH - _width(font, line, size)) / 2
            self.page.texts.append(_Text(font, size, left, y - size * 0.95, line))
            y -= line_height
        self.y = top - height

    def table(self, headers: tuple[str, ...], fractions: tuple[float, ...], rows: Iterable[tuple[str, ...]]) -> None:
        size = 10.0
        padding = 4.0
        line_height = size * LEADING
        widths = [CONTENT_WIDTH * fraction for fraction in fractions]
        lefts = [MARGIN + sum(widths[:i]) for i in range(len(widths))]

        def draw_row(cells: tuple[str, ...], font: str, shade: bool) -> None:
            wrapped = [_lines(font, cell, size, w - 2 * padding) for cell, w in zip(cells, widths, strict=True)]
            height = max(len(lines) for lines in wrapped) * line_height + 2 * padding
            if self.y - height < self.bottom:
                self.new_page()
                if not shade:
                    draw_row(headers, BOLD, True)
            top = self.y
            fill = "0.9 g " if shade else ""
            operator = "B" if shade else "S"
            for left, w, lines in zip(lefts, widths, wrapped, strict=True):
                self.page.graphics.append(
                    f"{fill}0.6 w {left:.2f} {top - height:.2f} {w:.2f} {height:.2f} re {operator} 0 g"
                )
                y = top - padding
                for line in lines:
                    self.page.texts.append(_Text(font, size, left + padding, y - size * 0.95, line))
                    y -= line_height
            self.y = top - height

        draw_row(headers, BOLD, True)
        for row in rows:
            draw_row(row, REGULAR, False)


@dataclass(frozen=True, slots=True)
class _Layout:
    pages: list[_Page]
    qr_path: bytes


def _layout(content: DocumentContent, qr_text: str) -> _Layout:
    title = clean_text(content.title)
    number = clean_text(content.number)
    flow = _Flow(f"{title} N.° {number} (continuación)")
    institution, directorate, _ = HEADINGS.get(content.kind, (INSTITUTION, DIRECTORATE, SIGNED_NOTE))
    flow.paragraph(institution, BOLD, 15, align="center")
    flow.paragraph(directorate, REGULAR, 12, align="center", gray=0.2)
    flow.rule(1.2, 14)
    flow.paragraph(title, BOLD, 18, align="center")
    flow.paragraph(f"N.° {number}", REGULAR, 13, align="center")
    flow.space(14)
    flow.field("Titular", clean_text(content.holder_name), value_font=BOLD, value_size=16)
    flow.field(
        "Documento de identidad",
        clean_text(f"{content.document_type} {content.document_number}"),
    )
    flow.space(4)
    flow.boxed(clean_text(content.result), BOLD, 20)
    flow.space(12)
    if content.cases:
        flow.paragraph("Antecedentes confirmados", BOLD, 13, keep_with_next=60)
        flow.space(2)
        flow.table(
            ("Expediente", "Órgano jurisdiccional", "Delito", "Fecha"),
            (0.39, 0.29, 0.18, 0.14),  # a case file number fits on one line
            (
                tuple(clean_text(cell) for cell in (case.case_file, case.court, case.offence, case.date))
                for case in content.cases
            ),
        )
        flow.space(12)
    for label, value in content.extra_lines:
        flow.field(clean_text(label), clean_text(value))
    flow.field("Fecha y hora de emisión", format_peru_time(content.issued_at))
    flow.field("Válido hasta", format_peru_time(content.valid_until))

    pages = flow.pages
    # Verification block at the bottom of page 1: explanation and URL on the left, QR on the right.
    first = pages[0]
    block_top = MARGIN + FOOTER_HEIGHT + VERIFY_BLOCK_HEIGHT
    first.graphics.append(f"0.8 w {MARGIN:.2f} {block_top:.2f} m {PAGE_WIDTH - MARGIN:.2f} {block_top:.2f} l S")
    qr_x = PAGE_WIDTH - MARGIN - QR_SIDE
    qr_y = MARGIN + FOOTER_HEIGHT + 6
    text_width = CONTENT_WIDTH - QR_SIDE - 18
    block = _Flow("")
    block.pages = [first]
    block.bottom = 0
    block.y = block_top - 8
    block.paragraph(HOW_TO_VERIFY_TITLE, BOLD, 12.5, width=text_width)
    block.paragraph(HOW_TO_VERIFY, REGULAR, 9.5, width=text_width)
    block.space(3)
    block.paragraph(clean_text(content.verification_url), BOLD, 9.5, width=text_width)

    total = len(pages)
    for index, page in enumerate(pages, start=1):
        note = HEADINGS.get(content.kind, (INSTITUTION, DIRECTORATE, SIGNED_NOTE))[2]
        page.texts.append(_Text(REGULAR, 8.5, MARGIN, MARGIN + 4, note, 0.3))
        label = f"Página {index} de {total}"
        width = _font(REGULAR).text_width(label, 8.5)
        page.texts.append(_Text(REGULAR, 8.5, PAGE_WIDTH - MARGIN - width, MARGIN + 4, label, 0.3))
    return _Layout(pages=pages, qr_path=qr.pdf_path(qr.encode(qr_text), qr_x, qr_y, QR_SIDE))


def _add_font(writer: PdfFileWriter, font: _EmbeddedFont) -> int:
    """Add the font's objects to ``writer``; returns the object number of the Type0 font."""
    font_file = writer.add_object(font.font_file).idnum
    descriptor = writer.add_object(_RawObject(font.descriptor % font_file)).idnum
    cid_font = writer.add_object(_RawObject(font.cid_font % descriptor)).idnum
    to_unicode = writer.add_object(font.to_unicode).idnum
    return int(writer.add_object(_RawObject(font.type0 % (cid_font, to_unicode))).idnum)


def _content_stream(page: _Page, subsets: dict[str, _EmbeddedFont]) -> bytes:
    parts = ["q", *page.graphics, "Q", "BT"]
    font: tuple[str, float] | None = None
    gray = 0.0
    for item in page.texts:
        if font != (item.font, item.size):
            font = (item.font, item.size)
            parts.append(f"/{item.font} {item.size:g} Tf")
        if gray != item.gray:
            gray = item.gray
            parts.append(f"{gray:g} g")
        parts.append(f"1 0 0 1 {item.x:.2f} {item.y:.2f} Tm <{subsets[item.font].encode(item.text)}> Tj")
    parts.append("ET")
    return "\n".join(parts).encode("ascii")


def build_writer(content: DocumentContent, qr_text: str | None = None) -> PdfFileWriter:
    """Lay out ``content`` and return a pyHanko writer holding the unsigned document.

    ``qr_text`` is what the QR encodes; by default the verification URL alone.
    Signing this writer directly avoids writing and parsing the PDF twice.
    """
    layout = _layout(content, qr_text if qr_text is not None else content.verification_url)

    used: dict[str, set[str]] = {REGULAR: set(), BOLD: set()}
    for page in layout.pages:
        for item in page.texts:
            used[item.font].update(item.text)
    subsets = {key: _SUBSETS.get(key, frozenset(chars - _BASE_CHARS)) for key, chars in used.items()}

    writer = PdfFileWriter()
    meta = writer.document_meta
    meta.title = f"{clean_text(content.title)} N.° {clean_text(content.number)}"
    meta.author = "Instituto Nacional Penitenciario"
    meta.creator = "INPE - Servicios en línea"
    writer.root["/Lang"] = generic.TextStringObject("es-PE")
    writer.root["/ViewerPreferences"] = generic.DictionaryObject({"/DisplayDocTitle": generic.BooleanObject(True)})
    font_refs = b" ".join(
        b"/%s %d 0 R" % (key.encode("ascii"), _add_font(writer, embedded)) for key, embedded in subsets.items()
    )
    resources = _RawObject(b"<< /Font << %s >> >>" % font_refs)
    for index, page in enumerate(layout.pages):
        # Level 1: a third of the default level's time for nearly the same size.
        contents = [writer.add_object(_raw_stream(zlib.compress(_content_stream(page, subsets), 1)))]
        if index == 0:
            # The QR's rectangles (20-25 kB of operators) go uncompressed in a stream of their own:
            # compressing them took longer than all the rest of the page, for 18 kB saved.
            contents.append(
                writer.add_object(
                    _RawObject(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(layout.qr_path), layout.qr_path))
                )
            )
        writer.insert_page(
            PageObject(
                contents=contents,
                media_box=[0, 0, PAGE_WIDTH, PAGE_HEIGHT],
                resources=resources,  # type: ignore[arg-type]
            )
        )
    return writer


def warm_up(qr_versions: Iterable[int] = range(12, 18)) -> None:
    """Build the per-process caches (fonts, base subsets, QR tables) ahead of the first document.

    About 60 ms; worth doing while a Lambda function initialises rather than on its
    first request. Signs nothing and touches no key.
    """
    for key in _FONT_FILES:
        _SUBSETS.get(key, frozenset())
    for version in qr_versions:
        qr.prepare(version)


def render_pdf(content: DocumentContent, qr_text: str | None = None) -> bytes:
    """An unsigned PDF of ``content``; the QR encodes ``qr_text`` (default: the verification URL)."""
    out = io.BytesIO()
    build_writer(content, qr_text).write(out)
    return out.getvalue()

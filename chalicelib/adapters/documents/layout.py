"""Page layout for the signed documents: fonts and their subsets, text cleaning and wrapping, and a flow of
tagged blocks (headings, paragraphs, tables) over pages of any size."""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic

from chalicelib.adapters.documents.ttf import REPLACEMENT_CHARACTER, FontSubset, TrueTypeFont

LEADING = 1.3
REGULAR = "F1"
BOLD = "F2"
FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_PACKAGED_FONTS = Path(__file__).with_name("fonts")
_SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")

TIME_SUFFIX = "(hora de Perú)"

# Characters every document may use; a subset of exactly these glyphs is built once per
# process and reused, so that only names in other scripts cost a new font subset.
BASE_CHARS = frozenset(
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
def font_face(key: str) -> TrueTypeFont:
    return TrueTypeFont.from_path(font_path(FONT_FILES[key]))


@cache
def _supported_chars() -> frozenset[str]:
    """Characters both the regular and the bold font can draw."""
    return frozenset(font_face(REGULAR).char_widths) & frozenset(font_face(BOLD).char_widths)


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


class RawObject(generic.PdfObject):
    """An object serialised in advance.

    pyHanko serialises names byte by byte in Python; the font resources alone
    cost about a millisecond per document that way. These objects never change
    (or only in their references), so their bytes are prepared once.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self.data)


def raw_stream(encoded: bytes, extra: bytes = b"") -> RawObject:
    header = b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(encoded), extra)
    return RawObject(header + encoded + b"\nendstream")


@dataclass(frozen=True, slots=True)
class EmbeddedFont:
    """A font subset and its PDF objects; ``%d`` in the templates are object numbers."""

    subset: FontSubset
    encode: Callable[[str], str]  # cached FontSubset.encode: static texts recur in every document
    font_file: RawObject
    to_unicode: RawObject
    descriptor: bytes  # % font file
    cid_font: bytes  # % descriptor
    type0: bytes  # % (CID font, ToUnicode)


def _embedded_font(key: str, subset: FontSubset) -> EmbeddedFont:
    digest = hashlib.sha256("".join(sorted(subset.codes)).encode("utf-8")).digest()
    tag = "".join(chr(65 + byte % 26) for byte in digest[:6])  # subset prefix, e.g. "KQBXWZ+"
    name = f"/{tag}+{subset.postscript_name}".encode("ascii")
    face = font_face(key)
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
    return EmbeddedFont(
        subset=subset,
        encode=lru_cache(maxsize=1024)(subset.encode),
        font_file=raw_stream(subset.font_file, b" /Length1 %d" % subset.font_file_length),
        to_unicode=raw_stream(subset.to_unicode),
        descriptor=descriptor,
        cid_font=cid_font,
        type0=type0,
    )


class _SubsetCache:
    """Font subsets by (font, extra characters beyond the base set), least recently used out."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, frozenset[str]], EmbeddedFont] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, extra: frozenset[str]) -> EmbeddedFont:
        with self._lock:
            found = self._items.get((key, extra))
            if found is not None:
                self._items.move_to_end((key, extra))
                return found
        embedded = _embedded_font(key, font_face(key).subset(BASE_CHARS | extra))
        with self._lock:
            self._items[(key, extra)] = embedded
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return embedded


SUBSETS = _SubsetCache()


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
def text_lines(font: str, text: str, size: float, width: float) -> tuple[str, ...]:
    """Cached :func:`wrap`: most of a page (headings, labels, explanations) is the same every time."""
    return tuple(wrap(font_face(font), text, size, width))


@lru_cache(maxsize=2048)
def text_width(font: str, text: str, size: float) -> float:
    return font_face(font).text_width(text, size)



@dataclass(slots=True)
class Text:
    """A line of text; ``tag`` is the structure element it belongs to (None: an artifact, e.g. a footer)."""

    font: str
    size: float
    x: float
    y: float
    text: str
    gray: float = 0.0
    tag: int | None = None


@dataclass(slots=True)
class Page:
    width: float
    height: float
    graphics: list[str] = field(default_factory=list)  # artifacts: rules, boxes, shading
    texts: list[Text] = field(default_factory=list)
    figures: list[tuple[int, bytes]] = field(default_factory=list)  # (tag, content operators)
    annotations: list[tuple[int, tuple[float, float, float, float]]] = field(default_factory=list)


@dataclass(slots=True)
class Element:
    """A structure element of the tagged PDF (ISO 32000-1 §14.8 standard types)."""

    role: str
    parent: int | None
    alt: str | None = None
    scope: str | None = None  # /Scope of a table header cell
    kids: list[int] = field(default_factory=list)  # child elements, in reading order


class Tags:
    """The structure tree under construction; element 0 is the Document."""

    def __init__(self, language: str = "es-PE") -> None:
        self.language = language
        self.elements: list[Element] = [Element("Document", None)]

    def add(self, role: str, parent: int = 0, *, alt: str | None = None, scope: str | None = None) -> int:
        self.elements.append(Element(role, parent, alt, scope))
        index = len(self.elements) - 1
        self.elements[parent].kids.append(index)
        return index


class Flow:
    """Top-to-bottom single-column layout that continues on new pages when needed."""

    def __init__(self, width: float, height: float, margin: float, bottom: float, tags: Tags,
                 continuation: Callable[[Flow], None] | None = None) -> None:
        self.width, self.height, self.margin = width, height, margin
        self.content_width = width - 2 * margin
        self.tags = tags
        self.pages: list[Page] = [Page(width, height)]
        self.y = height - margin
        self.bottom = bottom
        self.next_bottom = margin + 22.0
        self._continuation = continuation

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(Page(self.width, self.height))
        self.y = self.height - self.margin
        self.bottom = self.next_bottom
        if self._continuation is not None:
            self._continuation(self)

    def ensure(self, height: float) -> None:
        if self.y - height < self.bottom and self.y < self.height - self.margin - 40:
            self.new_page()

    def space(self, height: float) -> None:
        self.y -= height

    def rule(self, width: float = 0.8, gap: float = 8) -> None:
        self.y -= gap / 2
        self.page.graphics.append(
            f"{width:.2f} w {self.margin:.2f} {self.y:.2f} m {self.width - self.margin:.2f} {self.y:.2f} l S")
        self.y -= gap / 2

    def paragraph(self, text: str, font: str, size: float, *, align: str = "left", gray: float = 0.0,
                  x: float | None = None, width: float | None = None, keep_with_next: float = 0.0,
                  tag: int | None = None) -> None:
        x = self.margin if x is None else x
        width = self.content_width if width is None else width
        lines = text_lines(font, text, size, width)
        line_height = size * LEADING
        self.ensure(min(len(lines) * line_height, 3 * line_height) + keep_with_next)
        for line in lines:
            self.ensure(line_height + keep_with_next)
            left = x + (width - text_width(font, line, size)) / 2 if align == "center" else x
            self.page.texts.append(Text(font, size, left, self.y - size * 0.95, line, gray, tag))
            self.y -= line_height

    def block(self, role: str, text: str, font: str, size: float, parent: int = 0, **options: Any) -> int:
        """A paragraph as its own structure element (P, H1, H2...)."""
        tag = self.tags.add(role, parent)
        self.paragraph(text, font, size, tag=tag, **options)
        return tag

    def field(self, label: str, value: str, *, value_font: str = REGULAR, value_size: float = 14) -> None:
        """A label in small grey type above its value, kept on the same page, read as one paragraph."""
        tag = self.tags.add("P")
        self.paragraph(label, REGULAR, 10.5, gray=0.35, keep_with_next=value_size * LEADING, tag=tag)
        self.paragraph(value, value_font, value_size, tag=tag)
        self.space(6)

    def boxed(self, text: str, font: str, size: float) -> None:
        padding = 10.0
        lines = text_lines(font, text, size, self.content_width - 2 * padding)
        line_height = size * LEADING
        height = len(lines) * line_height + 2 * padding
        self.ensure(height)
        top = self.y
        self.page.graphics.append(
            f"0.94 g 1.2 w {self.margin:.2f} {top - height:.2f} {self.content_width:.2f} {height:.2f} re B 0 g")
        tag = self.tags.add("P")
        y = top - padding
        for line in lines:
            left = self.margin + (self.content_width - text_width(font, line, size)) / 2
            self.page.texts.append(Text(font, size, left, y - size * 0.95, line, tag=tag))
            y -= line_height
        self.y = top - height

    def table(self, headers: tuple[str, ...], fractions: tuple[float, ...], rows: Iterable[tuple[str, ...]],
              *, size: float = 10.0) -> None:
        """A table whose rows never split across pages; the header row repeats on every page."""
        padding = 4.0
        line_height = size * LEADING
        widths = [self.content_width * fraction for fraction in fractions]
        lefts = [self.margin + sum(widths[:i]) for i in range(len(widths))]
        table = self.tags.add("Table")

        def draw_row(cells: tuple[str, ...], font: str, header: bool, repeated: bool = False) -> None:
            wrapped = [text_lines(font, cell, size, w - 2 * padding) for cell, w in zip(cells, widths, strict=True)]
            height = max(len(lines) for lines in wrapped) * line_height + 2 * padding
            if self.y - height < self.bottom and self.y < self.height - self.margin - 40:
                self.new_page()
                if not header:
                    draw_row(headers, BOLD, True, repeated=True)
            row = None if repeated else self.tags.add("TR", table)
            top = self.y
            fill = "0.9 g " if header else ""
            operator = "B" if header else "S"
            for left, w, lines in zip(lefts, widths, wrapped, strict=True):
                self.page.graphics.append(
                    f"{fill}0.6 w {left:.2f} {top - height:.2f} {w:.2f} {height:.2f} re {operator} 0 g")
                cell = None if row is None else self.tags.add("TH" if header else "TD", row,
                                                              scope="Column" if header else None)
                y = top - padding
                for line in lines:
                    self.page.texts.append(Text(font, size, left + padding, y - size * 0.95, line, tag=cell))
                    y -= line_height
            self.y = top - height

        draw_row(headers, BOLD, True)
        for row_cells in rows:
            draw_row(row_cells, REGULAR, False)

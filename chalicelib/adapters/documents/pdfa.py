"""Writes laid-out pages as a tagged PDF/A-2b document with pyHanko's writer, ready to be signed.

What makes it PDF/A-2b (ISO 19005-2) and tagged (ISO 32000-1 §14.8), checked by ``tests/.../test_pdfa.py``:
a 1.7 header; every font embedded (TrueType subsets with ToUnicode maps); an sRGB output intent; XMP metadata
with ``pdfaid:part=2``/``conformance=B`` (pyHanko keeps it in step with later revisions); no Info dictionary to
disagree with it; a structure tree (headings, paragraphs, tables with header cells, the QR as a figure with
alternative text, the signature field as a form element) with marked content on every page, decoration and
page furniture marked as artifacts; the document language; the signature widget printed, with an appearance.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from itertools import groupby
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.metadata import model
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from chalicelib.adapters.documents.layout import (
    BASE_CHARS,
    BOLD,
    REGULAR,
    SUBSETS,
    EmbeddedFont,
    Page,
    RawObject,
    Tags,
    raw_stream,
)

SRGB_PROFILE = Path(__file__).with_name("color") / "sRGB.icc"
PDFA_PART, PDFA_CONFORMANCE = "2", "B"


class Pdf17Writer(PdfFileWriter):
    """PDF/A-2 is built on PDF 1.7: the header stays 1.7 when pyHanko would raise it for ECDSA (ISO 32002);
    the extension that records ECDSA is still registered in the catalog."""

    def ensure_output_version(self, version: tuple[int, int]) -> None:
        super().ensure_output_version(min(version, (1, 7)))


@cache
def _srgb_profile() -> bytes:
    return zlib.compress(SRGB_PROFILE.read_bytes(), 9)


def _add_font(writer: PdfFileWriter, font: EmbeddedFont) -> int:
    """Add the font's objects to ``writer``; returns the object number of the Type0 font."""
    font_file = writer.add_object(font.font_file).idnum
    descriptor = writer.add_object(RawObject(font.descriptor % font_file)).idnum
    cid_font = writer.add_object(RawObject(font.cid_font % descriptor)).idnum
    to_unicode = writer.add_object(font.to_unicode).idnum
    return int(writer.add_object(RawObject(font.type0 % (cid_font, to_unicode))).idnum)


def _content_stream(page: Page, subsets: dict[str, EmbeddedFont], tags: Tags, marks: list[int]) -> bytes:
    """Graphics as one artifact, then runs of text marked with their structure element's MCID.

    ``marks`` receives, in MCID order, the structure element each marked-content sequence belongs to.
    """
    parts = ["/Artifact BMC q", *page.graphics, "Q EMC"] if page.graphics else []
    for tag, run in groupby(page.texts, key=lambda item: item.tag):
        if tag is None:
            parts.append("/Artifact BMC BT")
        else:
            parts.append(f"/{tags.elements[tag].role} <</MCID {len(marks)}>> BDC BT")
            marks.append(tag)
        font: tuple[str, float] | None = None
        gray = 0.0
        for item in run:
            if font != (item.font, item.size):
                font = (item.font, item.size)
                parts.append(f"/{item.font} {item.size:g} Tf")
            if gray != item.gray:
                gray = item.gray
                parts.append(f"{gray:g} g")
            parts.append(f"1 0 0 1 {item.x:.2f} {item.y:.2f} Tm <{subsets[item.font].encode(item.text)}> Tj")
        parts.append("ET EMC")
    return "\n".join(parts).encode("ascii")


def _pdf_text(text: str) -> bytes:
    out = io.BytesIO()
    generic.TextStringObject(text).write_to_stream(out)
    return out.getvalue()


def _metadata(writer: PdfFileWriter, title: str, author: str, subject: str, created: datetime) -> None:
    meta = writer.document_meta
    meta.title = title
    meta.author = author
    meta.subject = subject
    meta.creator = "Plataforma de servicios en línea (INPE / Poder Judicial)"
    meta.created = created
    namespace = model.NS["pdfaid"]
    meta.xmp_extra = [model.XmpStructure.of(
        (model.ExpandedName(namespace, "part"), model.XmpValue(PDFA_PART)),
        (model.ExpandedName(namespace, "conformance"), model.XmpValue(PDFA_CONFORMANCE)),
    )]


def write_document(pages: Sequence[Page], tags: Tags, *, title: str, author: str, subject: str, created: datetime,
                   signature_field: str | None = None, qr_streams: dict[int, bytes] | None = None) -> PdfFileWriter:
    """A pyHanko writer holding the unsigned PDF/A document; ``signature_field`` names the empty signature
    field placed over each page's annotation rectangle (the printed signature block)."""
    used: dict[str, set[str]] = {REGULAR: set(), BOLD: set()}
    for page in pages:
        for item in page.texts:
            used[item.font].update(item.text)
    subsets = {key: SUBSETS.get(key, frozenset(chars - BASE_CHARS)) for key, chars in used.items()}

    writer = Pdf17Writer()
    _metadata(writer, title, author, subject, created)
    root = writer.root
    root["/Lang"] = generic.TextStringObject(tags.language)
    root["/ViewerPreferences"] = generic.DictionaryObject({"/DisplayDocTitle": generic.BooleanObject(True)})
    root["/MarkInfo"] = generic.DictionaryObject({"/Marked": generic.BooleanObject(True)})
    profile = writer.add_object(RawObject(b"<< /N 3 /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
        len(_srgb_profile()), _srgb_profile())))
    root["/OutputIntents"] = generic.ArrayObject([generic.DictionaryObject({
        "/Type": pdf_name("/OutputIntent"), "/S": pdf_name("/GTS_PDFA1"),
        "/OutputConditionIdentifier": generic.TextStringObject("sRGB IEC61966-2.1"),
        "/Info": generic.TextStringObject("sRGB IEC61966-2.1"),
        "/DestOutputProfile": profile,
    })])
    font_refs = b" ".join(
        b"/%s %d 0 R" % (key.encode("ascii"), _add_font(writer, embedded)) for key, embedded in subsets.items())
    resources = RawObject(b"<< /Font << %s >> >>" % font_refs)

    # The structure tree is written as prepared bytes (like the fonts): pyHanko serialises its dictionaries
    # name by name in Python, and a page has a few hundred of them. Objects are numbered first, filled in last.
    element_objects = [RawObject(b"") for _ in tags.elements]
    element_ids = [writer.add_object(entry).idnum for entry in element_objects]
    content_kids: dict[int, list[bytes]] = {}
    parent_tree: list[int] = []
    fields: list[generic.PdfObject] = []
    annotation_keys: list[tuple[int, int]] = []  # (struct parent key, element)
    for index, page in enumerate(pages):
        marks: list[int] = []
        # Level 1: a third of the default level's time for nearly the same size.
        contents = [writer.add_object(raw_stream(zlib.compress(_content_stream(page, subsets, tags, marks), 1)))]
        figure_marks: list[int] = []
        for tag, operators in page.figures:
            mcid = len(marks) + len(figure_marks)
            figure_marks.append(tag)
            # The QR's rectangles (20-25 kB of operators) go uncompressed in a stream of their own:
            # compressing them took longer than all the rest of the page, for 18 kB saved.
            body = b"/Figure <</MCID %d>> BDC\n%s\nEMC" % (mcid, operators)
            stream = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body)
            contents.append(writer.add_object(RawObject(stream)))
        marks.extend(figure_marks)
        page_object = PageObject(contents=contents, media_box=[0, 0, page.width, page.height],
                                 resources=resources)  # type: ignore[arg-type]
        page_object["/StructParents"] = generic.NumberObject(index)
        page_object["/Tabs"] = pdf_name("/S")
        page_ref = writer.insert_page(page_object)
        for mcid, tag in enumerate(marks):
            content_kids.setdefault(tag, []).append(b"<< /Type /MCR /Pg %d 0 R /MCID %d >>" % (page_ref.idnum, mcid))
        parent_tree.append(writer.add_object(RawObject(
            b"[%s]" % b" ".join(b"%d 0 R" % element_ids[tag] for tag in marks))).idnum)
        annotations = []
        for tag, (x1, y1, x2, y2) in page.annotations:
            if signature_field is None:
                continue
            appearance = writer.add_object(RawObject(
                b"<< /Type /XObject /Subtype /Form /BBox [0 0 %.2f %.2f] /Length 0 >>\nstream\n\nendstream"
                % (x2 - x1, y2 - y1)))
            key = len(pages) + len(annotation_keys)
            widget = writer.add_object(generic.DictionaryObject({
                "/Type": pdf_name("/Annot"), "/Subtype": pdf_name("/Widget"), "/FT": pdf_name("/Sig"),
                "/T": generic.TextStringObject(signature_field),
                "/TU": generic.TextStringObject("Firma digital del documento"),
                "/F": generic.NumberObject(4),  # print
                "/Rect": generic.ArrayObject([generic.FloatObject(v) for v in (x1, y1, x2, y2)]),
                "/P": page_ref, "/AP": generic.DictionaryObject({"/N": appearance}),
                "/StructParent": generic.NumberObject(key),
            }))
            annotations.append(widget)
            fields.append(widget)
            annotation_keys.append((key, tag))
            content_kids.setdefault(tag, []).append(
                b"<< /Type /OBJR /Obj %d 0 R /Pg %d 0 R >>" % (widget.idnum, page_ref.idnum))
        if annotations:
            page_object["/Annots"] = generic.ArrayObject(annotations)
    if fields:
        root["/AcroForm"] = generic.DictionaryObject({"/Fields": generic.ArrayObject(fields)})

    tree_object = RawObject(b"")
    tree_root = writer.add_object(tree_object)
    for index, element in enumerate(tags.elements):
        parent = b"%d 0 R" % (element_ids[element.parent] if element.parent is not None else tree_root.idnum)
        kids = b" ".join([*content_kids.get(index, []), *(b"%d 0 R" % element_ids[k] for k in element.kids)])
        extra = b""
        if element.alt:
            extra += b" /Alt " + _pdf_text(element.alt)
        if element.scope:
            extra += b" /A << /O /Table /Scope /%s >>" % element.scope.encode("ascii")
        element_objects[index].data = b"<< /Type /StructElem /S /%s /P %s /K [%s]%s >>" % (
            element.role.encode("ascii"), parent, kids, extra)
    numbers = [b"%d %d 0 R" % (index, array) for index, array in enumerate(parent_tree)]
    numbers += [b"%d %d 0 R" % (key, element_ids[tag]) for key, tag in annotation_keys]
    tree_object.data = b"<< /Type /StructTreeRoot /K %d 0 R /ParentTree << /Nums [%s] >> /ParentTreeNextKey %d >>" % (
        element_ids[0], b" ".join(numbers), len(pages) + len(annotation_keys))
    root["/StructTreeRoot"] = tree_root
    writer.update_root()
    return writer

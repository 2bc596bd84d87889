"""PDF/A-2b and tagging, checked structurally with pikepdf on the signed documents (veraPDF does not install
here). The rules checked, by ISO 19005-2 clause or ISO 32000-1 section:

- 6.1.2 header ``%PDF-1.n`` (n <= 7) and a binary comment; 6.1.3 trailer ``/ID``, no ``/Encrypt``;
- 6.2.2 / 6.2.3 an ``/OutputIntents`` entry ``/GTS_PDFA1`` with an embedded RGB ICC profile (N 3, ICC <= v4);
- 6.2.11 every font embedded (``/FontFile2``), with a ``/ToUnicode`` map; no base-14 font left unembedded;
- 6.3.2 / 6.3.3 every annotation has ``/F`` with Print set and Hidden/Invisible/NoView unset, and (unless its
  rectangle has zero size, as the B-LTA document timestamp's field) an appearance dictionary with only ``/N``;
  6.4.1 no ``/NeedAppearances`` true; 6.1.8 no JavaScript or ``/AA`` actions;
- 6.6.2 a catalog ``/Metadata`` XMP stream, unfiltered, with ``pdfaid:part=2`` and ``pdfaid:conformance=B``, and
  no Info dictionary whose entries could disagree with it;
- ISO 32000-1 §14.8 (tagged PDF): ``/MarkInfo /Marked true``, ``/Lang``, a ``/StructTreeRoot`` whose tree has
  headings (H1, H2), a Table with TR/TH/TD (TH with ``/Scope``), a Figure with ``/Alt`` (the QR), a Form element
  for the signature widget (OBJR), a ``/ParentTree`` mapping every page's MCIDs, ``/StructParents`` on pages,
  and every marked-content sequence of the page contents either an MCID of the tree or an Artifact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from integ_doc_samples import case, make_content
from test_report_layout import report_content

from chalicelib.adapters.documents.pipeline import DocumentPipeline
from chalicelib.domain.documents import KIND_ATTENDANCE, RESULT_ATTENDANCE, RESULT_RECORD


@pytest.fixture(scope="module", params=["certificate", "attendance", "report"])
def document(request: pytest.FixtureRequest, pipeline: DocumentPipeline, tmp_path_factory: pytest.TempPathFactory
             ) -> Path:
    if request.param == "certificate":
        content = make_content(result=RESULT_RECORD, cases=(case(1), case(2)))
    elif request.param == "attendance":
        content = make_content(kind=KIND_ATTENDANCE, title="CONSTANCIA DE ANOTACIÓN DE ASISTENCIA",
                               result=RESULT_ATTENDANCE, number="CVP-2026-000007")
    else:
        content = report_content(rows=3)  # type: ignore[assignment]
    path = tmp_path_factory.mktemp("pdfa") / f"{request.param}.pdf"
    path.write_bytes(pipeline.produce(content))
    return path


def _elements(node: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
            yield kid
            yield from _elements(kid)


def test_header_trailer_and_encryption(document: Path) -> None:
    head = document.read_bytes()[:16]
    assert re.match(rb"%PDF-1\.[0-7]\n%[\x80-\xff]{4}", head), head
    with pikepdf.open(document) as pdf:
        assert "/ID" in pdf.trailer and not pdf.is_encrypted


def test_output_intent_is_an_embedded_srgb_profile(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert int(profile.N) == 3
        data = profile.read_bytes()
        assert data[36:40] == b"acsp" and data[16:20] == b"RGB " and data[8] <= 4


def test_fonts_are_embedded_with_unicode_maps(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            assert font.Subtype == "/Type0" and "/ToUnicode" in font
            assert "/FontFile2" in font.DescendantFonts[0].FontDescriptor


def test_annotations_are_printed_with_a_normal_appearance_only(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        annotations = [a for page in pdf.pages for a in page.get("/Annots", [])]
        assert annotations  # the visible signature
        for annotation in annotations:
            flags = int(annotation.F)
            assert flags & 4 and not flags & (1 | 2 | 32)
            x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
            if x1 == x2 and y1 == y2:
                continue  # the document timestamp's invisible field: zero-size annotations need no appearance
            assert list(annotation.AP.keys()) == ["/N"]
        assert not pdf.Root.AcroForm.get("/NeedAppearances", False)
        assert "/OpenAction" not in pdf.Root and "/AA" not in pdf.Root and "/JavaScript" not in pdf.Root.get(
            "/Names", {})


def test_xmp_declares_pdfa_2b_and_there_is_no_info_to_disagree(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        metadata = pdf.Root.Metadata
        assert "/Filter" not in metadata
        xmp = metadata.read_bytes().decode("utf-8")
        assert re.search(r'pdfaid:part(="|>)2', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)
        assert "<dc:title" in xmp
        info = pdf.trailer.get("/Info")
        if info is not None:  # pyHanko's later revisions may add one: it must then agree with the XMP
            meta = pdf.open_metadata()
            assert str(info.get("/Title", meta.get("dc:title"))) == str(meta.get("dc:title"))


def test_the_document_is_tagged_with_headings_tables_figure_and_form(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == "es-PE"
        tree = pdf.Root.StructTreeRoot
        roles = [str(element.S) for element in _elements(tree)]
        assert roles[0] == "/Document"
        for role in ("/H1", "/H2", "/P", "/Table", "/TR", "/TH", "/TD", "/Figure", "/Form"):
            if role in ("/Table", "/TR", "/TH", "/TD") and document.stem == "attendance":
                continue  # an attendance certificate has no table
            assert role in roles, role
        figure = next(e for e in _elements(tree) if e.S == "/Figure")
        assert "Código QR de verificación" in str(figure.Alt)
        header = next(e for e in _elements(tree) if e.S == "/TH") if "/TH" in roles else None
        assert header is None or header.A.Scope == "/Column"


def test_every_marked_content_is_in_the_tree_or_an_artifact(document: Path) -> None:
    with pikepdf.open(document) as pdf:
        numbers = list(pdf.Root.StructTreeRoot.ParentTree.Nums)
        parents = dict(zip(numbers[::2], numbers[1::2], strict=True))
        for index, page in enumerate(pdf.pages):
            assert int(page.StructParents) == index
            mcids, artifacts, unmarked_text = set(), 0, False
            depth = 0
            for operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                if name == "BDC":
                    depth += 1
                    mcids.add(int(operands[1].MCID))
                elif name == "BMC":
                    depth += 1
                    artifacts += str(operands[0]) == "/Artifact"
                elif name == "EMC":
                    depth -= 1
                elif name in ("Tj", "TJ", "f", "S", "B") and depth == 0:
                    unmarked_text = True
            assert not unmarked_text and depth == 0
            assert mcids == set(range(len(parents[index])))  # every MCID maps to its structure element
            assert artifacts >= 1  # the footer and the rules are artifacts

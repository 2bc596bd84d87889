"""Fonts and text layout: glyph coverage, subsets, wrapping, dates in Peru time."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.documents import render
from chalicelib.adapters.documents.ttf import TrueTypeFont


@pytest.fixture(scope="module")
def font() -> TrueTypeFont:
    return TrueTypeFont.from_path(render.font_path("DejaVuSans.ttf"))


def test_fonts_are_found_inside_the_package_first() -> None:
    path = render.font_path("DejaVuSans-Bold.ttf")
    assert path.parent.name == "fonts"
    assert path.parent.parent.name == "documents"
    assert (path.parent / "LICENSE").is_file()


def test_missing_font_is_reported() -> None:
    with pytest.raises(FileNotFoundError):
        render.font_path("NoSuchFont.ttf")


@pytest.mark.parametrize("name", ["Ñañez Güémez", "Nguyễn Thị Minh", "Ольга Петрова", "Σωκράτης"])
def test_the_font_draws_names_in_other_scripts(font: TrueTypeFont, name: str) -> None:
    assert all(font.supports(ch) for ch in render.clean_text(name))


def test_clean_text_normalises_and_replaces_what_cannot_be_drawn() -> None:
    decomposed = "Nguye\u0302\u0303n"  # e + circumflex + tilde, as some keyboards send it
    assert render.clean_text(decomposed) == "Nguyễn"
    assert render.clean_text("Ana\x1b\tMaría 李") == "Ana María ?"


def test_subset_keeps_only_the_glyphs_needed(font: TrueTypeFont) -> None:
    subset = font.subset("Ñandú")
    program = zlib.decompress(subset.font_file)
    assert len(program) == subset.font_file_length
    (num_tables,) = struct.unpack_from(">H", program, 4)
    tags = {program[12 + 16 * i : 16 + 16 * i].decode() for i in range(num_tables)}
    assert {"glyf", "head", "hhea", "hmtx", "loca", "maxp"} <= tags
    maxp = next(i for i in range(num_tables) if program[12 + 16 * i : 16 + 16 * i] == b"maxp")
    offset = struct.unpack_from(">I", program, 12 + 16 * maxp + 8)[0]
    glyph_count = struct.unpack_from(">H", program, offset + 4)[0]
    assert 5 <= glyph_count < 20  # .notdef, 5 letters and the parts of accented ones
    assert set(subset.codes) == set("Ñandú")
    assert len(subset.widths) == glyph_count
    assert len(program) < 10_000  # the full font is 740 kB


def test_subset_maps_text_back_to_unicode(font: TrueTypeFont) -> None:
    subset = font.subset("Петрова")
    cmap = zlib.decompress(subset.to_unicode).decode("ascii")
    for ch in "Петрова":
        assert f"<{subset.codes[ch]}> <{ord(ch):04X}>" in cmap


def test_long_names_wrap_within_the_width(font: TrueTypeFont) -> None:
    name = "MARÍA DEL PILAR DE LOS ÁNGELES FERNÁNDEZ-GUTIÉRREZ DE LA TORRE Y ALCÁZAR"
    lines = render.wrap(font, name, 16, 250)
    assert len(lines) > 1
    assert all(font.text_width(line, 16) <= 250 for line in lines)
    assert " ".join(lines) == name


def test_words_wider_than_the_line_are_cut(font: TrueTypeFont) -> None:
    url = "https://verifica.inpe.gob.pe/v/" + "A" * 60
    lines = render.wrap(font, url, 10, 120)
    assert "".join(lines) == url
    assert all(font.text_width(line, 10) <= 120 for line in lines)


def test_dates_are_printed_in_peru_time() -> None:
    moment = datetime(2026, 11, 22, 15, 15, tzinfo=UTC)
    assert render.format_peru_time(moment) == "22/11/2026 10:15 (hora de Perú)"

"""Minimal TrueType reader and subsetter for embedding fonts in the PDFs.

pyHanko's own font engine needs fontTools and HarfBuzz (about 8 MB more in the
Lambda package) and subsets a font in tens of milliseconds; documents here are
left-to-right text in Latin, Greek and Cyrillic scripts, for which one glyph per
character (precomposed forms after NFC normalisation) is enough. So this module
maps characters to glyphs with the font's ``cmap``, measures with ``hmtx`` and
writes a small TrueType program with only the glyphs used, renumbered from 1,
for a CIDFontType2 font with an identity CID-to-GID map.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Composite glyph flags (OpenType spec, 'glyf' table).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080
_WE_HAVE_INSTRUCTIONS = 0x0100

REPLACEMENT_CHARACTER = "?"


class FontError(ValueError):
    """The font file is not a TrueType font this module can read."""


def _table_checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if array("I", b"\0\0\0\1")[0] != 1:  # little-endian host: TrueType is big-endian
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class FontSubset:
    """A font program ready to embed, with the encoding of each character."""

    postscript_name: str
    font_file: bytes  # zlib-compressed TrueType program (FlateDecode)
    font_file_length: int  # uncompressed length, the /Length1 of the stream
    to_unicode: bytes  # zlib-compressed ToUnicode CMap
    widths: tuple[int, ...]  # advance per CID in 1/1000 em, CID 0 first
    codes: dict[str, str]  # character -> 4 hex digits of its CID

    def encode(self, text: str) -> str:
        """Hex string (without brackets) for ``text``; characters must be in the subset."""
        return "".join(map(self.codes.__getitem__, text))


class TrueTypeFont:
    """A parsed TrueType font: character map, metrics and glyph data."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        if data[:4] not in (b"\x00\x01\x00\x00", b"true"):
            raise FontError("not a TrueType (glyf) font")
        (num_tables,) = struct.unpack_from(">H", data, 4)
        self._tables: dict[str, tuple[int, int]] = {}
        for index in range(num_tables):
            tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            self._tables[tag.decode("latin-1")] = (offset, length)
        for required in ("head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap"):
            if required not in self._tables:
                raise FontError(f"font has no {required!r} table")

        head = self._table("head")
        self.units_per_em: int = struct.unpack_from(">H", head, 18)[0]
        self.bbox: tuple[int, int, int, int] = struct.unpack_from(">4h", head, 36)
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        hhea = self._table("hhea")
        self.ascent, self.descent = struct.unpack_from(">hh", hhea, 4)
        (num_hmetrics,) = struct.unpack_from(">H", hhea, 34)
        (self.num_glyphs,) = struct.unpack_from(">H", self._table("maxp"), 4)

        hmtx = self._table("hmtx")
        self._advances = [0] * self.num_glyphs
        self._lsbs = [0] * self.num_glyphs
        for gid in range(self.num_glyphs):
            if gid < num_hmetrics:
                self._advances[gid], self._lsbs[gid] = struct.unpack_from(">Hh", hmtx, 4 * gid)
            else:
                self._advances[gid] = self._advances[num_hmetrics - 1]
                (self._lsbs[gid],) = struct.unpack_from(">h", hmtx, 4 * num_hmetrics + 2 * (gid - num_hmetrics))

        loca = self._table("loca")
        count = self.num_glyphs + 1
        if long_loca:
            self._loca = list(struct.unpack_from(f">{count}I", loca))
        else:
            self._loca = [2 * value for value in struct.unpack_from(f">{count}H", loca)]
        self._glyf_offset = self._tables["glyf"][0]

        self.cmap: dict[int, int] = self._read_cmap()
        self.postscript_name = self._read_postscript_name()
        os2 = self._table("OS/2") if "OS/2" in self._tables else b""
        self.cap_height = struct.unpack_from(">h", os2, 88)[0] if len(os2) >= 90 else self.ascent
        weight = struct.unpack_from(">H", os2, 4)[0] if len(os2) >= 6 else 400
        self.stem_v = int(10 + 220 * (weight - 50) / 900)
        post = self._table("post") if "post" in self._tables else b""
        self.italic_angle = struct.unpack_from(">i", post, 4)[0] / 65536 if len(post) >= 8 else 0.0

        # Advance in 1/1000 em per supported character, for fast measuring.
        scale = 1000 / self.units_per_em
        self.char_widths: dict[str, float] = {chr(code): self._advances[gid] * scale for code, gid in self.cmap.items()}

    @classmethod
    def from_path(cls, path: str | Path) -> TrueTypeFont:
        return cls(Path(path).read_bytes())

    def _table(self, tag: str) -> bytes:
        offset, length = self._tables[tag]
        return self._data[offset : offset + length]

    def _read_cmap(self) -> dict[int, int]:
        cmap = self._table("cmap")
        (num_subtables,) = struct.unpack_from(">H", cmap, 2)
        candidates: dict[tuple[int, int], int] = {}
        for index in range(num_subtables):
            platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * index)
            candidates[(platform, encoding)] = offset
        for key in ((3, 10), (0, 4), (0, 6)):
            if key in candidates and struct.unpack_from(">H", cmap, candidates[key])[0] == 12:
                return self._read_cmap_format12(cmap, candidates[key])
        for key in ((3, 1), (0, 3), (0, 1), (0, 0)):
            if key in candidates and struct.unpack_from(">H", cmap, candidates[key])[0] == 4:
                return self._read_cmap_format4(cmap, candidates[key])
        raise FontError("font has no Unicode cmap of format 4 or 12")

    @staticmethod
    def _read_cmap_format12(cmap: bytes, offset: int) -> dict[int, int]:
        (num_groups,) = struct.unpack_from(">I", cmap, offset + 12)
        mapping: dict[int, int] = {}
        for index in range(num_groups):
            start, end, glyph = struct.unpack_from(">III", cmap, offset + 16 + 12 * index)
            for code in range(start, end + 1):
                mapping[code] = glyph + code - start
        return mapping

    @staticmethod
    def _read_cmap_format4(cmap: bytes, offset: int) -> dict[int, int]:
        seg_count = struct.unpack_from(">H", cmap, offset + 6)[0] // 2
        ends_at = offset + 14
        starts_at = ends_at + 2 * seg_count + 2
        deltas_at = starts_at + 2 * seg_count
        ranges_at = deltas_at + 2 * seg_count
        ends = struct.unpack_from(f">{seg_count}H", cmap, ends_at)
        starts = struct.unpack_from(f">{seg_count}H", cmap, starts_at)
        deltas = struct.unpack_from(f">{seg_count}h", cmap, deltas_at)
        ranges = struct.unpack_from(f">{seg_count}H", cmap, ranges_at)
        mapping: dict[int, int] = {}
        for seg in range(seg_count):
            start, end, delta, range_offset = starts[seg], ends[seg], deltas[seg], ranges[seg]
            if start == 0xFFFF:
                continue
            for code in range(start, end + 1):
                if range_offset == 0:
                    glyph = (code + delta) & 0xFFFF
                else:
                    at = ranges_at + 2 * seg + range_offset + 2 * (code - start)
                    (glyph,) = struct.unpack_from(">H", cmap, at)
                    if glyph:
                        glyph = (glyph + delta) & 0xFFFF
                if glyph:
                    mapping[code] = glyph
        return mapping

    def _read_postscript_name(self) -> str:
        if "name" not in self._tables:
            return "EmbeddedFont"
        name = self._table("name")
        count, strings_at = struct.unpack_from(">HH", name, 2)
        for index in range(count):
            platform, _enc, _lang, name_id, length, offset = struct.unpack_from(">6H", name, 6 + 12 * index)
            if name_id != 6:
                continue
            raw = name[strings_at + offset : strings_at + offset + length]
            text = raw.decode("utf-16-be") if platform in (0, 3) else raw.decode("latin-1")
            cleaned = "".join(ch for ch in text if ch.isalnum() or ch in "-_")
            if cleaned:
                return cleaned
        return "EmbeddedFont"

    def supports(self, char: str) -> bool:
        return char in self.char_widths

    def text_width(self, text: str, size: float) -> float:
        """Width in points of ``text`` (every character supported) at ``size``."""
        return sum(map(self.char_widths.__getitem__, text)) * size / 1000

    def _glyph(self, gid: int) -> bytes:
        start = self._glyf_offset + self._loca[gid]
        end = self._glyf_offset + self._loca[gid + 1]
        return self._data[start:end]

    @staticmethod
    def _components(glyph: bytes) -> list[tuple[int, int]]:
        """(offset of the glyph index, glyph index) of each part of a composite glyph."""
        parts: list[tuple[int, int]] = []
        at = 10
        while True:
            flags, component = struct.unpack_from(">HH", glyph, at)
            parts.append((at + 2, component))
            at += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
            if flags & _WE_HAVE_A_SCALE:
                at += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                at += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                at += 8
            if not flags & _MORE_COMPONENTS:
                return parts

    @staticmethod
    def _strip_simple_hinting(glyph: bytes) -> bytes:
        (contours,) = struct.unpack_from(">h", glyph, 0)
        at = 10 + 2 * contours
        (instructions,) = struct.unpack_from(">H", glyph, at)
        if not instructions:
            return glyph
        return glyph[:at] + b"\0\0" + glyph[at + 2 + instructions :]

    def _rewrite_composite(self, glyph: bytes, renumber: dict[int, int]) -> bytes:
        out = bytearray(glyph)
        at = 10
        while True:
            flags, component = struct.unpack_from(">HH", out, at)
            struct.pack_into(">HH", out, at, flags & ~_WE_HAVE_INSTRUCTIONS, renumber[component])
            at += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
            if flags & _WE_HAVE_A_SCALE:
                at += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                at += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                at += 8
            if not flags & _MORE_COMPONENTS:
                # Hinting instructions, if any, follow the last component: drop them.
                return bytes(out[:at])

    def subset(self, chars: Iterable[str]) -> FontSubset:
        """Build an embeddable subset with the glyphs of ``chars`` (unsupported ones are skipped)."""
        chars_sorted = sorted({ch for ch in chars if ch in self.char_widths})
        order = [0]  # .notdef keeps CID 0
        renumber = {0: 0}
        for ch in chars_sorted:
            gid = self.cmap[ord(ch)]
            if gid not in renumber:
                renumber[gid] = len(order)
                order.append(gid)
        # Composite glyphs (accented letters) need their parts too.
        index = 0
        while index < len(order):
            glyph = self._glyph(order[index])
            if len(glyph) >= 10 and struct.unpack_from(">h", glyph, 0)[0] < 0:
                for _, component in self._components(glyph):
                    if component not in renumber:
                        renumber[component] = len(order)
                        order.append(component)
            index += 1

        glyphs: list[bytes] = []
        offsets = [0]
        for gid in order:
            glyph = self._glyph(gid)
            if len(glyph) >= 10:
                if struct.unpack_from(">h", glyph, 0)[0] < 0:
                    glyph = self._rewrite_composite(glyph, renumber)
                else:
                    glyph = self._strip_simple_hinting(glyph)
                glyph += b"\0" * (-len(glyph) % 4)
            else:
                glyph = b""  # empty glyph (space)
            glyphs.append(glyph)
            offsets.append(offsets[-1] + len(glyph))
        count = len(order)

        head = bytearray(self._table("head"))
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # long loca offsets
        hhea = bytearray(self._table("hhea"))
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self._table("maxp"))
        struct.pack_into(">H", maxp, 4, count)
        if len(maxp) >= 32:
            # No hinting left: no twilight zone, storage, functions or stack needed.
            struct.pack_into(">HHHHHH", maxp, 16, 1, 0, 0, 0, 0, 0)
        hmtx = b"".join(struct.pack(">Hh", self._advances[gid], self._lsbs[gid]) for gid in order)
        tables: dict[str, bytes] = {
            "OS/2": self._table("OS/2") if "OS/2" in self._tables else b"",
            "glyf": b"".join(glyphs),
            "head": bytes(head),
            "hhea": bytes(hhea),
            "hmtx": hmtx,
            "loca": struct.pack(f">{count + 1}I", *offsets),
            "maxp": bytes(maxp),
            "post": struct.pack(">IiHhII4I", 0x00030000, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        }
        if "post" in self._tables:
            # Keep italic angle, underline metrics and fixed-pitch flag; no glyph names.
            original = self._table("post")
            tables["post"] = b"\x00\x03\x00\x00" + original[4:32]
        tables = {tag: data for tag, data in tables.items() if data}
        program = _assemble_sfnt(tables)

        scale = 1000 / self.units_per_em
        widths = tuple(round(self._advances[gid] * scale) for gid in order)
        codes = {ch: f"{renumber[self.cmap[ord(ch)]]:04X}" for ch in chars_sorted}
        return FontSubset(
            postscript_name=self.postscript_name,
            font_file=zlib.compress(program, 9),
            font_file_length=len(program),
            to_unicode=zlib.compress(_to_unicode_cmap(codes), 9),
            widths=widths,
            codes=codes,
        )


def _assemble_sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    num_tables = len(tags)
    entry_selector = num_tables.bit_length() - 1
    search_range = 16 * (1 << entry_selector)
    header = struct.pack(
        ">IHHHH",
        0x00010000,
        num_tables,
        search_range,
        entry_selector,
        16 * num_tables - search_range,
    )
    offset = 12 + 16 * num_tables
    directory: list[bytes] = []
    body: list[bytes] = []
    head_at = 0
    for tag in tags:
        data = tables[tag]
        if tag == "head":
            head_at = offset
        directory.append(struct.pack(">4sIII", tag.encode("latin-1"), _table_checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(body))
    adjustment = (0xB1B0AFBA - _table_checksum(bytes(font))) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)


def _to_unicode_cmap(codes: dict[str, str]) -> bytes:
    """ToUnicode CMap so that text extraction and search give back the characters."""
    by_code: dict[str, str] = {}
    for ch, code in codes.items():
        by_code.setdefault(code, ch)  # a glyph shared by several characters maps to the first
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    items = sorted(by_code.items())
    for start in range(0, len(items), 100):
        chunk = items[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{code}> <{ch.encode('utf-16-be').hex().upper()}>" for code, ch in chunk)
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")

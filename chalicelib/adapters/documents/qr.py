"""QR codes for the documents: the matrix from `qrcode`'s tables, drawn as PDF vector paths.

`qrcode` builds the matrix correctly but slowly (about 8 ms for a version-15 code
with a fixed mask, 38 ms when it also chooses the mask), more than the whole
time budget of a document. Here `qrcode` still supplies everything that defines
the symbol — function patterns, format and version information, masks, block
structure and generator polynomials — computed once per version and mask and
cached; what changes per document (codewords, Reed-Solomon remainders, placement,
mask penalties) is done with whole-string and big-integer operations. The result
is the matrix `qrcode` makes for the same text, version and mask, and the mask
is chosen by the same ISO/IEC 18004 penalty score (tests check both).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import getitem, itemgetter
from typing import Any

import qrcode
import qrcode.base
import qrcode.util
from qrcode import LUT
from qrcode.constants import ERROR_CORRECT_M

_BYTE_MODE = qrcode.util.MODE_8BIT_BYTE
_NUMERIC_MODE = qrcode.util.MODE_NUMBER
_PAD = b"\xec\x11"
_MIN_DIGITS = 12  # a shorter run of digits is cheaper left in the byte segment than given its own header

Segment = tuple[int, bytes]  # (mode, data)


def segments(text: str) -> list[Segment]:
    """Byte mode for the text, except a trailing run of digits after '#', which goes in numeric mode
    (3.3 bits a digit instead of 8): the signed data of the documents' QR codes."""
    data = text.encode("utf-8")
    head, separator, tail = text.rpartition("#")
    if separator and len(tail) >= _MIN_DIGITS and tail.isascii() and tail.isdigit():
        return [(_BYTE_MODE, (head + separator).encode("utf-8")), (_NUMERIC_MODE, tail.encode("ascii"))]
    return [(_BYTE_MODE, data)]


def _data_bits(mode: int, data: bytes) -> int:
    if mode == _NUMERIC_MODE:
        return 10 * (len(data) // 3) + (0, 4, 7)[len(data) % 3]
    return 8 * len(data)


def _segment_value(mode: int, data: bytes, version: int) -> tuple[int, int]:
    """The segment's bits as an integer, and how many there are."""
    count_bits = qrcode.util.length_in_bits(mode, version)
    value = mode << count_bits | len(data)
    used = 4 + count_bits
    if mode == _NUMERIC_MODE:
        for at in range(0, len(data), 3):
            group = data[at : at + 3]
            width = (0, 4, 7, 10)[len(group)]
            value = value << width | int(group)
            used += width
    else:
        value = value << (8 * len(data)) | int.from_bytes(data, "big")
        used += 8 * len(data)
    return value, used


class QrTooLongError(ValueError):
    """The text does not fit in a QR code at the requested error correction."""


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """A QR symbol without quiet zone.

    ``packed`` holds the rows one after the other, each padded with light modules
    to whole bytes, first module in the most significant bit.
    """

    version: int
    mask: int
    size: int
    packed: bytes

    @property
    def row_bytes(self) -> int:
        return -(-self.size // 8)

    @property
    def rows(self) -> tuple[str, ...]:
        """``rows[r][c] == "1"`` is a dark module."""
        width = 8 * self.row_bytes
        flat = format(int.from_bytes(self.packed, "big"), f"0{width * self.size}b")
        return tuple(flat[i : i + self.size] for i in range(0, width * self.size, width))


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return qrcode.base.EXP_TABLE[(qrcode.base.LOG_TABLE[a] + qrcode.base.LOG_TABLE[b]) % 255]


@cache
def _rs_table(ec_count: int) -> tuple[int, ...]:
    """For each feedback byte f, f times the generator polynomial, as one big integer."""
    coefficients = LUT.rsPoly_LUT[ec_count][1:]  # every count QR uses is in qrcode's table
    return tuple(int.from_bytes(bytes(_gf_mul(f, c) for c in coefficients), "big") for f in range(256))


def _rs_remainder(data: bytes, ec_count: int) -> bytes:
    """Reed-Solomon error-correction codewords: the remainder of data(x)·x^n / g(x)."""
    table = _rs_table(ec_count)
    shift = 8 * (ec_count - 1)
    mask = (1 << (8 * ec_count)) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & mask) ^ table[byte ^ (remainder >> shift)]
    return remainder.to_bytes(ec_count, "big")


class _PlacementProbe(qrcode.QRCode):  # type: ignore[type-arg]
    """Records which modules `qrcode` fills with data bits, in its filling order."""

    placement: list[int]

    def map_data(self, data: Any, mask_pattern: Any) -> None:
        size = self.modules_count
        modules = self.modules
        order: list[int] = []
        row, step = size - 1, -1
        for col in range(size - 1, 0, -2):
            if col <= 6:
                col -= 1  # skip the vertical timing pattern, as qrcode does
            while True:
                for c in (col, col - 1):
                    if modules[row][c] is None:
                        order.append(row * size + c)
                row += step
                if row < 0 or row >= size:
                    row -= step
                    step = -step
                    break
        self.placement = order


@dataclass(frozen=True, slots=True)
class _Layout:
    """Per-version facts.

    The symbol is handled as one integer per orientation: the lines (rows, or
    columns) written one after the other, each padded with 0 bits to whole bytes
    (at least one, as sizes are odd) so that runs stop at the line's end, first
    module as most significant bit. So ``x >> k`` lines each module up with the
    one ``k`` places before it on the same line, and ``x >> stride`` with the
    one on the previous line; and the rows integer converts straight to bytes
    for drawing.
    """

    size: int
    stride: int  # bits per line: size rounded up to whole bytes
    blocks: tuple[tuple[int, int], ...]  # (data codewords, error-correction codewords)
    data_capacity: int  # data codewords
    data_bits: int  # data modules, including remainder bits
    by_rows: Any  # itemgetter: data bit string + "0" -> padded rows
    by_columns: Any  # the same, column-major
    valid: int  # 1 on modules, 0 on padding


@cache
def _layout(version: int, error_correction: int) -> _Layout:
    probe = _PlacementProbe(version=version, error_correction=error_correction, border=0)
    probe.data_cache = []
    probe.makeImpl(False, 0)
    size = probe.modules_count
    placement = probe.placement
    blocks = tuple(
        (block.data_count, block.total_count - block.data_count)
        for block in qrcode.base.rs_blocks(version, error_correction)
    )
    zero = len(placement)  # index of the trailing "0": function modules and padding
    bit_of = [zero] * (size * size)
    for bit_index, flat in enumerate(placement):
        bit_of[flat] = bit_index
    stride = 8 * -(-size // 8)
    padding = [zero] * (stride - size)
    by_rows: list[int] = []
    by_columns: list[int] = []
    for line in range(size):
        by_rows.extend(bit_of[line * size + c] for c in range(size))
        by_rows.extend(padding)
        by_columns.extend(bit_of[r * size + line] for r in range(size))
        by_columns.extend(padding)
    return _Layout(
        size=size,
        stride=stride,
        blocks=blocks,
        data_capacity=sum(data for data, _ in blocks),
        data_bits=len(placement),
        by_rows=itemgetter(*by_rows),
        by_columns=itemgetter(*by_columns),
        valid=int(("1" * size + "0" * (stride - size)) * size, 2),
    )


@cache
def _base_matrix(version: int, error_correction: int, mask: int, test: bool = False) -> tuple[int, int]:
    """Rows and columns integers of the symbol for all-zero data: function patterns,
    format and version information, and the bare mask on the data modules.

    ``test=True`` leaves format and version information light, as `qrcode` does
    when it scores the masks.
    """
    code = qrcode.QRCode(version=version, error_correction=error_correction, border=0)
    code.data_cache = [0] * sum(b.total_count for b in qrcode.base.rs_blocks(version, error_correction))
    code.makeImpl(test, mask)
    modules = code.modules
    size = len(modules)
    padding = "0" * (8 * -(-size // 8) - size)
    rows = "".join("".join("1" if m else "0" for m in row) + padding for row in modules)
    columns = "".join("".join("1" if modules[r][c] else "0" for r in range(size)) + padding for c in range(size))
    return int(rows, 2), int(columns, 2)


def _version_for(parts: list[Segment], error_correction: int, minimum: int = 1) -> int:
    for version in range(minimum, 41):
        needed = sum(4 + qrcode.util.length_in_bits(mode, version) + _data_bits(mode, data) for mode, data in parts)
        if needed <= qrcode.util.BIT_LIMIT_TABLE[error_correction][version]:
            return version
    raise QrTooLongError("text too long for a QR code")


def _codewords(parts: list[Segment], version: int, layout: _Layout) -> bytes:
    """The segments, terminator, padding, then interleaved data and EC blocks."""
    capacity_bits = 8 * layout.data_capacity
    value, used = 0, 0
    for mode, data in parts:
        bits, count = _segment_value(mode, data, version)
        value = value << count | bits
        used += count
    terminator = min(4, capacity_bits - used)
    used += terminator
    padding = -used % 8
    value <<= terminator + padding
    used += padding
    stream = value.to_bytes(used // 8, "big")
    fill = layout.data_capacity - len(stream)
    stream += (_PAD * (fill // 2 + 1))[:fill]

    data_blocks: list[bytes] = []
    ec_blocks: list[bytes] = []
    at = 0
    for data_count, ec_count in layout.blocks:
        block = stream[at : at + data_count]
        at += data_count
        data_blocks.append(block)
        ec_blocks.append(_rs_remainder(block, ec_count))
    return _interleave(data_blocks) + _interleave(ec_blocks)


def _interleave(blocks: list[bytes]) -> bytes:
    """Codeword i of every block, then i + 1, ...; blocks differ in length by at most one."""
    shortest = min(len(block) for block in blocks)
    head = bytes(chain.from_iterable(zip(*blocks, strict=False)))
    tail = bytes(block[shortest] for block in blocks if len(block) > shortest)
    return head + tail


def _line_penalty(dark: int, light: int) -> int:
    """Rules 1 (runs of five or more) and 3 (finder-like 1:1:3:1:1 with four light modules
    on either side) along one orientation."""
    d1, d2, d3, d4 = dark >> 1, dark >> 2, dark >> 3, dark >> 4
    l1, l2, l3 = light >> 1, light >> 2, light >> 3
    light4 = light & l1 & l2 & l3
    score = 0
    for window in (dark & d1 & d2 & d3 & d4, light4 & (light >> 4)):
        # A run of n >= 5 scores n - 2: its n - 4 windows of five, plus 2 once per run
        # (a window whose predecessor is not a window starts a run).
        score += window.bit_count() + 2 * (window & ~(window >> 1)).bit_count()
    core = dark & l1 & d2 & d3 & d4 & (light >> 5) & (dark >> 6)  # 1011101 ending here
    finder_like = ((core >> 4) & light4).bit_count() + (core & (light4 >> 7)).bit_count()
    return score + 40 * finder_like


def _penalty(rows_bits: int, columns_bits: int, layout: _Layout) -> int:
    """ISO/IEC 18004 mask penalty, rules 1-4, computed as `qrcode.util.lost_point` does."""
    valid = layout.valid
    stride = layout.stride
    dark, light = rows_bits, rows_bits ^ valid
    score = _line_penalty(dark, light) + _line_penalty(columns_bits, columns_bits ^ valid)
    for bits in (dark, light):  # rule 2: 2x2 blocks of one colour
        above = bits >> stride
        score += 3 * (bits & (bits >> 1) & above & (above >> 1)).bit_count()
    percent = dark.bit_count() / (layout.size * layout.size)  # rule 4: balance
    return score + int(abs(percent * 100 - 50) / 5) * 10


def prepare(version: int, error_correction: int = ERROR_CORRECT_M) -> None:
    """Compute the cached tables of a version now rather than on its first symbol."""
    layout = _layout(version, error_correction)
    for mask in range(8):
        _base_matrix(version, error_correction, mask, True)
        _base_matrix(version, error_correction, mask)
    for ec_count in {ec for _, ec in layout.blocks}:
        _rs_table(ec_count)
    for position in range(layout.stride // 8):
        _chunk_table(position)


def encode(
    text: str,
    *,
    error_correction: int = ERROR_CORRECT_M,
    mask: int | None = None,
    minimum_version: int = 1,
) -> QrMatrix:
    """Encode ``text`` (UTF-8; see :func:`segments` for the modes) in the smallest version that fits.

    With ``mask=None`` the mask with the lowest penalty is chosen, as a conforming
    encoder does.
    """
    parts = segments(text)
    version = _version_for(parts, error_correction, minimum_version)
    layout = _layout(version, error_correction)
    codewords = _codewords(parts, version, layout)
    bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
    bits += "0" * (layout.data_bits - len(bits)) + "0"  # remainder bits, then the shared zero
    data_rows = int("".join(layout.by_rows(bits)), 2)

    if mask is None:
        data_columns = int("".join(layout.by_columns(bits)), 2)
        scores = []
        for candidate in range(8):
            base_rows, base_columns = _base_matrix(version, error_correction, candidate, True)
            scores.append(_penalty(base_rows ^ data_rows, base_columns ^ data_columns, layout))
        mask = scores.index(min(scores))
    size = layout.size
    symbol = _base_matrix(version, error_correction, mask)[0] ^ data_rows
    return QrMatrix(
        version=version,
        mask=mask,
        size=size,
        packed=symbol.to_bytes(size * layout.stride // 8, "big"),
    )


_Y = b"@"  # placeholder for a row's y coordinate in the pre-formatted chunks
_NUMBERS = tuple(b"%d" % n for n in range(177))


@cache
def _chunk_table(position: int) -> tuple[bytes, ...]:
    """Operators for every pattern of 8 modules starting at module ``8 * position``."""
    table = []
    for value in range(256):
        bits = format(value, "08b")
        ops = []
        column = 0
        while column < 8:
            if bits[column] == "1":
                end = bits.find("0", column)
                end = 8 if end < 0 else end
                ops.append(b"%d @ %d 1 re\n" % (8 * position + column, end - column))
                column = end
            else:
                column += 1
        table.append(b"".join(ops))
    return tuple(table)


def pdf_path(matrix: QrMatrix, x: float, y: float, side: float) -> bytes:
    """PDF operators filling the dark modules with rectangles, in one path and one fill.

    ``(x, y)`` is the lower-left corner of the symbol (without quiet zone) and
    ``side`` its width in points; the caller keeps 4 modules of white around it.
    One fill of one path avoids the hairline seams that anti-aliasing draws
    between separately filled neighbours. Rows are cut into bytes and each byte
    looked up in tables of pre-formatted rectangles: formatting 1,600 rectangles
    one by one took about a millisecond, the tables a fifth of that.
    """
    size = matrix.size
    module = side / size
    chunks = matrix.row_bytes
    packed = matrix.packed
    tables = [_chunk_table(position) for position in range(chunks)]
    parts = [b"q 0 g %.4f 0 0 %.4f %.3f %.3f cm\n" % (module, module, x, y)]
    for index in range(size):
        ops = b"".join(map(getitem, tables, packed[index * chunks : (index + 1) * chunks]))
        parts.append(ops.replace(_Y, _NUMBERS[size - 1 - index]))  # PDF's y axis points up
    parts.append(b"f Q")
    return b"".join(parts)

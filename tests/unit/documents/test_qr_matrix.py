"""The fast QR encoder gives the symbols `qrcode` gives, sized for our payloads, drawn exactly."""

from __future__ import annotations

import random
import re

import pytest
import qrcode
import qrcode.util
from qrcode.constants import ERROR_CORRECT_M

from chalicelib.adapters.documents import qr
from chalicelib.domain.documents import SealedData, StatusRef
from tests.factories_documents import make_content

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.#/:ñÉ"


def _reference(text: str, mask: int | None = None) -> tuple[int, int, tuple[str, ...]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=mask)
    code.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    rows = tuple("".join("1" if module else "0" for module in row) for row in code.modules)
    # qrcode does not keep the mask it chose; asking again redraws, so read the rows first.
    chosen = mask if mask is not None else code.best_mask_pattern()
    return code.version, chosen, rows


@pytest.mark.parametrize("length", [1, 14, 60, 180, 300, 411, 412, 413, 700, 1500])
def test_matrix_and_mask_choice_equal_qrcode(length: int) -> None:
    rng = random.Random(length)
    text = "".join(rng.choice(ALPHABET) for _ in range(length))
    version, mask, rows = _reference(text)
    matrix = qr.encode(text)
    assert (matrix.version, matrix.mask, matrix.rows) == (version, mask, rows)


@pytest.mark.parametrize("mask", range(8))
def test_every_fixed_mask_equals_qrcode(mask: int) -> None:
    text = "https://verifica.inpe.gob.pe/v/abc#" + "x" * 300
    assert qr.encode(text, mask=mask).rows == _reference(text, mask)[2]


def test_text_too_long_for_any_version_is_refused() -> None:
    with pytest.raises(qr.QrTooLongError):
        qr.encode("x" * 3000)


def test_a_typical_sealed_certificate_fits_version_11(sealer: object) -> None:
    """With its status entry and issuer, a long name, the seal in digits: version 11 (61 modules; the JSON
    web token of before took version 15, 77 modules)."""
    content = make_content(
        holder_name="HUAMÁN RODRÍGUEZ, MARÍA DEL PILAR",
        verification_url="https://verifica.inpe.gob.pe/v/Xk3b9QpL2mN7vR4tY8wZ1a",
        status=StatusRef(3, 65_000),
    )
    text = sealer.seal(SealedData.from_content(content))  # type: ignore[attr-defined]
    assert qr.segments(text)[1][0] == qrcode.util.MODE_NUMBER
    assert qr.encode(text).version <= 11


@pytest.mark.parametrize("digits", [12, 13, 14, 100, 401, 455, 500])
def test_url_then_digits_uses_a_byte_and_a_numeric_segment_as_qrcode_does(digits: int) -> None:
    rng = random.Random(digits)
    head = "https://verifica.inpe.gob.pe/v/Xk3b9QpL2mN7vR4tY8wZ1a#"
    tail = "7" + "".join(rng.choice("0123456789") for _ in range(digits - 1))
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(qrcode.util.QRData(head.encode(), mode=qrcode.util.MODE_8BIT_BYTE))
    code.add_data(qrcode.util.QRData(tail.encode(), mode=qrcode.util.MODE_NUMBER))
    code.make(fit=True)
    rows = tuple("".join("1" if module else "0" for module in row) for row in code.modules)
    matrix = qr.encode(head + tail)
    assert (matrix.version, matrix.mask, matrix.rows) == (code.version, code.best_mask_pattern(), rows)


def test_short_digit_runs_stay_in_the_byte_segment() -> None:
    assert len(qr.segments("https://x.example/v/a#12345")) == 1


def test_pdf_path_fills_exactly_the_dark_modules() -> None:
    matrix = qr.encode("https://verifica.inpe.gob.pe/v/abc#" + "y" * 200)
    path = qr.pdf_path(matrix, 10, 20, 150).decode("ascii")
    assert path.startswith("q 0 g ") and path.endswith("f Q")
    assert path.split().count("f") == 1  # one path, one fill: no seams between rectangles
    grid = [[0] * matrix.size for _ in range(matrix.size)]
    for x, y, width in re.findall(r"(\d+) (\d+) (\d+) 1 re", path):
        for column in range(int(x), int(x) + int(width)):
            grid[matrix.size - 1 - int(y)][column] += 1
    assert ["".join(map(str, row)) for row in grid] == list(matrix.rows)


def test_prepare_computes_the_tables_encode_needs() -> None:
    qr.prepare(14)
    before = qr._base_matrix.cache_info().misses
    text = "x" * 340  # a version-14 payload (v13-M holds 331 bytes)
    assert qr.encode(text).version == 14
    assert qr._base_matrix.cache_info().misses == before

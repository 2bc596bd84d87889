"""Benchmark: how well each QR payload decodes from degraded renders of a printed page (a phone photo).

The same certificate's essential data is sealed in each candidate format; each symbol is drawn as it is printed
(150 pt wide, 4 modules of quiet zone) and then photographed in simulation: the page scaled to a phone photo's
resolution (pixels across the A4 width), blurred, tilted, stained or not, saved as JPEG, and read with zxing-cpp.

Run: .venv/bin/python bench/qr_decoding.py
Prints, per candidate, `name_version`, `name_modules` and `name_decoded` (share of the degraded renders read back
exactly), then `before_decoded` and `after_decoded` (the JWS of before and the format chosen, same run).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import qrcode  # noqa: E402
import zxingcpp  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q  # noqa: E402

from chalicelib.adapters.documents.pki import key_id  # noqa: E402
from chalicelib.adapters.documents.seal import LocalQrSealer, local_es256_signer  # noqa: E402
from chalicelib.domain.documents import (  # noqa: E402
    KIND_CERTIFICATE,
    RESULT_NO_RECORD,
    DocumentContent,
    SealedData,
    StatusRef,
)

A4_WIDTH_MM = 210.0
QR_SIDE_MM = 150 / 72 * 25.4  # the certificate's QR: 150 pt
PHOTO_WIDTHS = (1400, 1100, 900, 750, 640)  # pixels across the page: a phone photo of the whole page, and worse
BLURS = (0.0, 0.8, 1.3)  # Gaussian sigma in photo pixels (focus, hand shake)
JPEG_QUALITIES = (85, 45, 20)
TILTS = (0.0, 4.0)  # degrees
STAINS = (0.0, 0.14)  # a blot this share of the symbol's width across (a stamp, a fold, a coffee stain)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _base45(data: bytes) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    out = []
    for at in range(0, len(data), 2):
        chunk = data[at:at + 2]
        value = int.from_bytes(chunk, "big")
        digits = 3 if len(chunk) == 2 else 2
        for _ in range(digits):
            value, rest = divmod(value, 45)
            out.append(alphabet[rest])
    return "".join(out)


def _content() -> DocumentContent:
    issued = datetime(2026, 11, 22, 15, 15, tzinfo=UTC)
    document_id = "Xk3b9QpL2mN7vR4tY8wZ1a"
    return DocumentContent(
        document_id=document_id, kind=KIND_CERTIFICATE, title="CERTIFICADO DE ANTECEDENTES JUDICIALES",
        number="CAJ-2026-0001234", holder_name="HUAMÁN RODRÍGUEZ, MARÍA DEL PILAR", document_type="DNI",
        document_number="45678912", result=RESULT_NO_RECORD, cases=(), issued_at=issued,
        valid_until=issued + timedelta(days=90), verification_url=f"https://verifica.inpe.gob.pe/v/{document_id}",
        status=StatusRef(3, 65_000))


def candidates() -> dict[str, tuple[str, int]]:
    """Each candidate's QR text and error-correction level."""
    key = ec.generate_private_key(ec.SECP256R1())
    sign = local_es256_signer(key)
    kid = key_id(key.public_key())
    content = _content()
    data = SealedData.from_content(content)
    url = content.verification_url

    def jws(claims: dict[str, object], header: dict[str, str]) -> str:
        head = _b64(json.dumps(header, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{url}#{head}.{body}.{_b64(sign(f'{head}.{body}'.encode()))}"

    # Before: the JWS this project printed (16-character kid, claims with text keys, id repeated, no issuer).
    old_claims = {"id": content.document_id, "k": "C", "n": data.holder_name, "d": data.masked_document_number,
                  "rc": "N", "iat": int(data.issued_at.timestamp()), "exp": int(data.valid_until.timestamp())}
    before = jws(old_claims, {"alg": "ES256", "kid": kid + kid, "typ": "inpe-doc+jws"})
    # The same JWS with what the QR must now carry: issuer, status-list entry, shorter kid.
    new_claims = {**old_claims, "iss": "INPE", "st": [3, 65_000]}
    shorter_jws = jws({k: v for k, v in new_claims.items() if k != "id"}, {"alg": "ES256", "kid": kid})
    digits = LocalQrSealer(kid, sign).seal(data)
    cose = digits.partition("#")[2]
    cose_bytes = int(cose).to_bytes((int(cose).bit_length() + 7) // 8, "big")
    # EU DCC style: zlib, then base45 (alphanumeric mode); its space and '%' make an awkward URL fragment.
    dcc = f"{url}#{_base45(zlib.compress(cose_bytes, 9))}"
    return {
        "jws_before_m": (before, ERROR_CORRECT_M),
        "jws_new_claims_m": (shorter_jws, ERROR_CORRECT_M),
        "cose_base45_m": (dcc, ERROR_CORRECT_M),
        "cose_digits_l": (digits, ERROR_CORRECT_L),
        "cose_digits_m": (digits, ERROR_CORRECT_M),
        "cose_digits_q": (digits, ERROR_CORRECT_Q),
        "cose_digits_h": (digits, ERROR_CORRECT_H),
    }


def symbol(text: str, level: int) -> tuple[np.ndarray, int]:
    code = qrcode.QRCode(error_correction=level, border=4)
    code.add_data(text, optimize=12)  # byte, alphanumeric and numeric segments where each is cheaper
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool), int(code.version)


def photo(matrix: np.ndarray, page_pixels: int, blur: float, quality: int, tilt: float, stain: float
          ) -> Image.Image:
    """The symbol as printed at its physical size, photographed at ``page_pixels`` across an A4 page."""
    from PIL import ImageDraw

    modules = matrix.shape[0]
    px_per_mm = page_pixels / A4_WIDTH_MM
    side = modules * (QR_SIDE_MM / (modules - 8)) * px_per_mm  # the printed symbol with its quiet zone
    printed = Image.fromarray(np.where(matrix, 0, 255).astype(np.uint8)).resize((modules * 12, modules * 12),
                                                                                 Image.Resampling.NEAREST)
    if stain:
        radius = stain * printed.width
        x, y = printed.width * 0.62, printed.height * 0.55  # in the data area, away from the finder patterns
        ImageDraw.Draw(printed).ellipse((x - radius, y - radius, x + radius, y + radius), fill=170)
    image = printed.resize((max(1, round(side)), max(1, round(side))), Image.Resampling.BOX)
    canvas = Image.new("L", (image.width + 40, image.height + 40), 255)
    canvas.paste(image, (20, 20))
    if tilt:
        canvas = canvas.rotate(tilt, resample=Image.Resampling.BILINEAR, fillcolor=255, expand=True)
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def decode_rate(text: str, matrix: np.ndarray, read: Callable[[Image.Image], list[str]]) -> float:
    conditions = list(itertools.product(PHOTO_WIDTHS, BLURS, JPEG_QUALITIES, TILTS, STAINS))
    decoded = sum(text in read(photo(matrix, *condition)) for condition in conditions)
    return decoded / len(conditions)


def main() -> None:
    def read(image: Image.Image) -> list[str]:
        return [result.text for result in zxingcpp.read_barcodes(image)]

    rates: dict[str, float] = {}
    for name, (text, level) in candidates().items():
        matrix, version = symbol(text, level)
        rates[name] = decode_rate(text, matrix, read)
        print(f"{name}_version: {version}")
        print(f"{name}_modules: {matrix.shape[0] - 8}")
        print(f"{name}_decoded: {rates[name]:.3f}")
    print(f"before_decoded: {rates['jws_before_m']:.3f}")
    print(f"after_decoded: {rates['cose_digits_m']:.3f}")


if __name__ == "__main__":
    main()

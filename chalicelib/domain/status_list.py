"""Status lists (IETF OAuth Token Status List): each document's QR points to an entry; 2 bits per entry.

Entry ``i`` lives in byte ``i // 4`` at bit offset ``2 * (i % 4)`` counted from the least significant bit, as
the draft specifies. Values: 0 valid, 1 revoked (the draft's INVALID), 3 superseded (application-specific).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from .documents import STATUS_REVOKED, STATUS_SUPERSEDED, STATUS_VALID, StatusRef

BITS = 2
LIST_SIZE = 1 << 16  # entries per list: 16 KiB of bits, a few hundred bytes once compressed
# Entries are handed out in a scattered order (a bijection of the counter modulo the list size), so a list's
# neighbouring entries do not belong to documents issued one after the other.
_STRIDE = 40_503  # odd, hence invertible modulo a power of two

STATUS_NAMES = {STATUS_VALID: "valid", STATUS_REVOKED: "revoked", 2: "suspended", STATUS_SUPERSEDED: "superseded"}


def allocate(sequence: int) -> StatusRef:
    """The status-list entry of the ``sequence``-th document of an issuer (1-based)."""
    if sequence < 1:
        raise ValueError("sequences start at 1")
    position = sequence - 1
    return StatusRef(list_id=position // LIST_SIZE + 1, index=(position % LIST_SIZE) * _STRIDE % LIST_SIZE)


def encode(entries: Mapping[int, int], size: int = LIST_SIZE) -> bytes:
    """The compressed list (``lst`` before base64url): zlib (RFC 1950) of the packed 2-bit entries."""
    packed = bytearray(size * BITS // 8)
    for index, value in entries.items():
        if not 0 <= index < size or not 0 <= value < 1 << BITS:
            raise ValueError("status entry out of range")
        packed[index // 4] |= value << (2 * (index % 4))
    return zlib.compress(bytes(packed), 9)


def status_at(compressed: bytes, index: int, bits: int = BITS) -> int:
    """The value of entry ``index`` in a compressed list; ``ValueError`` if the list is malformed or short."""
    if bits != BITS:
        raise ValueError("only 2-bit status lists are used")
    try:
        packed = zlib.decompress(compressed)
    except zlib.error as exc:
        raise ValueError("the status list is not zlib data") from exc
    if not 0 <= index < len(packed) * 4:
        raise ValueError("the status list has no such entry")
    return (packed[index // 4] >> (2 * (index % 4))) & 0b11

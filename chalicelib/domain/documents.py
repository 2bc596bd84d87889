"""Signed documents: what is printed on them, what their QR seals, and the ports that sign them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

KIND_CERTIFICATE = "certificate"
KIND_ATTENDANCE = "attendance"

RESULT_NO_RECORD = "NO REGISTRA ANTECEDENTES JUDICIALES"
RESULT_RECORD = "REGISTRA ANTECEDENTES JUDICIALES"
RESULT_ATTENDANCE = "ASISTENCIA REGISTRADA"

# Short codes keep the QR small: every byte of the payload costs about 1.4 bytes
# in the QR once base64url-encoded. Texts not listed here travel verbatim.
_KIND_CODES = {KIND_CERTIFICATE: "C", KIND_ATTENDANCE: "A"}
_RESULT_CODES = {RESULT_NO_RECORD: "N", RESULT_RECORD: "R", RESULT_ATTENDANCE: "A"}
_KIND_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
_RESULT_BY_CODE = {code: text for text, code in _RESULT_CODES.items()}


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One confirmed case printed on a certificate that records antecedents."""

    case_file: str
    court: str
    offence: str
    date: str


@dataclass(frozen=True, slots=True)
class DocumentContent:
    """Everything printed on a signed document.

    ``verification_url`` must end with ``/v/{document_id}``: the offline QR check
    compares that path with the signed id.
    """

    document_id: str
    kind: str  # KIND_CERTIFICATE | KIND_ATTENDANCE
    title: str
    number: str
    holder_name: str
    document_type: str
    document_number: str
    result: str
    cases: tuple[CaseLine, ...]
    issued_at: datetime
    valid_until: datetime
    verification_url: str
    extra_lines: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValueError("issued_at and valid_until must be timezone-aware")


def mask_document_number(number: str) -> str:
    """Hide all but the last characters of an identity document number.

    Eight or more characters keep the last 4 ("12345678" -> "****5678"); shorter
    numbers keep the last 2, and numbers of 2 characters or fewer are hidden whole.
    Whitespace inside the number is dropped.
    """
    number = "".join(number.split())
    if len(number) <= 2:
        return "*" * len(number)
    keep = 4 if len(number) >= 8 else 2
    return "*" * (len(number) - keep) + number[-keep:]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _from_epoch(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("timestamp claims must be integers")
    return datetime.fromtimestamp(value, tz=UTC)


def _text_claim(claims: dict[str, Any], name: str) -> str:
    value = claims[name]
    if not isinstance(value, str):
        raise ValueError(f"claim {name!r} must be a string")
    return value


@dataclass(frozen=True, slots=True)
class SealedData:
    """The essential data of a document, signed into its QR code.

    Claims use short names to keep the QR small: ``id`` document id, ``k`` kind
    (code or verbatim text), ``n`` holder name, ``d`` masked document number,
    ``r`` result text or ``rc`` result code, ``iat``/``exp`` issue time and end of
    validity as integer seconds since the Unix epoch (UTC), as in JWT.
    Datetimes here are therefore whole seconds.

    ``verification_url`` is not a claim: it travels in clear in front of the
    signature so that a phone camera opens the verification page; the verifier
    checks that its ``/v/{id}`` matches the signed id.
    """

    document_id: str
    kind: str
    holder_name: str
    masked_document_number: str
    result: str
    issued_at: datetime
    valid_until: datetime
    verification_url: str = ""

    @classmethod
    def from_content(cls, content: DocumentContent) -> SealedData:
        return cls(
            document_id=content.document_id,
            kind=content.kind,
            holder_name=content.holder_name,
            masked_document_number=mask_document_number(content.document_number),
            result=content.result,
            issued_at=_from_epoch(_epoch(content.issued_at)),
            valid_until=_from_epoch(_epoch(content.valid_until)),
            verification_url=content.verification_url,
        )

    def to_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "id": self.document_id,
            "k": _KIND_CODES.get(self.kind, self.kind),
            "n": self.holder_name,
            "d": self.masked_document_number,
        }
        code = _RESULT_CODES.get(self.result)
        if code is None:
            claims["r"] = self.result
        else:
            claims["rc"] = code
        claims["iat"] = _epoch(self.issued_at)
        claims["exp"] = _epoch(self.valid_until)
        return claims

    @classmethod
    def from_claims(cls, claims: dict[str, Any], verification_url: str = "") -> SealedData:
        """Rebuild from decoded claims; raises ``ValueError`` when they are malformed."""
        try:
            kind = _text_claim(claims, "k")
            result = _RESULT_BY_CODE[_text_claim(claims, "rc")] if "rc" in claims else _text_claim(claims, "r")
            return cls(
                document_id=_text_claim(claims, "id"),
                kind=_KIND_BY_CODE.get(kind, kind),
                holder_name=_text_claim(claims, "n"),
                masked_document_number=_text_claim(claims, "d"),
                result=result,
                issued_at=_from_epoch(claims["iat"]),
                valid_until=_from_epoch(claims["exp"]),
                verification_url=verification_url,
            )
        except (KeyError, TypeError, OverflowError, OSError) as exc:
            raise ValueError("malformed document claims") from exc


class DocumentSigner(Protocol):
    """Port: adds INPE's PAdES signature to a PDF (local key file or cloud KMS)."""

    def sign_pdf(self, pdf: bytes) -> bytes: ...


class QrSealer(Protocol):
    """Port: turns the essential data into the signed text of the QR code."""

    def seal(self, data: SealedData) -> str: ...

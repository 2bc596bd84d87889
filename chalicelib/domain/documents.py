"""Signed documents: what is printed on them, what their QR seals, and the ports that sign them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

KIND_CERTIFICATE = "certificate"
KIND_ATTENDANCE = "attendance"
KIND_REPORT = "report"

ISSUER_INPE = "INPE"
ISSUER_JUDICIARY = "PJ"


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who issues and signs a kind of document: its own signer identity, heading and verification wording."""

    code: str  # the QR's ``iss`` claim
    name: str  # the organisation in its certificates
    heading: str
    unit: str
    signature_field: str
    signed_note: str


ISSUERS = {
    ISSUER_INPE: Issuer(
        ISSUER_INPE, "Instituto Nacional Penitenciario", "INSTITUTO NACIONAL PENITENCIARIO",
        "Dirección de Registro Penitenciario", "FirmaINPE",
        "Documento firmado digitalmente por el Instituto Nacional Penitenciario (INPE)."),
    ISSUER_JUDICIARY: Issuer(
        ISSUER_JUDICIARY, "Poder Judicial del Perú", "PODER JUDICIAL DEL PERÚ",
        "Control Virtual Penal de Procesados y Sentenciados Libres", "FirmaPoderJudicial",
        "Documento firmado digitalmente por el Poder Judicial del Perú (Control Virtual Penal)."),
}
_ISSUER_OF_KIND = {KIND_CERTIFICATE: ISSUER_INPE, KIND_ATTENDANCE: ISSUER_JUDICIARY, KIND_REPORT: ISSUER_JUDICIARY}

# How long a document is kept verifiable decides its PAdES level: B-LTA (archive timestamps) for records kept
# for years, B-LT for the others.
ARCHIVED_KINDS = frozenset({KIND_REPORT})


def issuer_of(kind: str) -> Issuer:
    """The issuer of a kind of document; unknown kinds are INPE's (the platform's first documents)."""
    return ISSUERS[_ISSUER_OF_KIND.get(kind, ISSUER_INPE)]


# Status of a document in its issuer's status list (IETF Token Status List, 2 bits per document).
STATUS_VALID = 0
STATUS_REVOKED = 1  # the list's INVALID
STATUS_SUPERSEDED = 3  # application-specific value: a newer revision replaces it


@dataclass(frozen=True, slots=True)
class StatusRef:
    """Where a document's status is kept: entry ``index`` of list ``list_id`` of the document's issuer."""

    list_id: int
    index: int

RESULT_NO_RECORD = "NO REGISTRA ANTECEDENTES JUDICIALES"
RESULT_RECORD = "REGISTRA ANTECEDENTES JUDICIALES"
RESULT_ATTENDANCE = "ASISTENCIA REGISTRADA"

# Short codes keep the QR small: every byte of the payload costs about 1.4 bytes
# in the QR once base64url-encoded. Texts not listed here travel verbatim.
_KIND_CODES = {KIND_CERTIFICATE: "C", KIND_ATTENDANCE: "A", KIND_REPORT: "R"}
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


class _Signed:
    """What every signed document's content shares: aware times, and its issuer by kind."""

    __slots__ = ()
    kind: str
    issued_at: datetime
    valid_until: datetime
    holder_name: str

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValueError("issued_at and valid_until must be timezone-aware")

    @property
    def issuer(self) -> Issuer:
        return issuer_of(self.kind)

    @property
    def sealed_name(self) -> str:
        return self.holder_name


@dataclass(frozen=True, slots=True)
class DocumentContent(_Signed):
    """Everything printed on a signed certificate or attendance certificate.

    ``verification_url`` must end with ``/v/{document_id}``: the offline QR check
    compares that path with the document the QR speaks of.
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
    status: StatusRef | None = None

    @property
    def sealed_reference(self) -> str:
        return mask_document_number(self.document_number)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One incident of the daily report (annex 4): one row of its table."""

    occurred_at: datetime
    full_name: str
    identity_document: str
    case_file: str
    court: str
    incident_type: str
    detail: str
    observations: str
    status: str


@dataclass(frozen=True, slots=True)
class ReportContent(_Signed):
    """The daily incident report of a judicial district (annex 4): a header and one row per incident."""

    document_id: str
    title: str
    number: str
    district: str
    day: date
    revision: int
    prepared_by: str
    rows: tuple[ReportRow, ...]
    result: str
    issued_at: datetime
    valid_until: datetime
    verification_url: str
    supersedes: str | None = None  # the number of the revision this one replaces
    status: StatusRef | None = None
    kind: str = field(default=KIND_REPORT)

    @property
    def holder_name(self) -> str:  # type: ignore[override]
        return f"Distrito Judicial de {self.district}"

    @property
    def sealed_reference(self) -> str:
        return f"{self.day:%d/%m/%Y} R{self.revision}"


SignedContent = DocumentContent | ReportContent


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


def _text_claim(claims: dict[Any, Any], name: int) -> str:
    value = claims[name]
    if not isinstance(value, str):
        raise ValueError(f"claim {name!r} must be a string")
    return value


# CWT claim keys (RFC 8392) and this project's private claims (negative keys, as RFC 8392 reserves them).
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT = 1, 4, 6
CLAIM_KIND, CLAIM_NAME, CLAIM_REFERENCE, CLAIM_RESULT_CODE, CLAIM_RESULT, CLAIM_STATUS = -1, -2, -3, -4, -5, -6


@dataclass(frozen=True, slots=True)
class SealedData:
    """The essential data of a document, signed into its QR code as CWT claims (RFC 8392).

    ``iss`` is the issuer's code (``INPE``, ``PJ``), which must match the organisation certified for the
    seal key; ``iat``/``exp`` are whole seconds since the epoch. Private claims: kind, holder (a person, or
    the district of a report), masked document number (or report date and revision), result (code or text)
    and the status-list entry ``[list, index]``. The verification URL is not a claim: it travels in clear in
    front of the signature so that a phone camera opens it, and it is signed as the COSE external data, so
    that the claims are bound to the service's origin and to the document id in the URL's path.
    """

    document_id: str
    kind: str
    issuer: str
    holder_name: str
    masked_document_number: str
    result: str
    issued_at: datetime
    valid_until: datetime
    status: StatusRef | None = None
    verification_url: str = ""

    @classmethod
    def from_content(cls, content: SignedContent) -> SealedData:
        return cls(
            document_id=content.document_id,
            kind=content.kind,
            issuer=content.issuer.code,
            holder_name=content.sealed_name,
            masked_document_number=content.sealed_reference,
            result=content.result,
            issued_at=_from_epoch(_epoch(content.issued_at)),
            valid_until=_from_epoch(_epoch(content.valid_until)),
            status=content.status,
            verification_url=content.verification_url,
        )

    def to_claims(self) -> dict[int, Any]:
        claims: dict[int, Any] = {CLAIM_ISS: self.issuer, CLAIM_IAT: _epoch(self.issued_at),
                                  CLAIM_EXP: _epoch(self.valid_until),
                                  CLAIM_KIND: _KIND_CODES.get(self.kind, self.kind),
                                  CLAIM_NAME: self.holder_name, CLAIM_REFERENCE: self.masked_document_number}
        code = _RESULT_CODES.get(self.result)
        if code is None:
            claims[CLAIM_RESULT] = self.result
        else:
            claims[CLAIM_RESULT_CODE] = code
        if self.status is not None:
            claims[CLAIM_STATUS] = [self.status.list_id, self.status.index]
        return claims

    @classmethod
    def from_claims(cls, claims: dict[Any, Any], document_id: str, verification_url: str = "") -> SealedData:
        """Rebuild from decoded claims; raises ``ValueError`` when they are malformed."""
        try:
            kind = _text_claim(claims, CLAIM_KIND)
            result = (_RESULT_BY_CODE[_text_claim(claims, CLAIM_RESULT_CODE)] if CLAIM_RESULT_CODE in claims
                      else _text_claim(claims, CLAIM_RESULT))
            status = None
            if CLAIM_STATUS in claims:
                raw = claims[CLAIM_STATUS]
                if (not isinstance(raw, list) or len(raw) != 2
                        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw)):
                    raise ValueError("malformed status claim")
                status = StatusRef(raw[0], raw[1])
            return cls(
                document_id=document_id,
                kind=_KIND_BY_CODE.get(kind, kind),
                issuer=_text_claim(claims, CLAIM_ISS),
                holder_name=_text_claim(claims, CLAIM_NAME),
                masked_document_number=_text_claim(claims, CLAIM_REFERENCE),
                result=result,
                issued_at=_from_epoch(claims[CLAIM_IAT]),
                valid_until=_from_epoch(claims[CLAIM_EXP]),
                status=status,
                verification_url=verification_url,
            )
        except (KeyError, TypeError, OverflowError, OSError) as exc:
            raise ValueError("malformed document claims") from exc


class DocumentSigner(Protocol):
    """Port: adds the issuer's PAdES signature to a PDF (local key file or cloud KMS)."""

    def sign_pdf(self, pdf: bytes) -> bytes: ...


class QrSealer(Protocol):
    """Port: turns the essential data into the signed text of the QR code."""

    def seal(self, data: SealedData) -> str: ...

"""The API's request and response models (pydantic): the routes that take them validate their bodies with them,
and their JSON Schemas are the OpenAPI document's (chalicelib/api/openapi.py), so the two cannot drift.

The models check a body's shape (known fields, their types); the use cases then apply the rules (a document
number's check digit, a district in scope) with their own field-named errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from pydantic import ValidationError as PydanticError

from ..domain.errors import ValidationError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable code a client may branch on, e.g. `invalid_field`, `not_found`.")
    message: str = Field(description="What went wrong, for a person (English).")
    field: str | None = Field(None, description="The field, header or parameter at fault, when one is.")
    details: dict[str, Any] | None = None
    request_id: str = Field(description="The same id as the X-Request-Id header and the server's log lines.")


class ErrorResponse(BaseModel):
    """The one error shape of every error: the views', the framework's and the gateway's."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


class CertificateRequestCreate(Strict):
    """A citizen's certificate request (the identity proof follows in its own call)."""

    applicant: dict[str, Any] | None = Field(None, description="given_names, first_surname, second_surname, "
                                             "nationality, document_type, document_number, birth_date, email")
    terms_accepted: StrictBool | None = Field(None, description="Must be true.")
    language: Literal["es", "en"] | None = "es"


class PartnerRequestCreate(Strict):
    """A partner's request for a foreigner it identified: the identification it vouches for and its own reference."""

    applicant: dict[str, Any] = Field(description="given_names, first_surname, second_surname, nationality, "
                                      "document_type (CE, PTP or PASSPORT), document_number, birth_date")
    partner_reference: StrictStr = Field(min_length=1, max_length=64, description="The partner's own reference.")
    language: Literal["es", "en"] | None = "es"


class PartnerBatchCreate(Strict):
    """Up to 50 partner requests, validated all together before any is made; answered by position."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class PartnerToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class QrCheck(Strict):
    """The text of a certificate's QR, to check offline and against the registry (see docs/qr-format.md)."""

    qr_text: StrictStr = Field(min_length=1, max_length=4096)


class Verification(BaseModel):
    """One verdict: `status`. `offline_check` says whether the QR's signed data verified (QR checks only)."""

    status: Literal["valid", "revoked", "superseded", "expired", "unknown"]
    offline_check: Literal["valid", "invalid"] | None = None
    offline_reason: str | None = None


class Page(BaseModel):
    """One page of a list: pass `next_cursor` back as `?cursor=` (with the same other parameters) for the next."""

    items: list[dict[str, Any]] = Field(description="This page's items, in the list's order.")
    next_cursor: str | None = Field(description="An opaque, signed cursor of the next page, bound to this list "
                                                "(and its district, officer or court); null on the last page.")


class Jwk(BaseModel):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    alg: Literal["ES256"] | None = None
    use: str | None = None
    x5c: list[str] | None = None


class Jwks(BaseModel):
    keys: list[Jwk]


def parse[M: BaseModel](model: type[M], body: Any) -> M:
    """``body`` as ``model``, or the field-named error of its first fault (unknown field, wrong type)."""
    if not isinstance(body, dict):
        raise ValidationError("Expected a JSON object.", code="invalid_body")
    try:
        return model.model_validate(body, strict=True)
    except PydanticError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        if first["type"] == "extra_forbidden":
            raise ValidationError("Unknown field.", field=field, code="unknown_field") from None
        raise ValidationError(first["msg"] + ".", field=field) from None

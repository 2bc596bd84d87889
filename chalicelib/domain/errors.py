"""The one error hierarchy: each error carries a stable code, an HTTP status and a human message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(DomainError):
    status = 422
    code = "invalid_field"


class InvalidRequestBody(DomainError):
    status = 400
    code = "invalid_body"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_state"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"


class ConcurrentUpdate(Conflict):
    """Someone else changed the record between our read and our write; the caller may retry."""

    code = "concurrent_update"


class FieldErrors(ValidationError):
    """Several fields wrong at once: the message names the first, details list all."""

    def __init__(self, errors: list[ValidationError]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code,
                         details={"errors": [e.to_dict() for e in errors]})
        self.errors = errors

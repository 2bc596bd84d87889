"""API errors as what a person reads: the error's field and code pick a catalogue text (no rule lives here)."""

from __future__ import annotations

from typing import Any

from .texts import has, text

NAME_FIELDS = frozenset({"given_names", "first_surname", "second_surname"})
GENERIC_CODES = frozenset({"invalid_field", "wrong_type", "missing_field", "bad_request"})


def field_label(field: str | None, lang: str) -> str:
    if field and has(f"field.{field}", lang):
        return text(f"field.{field}", lang)
    return field or ""


def document_label(document_type: str | None, lang: str) -> str:
    key = f"doc.{document_type}"
    return text(key, lang) if document_type and has(key, lang) else text("field.document_number", lang)


def describe(error: dict[str, Any], lang: str, document_type: str | None = None, **values: Any) -> str:
    """One wrong field, as the most specific catalogue text there is; otherwise a generic one naming it."""
    code = str(error.get("code") or "")
    field = error.get("field") or None
    if code == "missing_field":
        keys = [f"err.{field}.missing_field", "err.missing_field"] if field else []
    else:
        # A specific code (voucher_not_found) says more than the field; a generic one (invalid_field) less.
        keys = [f"err.{field}.{code}"] if field else []
        if code not in GENERIC_CODES:
            keys.append(f"err.{code}")
        if field:
            keys += [f"err.{field}.{document_type}", f"err.{field}"]
        if field in NAME_FIELDS:
            keys.append("err.name")
    fill = {"field": field_label(field, lang), "document": document_label(document_type, lang), **values}
    for key in keys:
        if has(key, lang):
            return text(key, lang, **fill)
    return text("err.generic_field", lang, **fill) if field else text("err.generic", lang)

"""The API's published contract: the OpenAPI document (/openapi.json) and a short human page of it (/docs)."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from .http import handled

bp = Blueprint(__name__)
_BUILT: dict[str, Any] = {}


def _request():  # type: ignore[no-untyped-def]
    return bp.current_request


def document() -> dict[str, Any]:
    """Built once per process from the app's routes and models."""
    if "document" not in _BUILT:
        import app

        from .openapi import build_document

        _BUILT["document"] = build_document(app.app)
    built: dict[str, Any] = _BUILT["document"]
    return built


@bp.route("/openapi.json", methods=["GET"])
@handled(_request)
def openapi_document():  # type: ignore[no-untyped-def]
    """The OpenAPI 3.1 document of every route, generated from the code's own routes and models."""
    return Response(body=json.dumps(document(), ensure_ascii=False), status_code=200,
                    headers={"Content-Type": "application/json; charset=utf-8",
                             "Cache-Control": "public, max-age=300"})


@bp.route("/docs", methods=["GET"])
@handled(_request)
def api_page():  # type: ignore[no-untyped-def]
    """A short human page of the API, built from the OpenAPI document."""
    from .openapi import render_page

    return Response(body=render_page(document()), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=300",
                             "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                             "X-Content-Type-Options": "nosniff"})

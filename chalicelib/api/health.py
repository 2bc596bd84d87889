"""GET /health: the state of each component; 503 when the database cannot be reached."""

from __future__ import annotations

from chalice import Blueprint

from ..bootstrap import container
from ..domain.errors import DomainError
from .http import json_response

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health():  # type: ignore[no-untyped-def]
    c = container()
    components: dict[str, str] = {}
    try:
        c.store.ping()
        components["database"] = "ok"
    except DomainError:
        components["database"] = "unreachable"
    try:
        c.storage.ping()
        components["documents"] = "ok"
    except OSError:
        components["documents"] = "unwritable"
    try:
        from ..services.control.contingency import registry_status

        components.update(registry_status(c.registries, c.control.contingencies, c.clock))
    except DomainError:
        components.update({"identity_registry": "unknown", "warrants_registry": "unknown"})
    healthy = all(v == "ok" for v in components.values())
    return json_response({"status": "ok" if healthy else "degraded", "stage": c.settings.stage,
                          "components": components}, 200 if components["database"] == "ok" else 503)

"""The auditor's page: the audit log searched by operator, person and date, reads of person-level data included."""

from __future__ import annotations

from urllib.parse import urlencode

from chalice import Blueprint, Response

from ..domain.errors import ValidationError
from ..domain.operators import Role
from ..services.audit_search import is_read, parse_query, search_audit
from ..services.control.common import peru_today
from .exports import export
from .web import Ctx, field_errors, page

bp = Blueprint(__name__)


@page(bp, "/console/audit", roles=(Role.AUDITOR, Role.ADMIN))
def audit_log(ctx: Ctx) -> Response:
    c = ctx.c
    values = ctx.query
    errors: dict[str, str] = {}
    entries = []
    try:
        query = parse_query(values, peru_today(c.clock.now()))
        entries = search_audit(query, operator=ctx.operator, audit=c.audit, measures=c.control.measures, clock=c.clock)
    except ValidationError as refused:
        errors = field_errors(refused)
    if values.get("format") and not errors:
        return export(ctx, "auditoria", ["at", "actor", "role", "action", "target", "details"],
                      [(e.at.isoformat(), e.actor, e.role, e.action, e.target, e.details) for e in entries])
    query_string = urlencode({k: v for k, v in values.items() if k != "format" and v})
    return ctx.render("audit.html", status=422 if errors else 200, title=ctx.t("audit.title"), entries=entries,
                      values=values, errors=errors, is_read=is_read, query_string=query_string,
                      today=peru_today(c.clock.now()).isoformat())

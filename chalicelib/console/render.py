"""Pages from Jinja2 templates, with autoescape on: every value a template prints is HTML-escaped."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import i18n

if TYPE_CHECKING:
    from .web import Ctx

TEMPLATES = Path(__file__).with_name("templates")

# What each role's navigation offers, in order: (role, key of the label, path).
NAVIGATION = (
    ("reviewer", "nav.review", "/console/review"),
    ("officer", "nav.officer", "/console/officer"),
    ("cvp_head", "nav.cvp", "/console/cvp"),
    ("court", "nav.court", "/console/court/measures"),
    ("admin", "nav.operators", "/console/admin/operators"),
    ("admin", "nav.imports", "/console/admin/imports"),
    ("auditor", "nav.audit", "/console/audit"),
    ("admin", "nav.indicators", "/console/indicators"),
    ("auditor", "nav.indicators", "/console/indicators"),
    ("cvp_head", "nav.indicators", "/console/indicators"),
    ("reviewer", "nav.indicators", "/console/indicators"),
)


def home_of(roles: frozenset[str]) -> str:
    return next((path for role, _, path in NAVIGATION if role in roles), "/console/login")


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(peru=i18n.peru, day=i18n.day)
    return env


def render_page(template: str, *, ctx: Ctx, **values: Any) -> str:
    session = ctx.session
    roles = session.operator.roles if session else frozenset()
    draft = values.pop("draft", None)

    def filled(action: str, name: str, default: Any = "") -> Any:
        """A form's value: what was typed before the session ran out, if this is that form."""
        if draft and draft.get("path") == action:
            return draft["fields"].get(name, default)
        return default

    context = {
        "ctx": ctx, "lang": ctx.lang, "t": ctx.t,
        "has": lambda key: key in i18n.catalogue(i18n.language(ctx.lang))[0],
        "tm": lambda message: i18n.domain_text(ctx.lang, message),
        "tn": i18n.plural_translator(ctx.lang), "url": ctx.url,
        "session": session, "csrf": session.csrf if session else "", "here": ctx.path,
        "nav": list(dict.fromkeys((key, path) for role, key, path in NAVIGATION if role in roles)),
        "now": ctx.c.clock.now(), "age": lambda m: i18n.age(m, ctx.c.clock.now(), ctx.lang), "filled": filled,
        "other_lang": "en" if ctx.lang == "es" else "es", **values}
    return environment().get_template(template).render(**context)

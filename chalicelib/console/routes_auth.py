"""The console's doors: sign in (local accounts, or Cognito's hosted UI in the cloud), sign out, the language,
the stylesheet and script, and the signed links to stored files."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from ..domain.errors import NotFound, Unauthenticated
from ..services import console_auth
from . import i18n
from .render import home_of
from .web import (
    LANG_COOKIE,
    LOGIN_COOKIE,
    Ctx,
    cookies,
    login_page,
    page,
    page_headers,
    safe_path,
    session_cookie,
    set_cookie,
)

bp = Blueprint(__name__)
STATIC = Path(__file__).with_name("static")
ASSETS = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@page(bp, "/console", public=True)
def console_home(ctx: Ctx) -> Response:
    if ctx.session is None:
        return ctx.redirect("/console/login")
    return ctx.redirect(home_of(ctx.session.operator.roles))


@page(bp, "/console/login", public=True)
def console_login_form(ctx: Ctx) -> Response:
    if ctx.session is not None:
        return ctx.redirect(safe_path(ctx.query.get("next"), home_of(ctx.session.operator.roles)))
    return login_page(ctx, next=safe_path(ctx.query.get("next"), ""), expired=ctx.query.get("expired") == "1")


@page(bp, "/console/login", methods=("POST",), public=True)
def console_login(ctx: Ctx) -> Response:
    form = ctx.form
    draft_fields: dict[str, str] = {k[6:]: v[0] for k, v in form.fields.items() if k.startswith("draft.") and v}
    draft_path = safe_path(form.get("draft_path"), "")
    target = safe_path(form.get("next"), "")
    values: dict[str, Any] = {"next": target, "username": form.get("username")[:64], "draft_fields": draft_fields,
                              "draft_path": draft_path}
    expected = cookies(ctx.request).get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form.raw("login_token")):
        return login_page(ctx, 400, problem="stale_form", **values)
    c = ctx.c
    draft = {"path": draft_path, "fields": draft_fields} if draft_path and draft_fields else None
    try:
        token, session = console_auth.sign_in(form.get("username"), form.raw("password"), ctx.lang,
                                              accounts=c.accounts, sessions=c.sessions, audit=c.audit,
                                              clock=c.clock, draft=draft)
    except Unauthenticated as refused:
        return login_page(ctx, 401, problem=refused.code, **values)
    ctx.set_cookies += [set_cookie(c, session_cookie(c), token), set_cookie(c, LOGIN_COOKIE, "", 0)]
    ctx.session = session
    return ctx.redirect(safe_path(target, home_of(session.operator.roles)))


OAUTH_COOKIE = "console_oauth"


@page(bp, "/console/auth/start", public=True)
def console_auth_start(ctx: Ctx) -> Response:
    """In the cloud: off to Cognito's hosted UI (password and MFA there), with a PKCE verifier and a state kept
    in a short-lived cookie (SameSite=Lax, so that it comes back with the redirect)."""
    hosted = ctx.c.hosted_ui
    if hosted is None:
        raise NotFound("The console signs in with local accounts here.")
    from ..adapters.aws.cognito_hosted import pkce_pair

    state = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    target = safe_path(ctx.query.get("next"), "/console")
    value = base64.urlsafe_b64encode(json.dumps([state, verifier, target]).encode()).decode()
    ctx.set_cookies.append(set_cookie(ctx.c, OAUTH_COOKIE, value, 600).replace("SameSite=Strict", "SameSite=Lax"))
    return Response(body="", status_code=303, headers=page_headers(ctx, {
        "Location": hosted.authorize_url(state, challenge, ctx.lang)}))


@page(bp, "/console/auth/callback", public=True)
def console_auth_callback(ctx: Ctx) -> Response:
    """Back from the hosted UI: the state must match the cookie's; the code becomes an ID token, checked like any
    operator token; then the same session as a local sign-in."""
    c = ctx.c
    if c.hosted_ui is None:
        raise NotFound("The console signs in with local accounts here.")
    try:
        state, verifier, target = json.loads(base64.urlsafe_b64decode(cookies(ctx.request).get(OAUTH_COOKIE, "")))
    except (ValueError, TypeError):
        return login_page(ctx, 400, problem="stale_form")
    if not hmac.compare_digest(str(state), ctx.query.get("state", "")) or not ctx.query.get("code"):
        return login_page(ctx, 400, problem="stale_form")
    operator = c.tokens.verify(c.hosted_ui.exchange(ctx.query["code"], str(verifier)))
    token, session = console_auth.start_session(operator, operator.subject, ctx.lang, sessions=c.sessions,
                                                audit=c.audit, clock=c.clock, via="cognito")
    ctx.set_cookies += [set_cookie(c, session_cookie(c), token), set_cookie(c, OAUTH_COOKIE, "", 0)]
    ctx.session = session
    # The session cookie is SameSite=Strict: a redirect chain that began on the hosted UI would not carry it, so
    # the next page is reached from this one (same site).
    return ctx.render("signed_in.html", title=ctx.t("login.signed_in"),
                      target=safe_path(str(target), home_of(operator.roles)))


@page(bp, "/console/logout", methods=("POST",))
def console_logout(ctx: Ctx) -> Response:
    c = ctx.c
    if ctx.session is not None:
        console_auth.sign_out(ctx.session, sessions=c.sessions, audit=c.audit, clock=c.clock)
        ctx.session = None
    ctx.set_cookies.append(set_cookie(c, session_cookie(c), "", 0))
    return ctx.redirect("/console/login")


@page(bp, "/console/language/{code}", public=True)
def console_language(ctx: Ctx, code: str) -> Response:
    lang = i18n.language(code)
    ctx.set_cookies.append(set_cookie(ctx.c, LANG_COOKIE, lang, 365 * 24 * 3600))
    if ctx.session is not None:
        ctx.session = console_auth.update_session(ctx.session, sessions=ctx.c.sessions, language=lang)
    return ctx.redirect(safe_path(ctx.query.get("next"), "/console"))


@page(bp, "/console/assets/{name}", public=True)
def console_asset(ctx: Ctx, name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("No such file.")
    return Response(body=(STATIC / name).read_text(encoding="utf-8"), status_code=200,
                    headers={"Content-Type": ASSETS[name], "Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})


@page(bp, "/console/media/{token}")
def console_media(ctx: Ctx, token: str) -> Response:
    """A stored file behind a signed link of the local stack, for the operator it was made for, until it
    expires (in the cloud the links are S3 presigned URLs and never reach this route)."""
    verify = getattr(ctx.c.media, "verify", None)
    found = verify(token) if verify else None
    if found is None or found.subject != ctx.operator.subject:
        raise NotFound("No such file, or the link expired.")
    data = ctx.c.storage.get(found.key)
    if data is None:
        raise NotFound("No such file.")
    headers: dict[str, str | list[str]] = {"Content-Type": found.content_type, "Cache-Control": "private, no-store",
                                           "X-Content-Type-Options": "nosniff"}
    if found.filename:
        headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    body: bytes | str = data if not found.content_type.startswith("text/") else data.decode("utf-8")
    return Response(body=body, status_code=200, headers=headers)

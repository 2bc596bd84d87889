"""The console's HTTP plumbing: the session cookie, CSRF on every form, the role check with its audited 403 page,
forms (URL-encoded and multipart), pages rendered from templates, strict security headers, and the form kept
when a session runs out mid-way."""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from chalice import Blueprint, Response
from chalice.app import Request

from ..bootstrap import Container, container
from ..domain.errors import DomainError, FieldErrors, Forbidden, NotFound, PayloadTooLarge, Unauthenticated
from ..domain.operators import Operator, Role
from ..domain.ports import AuditEntry
from ..domain.sessions import ConsoleSession, draft_of
from ..services import console_auth
from . import i18n
from .render import render_page

log = logging.getLogger("console")

LANG_COOKIE = "console_lang"
LOGIN_COOKIE = "console_login"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 9 * 1024 * 1024


def secure_cookies(c: Container) -> bool:
    """Secure cookies wherever the console is served over HTTPS (the cloud); the local stack is plain HTTP."""
    return c.settings.public_base_url.startswith("https://") or c.settings.stage != "local"


def session_cookie(c: Container) -> str:
    return "__Host-console_session" if secure_cookies(c) else "console_session"


def set_cookie(c: Container, name: str, value: str, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure_cookies(c):
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except Exception:  # a malformed cookie header is simply no cookie
        return {}
    return {k: v.value for k, v in jar.items()}


def base_path(c: Container) -> str:
    return urlsplit(c.settings.public_base_url).path.rstrip("/")


def safe_path(value: str | None, default: str = "/console") -> str:
    """Only this console's own pages are followed after signing in or switching language (no open redirect)."""
    if not value or not value.startswith("/console") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else default


@dataclass
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def raw(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0] if values else ""

    def getall(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]

    def file(self, name: str) -> tuple[str, bytes] | None:
        return self.files.get(name)

    def flat(self) -> dict[str, Any]:
        return {k: v[0] if len(v) == 1 else v for k, v in self.fields.items()}


def parse_form(request: Request) -> Form:
    content_type = request.headers.get("content-type") or ""
    raw = request.raw_body or b""
    body = raw if isinstance(raw, bytes) else raw.encode()
    kind = content_type.split(";")[0].strip().lower()
    if kind == FORM:
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge("The form is too large.")
        return Form(parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    if kind == MULTIPART:
        if len(body) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        form = Form()
        for part in message.iter_parts() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                if data:
                    form.files[name] = (filename, data)
            else:
                form.fields.setdefault(name, []).append(data.decode("utf-8", errors="replace"))
        return form
    return Form()


@dataclass
class Ctx:
    """One console request: who, in which language, the form, and how to answer."""

    request: Request
    c: Container
    session: ConsoleSession | None
    lang: str
    form: Form = field(default_factory=Form)
    image_origins: set[str] = field(default_factory=set)
    connect_origins: set[str] = field(default_factory=set)  # where the page's script may send (a presigned upload)
    set_cookies: list[str] = field(default_factory=list)

    @property
    def operator(self) -> Operator:
        if self.session is None:
            raise Unauthenticated("Sign in first.")
        return self.session.operator

    @property
    def t(self) -> Callable[..., str]:
        return i18n.translator(self.lang)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params or {})

    @property
    def path(self) -> str:
        """This page's path without the API stage: its route with the parameters filled in."""
        route = str((self.request.context or {}).get("resourcePath") or "/console")
        params = self.request.uri_params or {}
        return re.sub(r"\{(\w+)\}", lambda m: quote(str(params.get(m.group(1), "")), safe=""), route)

    def url(self, path: str) -> str:
        """A link to one of the console's pages, under the stage the API is served from (e.g. /api)."""
        return base_path(self.c) + path

    def has(self, role: Role) -> bool:
        return self.session is not None and role.value in self.session.operator.roles

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        notice = None
        if self.session is not None and self.session.notice:
            notice = self.session.notice
            self.session = console_auth.update_session(self.session, sessions=self.c.sessions, notice=None)
        draft = self.session.draft if self.session is not None else None
        body = render_page(template, ctx=self, notice=notice, draft=draft, **values)
        if draft is not None and self.session is not None:
            self.session = console_auth.update_session(self.session, sessions=self.c.sessions, draft=None)
        return html_response(body, status, self)

    def redirect(self, path: str, notice: str | None = None) -> Response:
        if notice and self.session is not None:
            self.session = console_auth.update_session(self.session, sessions=self.c.sessions, notice=notice)
        return Response(body="", status_code=303, headers=page_headers(self, {"Location": self.url(path)}))

    def audit(self, action: str, target: str, **details: Any) -> None:
        who = self.operator
        self.c.audit.append(AuditEntry(at=self.c.clock.now(), actor=who.subject, role=",".join(sorted(who.roles)),
                                       action=action, target=target, details=details))


def csp(image_origins: Iterable[str] = (), connect_origins: Iterable[str] = ()) -> str:
    images = " ".join(["'self'", "data:", *sorted(image_origins)])
    connect = " ".join(["'self'", *sorted(connect_origins)])
    return ("default-src 'none'; style-src 'self'; script-src 'self'; img-src " + images + "; "
            "connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def page_headers(ctx: Ctx | None, extra: dict[str, str] | None = None) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "X-Robots-Tag": "noindex",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Content-Security-Policy": csp(ctx.image_origins if ctx else (), ctx.connect_origins if ctx else ()),
        **(extra or {})}
    if ctx is not None and ctx.set_cookies:
        headers["Set-Cookie"] = ctx.set_cookies
    return headers


def html_response(body: str, status: int, ctx: Ctx | None) -> Response:
    return Response(body=body, status_code=status, headers=page_headers(ctx))


def error_page(ctx: Ctx, status: int, code: str, message: str | None = None) -> Response:
    return ctx.render("error.html", status=status, code=code, message=message, http_status=status)


def _language(request: Request, session: ConsoleSession | None) -> str:
    if session is not None:
        return i18n.language(session.language)
    wanted = cookies(request).get(LANG_COOKIE)
    if wanted in i18n.LANGUAGES:
        return str(wanted)
    accept = (request.headers.get("accept-language") or "").lower()
    return "en" if accept.startswith("en") else i18n.DEFAULT_LANGUAGE


def _login_redirect(ctx: Ctx, expired: bool) -> Response:
    target = ctx.url("/console/login?next=" + quote(ctx.path, safe="/") + ("&expired=1" if expired else ""))
    return Response(body="", status_code=303, headers=page_headers(ctx, {"Location": target}))


def login_page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    """The sign-in form, with a fresh token in a SameSite=Strict cookie that its POST must echo (no login CSRF)."""
    token = secrets.token_urlsafe(24)
    ctx.set_cookies.append(set_cookie(ctx.c, LOGIN_COOKIE, token, 3600))
    defaults: dict[str, Any] = {"next": "", "expired": False, "problem": None, "username": "", "draft_fields": {},
                                "draft_path": "", "hosted_ui": ctx.c.hosted_ui is not None}
    return ctx.render("login.html", status=status, login_token=token, **{**defaults, **values})


def _resume_login(ctx: Ctx, expired: bool) -> Response:
    """A form posted after the session ran out: the sign-in page carries what was typed, so that after
    signing in the form comes back filled in (its file uploads excepted)."""
    form = ctx.form
    back = safe_path(form.get("back"), ctx.path)
    draft = draft_of(ctx.path, {k: v[0] if len(v) == 1 else "\n".join(v) for k, v in form.fields.items()})
    return login_page(ctx, 401, next=back, draft_fields=draft["fields"] if draft else {},
                      draft_path=draft["path"] if draft else "", expired=expired)


def page(bp: Blueprint, path: str, *, methods: tuple[str, ...] = ("GET",), roles: tuple[Role, ...] = (),
         content_types: tuple[str, ...] | None = None, public: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Register a console page. Unless public: a live session (else the sign-in page), a valid CSRF token on
    every POST, and one of ``roles`` (else the audited 403 page)."""

    def decorate(view: Callable[..., Any]) -> Any:
        @functools.wraps(view)
        def wrapper(**params: Any) -> Response:
            request = bp.current_request
            c = container()
            token = cookies(request).get(session_cookie(c))
            session, expired = (None, False) if public and not token else console_auth.current_session(
                token, sessions=c.sessions, clock=c.clock)
            ctx = Ctx(request, c, session, _language(request, session))
            try:
                if request.method == "POST":
                    ctx.form = parse_form(request)
                if not public:
                    if session is None:
                        if request.method == "POST":
                            return _resume_login(ctx, expired)
                        return _login_redirect(ctx, expired)
                    if request.method == "POST" and not session.csrf_ok(ctx.form.raw("csrf_token")):
                        log.info("console form without a valid CSRF token", extra={"path": ctx.path})
                        ctx.audit("console.csrf_refused", ctx.path)
                        return error_page(ctx, 403, "csrf_failed")
                    if roles and not session.operator.roles & {r.value for r in roles}:
                        raise Forbidden("This page needs another role.", code="missing_role")
                result: Response = view(ctx, **params)
                return result
            except Forbidden as refused:
                if session is not None:
                    ctx.audit("console.forbidden", ctx.path, code=refused.code)
                return error_page(ctx, 403, refused.code, refused.message)
            except NotFound:
                return error_page(ctx, 404, "not_found")
            except Unauthenticated:
                return _login_redirect(ctx, False)
            except FieldErrors as errors:
                return error_page(ctx, errors.status, errors.code, errors.message)
            except DomainError as error:
                return error_page(ctx, error.status, error.code, error.message)
            except Exception:
                rid = secrets.token_hex(8)
                log.exception("console page failed", extra={"request_id": rid, "route": view.__name__})
                return error_page(ctx, 500, "internal_error")

        kinds = list(content_types) if content_types else ([FORM] if "POST" in methods else None)
        if kinds:
            bp.route(path, methods=list(methods), content_types=kinds)(wrapper)
        else:
            bp.route(path, methods=list(methods))(wrapper)
        return view  # other views call it directly, with the request's context (to show a form again)

    return decorate


def field_errors(error: DomainError) -> dict[str, str]:
    """A refused form's messages by field, for the page to show beside each input."""
    if isinstance(error, FieldErrors):
        return {e.field or "form": e.message for e in error.errors}
    return {error.field or "form": error.message}


def page_after(ctx: Ctx, scope: str, name: str = "cursor") -> Any:
    """Where a listed page starts: the position of the signed cursor in ``?<name>=`` for the list ``scope``."""
    from ..api.cursors import decode_cursor

    return decode_cursor(ctx.request, scope, name)


def next_href(ctx: Ctx, scope: str, last: Any, name: str = "cursor") -> str | None:
    """The link to the next page of a list (this page's query, its cursor ``name`` moved on), or None."""
    from ..api.cursors import encode_cursor

    if not last:
        return None
    query = {k: v for k, v in ctx.query.items() if k not in (name, "format")}
    return ctx.url(f"{ctx.path}?{urlencode({**query, name: encode_cursor(scope, last)})}")

"""The console driven as a browser would, over the in-process app: a cookie jar, forms with the page's CSRF token,
operator accounts created for the test."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.domain.accounts import OperatorAccount, hash_password
from tests.integration.conftest import Api

PASSWORD = "Clave-de-prueba-2026"
_HASH = hash_password(PASSWORD)  # one hash per session: scrypt takes a while
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


def account(api: Api, role: str | tuple[str, ...], *, districts: tuple[str, ...] = (),
            courts: tuple[str, ...] = (), username: str | None = None, name: str = "Operadora de prueba",
            active: bool = True) -> str:
    roles = (role,) if isinstance(role, str) else role
    username = username or f"{roles[0].replace('_', '')}-{uuid.uuid4().hex[:8]}"
    api.c.accounts.put_account(OperatorAccount(username=username, name=name, roles=frozenset(roles),
                                               districts=frozenset(districts), courts=frozenset(courts),
                                               password_hash=_HASH, active=active))
    return username


class Console:
    """One browser: its cookies, and the CSRF token of the last page it read."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.jar: dict[str, str] = {}
        self.csrf = ""
        self.last: Any = None

    def _cookie_header(self) -> dict[str, str]:
        """What a browser sends: its cookies, and an Accept header that takes anything (images, downloads)."""
        accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        return {**accept, "Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else accept

    def _keep(self, answer: Any) -> Any:
        cookies = answer.headers.get("Set-Cookie") or answer.headers.get("set-cookie") or []
        for cookie in [cookies] if isinstance(cookies, str) else cookies:
            pair, *attributes = cookie.split(";")
            name, _, value = pair.strip().partition("=")
            if any(a.strip().lower() == "max-age=0" for a in attributes) or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        text = answer.body.decode("utf-8", errors="replace") if isinstance(answer.body, bytes) else ""
        found = _CSRF.search(text)
        if found:
            self.csrf = html.unescape(found.group(1))
        self.last = answer
        return answer

    def get(self, path: str, follow: bool = True) -> Any:
        answer = self._keep(self.api.client.http.get(path, headers=self._cookie_header()))
        while follow and answer.status_code in (302, 303):
            answer = self._keep(self.api.client.http.get(self.location(answer), headers=self._cookie_header()))
        return answer

    @staticmethod
    def location(answer: Any) -> str:
        target = urlsplit(answer.headers["Location"])
        return target.path + (f"?{target.query}" if target.query else "")

    def post(self, path: str, fields: dict[str, Any] | list[tuple[str, str]] | None = None, *, csrf: bool = True,
             follow: bool = True, files: dict[str, tuple[str, bytes, str]] | None = None) -> Any:
        items = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
        flat: list[tuple[str, str]] = []
        for key, value in items:
            flat += [(key, str(v)) for v in value] if isinstance(value, list) else [(key, str(value))]
        if csrf:
            flat.append(("csrf_token", self.csrf))
        if files:
            body, content_type = multipart(flat, files)
        else:
            body, content_type = urlencode(flat).encode(), "application/x-www-form-urlencoded"
        answer = self._keep(self.api.client.http.post(path, body=body, headers={
            **self._cookie_header(), "Content-Type": content_type}))
        while follow and answer.status_code in (302, 303):
            answer = self._keep(self.api.client.http.get(self.location(answer), headers=self._cookie_header()))
        return answer

    def sign_in(self, username: str, password: str = PASSWORD, follow: bool = True) -> Any:
        page = self.get("/console/login")
        token = _LOGIN.search(page.body.decode()).group(1)  # type: ignore[union-attr]
        return self.post("/console/login", {"username": username, "password": password, "login_token": token},
                         csrf=False, follow=follow)

    def text(self) -> str:
        return str(self.last.body.decode("utf-8")) if self.last is not None else ""

    def main(self) -> str:
        """The page's main content (what a failing assertion shows)."""
        text = self.text()
        start = text.find("<main")
        return text[start:text.find("</main>") + 7] if start >= 0 else text


def multipart(fields: list[tuple[str, str]], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "----console" + secrets.token_hex(8)
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, kind) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def signed_in(api: Api, role: str | tuple[str, ...], **scope: Any) -> Console:
    browser = Console(api)
    answer = browser.sign_in(account(api, role, **scope))
    assert answer.status_code == 200, answer.body[:500]
    return browser

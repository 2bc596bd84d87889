"""Signing in to the console: hashed passwords, lockout, a session cookie that is HttpOnly and SameSite=Strict,
CSRF on every form, an idle timeout that keeps what was typed, the audited 403 page, and sign-out."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Api
from tests.integration.console_support import PASSWORD, Console, account, signed_in


def test_an_operator_signs_in_and_lands_on_the_page_of_their_role(api: Api) -> None:
    browser = Console(api)
    name = account(api, "auditor")
    login = browser.get("/console/login")
    assert login.status_code == 200 and "Content-Security-Policy" in login.headers
    assert "default-src 'none'" in login.headers["Content-Security-Policy"]
    answer = browser.sign_in(name, follow=False)
    assert answer.status_code == 303 and browser.location(answer) == "/console/audit"
    cookie = next(c for c in answer.headers["Set-Cookie"] if c.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    home = browser.get("/console")
    assert home.status_code == 200 and browser.last is home
    assert '<h1' in browser.text() and 'lang="es"' in browser.text()
    actions = [e.action for e in api.c.audit.entries_for_day(api.c.clock.now().date(), 100_000) if e.actor == name]
    assert "console.sign_in" in actions


def test_a_wrong_password_is_refused_and_five_in_a_row_lock_the_account(api: Api) -> None:
    name = account(api, "reviewer")
    browser = Console(api)
    for _ in range(4):
        answer = browser.sign_in(name, "Contraseña-equivocada-1")
        assert answer.status_code == 401 and "Usuario o contraseña incorrectos" in browser.text()
        assert "console_session" not in browser.jar
    locked = browser.sign_in(name, "Contraseña-equivocada-1")
    assert locked.status_code == 401 and "bloqueada" in browser.text()
    # Locked: even the right password is refused until the lock runs out.
    assert browser.sign_in(name, PASSWORD).status_code == 401
    api.c.clock.advance(minutes=16)
    assert browser.sign_in(name, PASSWORD).status_code == 200
    assert "console_session" in browser.jar


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(api: Api) -> None:
    browser = Console(api)
    answer = browser.sign_in("nadie-por-aqui", PASSWORD)
    assert answer.status_code == 401 and "Usuario o contraseña incorrectos" in browser.text()


def test_a_sign_in_form_posted_without_its_token_is_refused(api: Api) -> None:
    browser = Console(api)
    name = account(api, "reviewer")
    answer = browser.post("/console/login", {"username": name, "password": PASSWORD, "login_token": "forged"},
                          csrf=False)
    assert answer.status_code == 400 and "console_session" not in browser.jar


def test_a_form_without_the_csrf_token_is_refused(api: Api) -> None:
    browser = signed_in(api, "auditor")
    answer = browser.post("/console/logout", {}, csrf=False)
    assert answer.status_code == 403 and 'data-code="csrf_failed"' in browser.text()
    assert browser.get("/console").status_code == 200  # still signed in


def test_a_page_of_another_role_is_a_403_page_and_the_attempt_is_audited(api: Api) -> None:
    browser = signed_in(api, "auditor")
    answer = browser.get("/console/review")
    assert answer.status_code == 403 and 'data-code="missing_role"' in browser.text()
    entries = api.c.audit.entries_for_target("/console/review", 50)
    assert any(e.action == "console.forbidden" for e in entries)


def test_an_idle_session_ends_and_a_form_posted_then_is_kept_for_after_signing_in(api: Api) -> None:
    name = account(api, "auditor")
    browser = Console(api)
    browser.sign_in(name)
    api.c.clock.advance(minutes=31)
    answer = browser.post("/console/logout", {"back": "/console/audit", "note": "lo que escribí"})
    assert answer.status_code == 401 and "Su sesión terminó" in browser.text()
    assert 'name="draft.note" value="lo que escribí"' in browser.text()
    assert browser.get("/console/audit", follow=False).status_code == 303  # signed out meanwhile


def test_signing_out_ends_the_session(api: Api) -> None:
    browser = signed_in(api, "auditor")
    cookie = browser.jar["console_session"]
    browser.post("/console/logout", {})
    assert "console_session" not in browser.jar
    browser.jar["console_session"] = cookie  # the old cookie is worthless now
    assert browser.get("/console/audit", follow=False).status_code == 303


def test_the_language_switches_to_english_and_back(api: Api) -> None:
    browser = signed_in(api, "auditor")
    browser.get("/console/language/en?next=/console")
    assert 'lang="en"' in browser.text() and "Sign out" in browser.text()
    browser.get("/console/language/es?next=https://evil.example/")
    assert 'lang="es"' in browser.text() and browser.last.status_code == 200


def test_a_session_lives_at_most_twelve_hours_even_when_used(api: Api) -> None:
    browser = signed_in(api, "auditor")
    for _ in range(25):
        api.c.clock.advance(minutes=29)
        browser.get("/console")
    assert browser.get("/console/audit", follow=False).status_code == 303
    assert timedelta(minutes=29 * 25) > timedelta(hours=12)


class StubHostedUi:
    """Stands in for Cognito's hosted UI: the code it hands back becomes a token of the local issuer."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def authorize_url(self, state: str, challenge: str, language: str) -> str:
        return f"https://auth.example.invalid/oauth2/authorize?state={state}&code_challenge={challenge}"

    def exchange(self, code: str, verifier: str) -> str:
        assert code == "good-code" and len(verifier) >= 43
        return str(self.api.c.tokens.issue("maria-cognito", ["cvp_head"], districts=["LIMA"]))


def test_in_the_cloud_the_console_signs_in_through_the_hosted_ui_with_a_state_and_pkce(
        api: Api, monkeypatch: object) -> None:
    import re
    from urllib.parse import parse_qs, urlsplit

    monkeypatch.setattr(api.c, "hosted_ui", StubHostedUi(api))  # type: ignore[attr-defined]
    browser = Console(api)
    browser.get("/console/login")
    assert "/console/auth/start" in browser.text() and 'name="password"' not in browser.text()
    start = browser.get("/console/auth/start?next=/console/cvp", follow=False)
    assert start.status_code == 303 and start.headers["Location"].startswith("https://auth.example.invalid/")
    cookie = next(c for c in start.headers["Set-Cookie"] if c.startswith("console_oauth="))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    forged = browser.get("/console/auth/callback?code=good-code&state=another", follow=False)
    assert forged.status_code == 400 and "console_session" not in browser.jar
    done = browser.get(f"/console/auth/callback?code=good-code&state={state}", follow=False)
    assert done.status_code == 200 and "console_session" in browser.jar
    assert re.search(r'http-equiv="refresh" content="0; url=/console/cvp"', browser.text())
    assert browser.get("/console/cvp?district=LIMA").status_code == 200
    entries = api.c.audit.entries_for_day(api.c.clock.now().date(), 100_000)
    assert any(e.actor == "maria-cognito" and e.details.get("via") == "cognito" for e in entries)

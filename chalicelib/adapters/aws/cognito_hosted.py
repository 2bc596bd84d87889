"""Signing operators in to the console through Cognito's hosted UI (where MFA is required): the authorization
code flow with PKCE; the ID token it returns is checked by the same verifier as the API's bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse
import urllib.request
from typing import Any

from ...domain.errors import ServiceUnavailable, Unauthenticated


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class CognitoHostedUi:
    def __init__(self, base_url: str, client_id: str, redirect_uri: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.timeout = timeout

    def authorize_url(self, state: str, challenge: str, language: str) -> str:
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid email profile", "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256", "lang": language})
        return f"{self.base_url}/oauth2/authorize?{query}"

    def exchange(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code (refused codes are Unauthenticated, an outage 503)."""
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": self.client_id, "code": code,
                                       "redirect_uri": self.redirect_uri, "code_verifier": verifier}).encode()
        request = urllib.request.Request(f"{self.base_url}/oauth2/token", data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - from settings
                tokens: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            if 400 <= refused.code < 500:
                raise Unauthenticated("The sign-in could not be completed; start again.",
                                      code="sign_in_refused") from None
            raise ServiceUnavailable("The sign-in service did not answer.", code="sign_in_unavailable") from None
        except (urllib.error.URLError, TimeoutError, ValueError):
            raise ServiceUnavailable("The sign-in service did not answer.", code="sign_in_unavailable") from None
        token = tokens.get("id_token")
        if not isinstance(token, str):
            raise Unauthenticated("The sign-in could not be completed; start again.", code="sign_in_refused")
        return token

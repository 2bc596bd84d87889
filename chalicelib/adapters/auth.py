"""Operator tokens: the local issuer (development key) and its verifier; Cognito plugs in beside it."""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

from ..domain.errors import Unauthenticated
from ..domain.operators import Operator, Role


class LocalTokenVerifier:
    """HS256 tokens signed with the local development secret, with issuer, audience and expiry checked."""

    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Operator:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], issuer=self._issuer,
                                audience=self._audience, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not valid.", code="invalid_token") from None
        roles, districts, courts = (claims.get(name, []) for name in ("roles", "districts", "courts"))
        if not all(isinstance(v, list) for v in (roles, districts, courts)):
            raise Unauthenticated("The token is not valid.", code="invalid_token")
        return Operator(subject=str(claims["sub"]), roles=frozenset(str(r) for r in roles),
                        districts=frozenset(str(d) for d in districts), courts=frozenset(str(c) for c in courts))

    def issue(self, subject: str, roles: Iterable[str], ttl_seconds: int = 8 * 3600,
              districts: Iterable[str] = (), courts: Iterable[str] = ()) -> str:
        """A token for the local stack; ``districts`` and ``courts`` are the scope claims (``*`` for all)."""
        allowed = {r.value for r in Role}
        unknown = sorted(set(roles) - allowed)
        if unknown:
            raise ValueError(f"Unknown roles {unknown}; expected some of {sorted(allowed)}")
        now = int(time.time())
        claims = {"sub": subject, "roles": sorted(set(roles)), "districts": sorted(set(districts)),
                  "courts": sorted(set(courts)), "iss": self._issuer, "aud": self._audience, "iat": now,
                  "exp": now + ttl_seconds}
        return jwt.encode(claims, self._secret, algorithm="HS256")

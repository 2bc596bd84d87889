"""Operator and partner tokens: the local issuers (development key) and their verifiers; Cognito plugs in beside
them."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Any

import jwt

from ..domain.errors import Unauthenticated, ValidationError
from ..domain.operators import Operator, Role
from ..domain.partners import SCOPES, Partner, PartnerCaller


def decode_local_token(token: str, secret: str, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a token the local issuer signed (HS256), or Unauthenticated saying expired or not valid."""
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, audience=audience,
                                            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired.", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid.", code="invalid_token") from None
    return claims


class LocalTokenVerifier:
    """HS256 tokens signed with the local development secret, with issuer, audience and expiry checked."""

    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Operator:
        claims = decode_local_token(token, self._secret, self._issuer, self._audience)
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


class PartnerTokens:
    """Partners' machine credentials, OAuth2 client credentials: the local token issuer (``POST /oauth2/token``)
    and the verifier of its access tokens, the same shape as the operators' (HS256, issuer, audience, expiry);
    in the cloud Cognito's resource server issues them. A partner's token carries its client id and scopes."""

    def __init__(self, partners: dict[str, Partner], secret: str, issuer: str, audience: str,
                 ttl_seconds: int = 3600, verifier: Any = None) -> None:
        self.partners = partners
        self._verifier = verifier  # the cloud's (Cognito's access tokens); None: the local issuer's tokens
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    def authenticate(self, client_id: str, client_secret: str) -> Partner:
        """The partner whose id and (current or previous) secret these are; any mismatch is the same refusal."""
        partner = self.partners.get(client_id)
        candidates = partner.secrets if partner and partner.secrets else ("\0",)
        # Every secret is compared (no early exit), so timing does not tell which was close.
        matched = [hmac.compare_digest(client_secret.encode("utf-8", "surrogatepass"), s.encode())
                   for s in candidates]
        if partner is None or not partner.secrets or not any(matched):
            raise Unauthenticated("Unknown client or wrong secret.", code="invalid_client")
        return partner

    def issue(self, partner: Partner, scopes: Iterable[str] | None = None, ttl_seconds: int | None = None) -> str:
        wanted = frozenset(scopes) if scopes is not None else partner.scopes
        if not wanted or not wanted <= partner.scopes:
            raise ValidationError("A scope asked for is not granted to this client.", field="scope",
                                  code="invalid_scope")
        now = int(time.time())
        claims = {"sub": partner.client_id, "client_id": partner.client_id, "scope": " ".join(sorted(wanted)),
                  "token_use": "access", "iss": self._issuer, "aud": self._audience, "iat": now,
                  "exp": now + (self._ttl if ttl_seconds is None else ttl_seconds)}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> PartnerCaller:
        if self._verifier is not None:
            caller: PartnerCaller = self._verifier.verify(token)
            if caller.client_id not in self.partners:
                raise Unauthenticated("The token is not valid.", code="invalid_token")
            return caller
        claims = decode_local_token(token, self._secret, self._issuer, self._audience)
        client_id, scope = claims.get("client_id"), claims.get("scope")
        if claims.get("token_use") != "access" or not isinstance(client_id, str) or not isinstance(scope, str) \
                or client_id not in self.partners:
            raise Unauthenticated("The token is not valid.", code="invalid_token")
        return PartnerCaller(client_id, frozenset(scope.split()))


def partners_from_settings(raw: dict[str, Any]) -> dict[str, Partner]:
    partners = {}
    for client_id, conf in raw.items():
        secrets = conf.get("secrets") or []  # none: only the cloud's tokens (Cognito holds the secret)
        if not isinstance(secrets, list) or not all(isinstance(s, str) and len(s) >= 16 for s in secrets):
            raise ValueError(f"partner {client_id}: secrets must be a list of strings of 16 or more characters")
        partners[client_id] = Partner(
            client_id=client_id, secrets=tuple(secrets), scopes=frozenset(conf.get("scopes") or SCOPES),
            fee_waived=bool(conf.get("fee_waived", False)), callback_url=conf.get("callback_url"),
            callback_secret=conf.get("callback_secret"),
            previous_callback_secret=conf.get("previous_callback_secret"), per_minute=int(conf.get("per_minute", 60)),
            per_day=int(conf.get("per_day", 10_000)), name=str(conf.get("name", client_id)))
    return partners

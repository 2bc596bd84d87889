"""Operator accounts of the console on the local stack: who signs in with which password, their roles and scope,
and the lockout after repeated failures. (In the cloud the accounts live in Cognito, behind the same port.)"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from .errors import FieldErrors, ValidationError
from .operators import ALL, Operator, Role

MAX_FAILURES = 5  # failed sign-ins in a row before the account is locked
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._\-]{2,63}")
_SCOPE_ITEM = re.compile(r"[A-Z0-9 \-*]{1,40}")
# scrypt with 16 MiB of memory: about 50 ms a hash, slow enough against guessing, cheap enough for a sign-in.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


# A hash to check against when the username is unknown, so both answers take the same time.
DECOY_HASH = hash_password("decoy-password-never-used", b"\x00" * 16)


@dataclass(frozen=True)
class OperatorAccount:
    username: str  # also the operator's subject (the audit log's actor)
    name: str
    roles: frozenset[str]
    districts: frozenset[str] = frozenset()
    courts: frozenset[str] = frozenset()
    password_hash: str = ""
    active: bool = True
    failures: int = 0
    locked_until: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    version: int = 0

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def failed(self, now: datetime) -> OperatorAccount:
        """One more failed sign-in; the fifth in a row locks the account for a while."""
        failures = self.failures + 1
        if failures >= MAX_FAILURES:
            return replace(self, failures=0, locked_until=now + LOCK_DURATION)
        return replace(self, failures=failures)

    def succeeded(self) -> OperatorAccount:
        return replace(self, failures=0, locked_until=None)

    def operator(self) -> Operator:
        return Operator(self.username, self.roles, self.districts, self.courts)


class OperatorAccounts(Protocol):
    """The console's operators (the local directory; Cognito's users in the cloud, which keep the passwords:
    ``manages_passwords`` is False there, and a reset is the directory's own)."""

    manages_passwords: bool

    def get_account(self, username: str) -> OperatorAccount | None: ...
    def put_account(self, account: OperatorAccount) -> None:
        """Conditional on ``version`` (0: new); raises AlreadyExists or ConcurrentUpdate."""
        ...
    def list_accounts(self, limit: int = 500) -> list[OperatorAccount]: ...
    def reset_password(self, username: str) -> None:
        """A directory that keeps the passwords sends its own reset (local accounts: type a new password)."""
        ...


def _scope(value: Any, field: str) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationError("Expected a comma-separated list.", field=field)
    items = frozenset(" ".join(str(v).upper().split()) for v in value if str(v).strip())
    if not all(_SCOPE_ITEM.fullmatch(i) for i in items):
        raise ValidationError("Expected codes such as LIMA or 1801-JR-PE-01, or * for all.", field=field)
    return items


def check_password(password: Any, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH or len(password) > 200:
        raise ValidationError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", field=field,
                              code="weak_password")
    if password.isalpha() or password.isdigit():
        raise ValidationError("Mix letters with digits or symbols.", field=field, code="weak_password")
    return password


def parse_account(data: Any, *, existing: OperatorAccount | None, with_password: bool = True) -> OperatorAccount:
    """The administrator's form: username (new accounts), name, roles, districts, courts, active, password
    (required for a new account, optional to reset one), unlock (a password reset unlocks too)."""
    if not isinstance(data, dict):
        raise ValidationError("Expected the account's fields.", field="username", code="invalid_body")
    errors: list[ValidationError] = []
    username = existing.username if existing else str(data.get("username", "")).strip().lower()
    if not _USERNAME.fullmatch(username):
        errors.append(ValidationError("Expected 3 to 64 lowercase letters, digits, dots or dashes.",
                                      field="username"))
    name = " ".join(str(data.get("name", "")).split())
    if not 2 <= len(name) <= 120:
        errors.append(ValidationError("Expected the person's name.", field="name"))
    roles = frozenset(str(r) for r in (data.get("roles") or []))
    if not roles or not roles <= {r.value for r in Role}:
        errors.append(ValidationError("Choose at least one role.", field="roles"))
    scopes: dict[str, frozenset[str]] = {}
    for field in ("districts", "courts"):
        try:
            scopes[field] = _scope(data.get(field, ""), field)
        except ValidationError as exc:
            errors.append(exc)
    if {"cvp_head", "officer"} & roles and not scopes.get("districts"):
        errors.append(ValidationError("CVP heads and officers need their districts.", field="districts"))
    if "court" in roles and not scopes.get("courts"):
        errors.append(ValidationError("Court staff need their courts.", field="courts"))
    password = str(data.get("password") or "") if with_password else ""
    hashed = existing.password_hash if existing else ""
    if with_password and (password or existing is None):
        try:
            hashed = hash_password(check_password(password))
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    base = existing or OperatorAccount(username=username, name=name, roles=roles)
    unlock = bool(password) or bool(data.get("unlock"))
    return replace(base, name=name, roles=roles, districts=scopes["districts"], courts=scopes["courts"],
                   password_hash=hashed, active=bool(data.get("active", True)),
                   failures=0 if unlock else base.failures, locked_until=None if unlock else base.locked_until)


def scope_text(values: frozenset[str]) -> str:
    return "*" if ALL in values else ", ".join(sorted(values))

"""The administrator's work on operators: create an account, change its roles and scope, reset its password,
unlock or deactivate it; every change audited (never the password)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..domain.accounts import OperatorAccount, OperatorAccounts, parse_account, scope_text
from ..domain.errors import Conflict, DomainError, NotFound
from ..domain.operators import Operator, Role
from ..domain.ports import AlreadyExists, AuditEntry, AuditLog, Clock


def list_operators(*, accounts: OperatorAccounts) -> list[OperatorAccount]:
    return accounts.list_accounts()


def get_operator(username: str, *, accounts: OperatorAccounts) -> OperatorAccount:
    account = accounts.get_account(username)
    if account is None:
        raise NotFound("No such operator.")
    return account


def save_operator(username: str | None, data: dict[str, Any], *, operator: Operator, accounts: OperatorAccounts,
                  audit: AuditLog, clock: Clock) -> OperatorAccount:
    """A new account (username None) or a change to one. An administrator cannot take the administrator role
    away from themselves, nor deactivate their own account."""
    existing = get_operator(username, accounts=accounts) if username else None
    now = clock.now()
    account = replace(parse_account(data, existing=existing, with_password=accounts.manages_passwords),
                      updated_at=now, updated_by=operator.subject)
    if account.username == operator.subject and (Role.ADMIN.value not in account.roles or not account.active):
        raise DomainError("You cannot remove your own administrator role or deactivate yourself.",
                          code="own_account", field="roles")
    try:
        accounts.put_account(account)
    except AlreadyExists:
        raise Conflict("An operator with that username exists.", code="username_taken", field="username") from None
    if existing is not None and not accounts.manages_passwords and data.get("reset_password"):
        accounts.reset_password(account.username)
    changes = {"roles": sorted(account.roles), "districts": scope_text(account.districts),
               "courts": scope_text(account.courts), "active": account.active,
               "password_reset": bool(data.get("password")), "unlocked": bool(data.get("unlock"))}
    audit.append(AuditEntry(at=now, actor=operator.subject, role=",".join(sorted(operator.roles)),
                            action="operator.create" if existing is None else "operator.update",
                            target=account.username, details=changes))
    return replace(account, version=account.version + 1)

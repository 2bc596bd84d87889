"""The console's operators in the cloud are the Cognito user pool's users: roles are its groups, the scope its
custom:districts and custom:courts attributes. Passwords and MFA stay with Cognito (a new operator is invited by
e-mail; a reset is Cognito's own), so nothing here sees a password."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...domain.accounts import OperatorAccount
from ...domain.operators import Role
from ...domain.ports import AlreadyExists
from .clients import client, error_code

ROLES = {r.value for r in Role}


def _scope(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


class CognitoOperatorAccounts:
    manages_passwords = False

    def __init__(self, user_pool_id: str, region: str, idp: Any = None) -> None:
        self.pool = user_pool_id
        self.region = region
        self._idp = idp

    @property
    def idp(self) -> Any:
        if self._idp is None:
            self._idp = client("cognito-idp", self.region)
        return self._idp

    def _account(self, username: str, attributes: list[dict[str, str]], enabled: bool) -> OperatorAccount:
        values = {a["Name"]: a["Value"] for a in attributes}
        groups = self.idp.admin_list_groups_for_user(UserPoolId=self.pool, Username=username)["Groups"]
        return OperatorAccount(username=username, name=values.get("name", username),
                               roles=frozenset(g["GroupName"] for g in groups) & ROLES,
                               districts=_scope(values.get("custom:districts", "")),
                               courts=_scope(values.get("custom:courts", "")), active=enabled, version=1)

    def get_account(self, username: str) -> OperatorAccount | None:
        try:
            user = self.idp.admin_get_user(UserPoolId=self.pool, Username=username)
        except Exception as error:
            if error_code(error) == "UserNotFoundException":
                return None
            raise
        return self._account(username, user.get("UserAttributes", []), bool(user.get("Enabled", True)))

    def put_account(self, account: OperatorAccount) -> None:
        attributes = [{"Name": "name", "Value": account.name},
                      {"Name": "custom:districts", "Value": ",".join(sorted(account.districts))},
                      {"Name": "custom:courts", "Value": ",".join(sorted(account.courts))}]
        if account.version == 0:
            try:
                self.idp.admin_create_user(UserPoolId=self.pool, Username=account.username,
                                           UserAttributes=attributes, DesiredDeliveryMediums=["EMAIL"])
            except Exception as error:
                if error_code(error) == "UsernameExistsException":
                    raise AlreadyExists("operator account") from error
                raise
            current = replace(account, roles=frozenset())
        else:
            self.idp.admin_update_user_attributes(UserPoolId=self.pool, Username=account.username,
                                                  UserAttributes=attributes)
            current = self.get_account(account.username) or replace(account, roles=frozenset())
        for role in sorted(account.roles - current.roles):
            self.idp.admin_add_user_to_group(UserPoolId=self.pool, Username=account.username, GroupName=role)
        for role in sorted(current.roles - account.roles):
            self.idp.admin_remove_user_from_group(UserPoolId=self.pool, Username=account.username, GroupName=role)
        if account.active:
            self.idp.admin_enable_user(UserPoolId=self.pool, Username=account.username)
        else:
            self.idp.admin_disable_user(UserPoolId=self.pool, Username=account.username)

    def reset_password(self, username: str) -> None:
        """Cognito's own reset: the operator gets a code by e-mail and chooses a new password."""
        self.idp.admin_reset_user_password(UserPoolId=self.pool, Username=username)

    def list_accounts(self, limit: int = 500) -> list[OperatorAccount]:
        found: list[OperatorAccount] = []
        for page in self.idp.get_paginator("list_users").paginate(UserPoolId=self.pool):
            for user in page.get("Users", []):
                found.append(self._account(user["Username"], user.get("Attributes", []), bool(user.get("Enabled"))))
                if len(found) >= limit:
                    return found
        return found

"""The console in the cloud: Cognito's users as the operators' directory (moto), and the hosted UI's code exchange
(a stand-in token endpoint on 127.0.0.1: PKCE verifier, redirect URI and client sent; refusals and outages)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from chalicelib.adapters.aws.cognito_accounts import CognitoOperatorAccounts
from chalicelib.adapters.aws.cognito_hosted import CognitoHostedUi, pkce_pair
from chalicelib.domain.accounts import OperatorAccount
from chalicelib.domain.errors import ServiceUnavailable, Unauthenticated
from chalicelib.domain.operators import Operator
from chalicelib.domain.ports import AlreadyExists
from chalicelib.services import operator_admin
from chalicelib.services.time import FixedClock
from tests.fakes_control import MemoryAudit

from .conftest import REGION


@pytest.fixture
def pool(mocked_aws: None) -> tuple[Any, str]:
    import boto3

    idp = boto3.client("cognito-idp", region_name=REGION)
    pool_id = idp.create_user_pool(PoolName="operators", Schema=[
        {"Name": "districts", "AttributeDataType": "String", "Mutable": True},
        {"Name": "courts", "AttributeDataType": "String", "Mutable": True}])["UserPool"]["Id"]
    for group in ("reviewer", "cvp_head", "officer", "court", "auditor", "admin"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    return idp, pool_id


def test_cognitos_users_are_the_operators_with_groups_as_roles_and_attributes_as_scope(pool: tuple[Any, str]) -> None:
    idp, pool_id = pool
    accounts = CognitoOperatorAccounts(pool_id, REGION, idp=idp)
    assert not accounts.manages_passwords
    accounts.put_account(OperatorAccount("maria", "María Jefa", frozenset({"cvp_head"}), frozenset({"LIMA", "CALLAO"})))
    with pytest.raises(AlreadyExists):
        accounts.put_account(OperatorAccount("maria", "Otra", frozenset({"court"})))
    maria = accounts.get_account("maria")
    assert maria is not None and maria.roles == frozenset({"cvp_head"}) and maria.districts == {"LIMA", "CALLAO"}
    from dataclasses import replace

    accounts.put_account(replace(maria, roles=frozenset({"officer", "auditor"}), districts=frozenset({"CUSCO"}),
                                 active=False))
    changed = accounts.get_account("maria")
    assert changed is not None and changed.roles == {"officer", "auditor"} and changed.districts == {"CUSCO"}
    assert not changed.active
    assert [a.username for a in accounts.list_accounts()] == ["maria"] and accounts.get_account("nadie") is None


def test_the_administrator_invites_an_operator_without_ever_handling_a_password(pool: tuple[Any, str]) -> None:
    idp, pool_id = pool
    accounts = CognitoOperatorAccounts(pool_id, REGION, idp=idp)
    audit = MemoryAudit()
    created = operator_admin.save_operator(None, {"username": "julia", "name": "Julia Jueza", "roles": ["court"],
                                                  "courts": "1801-JR-PE-01", "password": "ignored-here-2026"},
                                           operator=Operator("root", frozenset({"admin"})), accounts=accounts,
                                           audit=audit, clock=FixedClock(__import__("datetime").datetime.now()))
    assert created.password_hash == "" and idp.admin_get_user(UserPoolId=pool_id, Username="julia")["Enabled"]
    assert audit.actions() == ["operator.create"]


class TokenEndpoint(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, Any]] = (200, {"id_token": "header.claims.signature"})
    received: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        TokenEndpoint.received.append(urllib.parse.parse_qs(body))
        status, payload = TokenEndpoint.answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def hosted() -> Any:
    server = HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield CognitoHostedUi(f"http://127.0.0.1:{server.server_address[1]}", "app-client",
                          "https://consola.example.pe/console/auth/callback")
    server.shutdown()


def test_the_hosted_ui_is_asked_for_a_code_with_pkce_and_the_code_becomes_an_id_token(hosted: Any) -> None:
    verifier, challenge = pkce_pair()
    url = urllib.parse.urlsplit(hosted.authorize_url("state-1", challenge, "es"))
    query = urllib.parse.parse_qs(url.query)
    assert url.path == "/oauth2/authorize" and query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["state-1"] and query["redirect_uri"] == ["https://consola.example.pe/console/auth/callback"]
    TokenEndpoint.answer = (200, {"id_token": "header.claims.signature", "access_token": "a"})
    assert hosted.exchange("the-code", verifier) == "header.claims.signature"
    sent = TokenEndpoint.received[-1]
    assert sent["grant_type"] == ["authorization_code"] and sent["code_verifier"] == [verifier]
    assert sent["client_id"] == ["app-client"] and sent["code"] == ["the-code"]


def test_a_refused_code_is_unauthenticated_and_an_outage_is_a_503(hosted: Any) -> None:
    TokenEndpoint.answer = (400, {"error": "invalid_grant"})
    with pytest.raises(Unauthenticated):
        hosted.exchange("used-code", "v")
    TokenEndpoint.answer = (500, {"error": "boom"})
    with pytest.raises(ServiceUnavailable):
        hosted.exchange("code", "v")
    down = CognitoHostedUi("http://127.0.0.1:9", "app", "https://x/cb", timeout=1)
    with pytest.raises(ServiceUnavailable):
        down.exchange("code", "v")

"""The rotation function (infrastructure/rotation/handler.py) against moto's Secrets Manager: each step, a replay of
each step, a failed test that leaves AWSCURRENT where it was, and two values valid during the rollover."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.adapters.aws.clients import client
from chalicelib.adapters.aws.secrets import previous_secret_value, secret_value
from infrastructure.rotation import handler as rotation

from .conftest import REGION

pytestmark = pytest.mark.usefixtures("mocked_aws")
OLD = "A" * 48


class RotatingSecretsManager:
    """moto's client, plus what Secrets Manager does before it calls the function: rotation is enabled and the
    rotation's version exists with AWSPENDING and no value yet (moto cannot invoke a rotation Lambda in-process)."""

    def __init__(self, service: Any, token: str) -> None:
        self._service, self._token = service, token
        self.exceptions = service.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def describe_secret(self, **kwargs: Any) -> dict[str, Any]:
        described: dict[str, Any] = self._service.describe_secret(**kwargs)
        versions = described.setdefault("VersionIdsToStages", {})
        if self._token not in versions and not any("AWSPENDING" in stages for stages in versions.values()):
            versions[self._token] = ["AWSPENDING"]
        return {**described, "RotationEnabled": True}


def _secret() -> str:
    arn: str = client("secretsmanager", REGION).create_secret(Name=f"channel-{uuid.uuid4()}", SecretString=OLD)["ARN"]
    return arn


def _step(arn: str, token: str, step: str, service: Any = None) -> None:
    service = service or RotatingSecretsManager(client("secretsmanager", REGION), token)
    rotation.handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None, service)


def _stages(arn: str) -> dict[str, list[str]]:
    versions: dict[str, list[str]] = client("secretsmanager", REGION).describe_secret(SecretId=arn)[
        "VersionIdsToStages"]
    return versions


def _rotate(arn: str) -> str:
    token = str(uuid.uuid4())
    for step in rotation.STEPS:
        _step(arn, token, step)
    return token


def test_create_puts_a_new_well_formed_value_as_pending_and_a_replay_keeps_it() -> None:
    arn, token = _secret(), str(uuid.uuid4())
    _step(arn, token, "createSecret")
    sm = client("secretsmanager", REGION)
    pending = sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
    assert rotation.well_formed(pending) and pending != OLD
    _step(arn, token, "createSecret")  # Secrets Manager retries a step that timed out
    assert sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"] == pending
    assert _stages(arn)[token] == ["AWSPENDING"]
    assert secret_value(arn, REGION) == OLD  # nothing changes for the functions before finishSecret


def test_a_whole_rotation_leaves_the_new_value_current_and_the_old_one_previous() -> None:
    arn = _secret()
    token = _rotate(arn)
    new = secret_value(arn, REGION)
    assert new != OLD and rotation.well_formed(new)
    assert previous_secret_value(arn, REGION) == OLD  # two valid at once: what the functions accept
    assert _stages(arn)[token] == ["AWSCURRENT"]  # the pending label is cleared
    for step in rotation.STEPS:  # a replay of any step once finished changes nothing
        _step(arn, token, step)
    assert secret_value(arn, REGION) == new and previous_secret_value(arn, REGION) == OLD


def test_the_next_rotation_drops_the_oldest_value() -> None:
    arn = _secret()
    _rotate(arn)
    first = secret_value(arn, REGION)
    _rotate(arn)
    assert previous_secret_value(arn, REGION) == first
    assert OLD not in {secret_value(arn, REGION), previous_secret_value(arn, REGION)}


def test_a_failed_test_step_leaves_awscurrent_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    arn, token = _secret(), str(uuid.uuid4())
    monkeypatch.setattr(rotation, "new_value", lambda: OLD)  # a generator that repeats the value in use
    _step(arn, token, "createSecret")
    _step(arn, token, "setSecret")
    with pytest.raises(rotation.RotationError, match="already in use"):
        _step(arn, token, "testSecret")
    assert secret_value(arn, REGION) == OLD and "AWSCURRENT" not in _stages(arn)[token]


def test_a_malformed_pending_value_fails_the_test_step() -> None:
    arn, token = _secret(), str(uuid.uuid4())
    client("secretsmanager", REGION).put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="short",
                                                      VersionStages=["AWSPENDING"])
    with pytest.raises(rotation.RotationError, match="not well formed"):
        _step(arn, token, "testSecret")
    assert secret_value(arn, REGION) == OLD


def test_finish_replayed_after_a_partial_finish_completes_it() -> None:
    """A finishSecret that moved AWSCURRENT then timed out: its replay only clears the pending label."""
    arn, token = _secret(), str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret"):
        _step(arn, token, step)
    sm = client("secretsmanager", REGION)
    current = next(v for v, s in _stages(arn).items() if "AWSCURRENT" in s)
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                   RemoveFromVersionId=current)
    rotation.finish_secret(sm, arn, token)
    assert _stages(arn)[token] == ["AWSCURRENT"] and previous_secret_value(arn, REGION) == OLD


def test_misuse_is_refused_without_touching_the_secret() -> None:
    arn = _secret()
    sm = client("secretsmanager", REGION)
    with pytest.raises(rotation.RotationError, match="four steps"):
        rotation.handler({"SecretId": arn, "ClientRequestToken": "t", "Step": "deleteSecret"}, None, sm)
    with pytest.raises(rotation.RotationError, match="not enabled"):  # moto's plain client: rotation is off
        rotation.handler({"SecretId": arn, "ClientRequestToken": str(uuid.uuid4()), "Step": "createSecret"}, None,
                         sm)
    stranger = RotatingSecretsManager(sm, str(uuid.uuid4()))
    with pytest.raises(rotation.RotationError, match="not a version"):
        rotation.handler({"SecretId": arn, "ClientRequestToken": str(uuid.uuid4()), "Step": "finishSecret"}, None,
                         stranger)
    assert secret_value(arn, REGION) == OLD and previous_secret_value(arn, REGION) is None


def test_the_value_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    arn = _secret()
    with caplog.at_level("DEBUG", logger=rotation.__name__):
        _rotate(arn)
    records = list(caplog.records)  # read once: each call below may log (X-Ray, when patched) and grow the list
    current = secret_value(arn, REGION)
    assert records and all(current not in r.getMessage() and OLD not in r.getMessage() for r in records)


# --- a channel's API Gateway key: API Gateway holds the value too ------------------------------------------


def _api_key_secret() -> tuple[str, str]:
    """As the stack makes it: a usage plan with one key whose value is the secret's, the secret tagged with it."""
    apigateway = client("apigateway", REGION)
    plan = apigateway.create_usage_plan(name="antecedentes-dev-channel-telegram")["id"]
    key = apigateway.create_api_key(name="antecedentes-dev-channel-telegram", value=OLD, enabled=True)["id"]
    apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    arn: str = client("secretsmanager", REGION).create_secret(
        Name=f"api-key-{uuid.uuid4()}", SecretString=OLD,
        Tags=[{"Key": rotation.KIND_TAG, "Value": rotation.API_KEY_KIND}, {"Key": rotation.PLAN_TAG, "Value": plan}],
    )["ARN"]
    return arn, plan


def _plan_values(plan: str) -> set[str]:
    return {k["value"] for k in client("apigateway", REGION).get_usage_plan_keys(usagePlanId=plan)["items"]}


def _step_api(arn: str, token: str, step: str) -> None:
    service = RotatingSecretsManager(client("secretsmanager", REGION), token)
    rotation.handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None, service,
                     client("apigateway", REGION))


def test_an_api_key_rotation_keeps_two_keys_in_the_usage_plan_and_drops_the_oldest() -> None:
    arn, plan = _api_key_secret()
    token = str(uuid.uuid4())
    for step in rotation.STEPS:
        _step_api(arn, token, step)
        if step == "setSecret":  # replayed: still one new key
            _step_api(arn, token, step)
    first = secret_value(arn, REGION)
    assert _plan_values(plan) == {OLD, first}  # both valid during the rollover: the bot's warm functions hold OLD
    second_token = str(uuid.uuid4())
    for step in rotation.STEPS:
        _step_api(arn, second_token, step)
    second = secret_value(arn, REGION)
    assert _plan_values(plan) == {first, second}
    names = {k["name"] for k in client("apigateway", REGION).get_api_keys()["items"]}
    assert "antecedentes-dev-channel-telegram" not in names  # the oldest key is deleted, not only unplanned
    _step_api(arn, second_token, "finishSecret")  # a replay changes nothing
    assert _plan_values(plan) == {first, second}


def test_an_api_key_missing_from_the_plan_fails_the_test_step() -> None:
    arn, plan = _api_key_secret()
    token = str(uuid.uuid4())
    _step_api(arn, token, "createSecret")  # setSecret skipped: API Gateway never got the value
    with pytest.raises(rotation.RotationError, match="no API key with the pending value"):
        _step_api(arn, token, "testSecret")
    assert secret_value(arn, REGION) == OLD and _plan_values(plan) == {OLD}

"""Secrets Manager rotation of the secrets the system generates (a channel key, the key of the console's links
and list cursors, a channel's API Gateway key): the four steps Secrets Manager calls, each safe to replay.

The value is a plain string, as the functions read it. Two values are valid at once during a rollover: when
``finishSecret`` moves AWSCURRENT to the new version, Secrets Manager moves AWSPREVIOUS to the old one, and the
functions accept both (``chalicelib.adapters.aws.secrets``: the current one signs, either verifies), so a client
that read the secret before the rotation (the bot's warm function) is never refused. A new value that fails
``testSecret`` never becomes AWSCURRENT.

This file is the whole function (boto3 is in Lambda's Python runtime); the stack deploys it once per stage.
"""

from __future__ import annotations

import logging
import secrets
import string
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

ALPHABET = string.ascii_letters + string.digits  # as the stack's generated secrets (no punctuation)
LENGTH = 48
MIN_LENGTH = 32
CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationError(Exception):
    """The rotation must stop here; AWSCURRENT is left where it is."""


def new_value() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def well_formed(value: str) -> bool:
    return len(value) >= MIN_LENGTH and all(c in ALPHABET for c in value)


# A channel's API Gateway key (its usage plan) is a secret of another kind: API Gateway holds its value too, so
# setSecret adds a key with the new value to the channel's usage plan, and finishSecret removes the keys that are
# neither AWSCURRENT nor AWSPREVIOUS (the two valid at once). The secret's tags say so.
KIND_TAG, PLAN_TAG, API_KEY_KIND = "antecedentes:rotation", "antecedentes:usage-plan", "api-key"


def _client(name: str) -> Any:
    import boto3

    return boto3.client(name)


def handler(event: dict[str, Any], context: Any = None, service: Any = None, apigateway: Any = None) -> None:
    arn, token, step = event.get("SecretId"), event.get("ClientRequestToken"), event.get("Step")
    if not isinstance(arn, str) or not isinstance(token, str) or step not in STEPS:
        raise RotationError("expected SecretId, ClientRequestToken and one of the four steps")
    service = service if service is not None else _client("secretsmanager")
    described = service.describe_secret(SecretId=arn)
    if not described.get("RotationEnabled"):
        raise RotationError("rotation is not enabled on this secret")
    versions: dict[str, list[str]] = described.get("VersionIdsToStages", {})
    if token not in versions:
        raise RotationError("the rotation's version is not a version of this secret")
    if CURRENT in versions[token]:
        if step != "finishSecret":  # a replay of finishSecret still completes what its first run left
            log.info("step %s: the version is already AWSCURRENT, nothing to do", step)
            return
    elif PENDING not in versions[token]:
        raise RotationError("the rotation's version is not AWSPENDING")
    # Only names and steps are logged, never a value.
    log.info("step %s of a rotation of %s", step, described.get("Name", "a secret"))
    {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret,
     "finishSecret": finish_secret}[step](service, arn, token)
    tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
    if tags.get(KIND_TAG) == API_KEY_KIND:
        plan = tags.get(PLAN_TAG)
        if not plan:
            raise RotationError("an API key secret without the usage plan it belongs to")
        api = ApiKeys(apigateway if apigateway is not None else _client("apigateway"), plan,
                      str(described.get("Name", "channel")))
        if step == "setSecret":
            api.publish(_required(service, arn, token), token)
        elif step == "testSecret":
            api.check(_required(service, arn, token))
        elif step == "finishSecret":
            api.keep_only({_value(service, arn, VersionStage=CURRENT), _value(service, arn, VersionStage=PREVIOUS)})


def _required(service: Any, arn: str, token: str) -> str:
    value = _value(service, arn, VersionId=token, VersionStage=PENDING)
    if value is None:
        raise RotationError("the pending value is missing")
    return value


def _value(service: Any, arn: str, **version: str) -> str | None:
    try:
        value: str = service.get_secret_value(SecretId=arn, **version)["SecretString"]
    except service.exceptions.ResourceNotFoundException:
        return None
    return value


def create_secret(service: Any, arn: str, token: str) -> None:
    """A new random value as the AWSPENDING version named by the token; a replay finds it there and keeps it."""
    if _value(service, arn, VersionStage=CURRENT) is None:
        raise RotationError("the secret has no AWSCURRENT version")
    if _value(service, arn, VersionId=token, VersionStage=PENDING) is not None:
        return
    service.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=new_value(),
                             VersionStages=[PENDING])


def set_secret(service: Any, arn: str, token: str) -> None:
    """Nothing outside Secrets Manager holds these secrets: the functions read the new value themselves."""


def test_secret(service: Any, arn: str, token: str) -> None:
    """The new value must be well formed and differ from both values in use; otherwise the rotation stops."""
    pending = _value(service, arn, VersionId=token, VersionStage=PENDING)
    if pending is None or not well_formed(pending):
        raise RotationError("the pending value is missing or not well formed")
    in_use = {_value(service, arn, VersionStage=CURRENT), _value(service, arn, VersionStage=PREVIOUS)}
    if pending in in_use:
        raise RotationError("the pending value is one already in use")


def finish_secret(service: Any, arn: str, token: str) -> None:
    """AWSCURRENT to the new version (Secrets Manager moves AWSPREVIOUS to the old one: both stay valid)."""
    versions: dict[str, list[str]] = service.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    current = next((version for version, stages in versions.items() if CURRENT in stages), None)
    if current != token:
        service.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token,
                                            RemoveFromVersionId=current)
    if PENDING in versions.get(token, []):
        service.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)


class ApiKeys:
    """The API Gateway keys of one usage plan, named after the secret, each created by one rotation."""

    def __init__(self, apigateway: Any, plan_id: str, secret_name: str) -> None:
        self._api, self._plan, self._name = apigateway, plan_id, secret_name.rsplit("/", 1)[-1]

    def _in_plan(self) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = []
        position = None
        while True:
            page = self._api.get_usage_plan_keys(usagePlanId=self._plan, limit=500,
                                                 **({"position": position} if position else {}))
            keys += page.get("items", [])
            position = page.get("position")
            if not position:
                return keys

    def publish(self, value: str, token: str) -> None:
        """A key with the new value in the plan; a replay finds it there."""
        if any(key.get("value") == value for key in self._in_plan()):
            return
        created = self._api.create_api_key(name=f"{self._name}-{token[:8]}", value=value, enabled=True,
                                           tags={PLAN_TAG: self._plan})
        self._api.create_usage_plan_key(usagePlanId=self._plan, keyId=created["id"], keyType="API_KEY")

    def check(self, value: str) -> None:
        if not any(key.get("value") == value for key in self._in_plan()):
            raise RotationError("the usage plan has no API key with the pending value")

    def keep_only(self, values: set[str | None]) -> None:
        """Off the plan, and deleted: every key whose value is neither AWSCURRENT nor AWSPREVIOUS."""
        for key in self._in_plan():
            if key.get("value") not in values:
                self._api.delete_usage_plan_key(usagePlanId=self._plan, keyId=key["id"])
                self._api.delete_api_key(apiKey=key["id"])

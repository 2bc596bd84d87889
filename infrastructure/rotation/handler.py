"""Secrets Manager rotation of the secrets the system generates and alone holds (a channel key, the key of the
console's links and list cursors): the four steps Secrets Manager calls, each safe to replay.

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


def _client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def handler(event: dict[str, Any], context: Any = None, service: Any = None) -> None:
    arn, token, step = event.get("SecretId"), event.get("ClientRequestToken"), event.get("Step")
    if not isinstance(arn, str) or not isinstance(token, str) or step not in STEPS:
        raise RotationError("expected SecretId, ClientRequestToken and one of the four steps")
    service = service if service is not None else _client()
    described = service.describe_secret(SecretId=arn)
    if not described.get("RotationEnabled"):
        raise RotationError("rotation is not enabled on this secret")
    versions: dict[str, list[str]] = described.get("VersionIdsToStages", {})
    if token not in versions:
        raise RotationError("the rotation's version is not a version of this secret")
    if CURRENT in versions[token]:
        log.info("step %s: the version is already AWSCURRENT, nothing to do", step)
        return
    if PENDING not in versions[token]:
        raise RotationError("the rotation's version is not AWSPENDING")
    # Only names and steps are logged, never a value.
    log.info("step %s of a rotation of %s", step, described.get("Name", "a secret"))
    {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret,
     "finishSecret": finish_secret}[step](service, arn, token)


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

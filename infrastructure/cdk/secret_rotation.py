"""Rotation of every secret (issue 16 item 3; issue 14 item 8: two valid at once during a rollover).

The secrets only this system holds (channel keys, the key of the console's links and list cursors, the channels'
API Gateway keys) rotate on a schedule by kind, through a rotation function of our own
(infrastructure/rotation/handler.py); the functions accept AWSCURRENT and AWSPREVIOUS where a secret verifies, and
read the secrets again when a credential is refused (chalicelib.adapters.aws.secrets). A secret that a third party
also holds cannot be rotated by us alone: those are rotated by an operator (README, "Rotating secrets"), with the
same two-valid-at-once rule, and each carries why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from infrastructure.rotation.handler import PLAN_TAG

from . import edges
from .channel_plans import SECRET_PREFIX

ROTATION_SOURCE = Path(__file__).resolve().parents[1] / "rotation"
# Days between rotations, by kind: a key presented on every call rotates monthly; the key of links and list
# cursors (whose lifetime is minutes) and a channel's API key (it only names the usage plan) every three months.
ROTATION_DAYS = {"channel_key": 30, "console_link": 90, "channel_api_key": 90}
# Why the others are not on a schedule: each is rotated by an operator, two valid at once (README).
OPERATOR_ROTATED = {
    "bot_token": "issued by Telegram's @BotFather: only the bot's owner can revoke it and get a new one "
                 "(`make set-webhook TELEGRAM_BOT_TOKEN=...` stores it)",
    "payment_webhook": "the payment provider holds it too: the operator stores a new value, gives it to the "
                       "provider, and the API accepts both meanwhile",
    "webhook_token": "Telegram holds it too (setWebhook's secret_token): `make set-webhook ROTATE=1` stores a new "
                     "one and sends it to Telegram; the bot accepts both meanwhile",
    "partners": "holds each partner's callback secret, which the partner holds too; operators edit it with the "
                "partner (the API reads it again when it changes)",
}
ROTATION_ERRORS_A_DAY = 3  # the rotation's alarm: this many failed steps in a day
# The rotation function's rights, on the rotated secrets only (no GetRandomPassword: it draws its own values).
ROTATION_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]


def kind(name: str) -> str:
    """A secret's kind: its name in the stack's secrets, but every channel's API key is one kind."""
    return "channel_api_key" if name.startswith(SECRET_PREFIX) else name


def add_secret_rotation(stack: Any) -> None:
    """A rotation function for the stage, a schedule on each secret of ROTATION_DAYS, an alarm on its errors."""
    secrets: dict[str, secretsmanager.Secret] = stack.secrets
    missing = {name for name in secrets if kind(name) not in ROTATION_DAYS and name not in OPERATOR_ROTATED}
    if missing:
        raise ValueError(f"secrets with neither a rotation schedule nor an operator's rotation: {sorted(missing)}")
    rotated = sorted(name for name in secrets if kind(name) in ROTATION_DAYS)
    log_group = logs.LogGroup(stack, "SecretRotationLogs", retention=stack.options.retention,
                              removal_policy=stack.options.removal_policy)
    role = iam.Role(stack, "SecretRotationRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"{stack.api_name}: rotates the secrets only this system holds")
    role.add_to_policy(iam.PolicyStatement(
        actions=ROTATION_ACTIONS, resources=[secrets[name].secret_arn for name in rotated]))
    _api_key_rights(stack, role)
    role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                           resources=[log_group.log_group_arn]))
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                                           resources=["*"]))  # X-Ray's write actions have no resource
    function = lambda_.Function(
        stack, "SecretRotation",
        description=f"{stack.api_name}: Secrets Manager rotation of channel keys and the link key",
        runtime=lambda_.Runtime.PYTHON_3_12, architecture=lambda_.Architecture.X86_64,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(ROTATION_SOURCE), exclude=["__pycache__", "*.pyc"]),
        memory_size=256, timeout=cdk.Duration.seconds(60), tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group, role=role)
    # As the bot's (stack._bot): cfn-lint flags the role dependency twice over; keep the one on its policy.
    cfn_function = function.node.default_child
    policy = role.node.try_find_child("DefaultPolicy")
    if isinstance(cfn_function, cdk.CfnResource) and policy is not None:
        cfn_function.add_override("DependsOn", [stack.get_logical_id(policy.node.default_child)])
    edges._lint_exception(function, "WS1004", "its log group (SecretRotationLogs, with retention) is set by "
                                              "LoggingConfig, not found by the /aws/lambda/<name> convention")
    function.add_permission("SecretsManagerInvokes", principal=iam.ServicePrincipal("secretsmanager.amazonaws.com"),
                            source_account=stack.account)
    permission = function.node.find_child("SecretsManagerInvokes")
    for name in rotated:
        schedule = secretsmanager.CfnRotationSchedule(
            stack, f"{_logical(name)}Rotation", secret_id=secrets[name].secret_arn,
            rotation_lambda_arn=function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                automatically_after_days=ROTATION_DAYS[kind(name)]),
            rotate_immediately_on_update=False)
        schedule.node.add_dependency(permission)  # Secrets Manager checks it may invoke the function
    # Secrets Manager retries a failed step: one error that a retry mends is no news; a rotation that keeps
    # failing (three errors in a day) is, though the secret keeps its current value meanwhile.
    alarm = cloudwatch.Alarm(
        stack, "SecretRotationErrorsAlarm",
        alarm_description="A secret rotation keeps failing: the secret keeps its current value; see its logs",
        metric=function.metric_errors(period=cdk.Duration.days(1), statistic="Sum"),
        threshold=ROTATION_ERRORS_A_DAY - 1, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
    alarm.add_alarm_action(stack.alarm_action)
    throttles = cloudwatch.Alarm(
        stack, "SecretRotationThrottlesAlarm", alarm_description="SecretRotation: throttles in the last 5 minutes",
        metric=function.metric_throttles(period=cdk.Duration.minutes(5), statistic="Sum"),
        threshold=0, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
    throttles.add_alarm_action(stack.alarm_action)
    reason = ("Invoked synchronously by Secrets Manager, which retries each step and records a failed rotation on "
              "the secret; its errors raise SecretRotationErrorsAlarm")
    cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(id="Serverless-LambdaDLQ", reason=reason))
    cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(
        id="Serverless-LambdaLatestVersion", reason="Python 3.12 on purpose, as every function of the stack"))
    stack.secret_rotation = function


def _api_key_rights(stack: Any, role: iam.Role) -> None:
    """A channel's API key rotates in API Gateway too: create keys (tagged with their plan), add them to the
    channel plans and list those plans' keys; remove and delete only keys tagged with one of those plans."""
    plans: dict[str, Any] = getattr(stack, "channel_plans", {})
    if not plans:
        return

    def arn(path: str) -> str:
        return cdk.Fn.sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::" + path)

    plan_ids = [plan.ref for _, plan in sorted(plans.items())]
    role.add_to_policy(iam.PolicyStatement(actions=["apigateway:POST"], resources=[arn("/apikeys")],
                                           conditions={"StringEquals": {f"aws:RequestTag/{PLAN_TAG}": plan_ids}}))
    role.add_to_policy(iam.PolicyStatement(
        actions=["apigateway:GET", "apigateway:POST", "apigateway:DELETE"],
        resources=[cdk.Fn.join("", [arn("/usageplans/"), plan_id, suffix])
                   for plan_id in plan_ids for suffix in ("/keys", "/keys/*")]))
    role.add_to_policy(iam.PolicyStatement(
        actions=["apigateway:DELETE"], resources=[arn("/apikeys/*")],
        conditions={"StringEquals": {f"aws:ResourceTag/{PLAN_TAG}": plan_ids}}))


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))

"""The stack's edges (issue 16): what stands between the internet and the functions, and what keeps the data.

- a WAF web ACL on the API stage: AWS managed rule groups, a rate limit per client address, and tighter ones on
  the unauthenticated routes that take uploads (the PDF check) and on the console's sign-in;
- route throttles on the API stage, so the unauthenticated upload check cannot spend the citizens' capacity;
- API Gateway access logs (JSON, with the request id the API returns as X-Request-Id);
- a failure destination (queue and alarm) for every asynchronous function (schedules, SES feedback);
- reserved concurrency on the public entry points (the API and the bot's function URL);
- explicit KMS key policies: administrators administer, only the worker role signs, and each key has an alias;
- an AWS Backup plan for every table and the documents bucket.
Each part is one function over the stack (called at the end of AntecedentesStack.__init__).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2

# Requests per client address per 5 minutes (WAF's window). A citizen's whole request takes a few dozen calls.
RATE_PER_CLIENT = 1500
RATE_UPLOAD_CHECK = 100  # the unauthenticated PDF check and verification upload
RATE_SIGN_IN = 100  # the console's sign-in form
# Paths as WAF sees them (with or without the stage prefix): contained, not anchored.
UPLOAD_PATHS = ("/v/check", "/v1/verify")
SIGN_IN_PATH = "/console/login"
# API Gateway's own throttle per route (requests per second, burst), beside the stage's 100 rps: one client
# hammering these spends at most this much of the stage's capacity.
ROUTE_THROTTLES = {("/v/check", "POST"): (10, 20), ("/v1/verify", "POST"): (10, 20),
                   ("/console/login", "POST"): (5, 10)}
# Reserved concurrency of the public entry points in production (a fresh account's quota can be too small for it
# elsewhere): the API gets a ceiling that leaves the workers room, the bot one that a flood cannot exceed.
RESERVED_CONCURRENCY = {"api": 200, "bot": 50}
ASYNC_RETRIES = 2
KEY_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]


def add_edges(stack: Any) -> None:
    web_acl(stack)
    route_throttles_and_access_logs(stack)
    failure_destinations(stack)
    reserved_concurrency(stack)
    bot_exceptions(stack)
    key_policies(stack)
    backups(stack)


def _rate_rule(name: str, priority: int, limit: int, paths: tuple[str, ...] = ()) -> Any:
    statement: dict[str, Any] = {"rateBasedStatement": {"limit": limit, "aggregateKeyType": "IP"}}
    matches = [{"byteMatchStatement": {
        "fieldToMatch": {"uriPath": {}}, "positionalConstraint": "CONTAINS", "searchString": path,
        "textTransformations": [{"priority": 0, "type": "LOWERCASE"}]}} for path in paths]
    if matches:
        statement["rateBasedStatement"]["scopeDownStatement"] = (
            matches[0] if len(matches) == 1 else {"orStatement": {"statements": matches}})
    return {"name": name, "priority": priority, "statement": statement, "action": {"block": {}},
            "visibilityConfig": {"cloudWatchMetricsEnabled": True, "metricName": name, "sampledRequestsEnabled": True}}


def _managed(name: str, priority: int, excluded: tuple[str, ...] = ()) -> Any:
    group: dict[str, Any] = {"vendorName": "AWS", "name": name}
    if excluded:  # counted, not blocked
        group["ruleActionOverrides"] = [{"name": rule, "actionToUse": {"count": {}}} for rule in excluded]
    return {"name": name, "priority": priority, "statement": {"managedRuleGroupStatement": group},
            "overrideAction": {"none": {}},
            "visibilityConfig": {"cloudWatchMetricsEnabled": True, "metricName": name, "sampledRequestsEnabled": True}}


def web_acl(stack: Any) -> None:
    rules = [
        _rate_rule("RateUploadCheck", 0, RATE_UPLOAD_CHECK, UPLOAD_PATHS),
        _rate_rule("RateConsoleSignIn", 1, RATE_SIGN_IN, (SIGN_IN_PATH,)),
        _rate_rule("RatePerClient", 2, RATE_PER_CLIENT),
        _managed("AWSManagedRulesAmazonIpReputationList", 3),
        # The PDF check and photos are bodies above the common set's 8 KB: that one rule counts instead.
        _managed("AWSManagedRulesCommonRuleSet", 4, excluded=("SizeRestrictions_BODY",)),
        _managed("AWSManagedRulesKnownBadInputsRuleSet", 5),
    ]
    acl = wafv2.CfnWebACL(
        stack, "ApiFirewall", scope="REGIONAL", default_action={"allow": {}}, rules=rules,
        description=f"{stack.api_name}: managed rules and rate limits in front of the HTTP API",
        visibility_config={"cloudWatchMetricsEnabled": True, "metricName": f"{stack.api_name}-waf",
                           "sampledRequestsEnabled": True})
    # The stage is made by the SAM transform: `Ref RestAPI.Stage` (SAM's reference to it) names it and makes
    # the association wait for it.
    stage_arn = cdk.Fn.join("", [
        cdk.Fn.sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/"),
        stack.chalice.get_resource("RestAPI").ref, "/stages/", cdk.Fn.ref("RestAPI.Stage")])
    association = wafv2.CfnWebACLAssociation(stack, "ApiFirewallAssociation", resource_arn=stage_arn,
                                             web_acl_arn=acl.attr_arn)
    _acknowledge(association, "CloudFormation-Validate::F1020",
                 "RestAPI.Stage is SAM's reference to the stage it generates; it resolves after the transform")
    stack.web_acl = acl


def route_throttles_and_access_logs(stack: Any) -> None:
    rest_api = stack.chalice.get_resource("RestAPI")
    settings = [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100,
                 "MetricsEnabled": True}]
    for (path, method), (rate, burst) in ROUTE_THROTTLES.items():
        settings.append({"ResourcePath": path, "HttpMethod": method, "ThrottlingRateLimit": rate,
                         "ThrottlingBurstLimit": burst, "MetricsEnabled": True})
    rest_api.add_property_override("MethodSettings", settings)
    access = logs.LogGroup(stack, "ApiAccessLogs", retention=stack.options.retention,
                           removal_policy=stack.options.removal_policy)
    fields = {"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
              "requestTime": "$context.requestTime", "method": "$context.httpMethod",
              "resource": "$context.resourcePath", "status": "$context.status",
              "latency": "$context.responseLatency", "integrationLatency": "$context.integration.latency",
              "responseLength": "$context.responseLength", "wafStatus": "$context.waf.status",
              "xrayTraceId": "$context.xrayTraceId", "userAgent": "$context.identity.userAgent"}
    # The resource path, never the full path: a path can carry a request id, and the query string is left out.
    rest_api.add_property_override("AccessLogSetting", {
        "DestinationArn": access.log_group_arn,
        "Format": cdk.Stack.of(stack).to_json_string(fields)})
    # API Gateway writes logs through the account's CloudWatch role (one per account and region).
    role = iam.Role(stack, "ApiGatewayLogsRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AmazonAPIGatewayPushToCloudWatchLogs")])
    account = apigateway.CfnAccount(stack, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    rest_api.add_dependency(account)
    stack.api_access_logs = access


def failure_destinations(stack: Any) -> None:
    """Lambda retries an asynchronous invocation twice, then drops it: here it lands in a queue that alarms.
    EventBridge's own delivery failures (a schedule that could not invoke the function) land there too."""
    queue = sqs.Queue(stack, "AsyncFailures", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                      retention_period=cdk.Duration.days(14))
    queue.grant_send_messages(stack.roles["worker"])
    queue.add_to_resource_policy(iam.PolicyStatement(
        actions=["sqs:SendMessage"], principals=[iam.ServicePrincipal("events.amazonaws.com")],
        resources=[queue.queue_arn],
        conditions={"ArnLike": {"aws:SourceArn": stack.format_arn(service="events", resource="rule",
                                                                  resource_name="*")}}))
    for logical, events_by_name in stack.chalice_events.items():
        kinds = set(events_by_name.values())
        if not kinds & {"Schedule", "SNS"}:  # the API is synchronous; the stream consumer has its own queue
            continue
        function = stack.chalice.get_resource(logical)
        function.add_property_override("EventInvokeConfig", {
            "MaximumRetryAttempts": ASYNC_RETRIES,
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": queue.queue_arn}}})
        for event, kind in events_by_name.items():
            if kind == "Schedule":
                function.add_property_override(f"Events.{event}.Properties.DeadLetterConfig",
                                               {"Arn": queue.queue_arn})
                function.add_property_override(f"Events.{event}.Properties.RetryPolicy",
                                               {"MaximumRetryAttempts": ASYNC_RETRIES})
                _acknowledge(function, "CloudFormation-Validate::E0001",
                             "CDK's built-in SAM check reads a Schedule event with DeadLetterConfig as missing its "
                             "Schedule; the SAM transform cfn-lint runs (tests/infrastructure) accepts it")
    alarm = cloudwatch.Alarm(
        stack, "AsyncFailuresAlarm",
        alarm_description="A scheduled or asynchronous function failed every retry: its event waits in the queue",
        metric=queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5),
                                                                   statistic="Maximum"),
        threshold=0, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
    alarm.add_alarm_action(stack.alarm_action)
    stack.async_failures = queue
    # Dead-letter queues are the end of the line: a redrive policy on them would need yet another queue.
    for dead_end in (queue, stack.dead_letters):
        _lint_exception(dead_end, "ES6000", "a dead-letter queue itself (read by operators, alarmed on)")
        _acknowledge(dead_end, "Serverless-SQSRedrivePolicy",
                     "A dead-letter queue itself: operators read it, its depth raises an alarm")


def _acknowledge(construct: Any, rule: str, reason: str) -> None:
    """An explained cdk-nag (or CDK template validation) finding on one construct."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def _lint_exception(construct: Any, rule: str, reason: str) -> None:
    """An explained cfn-lint exception on one resource (cfn-lint reads `Metadata.cfn-lint`)."""
    resource = construct.node.default_child
    metadata = resource.cfn_options.metadata or {}
    checks = metadata.setdefault("cfn-lint", {}).setdefault("config", {}).setdefault("ignore_checks", [])
    checks.append(rule)
    metadata.setdefault("reasons", {})[rule] = reason
    resource.cfn_options.metadata = metadata


def reserved_concurrency(stack: Any) -> None:
    if not stack.options.production:
        return
    stack.chalice.get_resource("APIHandler").add_property_override(
        "ReservedConcurrentExecutions", RESERVED_CONCURRENCY["api"])
    bot = stack.bot.node.default_child
    bot.add_property_override("ReservedConcurrentExecutions", RESERVED_CONCURRENCY["bot"])


def bot_exceptions(stack: Any) -> None:
    """The bot function's and the alarm e-mail's explained findings (the Chalice functions have none)."""
    if stack.alarm_subscription is not None:
        reason = ("an e-mail subscription: SNS retries e-mail delivery itself, and the alarm stays visible in "
                  "CloudWatch whether or not the message arrives")
        _acknowledge(stack.alarm_subscription, "Serverless-SNSRedrivePolicy", reason)
        _lint_exception(stack.alarm_subscription, "ES7000", reason)
    _acknowledge(stack.bot, "Serverless-LambdaDLQ",
                 "Invoked synchronously by its function URL (Telegram's webhook retries a failed update itself)")
    _acknowledge(stack.bot, "Serverless-LambdaLatestVersion",
                 "Python 3.12 on purpose: every package carries bytecode compiled for 3.12 (packaging.py)")
    _lint_exception(stack.bot, "WS1004", "its log group (BotLogs, with retention) is set by LoggingConfig, "
                                         "not found by the /aws/lambda/<name> convention the rule looks for")


def key_policies(stack: Any) -> None:
    """Replace CDK's default key policy (the account root may do kms:*, so any IAM principal given kms:Sign
    could sign) with explicit statements: the account administers the key but may not use it; only the worker
    role signs; the roles that publish the QR key's public half may read it."""
    account_root = {"AWS": cdk.Fn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}
    readers = {"signing": [stack.roles["worker"]], "qr": [stack.roles["worker"], stack.roles["api"]]}
    for name, key, alias in (("signing", stack.signing_key, "document-signing"),
                             ("qr", stack.qr_key, "qr-seal")):
        statements = [
            {"Sid": "KeyAdministration", "Effect": "Allow", "Principal": account_root,
             "Action": KEY_ADMIN_ACTIONS, "Resource": "*"},
            {"Sid": "OnlyTheWorkerSigns", "Effect": "Allow", "Principal": {"AWS": stack.roles["worker"].role_arn},
             "Action": ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], "Resource": "*"},
            {"Sid": "PublicKeyReaders", "Effect": "Allow",
             "Principal": {"AWS": [role.role_arn for role in readers[name]]},
             "Action": ["kms:GetPublicKey", "kms:DescribeKey"], "Resource": "*"},
        ]
        cfn_key = key.node.default_child
        cfn_key.add_property_override("KeyPolicy", {"Version": "2012-10-17", "Statement": statements})
        kms.Alias(stack, f"{name.capitalize()}KeyAlias", alias_name=f"alias/{stack.api_name}/{alias}",
                  target_key=key)


def backups(stack: Any) -> None:
    """Daily backups kept 35 days and monthly ones kept a year, of every table and the documents bucket, in a
    vault of the stage (the tables also keep point-in-time recovery; issued documents are under object lock)."""
    vault = backup.BackupVault(stack, "BackupVault", backup_vault_name=f"{stack.api_name}-backups",
                               removal_policy=stack.options.removal_policy)
    plan = backup.BackupPlan(stack, "BackupPlan", backup_plan_name=f"{stack.api_name}-backups",
                             backup_vault=vault)
    plan.add_rule(backup.BackupPlanRule(
        rule_name="Daily", delete_after=cdk.Duration.days(35),
        schedule_expression=events.Schedule.cron(hour="8", minute="0")))  # 03:00 in Peru
    plan.add_rule(backup.BackupPlanRule(
        rule_name="Monthly", delete_after=cdk.Duration.days(365), move_to_cold_storage_after=cdk.Duration.days(30),
        schedule_expression=events.Schedule.cron(day="1", hour="8", minute="0")))
    resources = [backup.BackupResource.from_dynamo_db_table(t)
                 for t in [*stack.tables.values(), stack.bot_conversations]]
    resources.append(backup.BackupResource.from_arn(stack.documents.bucket_arn))
    selection = plan.add_selection("Data", resources=resources, allow_restores=True)
    # S3 needs its own service policies beside the generic backup ones.
    for policy in ("AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore"):
        selection.grant_principal.add_managed_policy(  # type: ignore[attr-defined]
            iam.ManagedPolicy.from_aws_managed_policy_name(policy))
    stack.backup_plan = plan

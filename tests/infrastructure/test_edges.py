"""The stack's edges and observability (issue 16), asserted on the synthesised templates: the firewall and its
rate rules, route throttles, access logs, failure destinations, reserved concurrency, SRP-only sign-in, key
policies and aliases, backups, object lock, the rate and p99 alarms and the dashboard."""

from __future__ import annotations

import json
from typing import Any

from infrastructure.cdk import edges, observability

from .conftest import Synthesised
from .test_stack import operator_client


def _one(synth: Synthesised, kind: str) -> dict[str, Any]:
    found = list(synth.of_type(kind).values())
    assert len(found) == 1, (kind, len(found))
    return found[0]["Properties"]


def _rules(synth: Synthesised) -> dict[str, Any]:
    return {r["Name"]: r for r in _one(synth, "AWS::WAFv2::WebACL")["Rules"]}


def test_the_api_stage_is_behind_a_firewall_with_managed_rules(dev: Synthesised) -> None:
    acl = _one(dev, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = _rules(dev)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                  "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
    association = _one(dev, "AWS::WAFv2::WebACLAssociation")
    arn = json.dumps(association["ResourceArn"])
    assert "RestAPI.Stage" in arn and "/stages/" in arn and "RestAPI" in arn


def test_rate_rules_limit_each_client_and_more_tightly_the_unauthenticated_uploads(dev: Synthesised) -> None:
    rules = _rules(dev)
    per_client = rules["RatePerClient"]["Statement"]["RateBasedStatement"]
    assert per_client["AggregateKeyType"] == "IP" and "ScopeDownStatement" not in per_client
    uploads = rules["RateUploadCheck"]["Statement"]["RateBasedStatement"]
    assert uploads["Limit"] < per_client["Limit"]
    scoped = uploads["ScopeDownStatement"]["OrStatement"]["Statements"]
    paths = {s["ByteMatchStatement"]["SearchString"] for s in scoped}
    assert paths == {"/v/check", "/v1/verify"}
    sign_in = rules["RateConsoleSignIn"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    assert sign_in["ByteMatchStatement"]["SearchString"] == "/console/login"
    assert all(r["Action"] == {"Block": {}} for n, r in rules.items() if n.startswith("Rate"))
    # The rate rules come first: a flood is cut before the managed groups spend time on it.
    assert max(r["Priority"] for n, r in rules.items() if n.startswith("Rate")) < min(
        r["Priority"] for n, r in rules.items() if not n.startswith("Rate"))


def test_the_upload_check_has_its_own_throttle_below_the_stage_and_access_logs_are_json(dev: Synthesised) -> None:
    api = dev.resources["RestAPI"]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in api["MethodSettings"]}
    stage = settings[("/*", "*")]
    for route in (("/v/check", "POST"), ("/v1/verify", "POST"), ("/console/login", "POST")):
        assert settings[route]["ThrottlingRateLimit"] < stage["ThrottlingRateLimit"], route
    access = api["AccessLogSetting"]
    assert access["DestinationArn"]["Fn::GetAtt"][0].startswith("ApiAccessLogs")
    fields = json.loads(json.dumps(access["Format"]))
    text = json.dumps(fields)
    assert "$context.requestId" in text and "$context.xrayTraceId" in text and "$context.status" in text
    assert "$context.path" not in text, "the resource path only: a full path can carry an identifier"
    assert _one(dev, "AWS::ApiGateway::Account")["CloudWatchRoleArn"]


def test_every_asynchronous_function_has_a_failure_destination_that_alarms(dev: Synthesised) -> None:
    queue = next(k for k in dev.of_type("AWS::SQS::Queue") if k.startswith("AsyncFailures"))
    asynchronous = {k: r for k, r in dev.of_type("AWS::Serverless::Function").items()
                    if any(e["Type"] in ("Schedule", "SNS") for e in r["Properties"].get("Events", {}).values())}
    assert len(asynchronous) >= 6  # five schedules and the SES feedback
    for logical, resource in asynchronous.items():
        config = resource["Properties"]["EventInvokeConfig"]
        assert config["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}, logical
        assert config["MaximumRetryAttempts"] == edges.ASYNC_RETRIES
        for event in resource["Properties"]["Events"].values():
            if event["Type"] == "Schedule":
                assert event["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    alarms = [a["Properties"] for a in dev.of_type("AWS::CloudWatch::Alarm").values()]
    assert any(a.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
               and a["Threshold"] == 0 and a.get("AlarmActions") for a in alarms)
    worker_policy = json.dumps([r for k, r in dev.resources.items() if k.startswith("WorkerRole")
                                and r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")])
    assert queue in worker_policy and "sqs:SendMessage" in worker_policy


def test_public_entry_points_have_reserved_concurrency_in_production(prod: Synthesised, dev: Synthesised) -> None:
    api = prod.resources["APIHandler"]["Properties"]
    assert api["ReservedConcurrentExecutions"] == edges.RESERVED_CONCURRENCY["api"]
    bot = next(r for r in prod.of_type("AWS::Lambda::Function").values()
               if r["Properties"].get("Handler", "").startswith("bot"))
    assert bot["Properties"]["ReservedConcurrentExecutions"] == edges.RESERVED_CONCURRENCY["bot"]
    assert "ReservedConcurrentExecutions" not in dev.resources["APIHandler"]["Properties"]


def test_operators_sign_in_with_srp_only(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        flows = set(operator_client(synth)["ExplicitAuthFlows"])
        assert "ALLOW_USER_PASSWORD_AUTH" not in flows and "ALLOW_USER_SRP_AUTH" in flows
        assert flows <= {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def test_only_the_worker_role_may_sign_and_administrators_may_not_use_the_keys(dev: Synthesised) -> None:
    worker = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("WorkerRole"))
    keys = dev.of_type("AWS::KMS::Key")
    assert len(keys) == 2
    for logical, key in keys.items():
        statements = key["Properties"]["KeyPolicy"]["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "kms:*" not in actions, logical
            if "kms:Sign" in actions:
                assert statement["Principal"] == {"AWS": {"Fn::GetAtt": [worker, "Arn"]}}, logical
        admin = next(s for s in statements if s["Sid"] == "KeyAdministration")
        assert not any(a.startswith(("kms:Sign", "kms:Verify", "kms:Decrypt", "kms:Encrypt"))
                       for a in admin["Action"])
        assert "kms:ScheduleKeyDeletion" in admin["Action"]
    aliases = {a["Properties"]["AliasName"]: json.dumps(a["Properties"]["TargetKeyId"])
               for a in dev.of_type("AWS::KMS::Alias").values()}
    assert set(aliases) == {"alias/antecedentes-dev/document-signing", "alias/antecedentes-dev/qr-seal"}
    assert {next(k for k in keys if k in target) for target in aliases.values()} == set(keys)


def test_every_table_and_the_documents_bucket_are_backed_up(dev: Synthesised) -> None:
    plan = _one(dev, "AWS::Backup::BackupPlan")["BackupPlan"]
    rules = {r["RuleName"]: r for r in plan["BackupPlanRule"]}
    assert rules["Daily"]["Lifecycle"]["DeleteAfterDays"] == 35
    assert rules["Monthly"]["Lifecycle"]["DeleteAfterDays"] == 365
    selection = _one(dev, "AWS::Backup::BackupSelection")["BackupSelection"]
    selected = json.dumps(selection["Resources"])
    for table in dev.of_type("AWS::DynamoDB::Table"):
        assert table in selected, table
    bucket = next(k for k in dev.of_type("AWS::S3::Bucket") if k.startswith("Documents"))
    assert bucket in selected
    role = next(r for k, r in dev.of_type("AWS::IAM::Role").items() if k.startswith("BackupPlanDataRole"))
    assert "AWSBackupServiceRolePolicyForS3Backup" in json.dumps(role["Properties"]["ManagedPolicyArns"])


def test_documents_of_legal_value_are_under_object_lock(prod: Synthesised, dev: Synthesised) -> None:
    bucket = next(r for k, r in prod.of_type("AWS::S3::Bucket").items() if k.startswith("Documents"))
    assert bucket["Properties"]["ObjectLockEnabled"] is True
    assert "ObjectLockConfiguration" not in bucket["Properties"], "per object: exports and uploads must expire"
    for synth, days in ((prod, "3653"), (dev, "1")):
        for resource in synth.of_type("AWS::Serverless::Function").values():
            assert resource["Properties"]["Environment"]["Variables"]["DOCUMENTS_LOCK_DAYS"] == days
    assert "s3:PutObjectRetention" in json.dumps(prod.resources)


def test_errors_alarm_on_their_rate_and_latency_on_p99_never_on_one_error(dev: Synthesised) -> None:
    alarms = {k: a["Properties"] for k, a in dev.of_type("AWS::CloudWatch::Alarm").items()}
    functions = [*dev.of_type("AWS::Serverless::Function"), "Bot"]
    for function in functions:
        rate = next(a for k, a in alarms.items() if k.startswith(f"{function}ErrorRateAlarm"))
        expression = next(m for m in rate["Metrics"] if "Expression" in m)
        assert "errors" in expression["Expression"] and "invocations" in expression["Expression"]
        assert rate["Threshold"] == observability.ERROR_RATE_PERCENT and rate["EvaluationPeriods"] == 3
        p99 = next(a for k, a in alarms.items() if k.startswith(f"{function}DurationP99Alarm"))
        assert p99["ExtendedStatistic"] == "p99" and p99["MetricName"] == "Duration"
    assert not any(a.get("MetricName") == "Errors" and a["Threshold"] == 0 for a in alarms.values())
    api_p99 = next(a for k, a in alarms.items() if k.startswith("ApiLatencyP99Alarm"))
    assert api_p99["ExtendedStatistic"] == "p99" and api_p99["Namespace"] == "AWS/ApiGateway"
    api_5xx = next(a for k, a in alarms.items() if k.startswith("Api5xxRateAlarm"))
    assert api_5xx["Statistic"] == "Average" and 0 < api_5xx["Threshold"] < 1


def test_business_metrics_alarm_and_fill_the_dashboard(dev: Synthesised) -> None:
    from chalicelib.metrics import BUSINESS_METRICS, NAMESPACE

    alarms = [a["Properties"] for a in dev.of_type("AWS::CloudWatch::Alarm").values()]
    contingency = next(a for a in alarms if a.get("MetricName") == "ContingenciesStarted")
    assert contingency["Namespace"] == NAMESPACE and contingency["Threshold"] == 0
    assert contingency["Dimensions"] == [{"Name": "Stage", "Value": "dev"}]
    body = json.dumps(_one(dev, "AWS::CloudWatch::Dashboard")["DashboardBody"])
    for metric in BUSINESS_METRICS.values():
        assert metric in body, metric
    for watched in ("5XXError", "Latency", "Duration", "Throttles", "BlockedRequests",
                    "ApproximateNumberOfMessagesVisible"):
        assert watched in body, watched

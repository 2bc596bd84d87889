"""What the synthesised CloudFormation promises: data protected, keys right, functions traced, least privilege."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infrastructure.cdk.stack import OPERATOR_ROLES
from infrastructure.cdk.tables import TableSpec, app_tables, bot_table

from .conftest import Synthesised

FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
DATA_SERVICES = ("dynamodb", "s3", "kms", "secretsmanager", "sqs", "ssm", "sns", "ses", "rekognition",
                 "cognito-idp")
# Actions IAM only accepts on "*" (no resource type to name): listing the table's streams (stream consumer),
# CompareFaces (stores nothing), an SMS straight to a phone number, and X-Ray's segments.
ALLOWED_ON_ANY_RESOURCE = {"dynamodb:ListStreams", "rekognition:CompareFaces", "sns:Publish",
                           "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _ref(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _table(synth: Synthesised, name: str) -> dict[str, Any]:
    found = [t for t in synth.of_type("AWS::DynamoDB::Table").values() if t["Properties"]["TableName"] == name]
    assert len(found) == 1, f"table {name} appears {len(found)} times"
    return found[0]


def _key_schema(partition: Any, sort: Any) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort:
        keys.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return keys


def _functions(synth: Synthesised) -> dict[str, Any]:
    return synth.of_type(*FUNCTION_TYPES)


def _statements(synth: Synthesised) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical, resource in synth.resources.items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for document in documents:
            found += [(logical, statement) for statement in document["Statement"]]
    return found


def operator_client(synth: Synthesised) -> dict[str, Any]:
    """The operators' app client (the partners' clients are named partner-<id>)."""
    (client,) = [c["Properties"] for c in synth.of_type("AWS::Cognito::UserPoolClient").values()
                 if not str(c["Properties"].get("ClientName", "")).startswith("partner-")]
    return dict(client)


def _client_id(synth: Synthesised, name: str) -> str:
    (logical,) = [k for k, c in synth.of_type("AWS::Cognito::UserPoolClient").items()
                  if c["Properties"].get("ClientName") == name]
    return str(logical)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(synth: Synthesised, role_prefix: str) -> list[dict[str, Any]]:
    roles = [k for k, v in synth.of_type("AWS::IAM::Role").items() if k.startswith(role_prefix)]
    assert len(roles) == 1, roles
    # CDK moves statements into "overflow" managed policies when the inline one grows too large: read both.
    policies = [v for v in synth.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").values()
                if any(_ref(r) == roles[0] for r in v["Properties"].get("Roles", []))]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _as_list(s["Action"])}


# --- tables ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", app_tables() + [bot_table()], ids=lambda spec: spec.base_name)
def test_every_model_has_its_table_with_matching_keys_indexes_ttl_and_stream(dev: Synthesised,
                                                                             spec: TableSpec) -> None:
    table = _table(dev, f"dev-{spec.base_name}")["Properties"]

    assert table["KeySchema"] == _key_schema(spec.partition, spec.sort)
    declared = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    keys = [spec.partition, spec.sort] + [k for i in spec.indexes for k in (i.partition, i.sort)]
    assert declared == {k.name: k.type for k in keys if k is not None}
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == _key_schema(index.partition, index.sort)
        assert indexes[index.name]["Projection"]["ProjectionType"] == index.projection
    if spec.ttl_attribute:
        assert table["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table
    if spec.stream_view_type:
        assert table["StreamSpecification"] == {"StreamViewType": spec.stream_view_type}
    else:
        assert "StreamSpecification" not in table


def test_there_is_no_table_the_models_do_not_declare(dev: Synthesised) -> None:
    names = {t["Properties"]["TableName"] for t in dev.of_type("AWS::DynamoDB::Table").values()}

    assert names == {f"dev-{spec.base_name}" for spec in app_tables() + [bot_table()]}


def test_every_table_is_on_demand_with_point_in_time_recovery(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        synth.assertions().all_resources_properties("AWS::DynamoDB::Table", {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        })


def test_production_tables_are_protected_from_deletion_and_retained(prod: Synthesised) -> None:
    template = prod.assertions()
    template.all_resources_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": True})
    template.all_resources("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Cognito::UserPool", "AWS::SecretsManager::Secret"):
        template.all_resources(resource_type, {"DeletionPolicy": "Retain"})
    template.has_resource_properties("AWS::Cognito::UserPool", {"DeletionProtection": "ACTIVE"})


def test_development_tables_can_be_torn_down(dev: Synthesised) -> None:
    for table in dev.of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"].get("DeletionProtectionEnabled") in (None, False)
        assert table["DeletionPolicy"] == "Delete"


# --- documents bucket and keys -------------------------------------------------------------------


def test_documents_bucket_is_private_encrypted_and_versioned(dev: Synthesised) -> None:
    dev.assertions().has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": Match.any_value()}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "VersioningConfiguration": {"Status": "Enabled"},
    })


def test_documents_bucket_refuses_anything_but_tls(dev: Synthesised) -> None:
    deny_plain_http = Match.object_like({"Effect": "Deny", "Action": "s3:*", "Principal": {"AWS": "*"},
                                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    dev.assertions().has_resource_properties("AWS::S3::BucketPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([deny_plain_http])}})


def test_two_separate_p256_signing_keys_one_for_pdfs_one_for_qr_codes(dev: Synthesised) -> None:
    template = dev.assertions()
    template.resource_count_is("AWS::KMS::Key", 2)
    template.all_resources_properties("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
    worker = next(f for k, f in _functions(dev).items() if k == "HandleOutbox")["Properties"]["Environment"]
    assert _ref(worker["Variables"]["SIGNING_KEY_ID"]) != _ref(worker["Variables"]["QR_KEY_ID"])
    assert {_ref(worker["Variables"][v]) for v in ("SIGNING_KEY_ID", "QR_KEY_ID")} == set(dev.of_type("AWS::KMS::Key"))


def test_secrets_exist_for_bot_token_channel_key_payment_webhook_and_bot_webhook(dev: Synthesised) -> None:
    secrets = dev.of_type("AWS::SecretsManager::Secret")

    assert len(secrets) == 7
    descriptions = " ".join(s["Properties"]["Description"] for s in secrets.values())
    for purpose in ("bot token", "channel", "payment provider", "X-Telegram-Bot-Api-Secret-Token",
                    "signed links and list cursors", "Partner systems' settings", "API Gateway key of the channel"):
        assert purpose in descriptions


# --- functions ------------------------------------------------------------------------------------


def test_the_api_worker_schedule_and_bot_are_all_deployed(dev: Synthesised) -> None:
    functions = _functions(dev)
    handlers = {f["Properties"]["Handler"] for f in functions.values()}

    assert {"app.app", "app.handle_outbox", "app.expire_payment_orders", "bot_lambda.handler"} <= handlers


def test_every_function_runs_python_3_12_with_active_tracing(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        for logical, function in _functions(synth).items():
            props = function["Properties"]
            assert props["Runtime"] == "python3.12", logical
            tracing = props.get("Tracing") or props.get("TracingConfig", {}).get("Mode")
            assert tracing == "Active", logical


def test_the_api_gateway_stage_is_traced_too(dev: Synthesised) -> None:
    dev.assertions().has_resource_properties("AWS::Serverless::Api", {"TracingEnabled": True})


def test_every_function_has_a_log_group_with_retention(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        groups = synth.of_type("AWS::Logs::LogGroup")
        assert all(g["Properties"]["RetentionInDays"] >= 30 for g in groups.values())
        named_for = {_ref(g["Properties"]["LogGroupName"]["Fn::Join"][1][1])
                     for g in groups.values() if "LogGroupName" in g["Properties"]}
        for logical, function in _functions(synth).items():
            logging = function["Properties"].get("LoggingConfig", {})
            assert logical in named_for or _ref(logging.get("LogGroup")) in groups, logical


def test_production_keeps_logs_a_year(prod: Synthesised) -> None:
    prod.assertions().all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_outbox_stream_feeds_both_consumers_in_parallel_with_bounded_retries_and_a_dead_letter_queue(
        dev: Synthesised) -> None:
    from chalicelib.handlers import NOTICES, WORK, handled_events

    outbox = next(k for k, t in dev.of_type("AWS::DynamoDB::Table").items()
                  if t["Properties"]["TableName"] == "dev-outbox-v2")
    for function, consumer in (("HandleOutbox", WORK), ("HandleNotices", NOTICES)):
        events = _functions(dev)[function]["Properties"]["Events"]
        source = next(e["Properties"] for e in events.values() if e["Type"] == "DynamoDB")
        assert source["Stream"] == {"Fn::GetAtt": [outbox, "StreamArn"]}
        assert source["BisectBatchOnFunctionError"] is True
        assert 0 <= source["MaximumRetryAttempts"] <= 10
        assert source["ParallelizationFactor"] == 10  # the outbox is keyed by request: each request stays in order
        destination = source["DestinationConfig"]["OnFailure"]
        assert destination["Type"] == "SQS" and _ref(destination["Destination"]) in dev.of_type("AWS::SQS::Queue")
        # Each consumer is invoked only for the events it handles, and only for new ones.
        pattern = json.loads(source["FilterCriteria"]["Filters"][0]["Pattern"])
        assert pattern["eventName"] == ["INSERT"]
        assert set(pattern["dynamodb"]["NewImage"]["name"]["S"]) == handled_events(consumer)
    assert "request.issued" in handled_events(NOTICES) and "request.issued" in handled_events(WORK)


def test_scheduled_expiry_of_unpaid_orders_is_deployed(dev: Synthesised) -> None:
    events = _functions(dev)["ExpirePaymentOrders"]["Properties"]["Events"]

    assert [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"] == ["rate(15 minutes)"]


def test_every_chalice_function_but_the_api_runs_as_a_worker(dev: Synthesised) -> None:
    worker = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("WorkerRole"))
    api = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("ApiRole"))
    chalice = {k: f for k, f in dev.of_type("AWS::Serverless::Function").items()}

    assert len(chalice) >= 3
    for logical, function in chalice.items():
        assert _ref(function["Properties"]["Role"]) == (api if logical == "APIHandler" else worker), logical


def test_api_functions_use_the_cloud_adapters_and_the_settings_names(dev: Synthesised) -> None:
    functions = _functions(dev)
    for logical in ("APIHandler", "HandleOutbox"):
        variables = functions[logical]["Properties"]["Environment"]["Variables"]
        assert variables["STAGE"] == "dev" and variables["TABLE_PREFIX"] == "dev-"
        assert variables["DYNAMODB_ENDPOINT"] == "aws"
        # Cognito, never the local HS256 issuer whose development secret is in the source.
        assert variables["OPERATOR_AUTH"] == "cognito" and "JWT_SECRET" not in variables
        assert variables["DOCUMENT_STORE"] == "s3" and variables["DOCUMENT_SIGNER"] == "kms"
        assert not any(name in variables for name in ("CHANNEL_KEYS", "PAYMENT_WEBHOOK_SECRETS", "TELEGRAM_BOT_TOKEN"))


def test_bot_function_is_behind_a_public_url_with_its_own_table_and_secrets(dev: Synthesised) -> None:
    template = dev.assertions()
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    bot = next(f for f in dev.of_type("AWS::Lambda::Function").values()
               if f["Properties"]["Handler"] == "bot_lambda.handler")["Properties"]
    variables = bot["Environment"]["Variables"]
    assert variables["TABLE_PREFIX"] == "dev-" and variables["BOT_CONVERSATIONS_TABLE"] == {
        "Ref": next(k for k, t in dev.of_type("AWS::DynamoDB::Table").items()
                    if t["Properties"]["TableName"] == "dev-bot-conversations")}
    assert "Fn::Sub" in variables["API_BASE_URL"]
    assert {"TELEGRAM_BOT_TOKEN_SECRET_ARN", "TELEGRAM_WEBHOOK_SECRET_ARN", "CHANNEL_KEY_SECRET_ARN"} <= set(variables)
    assert "TELEGRAM_BOT_TOKEN" not in variables  # values stay in Secrets Manager


def test_bot_bundle_holds_the_bot_and_its_requirements_but_no_development_tools(dev: Synthesised) -> None:
    from infrastructure.cdk.bot_bundle import ROOT

    bot = next(f for f in dev.of_type("AWS::Lambda::Function").values()
               if f["Properties"]["Handler"] == "bot_lambda.handler")
    asset_hash = bot["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = dev.out_dir / f"asset.{asset_hash}"  # CDK stages the folder here and zips it when publishing

    for needed in ("bot_lambda.py", "bot/webhook.py", "bot/state.py", "telegram/__init__.py", "pynamodb/models.py",
                   "httpx/__init__.py"):
        assert (asset / needed).is_file(), needed
    assert not any((asset / unwanted).exists() for unwanted in ("pytest", "moto", "aws_cdk", "chalice", "bin"))
    assert not (asset / "bot" / "requirements.txt").exists()
    assert {p.name for p in (ROOT / "bot").glob("*.py")} <= {p.name for p in (asset / "bot").glob("*.py")}


def test_api_package_ships_neither_pillow_nor_telegram(dev: Synthesised) -> None:
    archives = [p for p in dev.out_dir.glob("asset.*.zip")]
    assert archives, "the Chalice deployment package is missing from cdk.out"
    names = {n.split("/")[0] for p in archives for n in zipfile.ZipFile(p).namelist()}

    assert "app.py" in names and "chalicelib" in names
    assert not names & {"PIL", "pillow", "telegram", "moto", "pytest", "aws_cdk"}


def test_both_packages_carry_compiled_bytecode_for_python_3_12(dev: Synthesised) -> None:
    api = next(p for p in dev.out_dir.glob("asset.*.zip") if "app.py" in zipfile.ZipFile(p).namelist())
    names = set(zipfile.ZipFile(api).namelist())
    bot = next(f for f in dev.of_type("AWS::Lambda::Function").values()
               if f["Properties"]["Handler"] == "bot_lambda.handler")
    bundle = dev.out_dir / f"asset.{bot['Properties']['Code']['S3Key'].removesuffix('.zip')}"

    assert {"__pycache__/app.cpython-312.pyc", "chalicelib/__pycache__/bootstrap.cpython-312.pyc"} <= names
    assert (bundle / "bot" / "__pycache__" / "webhook.cpython-312.pyc").is_file()
    assert (bundle / "telegram" / "__pycache__" / "__init__.cpython-312.pyc").is_file()


# --- alarms ---------------------------------------------------------------------------------------


def test_every_function_alarms_on_throttles(dev: Synthesised) -> None:
    """Errors alarm on their rate (test_edges.py): one failed invocation among thousands wakes nobody."""
    alarms = dev.of_type("AWS::CloudWatch::Alarm").values()
    watched = {(a["Properties"].get("MetricName"), json.dumps(a["Properties"].get("Dimensions"), sort_keys=True))
               for a in alarms}
    for logical in _functions(dev):
        for metric in ("Throttles",):
            dimension = [{"Name": "FunctionName", "Value": {"Ref": logical}}]
            assert (metric, json.dumps(dimension, sort_keys=True)) in watched, (logical, metric)


def test_dead_letter_queue_depth_raises_an_alarm(dev: Synthesised) -> None:
    queue = next(iter(dev.of_type("AWS::SQS::Queue")))
    dev.assertions().has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS", "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
        "AlarmActions": Match.any_value(),
    })


# --- operators -----------------------------------------------------------------------------------


def test_operator_pool_has_a_group_per_role_and_a_public_app_client(dev: Synthesised) -> None:
    template = dev.assertions()
    groups = {g["Properties"]["GroupName"] for g in dev.of_type("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(OPERATOR_ROLES) == {"reviewer", "cvp_head", "officer", "court", "auditor", "admin"}
    template.has_resource_properties("AWS::Cognito::UserPool", {
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}})
    template.has_resource_properties("AWS::Cognito::UserPoolClient", {"GenerateSecret": False})


def test_operators_sign_in_to_the_console_through_the_hosted_ui_with_mfa(synthesised: dict[str, Synthesised],
                                                                        prod: Synthesised) -> None:
    for synth in synthesised.values():
        pool = next(iter(synth.of_type("AWS::Cognito::UserPool").values()))["Properties"]
        assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    client = operator_client(prod)
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["CallbackURLs"] == ["https://antecedentes.example.pe/console/auth/callback"]
    assert len(prod.of_type("AWS::Cognito::UserPoolDomain")) == 1
    api = [f for f in _functions(prod).values()
           if "COGNITO_HOSTED_UI" in f["Properties"].get("Environment", {}).get("Variables", {})]
    assert api, "the API functions know the hosted UI"
    rules = {r.get("Id"): r for b in prod.of_type("AWS::S3::Bucket").values()
             for r in b["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])}
    assert rules["ConsoleExports"]["Prefix"] == "exports/" and rules["ConsoleExports"]["ExpirationInDays"] == 1


def test_operators_carry_a_scope_they_cannot_change_themselves(dev: Synthesised) -> None:
    pool = next(iter(dev.of_type("AWS::Cognito::UserPool").values()))["Properties"]
    custom = {a["Name"]: a for a in pool["Schema"]}
    assert {"districts", "courts"} <= set(custom) and all(custom[n]["Mutable"] for n in ("districts", "courts"))
    client = operator_client(dev)
    assert {"custom:districts", "custom:courts"} <= set(client["ReadAttributes"])
    assert not any(a.startswith("custom:") for a in client["WriteAttributes"])


# --- least privilege ------------------------------------------------------------------------------


def test_no_policy_grants_wildcard_actions_on_data_services(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        for logical, statement in _statements(synth):
            for action in _as_list(statement["Action"]):
                service = action.split(":")[0]
                assert action != "*", logical
                if service in DATA_SERVICES:
                    assert "*" not in action, f"{logical}: {action}"


def test_no_data_action_is_granted_on_every_resource(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        for logical, statement in _statements(synth):
            if "*" not in _as_list(statement["Resource"]):
                continue
            assert set(_as_list(statement["Action"])) <= ALLOWED_ON_ANY_RESOURCE, (logical, statement["Action"])


def test_only_the_worker_may_sign_and_only_with_the_two_keys(dev: Synthesised) -> None:
    keys = set(dev.of_type("AWS::KMS::Key"))
    signing = [s for s in _role_statements(dev, "WorkerRole") if "kms:Sign" in _as_list(s["Action"])]

    assert len(signing) == 1
    assert {_ref(r) for r in _as_list(signing[0]["Resource"])} == keys
    assert "kms:Sign" not in _actions(_role_statements(dev, "ApiRole"))
    bot_role = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("BotServiceRole"))
    assert not any(a.startswith("kms:") for a in _actions(_role_statements(dev, bot_role)))


def test_each_function_reads_only_its_own_secrets(dev: Synthesised) -> None:
    secrets = {k: v["Properties"]["Description"] for k, v in dev.of_type("AWS::SecretsManager::Secret").items()}

    def readable(role: str) -> set[str]:
        return {re.sub(r"[0-9A-F]{8}$", "", str(_ref(r))) for s in _role_statements(dev, role)
                if "secretsmanager:GetSecretValue" in _as_list(s["Action"]) for r in _as_list(s["Resource"])}

    assert len(secrets) == 7
    assert readable("ApiRole") == {"ChannelKey", "PaymentWebhookSecret", "ConsoleLinkSecret", "PartnersSettings"}
    assert readable("WorkerRole") == {"TelegramBotToken", "PartnersSettings"}  # callbacks are signed by workers
    bot_role = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("BotServiceRole"))
    assert readable(bot_role) == {"TelegramBotToken", "TelegramWebhookSecret", "ChannelKey",
                                  "ChannelTelegramApiKeyValue"}


def test_the_bot_touches_only_its_conversation_table(dev: Synthesised) -> None:
    bot_role = next(k for k in dev.of_type("AWS::IAM::Role") if k.startswith("BotServiceRole"))
    tables = {_ref(r) for s in _role_statements(dev, bot_role) if any(a.startswith("dynamodb:")
              for a in _as_list(s["Action"])) for r in _as_list(s["Resource"])}
    conversations = next(k for k, t in dev.of_type("AWS::DynamoDB::Table").items()
                         if t["Properties"]["TableName"] == "dev-bot-conversations")

    assert tables == {conversations}


def test_api_functions_never_scan_and_never_touch_the_bot_table(dev: Synthesised) -> None:
    conversations = next(k for k, t in dev.of_type("AWS::DynamoDB::Table").items()
                         if t["Properties"]["TableName"] == "dev-bot-conversations")
    for role in ("ApiRole", "WorkerRole"):
        statements = _role_statements(dev, role)
        assert "dynamodb:Scan" not in _actions(statements)
        resources = json.dumps([s["Resource"] for s in statements])
        assert conversations not in resources


def test_templates_are_written_where_make_synth_reads_them(synthesised: dict[str, Synthesised]) -> None:
    for synth in synthesised.values():
        assert synth.path.is_file() and Path(synth.out_dir, "manifest.json").is_file()
        assert synth.template["Transform"] == "AWS::Serverless-2016-10-31"


def test_messages_leave_through_ses_and_sns_only_with_a_sender(synthesised: dict[str, Synthesised]) -> None:
    prod_worker = _role_statements(synthesised["prod"], "WorkerRole")
    ses = [s for s in prod_worker if "ses:SendRawEmail" in _as_list(s["Action"])]
    assert len(ses) == 1 and all("identity/" in json.dumps(r) or "configuration-set/" in json.dumps(r)
                                 for r in _as_list(ses[0]["Resource"]))
    assert "sns:Publish" in _actions(prod_worker)
    variables = _functions(synthesised["prod"])["HandleOutbox"]["Properties"]["Environment"]["Variables"]
    assert (variables["EMAIL_SENDER"], variables["EMAIL_FROM"], variables["SMS_SENDER"]) == (
        "ses", "no-reply@inpe.example.pe", "sns")
    # dev without a sender: no SES/SNS permission at all
    assert not {"ses:SendRawEmail", "sns:Publish"} & _actions(_role_statements(synthesised["dev"], "WorkerRole"))
    for synth in synthesised.values():
        assert not {"ses:SendRawEmail", "sns:Publish"} & _actions(_role_statements(synth, "ApiRole"))


def test_only_the_api_compares_faces_with_the_configured_threshold(dev: Synthesised) -> None:
    variables = _functions(dev)["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert (variables["FACE_MATCHER"], variables["FACE_SIMILARITY_THRESHOLD"]) == ("rekognition", "90")
    assert "rekognition:CompareFaces" in _actions(_role_statements(dev, "ApiRole"))
    assert "rekognition:CompareFaces" not in _actions(_role_statements(dev, "WorkerRole"))


def test_alarm_email_subscribes_to_the_alarm_topic(prod: Synthesised) -> None:
    prod.assertions().has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": "ops@inpe.example.pe"})


def test_ses_bounces_and_complaints_reach_the_suppression_handler_through_sns(synthesised: dict[str, Synthesised]
                                                                              ) -> None:
    for synth in synthesised.values():
        topics = [k for k in synth.of_type("AWS::SNS::Topic") if k.startswith("EmailFeedback")]
        assert len(topics) == 1
        feedback = _functions(synth)["EmailFeedback"]
        (event,) = feedback["Properties"]["Events"].values()
        assert event["Type"] == "SNS" and _ref(event["Properties"]["Topic"]) == topics[0]
    prod = synthesised["prod"]
    (destination,) = prod.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    properties = destination["Properties"]["EventDestination"]
    assert sorted(properties["MatchingEventTypes"]) == ["bounce", "complaint"] and properties["Enabled"] is True
    assert _ref(properties["SnsDestination"]["TopicARN"]).startswith("EmailFeedback")
    variables = _functions(prod)["HandleOutbox"]["Properties"]["Environment"]["Variables"]
    assert variables["EMAIL_CONFIGURATION_SET"] == "antecedentes-prod"
    assert not synthesised["dev"].of_type("AWS::SES::ConfigurationSet")


def test_each_partner_has_a_client_credentials_app_client_and_a_usage_plan_of_its_own(dev: Synthesised) -> None:
    template = dev.assertions()
    servers = list(dev.of_type("AWS::Cognito::UserPoolResourceServer").values())
    # Cognito's full scope is <identifier>/<name>: the same strings as the local issuer's scopes.
    assert [s["Properties"]["Identifier"] for s in servers] == ["certificates"]
    assert {s["ScopeName"] for s in servers[0]["Properties"]["Scopes"]} == {"request", "read"}
    template.has_resource_properties("AWS::Cognito::UserPoolClient", {
        "ClientName": "partner-migraciones", "GenerateSecret": True, "AllowedOAuthFlows": ["client_credentials"]})
    (client,) = [c["Properties"] for c in dev.of_type("AWS::Cognito::UserPoolClient").values()
                 if c["Properties"].get("ClientName") == "partner-migraciones"]
    granted = json.dumps(client["AllowedOAuthScopes"])  # <the resource server's identifier>/<name>
    (server_id,) = dev.of_type("AWS::Cognito::UserPoolResourceServer")
    assert server_id in granted and '"/request"' in granted and '"/read"' in granted
    plans = [p for k, p in dev.of_type("AWS::ApiGateway::UsagePlan").items() if k.startswith("Partner")]
    assert len(plans) == 1 and plans[0]["Properties"]["Quota"] == {"Limit": 10000, "Period": "DAY"}
    assert plans[0]["Properties"]["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert len([k for k in dev.of_type("AWS::ApiGateway::UsagePlanKey") if k.startswith("Partner")]) == 1
    assert len([k for k in dev.of_type("AWS::ApiGateway::ApiKey") if k.startswith("Partner")]) == 1
    # The API knows which app client is which partner.
    api = dev.resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api["PARTNER_APP_CLIENTS"] == {"Fn::Join": ["=", [{"Ref": _client_id(dev, "partner-migraciones")},
                                                             "migraciones"]]}

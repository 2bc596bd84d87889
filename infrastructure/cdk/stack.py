"""One stage of the system as a CDK stack: data, keys, secrets, the Chalice API and its workers, the bot, alarms."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from . import channel_plans, edges, observability, secret_rotation
from .bot_bundle import HANDLER as BOT_HANDLER
from .bot_bundle import ROOT, build_bot_bundle
from .packaging import add_bytecode
from .tables import TableSpec, app_tables, bot_table

APP_NAME = "antecedentes"
PRODUCTION_STAGES = frozenset({"prod", "production"})
OPERATOR_ROLES = ("reviewer", "cvp_head", "officer", "court", "auditor", "admin")
API_GATEWAY_STAGE = "api"
SECRET_PLACEHOLDER = "unset"  # chalicelib.adapters.aws.secrets.PLACEHOLDER: "the operator has not set it yet"
# Chalice's functions fall in two kinds, each with its own role: the HTTP API, and the workers (the outbox
# consumer and every scheduled job: they sign documents, send chat messages, e-mails and SMS). A function added
# to app.py later lands in its kind by itself: APIHandler is the API, everything else a worker.
API, WORKER = "api", "worker"
SIZES = {API: (1024, 29), WORKER: (1024, 300)}  # memory MB, timeout s
OUTBOX_FUNCTION = "HandleOutbox"
OUTBOX_EVENT_SOURCE = "HandleOutboxDynamodbEventSource"
# The outbox's two consumers (app.handle_outbox: the work; app.handle_notices: chat and e-mail), each with the events
# it handles (chalicelib.handlers) as its subscription's filter.
OUTBOX_CONSUMERS = {"HandleOutbox": "work", "HandleNotices": "notices"}
# Concurrent batches per stream shard: records with the same partition key (the outbox is keyed by aggregate)
# stay in order, different requests are handled at once. 10 is Lambda's maximum.
PARALLELIZATION_FACTOR = 10
FEEDBACK_FUNCTION = "EmailFeedback"  # app.email_feedback: SES bounces and complaints, through SNS
FEEDBACK_EVENT_SOURCE = "EmailFeedbackSnsSubscription"
DYNAMODB_DATA_ACTIONS = [
    # No Scan: request paths read by key and index only (the local worker's catch-up scan never runs here).
    # Transactions need no action of their own: each item is authorised as the Put/Update/Delete/Check it is.
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
]


@dataclass(frozen=True)
class StageOptions:
    """What differs between stages; everything comes from CDK context (``-c name=value``) with these defaults."""

    stage: str = "dev"
    public_base_url: str = ""  # empty: the API Gateway URL
    pay_url_template: str = "https://pagos.example.invalid/pay/{order_code}"
    alarm_email: str = ""
    timestamp_url: str = ""
    email_from: str = ""  # SES sender (a verified identity); required for e-mail and SMS to leave the system
    cvp_head_email: str = ""
    face_threshold: str = "90"
    log_retention_days: int = 0  # 0: a year in production, a month elsewhere
    partners: tuple[str, ...] = ("migraciones",)  # partner systems: an app client and a usage plan each
    partner_rate: int = 10  # requests per second, per partner (the usage plan's steady rate)
    partner_burst: int = 20
    partner_daily_quota: int = 10_000
    # Channels that call the API with a channel key: a usage plan and an API key each (channel_plans.py). The bot
    # serves every citizen: its steady rate is half the stage's, its daily quota a national peak's with room.
    channels: tuple[str, ...] = ("telegram",)
    channel_rate: int = 50
    channel_burst: int = 100
    channel_daily_quota: int = 1_000_000

    @property
    def production(self) -> bool:
        return self.stage in PRODUCTION_STAGES

    @property
    def messaging(self) -> bool:
        """E-mail through SES and SMS through SNS; without a sender they stay in the function's /tmp outbox."""
        return bool(self.email_from)

    @property
    def table_prefix(self) -> str:
        return f"{self.stage}-"

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.RETAIN if self.production else cdk.RemovalPolicy.DESTROY

    @property
    def retention_days(self) -> int:
        wanted = self.log_retention_days or (365 if self.production else 30)
        return next((days for days in sorted(_RETENTION) if days >= wanted), max(_RETENTION))

    @property
    def retention(self) -> logs.RetentionDays:
        return _RETENTION[self.retention_days]

    @classmethod
    def from_context(cls, node: Any) -> StageOptions:
        def value(name: str, default: str) -> str:
            found = node.try_get_context(name)
            return default if found in (None, "") else str(found)

        d = cls()
        stage = value("stage", d.stage)
        if not stage.replace("-", "").isalnum() or not stage[0].isalpha() or len(stage) > 20:
            raise ValueError("stage must be letters, digits and dashes, starting with a letter (at most 20)")
        return cls(
            stage=stage,
            public_base_url=value("public_base_url", d.public_base_url),
            pay_url_template=value("pay_url_template", d.pay_url_template),
            alarm_email=value("alarm_email", d.alarm_email),
            timestamp_url=value("timestamp_url", d.timestamp_url),
            email_from=value("email_from", d.email_from),
            cvp_head_email=value("cvp_head_email", d.cvp_head_email),
            face_threshold=value("face_threshold", d.face_threshold),
            log_retention_days=int(value("log_retention_days", "0")),
            partners=tuple(p.strip() for p in value("partners", ",".join(d.partners)).split(",") if p.strip()),
            partner_rate=int(value("partner_rate", str(d.partner_rate))),
            partner_burst=int(value("partner_burst", str(d.partner_burst))),
            partner_daily_quota=int(value("partner_daily_quota", str(d.partner_daily_quota))),
            channels=tuple(c.strip() for c in value("channels", ",".join(d.channels)).split(",") if c.strip()),
            channel_rate=int(value("channel_rate", str(d.channel_rate))),
            channel_burst=int(value("channel_burst", str(d.channel_burst))),
            channel_daily_quota=int(value("channel_daily_quota", str(d.channel_daily_quota))),
        )


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS, 1827: logs.RetentionDays.FIVE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    """Chalice's construct writes its package under the current directory; keep that inside cdk.out."""
    path.mkdir(parents=True, exist_ok=True)
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class AntecedentesStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, options: StageOptions, build_dir: Path,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.options = options
        self.build_dir = build_dir
        self.api_name = f"{APP_NAME}-{options.stage}"
        cdk.Tags.of(self).add("app", APP_NAME)
        cdk.Tags.of(self).add("stage", options.stage)

        from chalicelib.adapters.dynamo_models import OUTBOX_TABLE

        self.tables = {spec.base_name: self._table(spec) for spec in app_tables()}
        self.bot_conversations = self._table(bot_table())
        self.outbox = self.tables[OUTBOX_TABLE]
        self.documents = self._documents_bucket()
        self.signing_key = self._signing_key("DocumentSigningKey", "PAdES signatures of issued documents")
        self.qr_key = self._signing_key("QrSealKey", "ES256 seal of the QR codes printed on documents")
        self.secrets = self._secrets()
        self.user_pool, self.user_pool_client = self._operators()
        self.dead_letters = sqs.Queue(
            self, "OutboxDeadLetters", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=cdk.Duration.days(14))
        self.public_base_url_parameter = f"/{APP_NAME}/{options.stage}/public-base-url"
        self.signing_chain_parameter = f"/{APP_NAME}/{options.stage}/signing-cert-chain"
        chain = ssm.StringParameter(
            self, "SigningCertChain", parameter_name=self.signing_chain_parameter,
            description="PEM chain of the document-signing certificate (signer first); see `make signing-cert`",
            string_value="NOT CONFIGURED: run `make signing-cert STAGE=...`",
            tier=ssm.ParameterTier.ADVANCED)  # 8 KB: a chain of RSA certificates outgrows the standard 4 KB
        chain.apply_removal_policy(options.removal_policy)  # it holds the imported chain, not the placeholder
        self.roles = {kind: self._function_role(kind) for kind in (API, WORKER)}
        if options.production and not options.messaging:
            cdk.Annotations.of(self).add_warning(
                "No email_from: e-mails and SMS will not leave the system (-c email_from=<SES identity>)")
        self.email_feedback = self._email_feedback()
        self.chalice = self._api()
        self._gateway_responses()
        self.partner_clients = self._partners(self.user_pool)
        self.api_url = cdk.Fn.sub(
            "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + API_GATEWAY_STAGE,
            {"Api": self.chalice.get_resource("RestAPI").ref})
        ssm.StringParameter(
            self, "PublicBaseUrl", parameter_name=self.public_base_url_parameter,
            description="Base of public links (QR verification); the API reads it at cold start",
            string_value=options.public_base_url or self.api_url)
        self._grant_api_functions()
        self.bot = self._bot()
        channel_plans.add_channel_usage_plans(self)
        self._alarms()
        # Issue 16: the edges (WAF, throttles, access logs, failure destinations, reserved concurrency, key
        # policies, backups) and the observability (rate and p99 alarms, business metrics, the dashboard).
        self.api_stage, self.outbox_function = API_GATEWAY_STAGE, OUTBOX_FUNCTION
        edges.add_edges(self)
        observability.add_observability(self)
        secret_rotation.add_secret_rotation(self)
        self._outputs()

    # --- data -----------------------------------------------------------------------------------

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        def key(k: Any) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=k.name, type=dynamodb.AttributeType(
                {"S": "STRING", "N": "NUMBER", "B": "BINARY"}[k.type]))

        table = dynamodb.Table(
            self, _logical(spec.base_name) + "Table",
            table_name=spec.table_name(self.options.table_prefix),
            partition_key=key(spec.partition),
            sort_key=key(spec.sort) if spec.sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=self.options.production,
            removal_policy=self.options.removal_policy,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=spec.ttl_attribute,
            stream=dynamodb.StreamViewType(spec.stream_view_type) if spec.stream_view_type else None,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=key(index.partition),
                sort_key=key(index.sort) if index.sort else None,
                projection_type=dynamodb.ProjectionType(index.projection),
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        return table

    def _documents_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self, "Documents",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            # Issued documents are locked per object (chalicelib.adapters.aws.s3.LOCKED_PREFIXES); exports are not.
            object_lock_enabled=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=self.options.removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
                # The console's exports (person-level lists behind two-minute links) and import uploads are not
                # records: they go after a day and after the jobs' 90 days, every version of them.
                s3.LifecycleRule(id="ConsoleExports", prefix="exports/", expiration=cdk.Duration.days(1),
                                 noncurrent_version_expiration=cdk.Duration.days(1)),
                s3.LifecycleRule(id="ImportJobs", prefix="jobs/", expiration=cdk.Duration.days(90),
                                 noncurrent_version_expiration=cdk.Duration.days(1)),
            ],
        )

    def _signing_key(self, construct_id: str, purpose: str) -> kms.Key:
        # Asymmetric keys cannot rotate in place: a new key is a new kid, published beside the old one.
        return kms.Key(
            self, construct_id,
            description=f"{APP_NAME} {self.options.stage}: {purpose}",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            removal_policy=self.options.removal_policy,
            pending_window=cdk.Duration.days(30 if self.options.production else 7),
        )

    def _secrets(self) -> dict[str, secretsmanager.Secret]:
        def generated(construct_id: str, description: str) -> secretsmanager.Secret:
            return secretsmanager.Secret(
                self, construct_id, description=description, removal_policy=self.options.removal_policy,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True))

        return {
            "bot_token": secretsmanager.Secret(
                self, "TelegramBotToken", removal_policy=self.options.removal_policy,
                description="Telegram bot token from @BotFather (`make set-webhook TELEGRAM_BOT_TOKEN=...` stores it)",
                secret_string_value=cdk.SecretValue.unsafe_plain_text(SECRET_PLACEHOLDER)),
            "channel_key": generated("ChannelKey", "Key the bot presents to the HTTP API (channel telegram)"),
            "payment_webhook": generated("PaymentWebhookSecret", "HMAC secret of the payment provider's webhook"),
            "webhook_token": generated("TelegramWebhookSecret", "X-Telegram-Bot-Api-Secret-Token of the bot webhook"),
            # Issue 16: the key of the console's signed links and list cursors, and the partners' settings (JSON:
            # agreements, callback URLs and secrets); both read by ARN at cold start, never in the configuration.
            "console_link": generated("ConsoleLinkSecret", "Key of the console's signed links and list cursors"),
            "partners": secretsmanager.Secret(
                self, "PartnersSettings", removal_policy=self.options.removal_policy,
                description="Partner systems' settings, JSON as PARTNERS in the README (callback URLs and secrets)",
                secret_string_value=cdk.SecretValue.unsafe_plain_text(SECRET_PLACEHOLDER)),
        }

    def _operators(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self, "Operators",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.REQUIRED,  # the console's hosted UI asks every operator for a second factor
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(min_length=12, require_symbols=True),
            # The operator's scope (procedure 5.4 h): the judicial districts of a CVP head or an officer and the
            # courts of court staff, comma-separated codes; set by administrators, never by the operator.
            custom_attributes={"districts": cognito.StringAttribute(mutable=True, max_len=512),
                               "courts": cognito.StringAttribute(mutable=True, max_len=512)},
            deletion_protection=self.options.production,
            removal_policy=self.options.removal_policy,
        )
        for role in OPERATOR_ROLES:
            cognito.CfnUserPoolGroup(self, f"Role{_logical(role)}", user_pool_id=pool.user_pool_id,
                                     group_name=role, description=f"Operators with the role {role}")
        client = pool.add_client(
            "AdminClient",
            generate_secret=False,
            # SRP only: the password never travels to Cognito, not even over TLS (no USER_PASSWORD_AUTH).
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(email=True, fullname=True)
            .with_custom_attributes("districts", "courts"),
            # Operators may not widen their own scope: the scope attributes are not writable by the client.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(fullname=True),
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
            **self._console_sign_in(pool),
        )
        return pool, client

    def _partners(self, pool: cognito.UserPool) -> dict[str, cognito.UserPoolClient]:
        """Partner systems (issue 14): a resource server with the partner scopes, and per partner an app client
        for OAuth2 client credentials (its own secret, only its scopes) and an API key in a usage plan of its own
        (rate, burst and a daily quota) that the partner routes require (``api_key_required``)."""
        # Cognito's scopes are <identifier>/<name>: certificates/request and certificates/read, the local issuer's.
        scopes = [cognito.ResourceServerScope(scope_name="request", scope_description="Submit certificate requests"),
                  cognito.ResourceServerScope(scope_name="read",
                                              scope_description="Read the partner's own requests and PDFs")]
        server = pool.add_resource_server("PartnerResourceServer", identifier="certificates",
                                          user_pool_resource_server_name="Partner systems", scopes=scopes)
        rest_api = self.chalice.get_resource("RestAPI")
        clients = {}
        for partner in self.options.partners:
            name = _logical(partner)
            clients[partner] = pool.add_client(
                f"Partner{name}Client", user_pool_client_name=f"partner-{partner}", generate_secret=True,
                o_auth=cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(client_credentials=True),
                    scopes=[cognito.OAuthScope.resource_server(server, scope) for scope in scopes]),
                access_token_validity=cdk.Duration.hours(1), prevent_user_existence_errors=True)
            key = apigateway.CfnApiKey(self, f"Partner{name}ApiKey", enabled=True, name=f"{self.api_name}-{partner}")
            plan = apigateway.CfnUsagePlan(
                self, f"Partner{name}UsagePlan", usage_plan_name=f"{self.api_name}-{partner}",
                api_stages=[apigateway.CfnUsagePlan.ApiStageProperty(api_id=rest_api.ref,
                                                                      stage=cdk.Fn.ref("RestAPI.Stage"))],
                throttle=apigateway.CfnUsagePlan.ThrottleSettingsProperty(
                    rate_limit=self.options.partner_rate, burst_limit=self.options.partner_burst),
                quota=apigateway.CfnUsagePlan.QuotaSettingsProperty(limit=self.options.partner_daily_quota,
                                                                    period="DAY"))
            apigateway.CfnUsagePlanKey(self, f"Partner{name}UsagePlanKey", key_id=key.ref, key_type="API_KEY",
                                       usage_plan_id=plan.ref)
        # The API maps each partner's app client to the partner (chalicelib.adapters.aws.config).
        mapping = cdk.Fn.join(",", [cdk.Fn.join("=", [client.user_pool_client_id, partner])
                                    for partner, client in clients.items()])
        for logical, kind in self.chalice_functions.items():
            if kind == API:
                self.chalice.get_resource(logical).add_property_override(
                    "Environment.Variables.PARTNER_APP_CLIENTS", mapping)
        return clients

    def _console_sign_in(self, pool: cognito.UserPool) -> dict[str, Any]:
        """The console signs operators in through the hosted UI (authorization code with PKCE), returning to
        `public_base_url`/console/auth/callback: it needs that stable URL, so without it there is no hosted UI."""
        self.hosted_ui_url = ""
        base = self.options.public_base_url.rstrip("/")
        if not base:
            return {}
        domain = pool.add_domain("ConsoleSignIn", cognito_domain=cognito.CognitoDomainOptions(
            domain_prefix=f"{APP_NAME}-{self.options.stage}-{cdk.Aws.ACCOUNT_ID}"))
        self.hosted_ui_url = domain.base_url()
        return {"o_auth": cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(authorization_code_grant=True),
                    scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                    callback_urls=[f"{base}/console/auth/callback"], logout_urls=[f"{base}/console/login"]),
                "supported_identity_providers": [cognito.UserPoolClientIdentityProvider.COGNITO]}

    # --- the Chalice app ---------------------------------------------------------------------------

    def _function_role(self, kind: str) -> iam.Role:
        role = iam.Role(
            self, f"{_logical(kind)}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{APP_NAME} {self.options.stage}: Chalice {kind} functions",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
            ],
        )
        # The application's tables (not the bot's): one statement, named tables and their indexes only.
        resources = []
        for spec in app_tables():
            table = self.tables[spec.base_name]
            resources += [table.table_arn, f"{table.table_arn}/index/*"] if spec.indexes else [table.table_arn]
        role.add_to_policy(iam.PolicyStatement(actions=DYNAMODB_DATA_ACTIONS, resources=resources))
        return role

    def _environment(self, kind: str) -> dict[str, str]:
        """Each kind's variables: settings.py's names plus those chalicelib.adapters.aws reads.

        Secrets appear only as ARNs, and only those the kind's role may read (the adapters fetch the values)."""
        o = self.options
        env = {
            "STAGE": o.stage,
            "TABLE_PREFIX": o.table_prefix,
            "DYNAMODB_ENDPOINT": "aws",
            "DATA_DIR": "/tmp/antecedentes",  # the only writable place in Lambda
            "PAYMENT_PAY_URL_TEMPLATE": o.pay_url_template,
            "OUTBOX_STREAM_ARN": self.outbox.table_stream_arn or "",
            "PUBLIC_BASE_URL_PARAMETER": self.public_base_url_parameter,
        }
        env.update({
            "DOCUMENT_STORE": "s3",
            "DOCUMENTS_BUCKET": self.documents.bucket_name,
            # Object lock on issued documents: ten years in production, a day elsewhere (a dev stack can go).
            "DOCUMENTS_LOCK_DAYS": "3653" if o.production else "1",
            "DOCUMENT_SIGNER": "kms",
            "QR_KEY_ID": self.qr_key.key_arn,
            "SIGNING_CERT_CHAIN_PARAMETER": self.signing_chain_parameter,
            "OPERATOR_AUTH": "cognito",
            "COGNITO_USER_POOL_ID": self.user_pool.user_pool_id,
            "COGNITO_APP_CLIENT_ID": self.user_pool_client.user_pool_client_id,
        })
        if self.hosted_ui_url:
            env["COGNITO_HOSTED_UI"] = self.hosted_ui_url
        if o.cvp_head_email:
            env["CVP_HEAD_EMAIL"] = o.cvp_head_email
        env["PARTNERS_SECRET_ARN"] = self.secrets["partners"].secret_arn  # the API's rules, the workers' callbacks
        if kind == API:
            env.update({"CHANNEL_KEY_SECRET_ARN": self.secrets["channel_key"].secret_arn,
                        "PAYMENT_WEBHOOK_SECRET_ARN": self.secrets["payment_webhook"].secret_arn,
                        "CONSOLE_LINK_SECRET_ARN": self.secrets["console_link"].secret_arn,
                        "FACE_MATCHER": "rekognition", "FACE_SIMILARITY_THRESHOLD": o.face_threshold})
            return env
        env.update({"SIGNING_KEY_ID": self.signing_key.key_arn,
                    "TELEGRAM_BOT_TOKEN_SECRET_ARN": self.secrets["bot_token"].secret_arn})
        if o.timestamp_url:
            env["TIMESTAMP_URL"] = o.timestamp_url
        if o.messaging:
            env.update({"EMAIL_SENDER": "ses", "EMAIL_FROM": o.email_from, "SMS_SENDER": "sns",
                        "EMAIL_CONFIGURATION_SET": self.email_configuration_set})
        return env

    def _api(self) -> Any:
        from chalice.cdk import Chalice

        class PrecompiledChalice(Chalice):  # type: ignore[misc]
            """Chalice's construct, with compiled bytecode added to the package before it becomes an asset."""

            def _package_app(self) -> None:
                super()._package_app()
                add_bytecode(Path(self._sam_package_dir) / "deployment.zip")

        # Chalice's construct takes one flat configuration for every function (its per-function section is read
        # only from .chalice/config.json), so what differs per kind is overridden on the resources below.
        memory, timeout = SIZES[API]
        stage_config = {
            "api_gateway_stage": API_GATEWAY_STAGE,
            "xray": True,
            "manage_iam_role": False,
            "iam_role_arn": self.roles[API].role_arn,
            "autogen_policy": False,
            "automatic_layer": False,
            "lambda_memory_size": memory,
            "lambda_timeout": timeout,
            "environment_variables": {"STAGE": self.options.stage},
        }
        with _working_directory(self.build_dir):
            app = PrecompiledChalice(self, "Api", source_dir=str(ROOT), stage_config=stage_config)
        self.chalice_functions = _chalice_functions(Path(app._sam_package_dir) / "sam.json")
        self.chalice_events = _chalice_events(Path(app._sam_package_dir) / "sam.json")
        for logical, kind in self.chalice_functions.items():
            function = app.get_resource(logical)
            memory, timeout = SIZES[kind]
            function.add_property_override("Role", self.roles[kind].role_arn)
            function.add_property_override("MemorySize", memory)
            function.add_property_override("Timeout", timeout)
            function.add_property_override("Environment.Variables", self._environment(kind))
            # Our own log groups: Chalice's log_retention_in_days names the API's wrongly (ApiHandler) in 1.34.
            logs.LogGroup(self, f"{logical}Logs", log_group_name=cdk.Fn.join("", ["/aws/lambda/", function.ref]),
                          retention=self.options.retention, removal_policy=self.options.removal_policy)
        # X-Ray on API Gateway too (Chalice's "xray" covers the functions), and a ceiling on request rates.
        rest_api = app.get_resource("RestAPI")
        rest_api.add_property_override("Name", self.api_name)
        rest_api.add_property_override("TracingEnabled", True)
        # Its throttles (the stage's and each unauthenticated upload route's) are set in edges.py.
        # The stream ARN in app.py is a local placeholder read at import time: point it at the real stream, and
        # bound the retries so a poison event ends in the dead-letter queue instead of blocking its shard.
        from chalicelib.handlers import handled_events

        for function_name, consumer in OUTBOX_CONSUMERS.items():
            source = f"Events.{function_name}DynamodbEventSource.Properties"
            outbox = app.get_resource(function_name)
            outbox.add_property_override(f"{source}.Stream", self.outbox.table_stream_arn)
            outbox.add_property_override(f"{source}.BisectBatchOnFunctionError", True)
            outbox.add_property_override(f"{source}.MaximumRetryAttempts", 5)
            outbox.add_property_override(f"{source}.MaximumRecordAgeInSeconds", 86400)
            outbox.add_property_override(f"{source}.ParallelizationFactor", PARALLELIZATION_FACTOR)
            outbox.add_property_override(f"{source}.FilterCriteria", outbox_filter(handled_events(consumer)))
            outbox.add_property_override(f"{source}.DestinationConfig", {
                "OnFailure": {"Type": "SQS", "Destination": self.dead_letters.queue_arn}})
        # Likewise the SES feedback topic: app.py names a local placeholder; this stack owns the real topic.
        app.get_resource(FEEDBACK_FUNCTION).add_property_override(
            f"Events.{FEEDBACK_EVENT_SOURCE}.Properties.Topic", self.email_feedback.topic_arn)
        return app

    def _gateway_responses(self) -> None:
        """API Gateway's own answers (an unknown route, throttling, a body too large...) in the API's one error
        shape, with the request id the Lambda logs as X-Request-Id (issue 14)."""
        rest_api = self.chalice.get_resource("RestAPI")
        common = {"gatewayresponse.header.X-Request-Id": "context.requestId",
                  "gatewayresponse.header.Cache-Control": "'no-store'",
                  "gatewayresponse.header.X-Content-Type-Options": "'nosniff'"}
        for kind, status, code, message, extra in GATEWAY_RESPONSES:
            body = json.dumps({"error": {"code": code, "message": message, "request_id": "$context.requestId"}})
            apigateway.CfnGatewayResponse(
                self, f"Gateway{kind.title().replace('_', '')}", rest_api_id=rest_api.ref, response_type=kind,
                status_code=str(status), response_templates={"application/json": body},
                response_parameters={**common, **{f"gatewayresponse.header.{k}": f"'{v}'" for k, v in extra.items()}})

    def _email_feedback(self) -> sns.Topic:
        """SES publishes bounces and complaints here; the app's email_feedback function stops mail to those
        addresses. With a sender, a configuration set routes the feedback of every e-mail the workers send."""
        topic = sns.Topic(self, "EmailFeedback", display_name=f"{APP_NAME} {self.options.stage} e-mail feedback",
                          enforce_ssl=True)
        topic.add_to_resource_policy(iam.PolicyStatement(
            actions=["sns:Publish"], principals=[iam.ServicePrincipal("ses.amazonaws.com")],
            resources=[topic.topic_arn], conditions={"StringEquals": {"AWS:SourceAccount": self.account}}))
        if self.options.messaging:
            configuration = ses.CfnConfigurationSet(self, "EmailConfigurationSet", name=self.email_configuration_set)
            destination = ses.CfnConfigurationSetEventDestination(
                self, "EmailFeedbackDestination", configuration_set_name=self.email_configuration_set,
                event_destination=ses.CfnConfigurationSetEventDestination.EventDestinationProperty(
                    enabled=True, matching_event_types=["bounce", "complaint"],
                    sns_destination=ses.CfnConfigurationSetEventDestination.SnsDestinationProperty(
                        topic_arn=topic.topic_arn)))
            destination.add_dependency(configuration)
        return topic

    @property
    def email_configuration_set(self) -> str:
        return f"{APP_NAME}-{self.options.stage}"

    def _grant_api_functions(self) -> None:
        api, worker = self.roles[API], self.roles[WORKER]
        parameters = [self._parameter_arn(self.public_base_url_parameter),
                      self._parameter_arn(self.signing_chain_parameter)]
        for role in (api, worker):
            role.add_to_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=parameters))
            # Both write: the API stores check-in photos, the workers signed PDFs and reports.
            role.add_to_policy(iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"],
                resources=[self.documents.arn_for_objects("*")]))
            # ListBucket lets a missing document read as "not found" (404) rather than "access denied".
            role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.documents.bucket_arn]))
            role.add_to_policy(iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=[self.qr_key.key_arn]))
        self.secrets["channel_key"].grant_read(api)
        self.secrets["payment_webhook"].grant_read(api)
        self.secrets["console_link"].grant_read(api)
        self.secrets["partners"].grant_read(api)
        self.secrets["partners"].grant_read(worker)
        # The console's administrator manages the operators, who are the user pool's users.
        api.add_to_policy(iam.PolicyStatement(actions=[
            "cognito-idp:AdminGetUser", "cognito-idp:AdminCreateUser", "cognito-idp:AdminUpdateUserAttributes",
            "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminAddUserToGroup",
            "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminEnableUser", "cognito-idp:AdminDisableUser",
            "cognito-idp:AdminResetUserPassword", "cognito-idp:ListUsers"], resources=[self.user_pool.user_pool_arn]))
        # CompareFaces has no resource to name (it stores nothing): IAM only accepts "*" for it.
        api.add_to_policy(iam.PolicyStatement(actions=["rekognition:CompareFaces"], resources=["*"]))
        self.secrets["bot_token"].grant_read(worker)
        worker.add_to_policy(iam.PolicyStatement(
            actions=["kms:Sign", "kms:GetPublicKey"], resources=[self.signing_key.key_arn, self.qr_key.key_arn]))
        self.outbox.grant_stream_read(worker)
        self.dead_letters.grant_send_messages(worker)
        if self.options.messaging:
            sender = self.options.email_from
            identities = {sender, sender.rpartition("@")[2]}  # the address, or its domain, is the SES identity
            worker.add_to_policy(iam.PolicyStatement(
                actions=["ses:SendRawEmail"],
                resources=[*(self.format_arn(service="ses", resource="identity", resource_name=i)
                             for i in sorted(identities)),
                           self.format_arn(service="ses", resource="configuration-set",
                                           resource_name=self.email_configuration_set)]))
            # An SMS sent straight to a phone number has no resource ARN either: IAM only accepts "*" for it.
            worker.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))

    def _parameter_arn(self, name: str) -> str:
        return self.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))

    # --- the bot ------------------------------------------------------------------------------------

    def _bot(self) -> lambda_.Function:
        log_group = logs.LogGroup(self, "BotLogs", retention=self.options.retention,
                                  removal_policy=self.options.removal_policy)
        bundle = build_bot_bundle(self.build_dir)
        function = lambda_.Function(
            self, "Bot",
            description=f"{APP_NAME} {self.options.stage}: Telegram bot webhook",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler=BOT_HANDLER,
            code=lambda_.Code.from_asset(str(bundle)),
            memory_size=512,
            timeout=cdk.Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={
                "STAGE": self.options.stage,
                "API_BASE_URL": self.api_url,
                "TABLE_PREFIX": self.options.table_prefix,
                "BOT_CONVERSATIONS_TABLE": self.bot_conversations.table_name,
                "DYNAMODB_ENDPOINT": "aws",
                "TELEGRAM_BOT_TOKEN_SECRET_ARN": self.secrets["bot_token"].secret_arn,
                "TELEGRAM_WEBHOOK_SECRET_ARN": self.secrets["webhook_token"].secret_arn,
                "CHANNEL_KEY_SECRET_ARN": self.secrets["channel_key"].secret_arn,
            },
        )
        function.add_to_role_policy(iam.PolicyStatement(actions=DYNAMODB_DATA_ACTIONS,
                                                        resources=[self.bot_conversations.table_arn]))
        for name in ("bot_token", "webhook_token", "channel_key"):
            self.secrets[name].grant_read(function)
        # CDK makes the function depend on its role twice (DependsOn and the Role attribute) and cfn-lint flags
        # it: keep only the dependency on the role's policy, which is the one that matters at first invocation.
        cfn_function = function.node.default_child
        policy = function.role.node.try_find_child("DefaultPolicy") if function.role else None
        if isinstance(cfn_function, cdk.CfnResource) and policy is not None:
            cfn_function.add_override("DependsOn", [self.get_logical_id(policy.node.default_child)])
        # Telegram calls it from the internet; the secret-token header (checked in bot.webhook) is the guard.
        self.bot_url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        return function

    # --- alarms and outputs ----------------------------------------------------------------------

    def _alarms(self) -> None:
        topic = sns.Topic(self, "Alarms", display_name=f"{APP_NAME} {self.options.stage} alarms",
                          enforce_ssl=True)
        self.alarm_subscription = None
        if self.options.alarm_email:
            self.alarm_subscription = topic.add_subscription(
                subscriptions.EmailSubscription(self.options.alarm_email))
        action = cloudwatch_actions.SnsAction(topic)
        self.alarm_topic, self.alarm_action = topic, action
        five_minutes = cdk.Duration.minutes(5)
        names = {logical: self.chalice.get_resource(logical).ref for logical in self.chalice_functions}
        names["Bot"] = self.bot.function_name
        self.function_names = names
        self.function_timeouts = {**{logical: SIZES[kind][1] for logical, kind in self.chalice_functions.items()},
                                  "Bot": 30}
        # Errors alarm on their rate and each function's p99 duration (observability.py), not on one error.
        for logical, function_name in names.items():
            for metric in ("Throttles",):
                alarm = cloudwatch.Alarm(
                    self, f"{logical}{metric}Alarm",
                    alarm_description=f"{logical}: {metric.lower()} in the last 5 minutes",
                    metric=cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric, statistic="Sum",
                                             period=five_minutes, dimensions_map={"FunctionName": function_name}),
                    threshold=0, evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
                alarm.add_alarm_action(action)
        dead_letters = cloudwatch.Alarm(
            self, "OutboxDeadLettersAlarm",
            alarm_description="Outbox events that failed every retry are waiting in the dead-letter queue",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=five_minutes, statistic="Maximum"),
            threshold=0, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        dead_letters.add_alarm_action(action)

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": self.api_url,
            "BotWebhookUrl": self.bot_url.url,
            "BotFunctionName": self.bot.function_name,
            "BotTokenSecretArn": self.secrets["bot_token"].secret_arn,
            "BotWebhookSecretArn": self.secrets["webhook_token"].secret_arn,
            "ChannelKeySecretArn": self.secrets["channel_key"].secret_arn,
            "PaymentWebhookSecretArn": self.secrets["payment_webhook"].secret_arn,
            "PartnersSecretArn": self.secrets["partners"].secret_arn,
            "DocumentsBucket": self.documents.bucket_name,
            "SigningKeyArn": self.signing_key.key_arn,
            "QrKeyArn": self.qr_key.key_arn,
            "SigningCertChainParameter": self.signing_chain_parameter,
            "UserPoolId": self.user_pool.user_pool_id,
            "UserPoolClientId": self.user_pool_client.user_pool_client_id,
            "OutboxDeadLetterQueueUrl": self.dead_letters.queue_url,
            "WorkerFunctionName": self.chalice.get_resource(OUTBOX_FUNCTION).ref,
            "ApiFunctionName": self.chalice.get_resource("APIHandler").ref,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)


# API Gateway's own answers, in the API's error shape: (response type, status, code, message, extra headers).
GATEWAY_RESPONSES: tuple[tuple[str, int, str, str, dict[str, str]], ...] = (
    ("MISSING_AUTHENTICATION_TOKEN", 404, "route_not_found", "No route has this path; see /openapi.json.", {}),
    ("UNAUTHORIZED", 401, "unauthenticated", "Expected an Authorization: Bearer header.",
     {"WWW-Authenticate": 'Bearer realm="antecedentes"'}),
    ("ACCESS_DENIED", 403, "forbidden", "This credential may not call this route.", {}),
    ("INVALID_API_KEY", 403, "invalid_api_key", "This route needs the caller's API key in X-API-Key.", {}),
    ("WAF_FILTERED", 403, "forbidden", "This request was refused by the firewall.", {}),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type", "This route does not take a body of this type.", {}),
    ("REQUEST_TOO_LARGE", 413, "payload_too_large", "The body is too large.", {}),
    ("THROTTLED", 429, "rate_limited", "Too many requests; retry after the time in Retry-After.",
     {"Retry-After": "60"}),
    ("QUOTA_EXCEEDED", 429, "quota_exceeded", "This credential's quota is spent; retry after Retry-After.",
     {"Retry-After": "3600"}),
    ("INTEGRATION_TIMEOUT", 504, "timeout", "The request took too long; nothing may have changed. Retry.",
     {"Retry-After": "30"}),
    ("DEFAULT_4XX", 400, "bad_request", "The request could not be read.", {}),
    ("DEFAULT_5XX", 500, "internal_error", "Something went wrong on our side; retry shortly.", {"Retry-After": "30"}),
)


def _chalice_functions(sam_template: Path) -> dict[str, str]:
    """Every function `chalice package` produced, by logical id, with its kind (api or worker)."""
    import json

    resources = json.loads(sam_template.read_text())["Resources"]
    kinds = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        kinds[logical] = API if logical == "APIHandler" else WORKER
    return kinds


def _chalice_events(sam_template: Path) -> dict[str, dict[str, str]]:
    """Each Chalice function's events by name, with their type (Schedule, SNS, DynamoDB...)."""
    import json

    resources = json.loads(sam_template.read_text())["Resources"]
    return {logical: {name: event["Type"] for name, event in resource["Properties"].get("Events", {}).items()}
            for logical, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"}


def _logical(name: str) -> str:
    """"payment-orders" -> "PaymentOrders": a CloudFormation-friendly id from a table or role name."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def outbox_filter(names: frozenset[str]) -> dict[str, Any]:
    """The event source's filter: new outbox items whose event the consumer handles. Anything else (events no handler
    of this consumer wants, TTL deletions) never invokes the function."""
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"name": {"S": sorted(names)}}}}
    return {"Filters": [{"Pattern": json.dumps(pattern, separators=(",", ":"))}]}

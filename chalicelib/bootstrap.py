"""The composition root: the one place that picks adapters from settings (local or cloud) and wires them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .domain.accounts import OperatorAccounts
from .domain.biometrics import FaceMatcher
from .domain.control.contingency import REGISTRIES, CircuitBreaker
from .domain.control.ports import ControlStores, WarrantsRegistry
from .domain.indicators import IndicatorStore
from .domain.jobs import Jobs, RowImporter, StepTask
from .domain.matching import MatchThresholds
from .domain.media import MediaLinks
from .domain.outbound import ChatChannel, EmailSender, SmsSender
from .domain.ports import (
    AuditLog,
    Clock,
    DocumentStorage,
    IdempotencyRecords,
    IdentityRegistry,
    PaymentProvider,
    PenitentiaryRegistry,
    Store,
)
from .domain.sessions import ConsoleSessions
from .services.certificate_requests import RequestRules
from .services.control.common import ControlRules
from .services.control.contingency import Registries
from .services.control.pipeline import CheckinPorts
from .services.time import SystemClock
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .adapters.aws import CloudAdapters


@dataclass
class Container:
    settings: Settings
    store: Store
    audit: AuditLog
    identity: IdentityRegistry  # behind its circuit breaker (annex 5)
    registry: PenitentiaryRegistry
    provider: PaymentProvider
    storage: DocumentStorage
    tokens: Any
    clock: Clock
    control: ControlStores
    warrants: WarrantsRegistry  # behind its circuit breaker (annex 5)
    registries: Registries  # each registry as itself, for the probe and /health
    email: EmailSender
    sms: SmsSender
    faces: FaceMatcher
    indicators: IndicatorStore
    pki_factory: Callable[[], Any]
    producer_factory: Callable[[Any], Any]  # the document pipeline, given the keys
    accounts: OperatorAccounts  # the console's operators (Cognito's users in the cloud)
    sessions: ConsoleSessions
    jobs: Jobs
    media: MediaLinks  # short-lived links to stored files
    rng: random.Random = field(default_factory=random.SystemRandom)
    hosted_ui: Any = None  # the console signs in through Cognito's hosted UI in the cloud; None: local accounts
    idempotency: IdempotencyRecords | None = None  # Idempotency-Key on unsafe calls (None: not honoured)
    partner_verifier: Any = None  # partners' access tokens from Cognito in the cloud; None: the local issuer's
    refresh_secrets: Any = None  # the cloud's secrets read again (chalicelib.adapters.aws.secrets.SecretRefresher)
    _built: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def rules(self) -> RequestRules:
        s = self.settings
        return RequestRules(fee=s.certificate_fee, currency=s.currency,
                            order_ttl=timedelta(hours=s.payment_order_ttl_hours),
                            identity_max_attempts=s.identity_max_attempts)

    def reload_secrets(self) -> bool:
        """After a refused credential: read the cloud's secrets again (at most once a minute), in case a rotation
        gave the caller a value this warm function has not seen. True when something changed."""
        fresh = self.refresh_secrets(self.settings) if self.refresh_secrets is not None else None
        if fresh is None or fresh == self.settings:
            return False
        self.settings = fresh
        self._built.pop("partners", None)  # built from the settings' partners
        return True

    def _once(self, name: str, factory: Callable[[], Any]) -> Any:
        if name not in self._built:
            self._built[name] = factory()
        return self._built[name]

    def pki(self) -> Any:
        """The signing keys (local keys created on first use, or KMS in the cloud)."""
        return self._once("pki", self.pki_factory)

    def producer(self) -> Any:
        """The document pipeline, built on first use: pyHanko costs about 0.2 s to import."""
        return self._once("producer", lambda: self.producer_factory(self.pki()))

    def warm(self, *, documents: bool = False) -> None:
        """What a container does before its first request or event, so that the first costs what the next ones do:
        the DynamoDB client (one for every table), its operations' models and its connection (one read of a
        missing item), and the chat notifier; with ``documents`` (the functions that sign), the keys and
        certificate chain, pyHanko and the fonts and QR tables; else the API's request models (pydantic) and a block
        of request numbers. Lambda runs it in its init phase; the local servers at start."""
        import contextlib

        from .adapters import dynamo_models as m

        client = m.connection_for(self.settings.aws_region, self.settings.dynamodb_endpoint).client
        service = client.meta.service_model
        for operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem",
                          "BatchWriteItem", "TransactWriteItems", "TransactGetItems"):
            service.operation_model(operation)  # botocore builds each operation's model on its first use
        with contextlib.suppress(Exception):  # a missing item: the connection opened, botocore's first call paid
            m.IdempotencyModel.get("~warm")
        self.notifier()
        if documents:
            self.producer().warm_up()
        else:
            from .api import models  # noqa: F401 - pydantic and the request models (~0.1 s): the routes' first use
            from .services.certificate_requests import number_series

            with contextlib.suppress(Exception):  # the block of request numbers (two calls): else the first request's
                self.store.prefetch_numbers(number_series(self.clock.now().year))

    @property
    def control_rules(self) -> ControlRules:
        return ControlRules(location_max_age_seconds=self.settings.checkin_location_max_age_seconds,
                            warrant_name_threshold=self.settings.warrant_name_threshold)

    def checkin_ports(self) -> CheckinPorts:
        k = self.control
        return CheckinPorts(measures=k.measures, enrolments=k.enrolments, checkins=k.checkins,
                            calendars=k.calendars, identity=self.identity, warrants=self.warrants, faces=self.faces,
                            storage=self.storage, contingencies=k.contingencies, uow=k.uow, clock=self.clock,
                            rules=self.control_rules)

    def uploads(self) -> Any:
        """Presigned uploads (domain.uploads.UploadLinks): S3 presigned POSTs when the documents live in S3, else
        the local API's signed upload route."""
        from urllib.parse import urlsplit

        from .adapters.upload_links import S3Uploads, SignedLocalUploads

        if hasattr(self.storage, "presigned_post"):
            return S3Uploads(self.storage)
        return SignedLocalUploads(self.settings.console_link_secret, urlsplit(self.settings.public_base_url).path)

    def importers(self) -> dict[str, RowImporter]:
        """Every CSV import: the registries' (the local registries' tables; the warrants registry's stand-in) and
        the courts' measures."""
        from .adapters.dynamo_store import DynamoIdentityRegistry, DynamoPenitentiaryRegistry
        from .services.control.measure_import import MeasureImporter
        from .services.registries import IdentityImporter, PenitentiaryImporter, WarrantsImporter

        k = self.control
        return {"identity": IdentityImporter(DynamoIdentityRegistry()),
                "penitentiary": PenitentiaryImporter(DynamoPenitentiaryRegistry()),
                "warrants": WarrantsImporter(self.warrants),
                "measures": MeasureImporter(k.measures, k.calendars, k.officers, k.uow, self.clock)}

    def tasks(self) -> dict[str, StepTask]:
        """Long work that is not a CSV, run as jobs: the indicators' rebuild."""
        from .adapters.dynamo_store import DynamoStore
        from .services.indicators import RebuildTask

        def outbox() -> list[Any]:
            return DynamoStore(self.settings.aws_region, self.settings.dynamodb_endpoint).recent_events(
                limit=1_000_000)

        k = self.control
        return {"indicators-rebuild": RebuildTask(self.indicators, self.store, k.checkins, k.measures, outbox)}

    def notifier(self) -> ChatChannel | None:
        """The chat notifier (one per process, so its connections are reused), or None without a bot token."""
        token = self.settings.telegram_bot_token
        if not token:
            return None

        def build() -> ChatChannel:
            from .adapters.telegram_notifier import TelegramNotifier

            return TelegramNotifier(self.settings.telegram_api_base_url, token)

        notifier: ChatChannel = self._once("notifier", build)
        return notifier

    @property
    def recipients(self) -> dict[str, str]:
        """Where incidents go (procedure 5.3 b–c, 6.3)."""
        s = self.settings
        return {"police": s.police_contact_email, "court": s.court_mesa_partes_email, "cvp_head": s.cvp_head_email}

    def jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = self.pki().jwks()
        return keys

    @property
    def issue_policy(self) -> Any:
        from .services.documents import IssuePolicy

        return IssuePolicy(self.settings.public_base_url, timedelta(days=self.settings.certificate_validity_days))

    @property
    def partners(self) -> Any:
        """Partners' machine credentials (PartnerTokens): the local issuer and verifier of their tokens."""

        def build() -> Any:
            from .adapters.auth import PartnerTokens, partners_from_settings

            s = self.settings
            return PartnerTokens(partners_from_settings(s.partners), s.jwt_secret, s.jwt_issuer,
                                 s.partner_token_audience, s.partner_token_ttl_seconds, self.partner_verifier)

        return self._once("partners", build)

    @property
    def partner_quota(self) -> Any:
        """The per-partner limiter (QuotaLimiter) over the shared quota counters; usage plans at the cloud's edge."""
        from .adapters.dynamo_partners import DynamoQuotaWindows
        from .services.partner_quota import QuotaLimiter

        s = self.settings
        return self._once("partner_quota", lambda: QuotaLimiter(DynamoQuotaWindows(s.aws_region, s.dynamodb_endpoint)))

    @property
    def dead_callbacks(self) -> Any:
        """The dead-letter list of partner callbacks (DeadCallbacks)."""
        from .adapters.dynamo_partners import DynamoDeadCallbacks

        return self._once("dead_callbacks", DynamoDeadCallbacks)

    @property
    def held_callbacks(self) -> Any:
        """Partner callbacks waiting for their next try (HeldCallbacks)."""
        from .adapters.dynamo_partners import DynamoHeldCallbacks

        return self._once("held_callbacks", DynamoHeldCallbacks)

    @property
    def thresholds(self) -> MatchThresholds:
        return MatchThresholds(name=self.settings.match_name_threshold,
                               exact_name=self.settings.match_exact_name_threshold)


def _registries(settings: Settings, identity: IdentityRegistry, warrants: WarrantsRegistry) -> tuple[Any, Any]:
    """On the local stack each registry has a switch a person can flip to try the contingency plan."""
    if settings.stage != "local":
        return identity, warrants
    from .adapters.local_registries import RegistrySwitch, SwitchedIdentityRegistry, SwitchedWarrantsRegistry

    folder = settings.data_dir / "switches"
    return (SwitchedIdentityRegistry(identity, RegistrySwitch(folder, "identity")),
            SwitchedWarrantsRegistry(warrants, RegistrySwitch(folder, "warrants")))


def build(settings: Settings | None = None, clock: Clock | None = None,
          cloud: CloudAdapters | None = None) -> Container:
    from .adapters import dynamo_models
    from .adapters.auth import LocalTokenVerifier
    from .adapters.aws import cloud_adapters
    from .adapters.dynamo_console import DynamoConsoleSessions, DynamoJobs, DynamoOperatorAccounts
    from .adapters.dynamo_control import DynamoWarrantsRegistry, dynamo_control
    from .adapters.dynamo_idempotency import DynamoIdempotency
    from .adapters.dynamo_indicators import DynamoIndicators
    from .adapters.dynamo_store import DynamoAuditLog, DynamoIdentityRegistry, DynamoPenitentiaryRegistry, DynamoStore
    from .adapters.local_outbound import FileSmsSender
    from .adapters.local_payments import LocalPaymentProvider
    from .adapters.media_links import SignedLocalLinks
    from .adapters.storage import LocalFileStorage
    from .domain.biometrics import InconclusiveFaceMatcher
    from .services.control.contingency import GuardedIdentityRegistry, GuardedWarrantsRegistry

    settings = settings or load_settings()
    cloud = cloud if cloud is not None else cloud_adapters(settings)
    settings = cloud.settings or settings
    dynamo_models.configure(settings)
    clock = clock or SystemClock()
    breakers = {name: CircuitBreaker(name, settings.registry_breaker_failures,
                                     timedelta(seconds=settings.registry_breaker_reset_seconds))
                for name in REGISTRIES}
    identity, warrants = _registries(settings, DynamoIdentityRegistry(), DynamoWarrantsRegistry())

    def local_pki() -> Any:
        from .adapters.documents import ensure_local_pki

        return ensure_local_pki(settings.pki_dir)

    def local_producer(pki: Any) -> Any:
        from .adapters.documents import local_pipeline

        return local_pipeline(pki, timestamp_url=settings.timestamp_url)

    store = DynamoStore(settings.aws_region, settings.dynamodb_endpoint)
    c = Container(
        settings=settings,
        store=store,
        audit=DynamoAuditLog(),
        identity=GuardedIdentityRegistry(identity, breakers["identity"], clock),
        registry=DynamoPenitentiaryRegistry(),
        provider=LocalPaymentProvider(settings.payment_pay_url_template),
        storage=cloud.storage or LocalFileStorage(settings.documents_dir),
        tokens=cloud.tokens or LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience),
        clock=clock,
        control=dynamo_control(settings.aws_region, settings.dynamodb_endpoint),
        warrants=GuardedWarrantsRegistry(warrants, breakers["warrants"], clock),
        registries=Registries(identity=identity, warrants=warrants, breakers=breakers),
        email=cloud.email or _email_sender(settings),
        sms=cloud.sms or FileSmsSender(settings.outbox_dir / "sms"),
        faces=cloud.faces or InconclusiveFaceMatcher(),
        indicators=DynamoIndicators(settings.aws_region, settings.dynamodb_endpoint),
        pki_factory=cloud.pki or local_pki,
        producer_factory=cloud.producer or local_producer,
        accounts=cloud.accounts or DynamoOperatorAccounts(store.connection),
        sessions=DynamoConsoleSessions(),
        jobs=DynamoJobs(store.connection),
        media=cloud.media or SignedLocalLinks(settings.console_link_secret, urlsplit(settings.public_base_url).path),
        hosted_ui=cloud.hosted_ui,
        partner_verifier=cloud.partner_verifier,
        refresh_secrets=cloud.refresh_secrets,
        idempotency=DynamoIdempotency(),
    )
    return c


def _email_sender(settings: Settings) -> EmailSender:
    """The one e-mail port: an SMTP server when configured (the local stack's mail server), otherwise .eml files
    in the outbox folder; in the cloud, SES (chosen by cloud_adapters)."""
    if settings.smtp_host:
        from .adapters.smtp_outbound import SmtpEmailSender

        return SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.email_from)
    from .adapters.local_outbound import FileEmailSender

    return FileEmailSender(settings.outbox_dir / "email")


_container: Container | None = None


def container() -> Container:
    """One container per process (per warm Lambda), built on first use."""
    global _container
    if _container is None:
        # X-Ray's SDK costs two thirds of the import time: load it with the first container, not at import.
        from . import tracing

        tracing.configure()
        _container = build()
    return _container


def use(replacement: Container | None) -> None:
    """Swap the process's container (tests and the local worker)."""
    global _container
    _container = replacement

"""The composition root: the one place that picks adapters from settings and wires them together."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .domain.matching import MatchThresholds
from .domain.ports import AuditLog, Clock, IdentityRegistry, PaymentProvider, PenitentiaryRegistry, Store
from .services.certificate_requests import RequestRules
from .services.time import SystemClock
from .settings import Settings, load_settings


@dataclass
class Container:
    settings: Settings
    store: Store
    audit: AuditLog
    identity: IdentityRegistry
    registry: PenitentiaryRegistry
    provider: PaymentProvider
    storage: Any
    tokens: Any
    clock: Clock
    control: Any = None
    # Officers' side of virtual control (issue 6): its store, the outbound e-mail and SMS ports (the local
    # outbox folder by default; the cloud adapters replace them), the randomness of the equitable
    # distribution (seeded in tests), and the circuit breakers of the registries the check-in needs.
    ops: Any = None
    email: Any = None
    sms: Any = None
    rng: random.Random = field(default_factory=random.SystemRandom)
    breakers: dict[str, Any] = field(default_factory=dict)
    _pki: Any = None
    _producer: Any = None
    _face_matcher: Any = None

    @property
    def rules(self) -> RequestRules:
        s = self.settings
        return RequestRules(fee=s.certificate_fee, currency=s.currency,
                            order_ttl=timedelta(hours=s.payment_order_ttl_hours),
                            identity_max_attempts=s.identity_max_attempts)

    def pki(self) -> Any:
        """The local keys (created on first use); the cloud signer replaces this with KMS."""
        if self._pki is None:
            from .adapters.documents import ensure_local_pki

            self._pki = ensure_local_pki(self.settings.pki_dir)
        return self._pki

    def producer(self) -> Any:
        """The document pipeline, built on first use: pyHanko costs about 0.2 s to import."""
        if self._producer is None:
            from .adapters.documents import local_pipeline

            self._producer = local_pipeline(self.pki(), timestamp_url=self.settings.timestamp_url)
        return self._producer

    @property
    def control_rules(self) -> Any:
        from .services.control import ControlRules

        return ControlRules(location_max_age_seconds=self.settings.checkin_location_max_age_seconds,
                            warrant_name_threshold=self.settings.warrant_name_threshold)

    def face_matcher(self) -> Any:
        if self._face_matcher is None:
            from .domain.biometrics import InconclusiveFaceMatcher

            self._face_matcher = InconclusiveFaceMatcher()
        return self._face_matcher

    def notifier(self) -> Any:
        """The chat notifier, or None when no bot token is configured."""
        token = self.settings.telegram_bot_token
        if not token:
            return None
        from .adapters.telegram_notifier import TelegramNotifier

        return TelegramNotifier(self.settings.telegram_api_base_url, token)

    def jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = self.pki().jwks()
        return keys

    @property
    def issue_policy(self) -> Any:
        from .services.documents import IssuePolicy

        return IssuePolicy(self.settings.public_base_url, timedelta(days=self.settings.certificate_validity_days))

    @property
    def thresholds(self) -> MatchThresholds:
        return MatchThresholds(name=self.settings.match_name_threshold,
                               exact_name=self.settings.match_exact_name_threshold)


def build(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    from .adapters import dynamo_models
    from .adapters.auth import LocalTokenVerifier
    from .adapters.dynamo_control import DynamoControlStore
    from .adapters.dynamo_control_ops import DynamoControlOpsStore
    from .adapters.dynamo_store import DynamoAuditLog, DynamoIdentityRegistry, DynamoPenitentiaryRegistry, DynamoStore
    from .adapters.local_outbound import FileSmsSender
    from .adapters.local_payments import LocalPaymentProvider
    from .adapters.storage import LocalFileStorage
    from .domain.control_ops import CircuitBreaker
    from .services.control_ops import GuardedControlStore, GuardedIdentityRegistry

    settings = settings or load_settings()
    dynamo_models.configure(settings)
    clock = clock or SystemClock()
    breakers = {name: CircuitBreaker(name, settings.registry_breaker_failures,
                                     timedelta(seconds=settings.registry_breaker_reset_seconds))
                for name in ("identity", "warrants")}
    c = Container(
        settings=settings,
        store=DynamoStore(settings.aws_region, settings.dynamodb_endpoint),
        audit=DynamoAuditLog(),
        identity=GuardedIdentityRegistry(DynamoIdentityRegistry(), breakers["identity"], clock),
        registry=DynamoPenitentiaryRegistry(),
        provider=LocalPaymentProvider(settings.payment_pay_url_template),
        storage=LocalFileStorage(settings.documents_dir),
        tokens=LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience),
        clock=clock,
        control=GuardedControlStore(DynamoControlStore(settings.aws_region, settings.dynamodb_endpoint),
                                    breakers["warrants"], clock),
        ops=DynamoControlOpsStore(settings.aws_region, settings.dynamodb_endpoint),
        email=_email_sender(settings),
        sms=FileSmsSender(settings.outbox_dir / "sms"),
        breakers=breakers,
    )
    from .adapters.aws import apply_cloud_adapters

    apply_cloud_adapters(c)  # no-op on the local stack: the embedded defaults stay the default
    return c


def _email_sender(settings: Settings) -> Any:
    """The one e-mail port: an SMTP server when configured (the local stack's mail server), otherwise .eml files
    in the outbox folder; in the cloud apply_cloud_adapters puts SES in its place."""
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

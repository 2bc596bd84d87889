"""The composition root: the one place that picks adapters from settings and wires them together."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def rules(self) -> RequestRules:
        s = self.settings
        return RequestRules(fee=s.certificate_fee, currency=s.currency,
                            order_ttl=timedelta(hours=s.payment_order_ttl_hours),
                            identity_max_attempts=s.identity_max_attempts)

    @property
    def thresholds(self) -> MatchThresholds:
        return MatchThresholds(name=self.settings.match_name_threshold,
                               exact_name=self.settings.match_exact_name_threshold)


def build(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    from .adapters import dynamo_models
    from .adapters.auth import LocalTokenVerifier
    from .adapters.dynamo_store import DynamoAuditLog, DynamoIdentityRegistry, DynamoPenitentiaryRegistry, DynamoStore
    from .adapters.local_payments import LocalPaymentProvider
    from .adapters.storage import LocalFileStorage

    settings = settings or load_settings()
    dynamo_models.configure(settings)
    return Container(
        settings=settings,
        store=DynamoStore(settings.aws_region, settings.dynamodb_endpoint),
        audit=DynamoAuditLog(),
        identity=DynamoIdentityRegistry(),
        registry=DynamoPenitentiaryRegistry(),
        provider=LocalPaymentProvider(settings.payment_pay_url_template),
        storage=LocalFileStorage(settings.documents_dir),
        tokens=LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience),
        clock=clock or SystemClock(),
    )


_container: Container | None = None


def container() -> Container:
    """One container per process (per warm Lambda), built on first use."""
    global _container
    if _container is None:
        _container = build()
    return _container


def use(replacement: Container | None) -> None:
    """Swap the process's container (tests and the local worker)."""
    global _container
    _container = replacement

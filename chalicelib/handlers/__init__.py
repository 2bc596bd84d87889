"""Which use case runs for which outbox event: the same dispatch serves the stream consumer in the cloud and
the local worker. Handlers wire the use cases from the container; each use case is idempotent, so a
redelivered event has one effect."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from .. import metrics
from ..domain.requests import Event
from . import control, jobs

if TYPE_CHECKING:
    from ..bootstrap import Container

log = logging.getLogger(__name__)

Handler = Callable[[Event, "Container"], None]


def _record_check(event: Event, c: Container) -> None:
    from ..services.review import check_records

    check_records(event.aggregate_id, store=c.store, registry=c.registry, clock=c.clock, thresholds=c.thresholds)


def _issue(event: Event, c: Container) -> None:
    from ..services.documents import issue_certificate

    issue_certificate(event.aggregate_id, store=c.store, storage=c.storage, producer=c.producer(), clock=c.clock,
                      policy=c.issue_policy)


def _issue_attendance(event: Event, c: Container) -> None:
    from ..services.documents import IssuePolicy, issue_attendance

    policy = IssuePolicy(c.settings.public_base_url, timedelta(days=c.settings.attendance_validity_days))
    issue_attendance(event.aggregate_id, store=c.store, checkins=c.control.checkins, measures=c.control.measures,
                     enrolments=c.control.enrolments, calendars=c.control.calendars, storage=c.storage,
                     producer=c.producer(), clock=c.clock, policy=policy)


def _notify(event: Event, c: Container) -> None:
    """The chat the request came from (each channel an adapter; Telegram's needs a bot token)."""
    from ..services.notifications import notify

    notify(event, store=c.store, storage=c.storage, notifier=c.notifier(), provider=c.provider)


def _email(event: Event, c: Container) -> None:
    """The e-mail notice, through the one e-mail port (SES in the cloud, SMTP or files locally)."""
    from ..adapters.email_suppressions import DynamoEmailSuppressions
    from ..services.notifications import notify_email

    notify_email(event, store=c.store, storage=c.storage, email=c.email, suppressions=DynamoEmailSuppressions(),
                 public_base_url=c.settings.public_base_url, clock=c.clock, provider=c.provider,
                 bot_username=c.settings.telegram_bot_username)


def _indicators(event: Event, c: Container) -> None:
    """The indicators' counters (SPEC §5), kept from the events, once each."""
    from ..services.indicators import record

    record(event, indicators=c.indicators, store=c.store, checkins=c.control.checkins, measures=c.control.measures)


def _handlers() -> dict[str, list[Handler]]:
    from ..services.notifications import PUSH_FOR_EVENT

    handlers: dict[str, list[Handler]] = {name: [_notify, _email] for name in PUSH_FOR_EVENT}
    handlers["control.attendance_issued"] = [_notify]
    handlers["request.paid"].insert(0, _record_check)
    handlers["request.approved"].insert(0, _issue)
    handlers["control.registered"] = [_issue_attendance]
    for name, chain in control.HANDLERS.items():
        handlers.setdefault(name, []).extend(chain)
    from ..services.indicators import COUNTED

    for name in sorted(COUNTED):
        handlers.setdefault(name, []).append(_indicators)
    handlers["job.submitted"] = handlers["job.continue"] = [jobs.run_job]
    return handlers


HANDLERS = _handlers()


def dispatch(event: Event, c: Container) -> int:
    """Run every handler of the event. Each handler is idempotent, so a redelivered event has one effect."""
    handlers = HANDLERS.get(event.name, [])
    metrics.count_event(event.name, event_id=event.event_id)
    for handler in handlers:
        log.info("handling event", extra={"event_name": event.name, "event_id": event.event_id,
                                          "handler": handler.__name__})
        handler(event, c)
    return len(handlers)

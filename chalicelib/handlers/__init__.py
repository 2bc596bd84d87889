"""Which use case runs for which outbox event: the same dispatch serves the stream consumer in the cloud and
the local worker. Handlers wire the use cases from the container; each use case is idempotent, so a
redelivered event has one effect."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from .. import metrics
from ..domain.requests import CertificateRequest, Event
from . import control, jobs, partner_callbacks

if TYPE_CHECKING:
    from ..bootstrap import Container

log = logging.getLogger(__name__)

Handler = Callable[[Event, "Container"], None]


def _record_check(event: Event, c: Container) -> None:
    """request.paid: the record check, and for a clean record the certificate in the same step (no further hop)."""
    from ..services.documents import issue_approved
    from ..services.review import check_records

    def issue(approved: CertificateRequest) -> object:
        return issue_approved(approved, store=c.store, storage=c.storage, producer=c.producer(), clock=c.clock,
                              policy=c.issue_policy, written=False)

    check_records(event.aggregate_id, store=c.store, registry=c.registry, clock=c.clock, thresholds=c.thresholds,
                  issue=issue)


def _issue(event: Event, c: Container) -> None:
    """request.approved (after a reviewer's decision): the certificate."""
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


def _notices(event: Event, c: Container) -> None:
    """A request's notice, composed once, to each channel: the chat, and the e-mail through the one e-mail port
    (SES in the cloud, SMTP or files locally). Each channel claims the event for itself, so a retry after one
    channel failed does not repeat the other."""
    from ..adapters.email_suppressions import DynamoEmailSuppressions
    from ..services.notifications import compose, nothing_to_send, notify, notify_email

    if nothing_to_send(event):
        return
    notice = compose(event, c.store, c.provider)
    notify(event, store=c.store, storage=c.storage, notifier=c.notifier(), provider=c.provider, composed=notice)
    notify_email(event, store=c.store, storage=c.storage, email=c.email, suppressions=DynamoEmailSuppressions(),
                 public_base_url=c.settings.public_base_url, clock=c.clock, provider=c.provider,
                 bot_username=c.settings.telegram_bot_username, composed=notice)


def _indicators(event: Event, c: Container) -> None:
    """The indicators' counters (SPEC §5), kept from the events, once each."""
    from ..services.indicators import record

    record(event, indicators=c.indicators, store=c.store, checkins=c.control.checkins, measures=c.control.measures)


# The outbox has two consumers, each its own function in the cloud (and its own lanes in the local worker), so a
# notice never holds up issuing: WORK changes state (record check, issuing, control, indicators), NOTICES tells
# people (chat, e-mail). Each consumer is fed only the events it has handlers for.
WORK = "work"
NOTICES = "notices"
CONSUMERS = (WORK, NOTICES)


def _handlers() -> dict[str, dict[str, list[Handler]]]:
    from ..services.indicators import COUNTED
    from ..services.notifications import PUSH_FOR_EVENT

    notices: dict[str, list[Handler]] = {name: [_notices] for name in PUSH_FOR_EVENT}
    notices["control.attendance_issued"] = [_notify]
    notices = _joined(_joined(notices, partner_callbacks.HANDLERS), control.NOTICE_HANDLERS)
    work: dict[str, list[Handler]] = {"request.paid": [_record_check], "request.approved": [_issue],
                                      "control.registered": [_issue_attendance]}
    for name, chain in control.HANDLERS.items():
        work.setdefault(name, []).extend(chain)
    for name in sorted(COUNTED):
        work.setdefault(name, []).append(_indicators)
    work["job.submitted"] = work["job.continue"] = [jobs.run_job]
    return {WORK: work, NOTICES: notices}


def _joined(first: dict[str, list[Handler]], second: dict[str, list[Handler]]) -> dict[str, list[Handler]]:
    return {name: [*first.get(name, []), *second.get(name, [])] for name in {*first, *second}}


HANDLERS = _handlers()


def handled_events(consumer: str) -> frozenset[str]:
    """The event names ``consumer`` acts on (the filter of its stream subscription)."""
    return frozenset(HANDLERS[consumer])


def dispatch(event: Event, c: Container, consumer: str | None = None) -> int:
    """Run the event's handlers of ``consumer`` (of every consumer when None). Each handler is idempotent, so a
    redelivered event has one effect."""
    # The business metric once per event: by the first consumer fed with it (each consumer sees only its events).
    if consumer is None or consumer == next((n for n in CONSUMERS if event.name in HANDLERS[n]), None):
        metrics.count_event(event.name, event_id=event.event_id)
    count = 0
    for name in (consumer,) if consumer else CONSUMERS:
        for handler in HANDLERS[name].get(event.name, []):
            log.info("handling event", extra={"event_name": event.name, "event_id": event.event_id,
                                              "handler": handler.__name__})
            handler(event, c)
            count += 1
    return count

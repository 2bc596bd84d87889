"""Which use case runs for which event: the same dispatch serves the stream consumer and the local worker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..domain.requests import Event
from . import control_ops
from .documents import IssuePolicy, issue_attendance, issue_certificate
from .notifications import PUSH_FOR_EVENT, notify, notify_email
from .review import check_records

log = logging.getLogger(__name__)

Handler = Callable[[Event, Any], None]


def _record_check(event: Event, c: Any) -> None:
    check_records(event.aggregate_id, store=c.store, registry=c.registry, clock=c.clock,
                  thresholds=c.thresholds)


def _issue(event: Event, c: Any) -> None:
    issue_certificate(event.aggregate_id, store=c.store, storage=c.storage, producer=c.producer(), clock=c.clock,
                      policy=c.issue_policy)


def _issue_attendance(event: Event, c: Any) -> None:
    from datetime import timedelta

    policy = IssuePolicy(c.settings.public_base_url, timedelta(days=c.settings.attendance_validity_days))
    issue_attendance(event.aggregate_id, store=c.store, control=c.control, storage=c.storage,
                     producer=c.producer(), clock=c.clock, policy=policy)


def _notify(event: Event, c: Any) -> None:
    """The chat the request came from (each channel an adapter; Telegram's needs a bot token)."""
    notify(event, store=c.store, storage=c.storage, notifier=c.notifier(), provider=c.provider)


def _email(event: Event, c: Any) -> None:
    """The e-mail notice, through the one e-mail port (SES in the cloud, SMTP or files locally)."""
    from ..adapters.email_suppressions import DynamoEmailSuppressions

    notify_email(event, store=c.store, storage=c.storage, email=c.email, suppressions=DynamoEmailSuppressions(),
                 public_base_url=c.settings.public_base_url, clock=c.clock, provider=c.provider,
                 bot_username=c.settings.telegram_bot_username)


HANDLERS: dict[str, list[Handler]] = {name: [_notify, _email] for name in PUSH_FOR_EVENT}
HANDLERS["control.attendance_issued"] = [_notify]
HANDLERS["request.paid"].insert(0, _record_check)
HANDLERS["request.approved"].insert(0, _issue)
HANDLERS["control.registered"] = [_issue_attendance]
# Officers' side of virtual control (issue 6).
HANDLERS["control.enrolled"] = [control_ops.on_enrolled]
HANDLERS["control.incident"] = [control_ops.on_incident]
HANDLERS["control.contact_sms"] = [control_ops.on_contact_sms]
HANDLERS["control.report_issued"] = [control_ops.on_report_issued]
HANDLERS["control.outage_started"] = [control_ops.on_outage_started]
HANDLERS["control.outage_ended"] = [control_ops.on_outage_ended]
HANDLERS["control.contingency_resolved"] = [control_ops.on_contingency_resolved]


def dispatch(event: Event, c: Any) -> int:
    """Run every handler of the event. Each handler is idempotent, so a redelivered event has one effect."""
    handlers = HANDLERS.get(event.name, [])
    for handler in handlers:
        log.info("handling event", extra={"event_name": event.name, "event_id": event.event_id,
                                          "handler": handler.__name__})
        handler(event, c)
    return len(handlers)

"""Amazon SES feedback (bounces and complaints, delivered through SNS): those addresses get no more e-mail."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from ..domain.outbound import EmailSuppressions

log = logging.getLogger(__name__)


def suppressed_by(notification: dict[str, Any]) -> list[tuple[str, str]]:
    """The (address, reason) pairs an SES notification or event says must not be written to again: permanent
    bounces and complaints. A transient bounce (mailbox full, for a while) suppresses nothing."""
    kind = str(notification.get("notificationType") or notification.get("eventType") or "")
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        return [(str(r.get("emailAddress", "")), "bounce") for r in bounce.get("bouncedRecipients") or []
                if r.get("emailAddress")]
    if kind == "Complaint":
        complaint = notification.get("complaint") or {}
        return [(str(r.get("emailAddress", "")), "complaint") for r in complaint.get("complainedRecipients") or []
                if r.get("emailAddress")]
    return []


def handle_feedback(message: str, *, suppressions: EmailSuppressions, now: datetime) -> int:
    """One SNS message from SES's feedback topic; returns how many addresses were suppressed."""
    try:
        notification = json.loads(message)
    except ValueError:
        log.warning("SES feedback that is not JSON ignored")
        return 0
    if not isinstance(notification, dict):
        return 0
    pairs = suppressed_by(notification)
    for address, reason in pairs:
        suppressions.suppress(address, reason, now)
    log.info("SES feedback handled", extra={"suppressed": len(pairs)})
    return len(pairs)

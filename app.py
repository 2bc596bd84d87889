"""The Chalice application: HTTP routes, the outbox stream consumer and the scheduled jobs."""

from __future__ import annotations

import logging
import os
from typing import Any

from chalice import Chalice, Cron, Rate

from chalicelib import logs
from chalicelib.api import (
    admin,
    certificate_requests,
    contract,
    control,
    cvp,
    health,
    http,
    indicators,
    partners,
    verification,
    webhooks,
)
from chalicelib.bootstrap import container
from chalicelib.console.routes import BLUEPRINTS as CONSOLE
from chalicelib.handlers import NOTICES, WORK, dispatch
from chalicelib.services.certificate_requests import expire_unpaid_orders

logs.configure()
log = logging.getLogger("app")

app = Chalice(app_name="antecedentes")
app.log.setLevel(logging.INFO)
app.api.binary_types.extend(["application/pdf", "video/mp4", "multipart/form-data", "image/jpeg", "image/png",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"])
for blueprint in (health.bp, certificate_requests.bp, webhooks.bp, admin.bp, verification.bp, control.bp, cvp.bp,
                  indicators.bp, contract.bp, partners.bp, *CONSOLE):
    app.register_blueprint(blueprint)
app.register_middleware(http.middleware, "http")  # request ids, one error shape, standard headers

# Lambda's init phase builds the container (X-Ray, the DynamoDB client) before the first request, and the consumer
# that issues documents loads the signing pipeline too: the first request or certificate then costs what the next do.
# Chalice names each function <app>-<stage>-<handler>.
_FUNCTION = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
if _FUNCTION:
    container().warm(documents=_FUNCTION.endswith("-handle_outbox"))

# In the cloud the infrastructure passes the outbox table's stream; locally the worker feeds the handler.
OUTBOX_STREAM_ARN = os.environ.get(
    "OUTBOX_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/local-outbox-v2/stream/local")


def _consume(event: Any, consumer: str) -> None:
    from chalicelib.adapters.dynamo_store import event_from_image

    c = container()
    for record in event:
        if record.event_name != "INSERT" or not record.new_image:
            continue
        dispatch(event_from_image(record.new_image), c, consumer)


# Two consumers of the outbox stream, each fed only the events it handles (the infrastructure filters them) and in
# parallel batches that keep each aggregate's events in order: the work that changes state (record check and issuing,
# virtual control, indicators), and the notices, which never hold up issuing. A failure raises so the batch is
# retried (then the dead-letter queue).
@app.on_dynamodb_record(stream_arn=OUTBOX_STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON")
def handle_outbox(event: Any) -> None:
    """The work of each new outbox event."""
    _consume(event, WORK)


@app.on_dynamodb_record(stream_arn=OUTBOX_STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON")
def handle_notices(event: Any) -> None:
    """The notices (chat, e-mail) of each new outbox event."""
    _consume(event, NOTICES)


# SES publishes bounces and complaints to this topic (the infrastructure names it); their addresses get no more mail.
SES_FEEDBACK_TOPIC = os.environ.get("SES_FEEDBACK_TOPIC", "antecedentes-local-ses-feedback")


@app.on_sns_message(topic=SES_FEEDBACK_TOPIC)
def email_feedback(event: Any) -> None:
    from chalicelib.adapters.email_suppressions import DynamoEmailSuppressions
    from chalicelib.services.email_feedback import handle_feedback

    c = container()
    handle_feedback(event.message, suppressions=DynamoEmailSuppressions(), now=c.clock.now())


@app.schedule(Rate(15, unit=Rate.MINUTES))
def expire_payment_orders(event: Any) -> None:
    c = container()
    expired = expire_unpaid_orders(store=c.store, clock=c.clock)
    log.info("expired unpaid orders", extra={"count": expired})


# --- virtual control's scheduled jobs; each is idempotent, so a late or repeated run is harmless ---------------

@app.schedule(Rate(1, unit=Rate.HOURS))
def control_reminders(event: Any) -> None:
    """The plan of this hour's reminders (before a window opens and before it closes; from 08:00 to 20:00 Peru
    time): a job of units of 25 people, each sent by the notices consumer."""
    from chalicelib.handlers import control

    control.reminders(container())


@app.schedule(Cron(10, 5, "*", "*", "?", "*"))  # 00:10 in Peru (UTC-5 all year)
def control_missed_checkins(event: Any) -> None:
    """Nobody falls through: windows that closed without registration, people never enrolled by their
    deadline, and the cases of measures that ended."""
    from chalicelib.handlers import control

    c = container()
    control.missed_checkins(c)
    control.not_enrolled(c)
    control.ended_measures(c)


@app.schedule(Cron(30, 5, "*", "*", "?", "*"))  # 00:30 in Peru, after the missed check-ins of the day closed
def control_daily_reports(event: Any) -> None:
    """The plan of yesterday's reports: a job of one unit per district, each made by the work consumer."""
    from chalicelib.handlers import control

    control.daily_reports(container())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def control_recovery(event: Any) -> None:
    """Probe registries that are down; once back, complete the check-ins held under the contingency plan."""
    from chalicelib.handlers import control

    control.recovery(container())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def retry_partner_callbacks(event: Any) -> None:
    """Partner callbacks whose last try failed, tried again with doubling waits; dead-lettered after the last."""
    from chalicelib.handlers import partner_callbacks

    partner_callbacks.retry(container())

"""Partners on DynamoDB: the dead-letter list of callbacks (one partition, read a page at a time, never scanned)
and the quota counters every API process shares."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..domain.partners import DeadCallback, QuotaWindow
from . import dynamo_models as m
from .dynamo_store import translate_errors

_DEAD = "dead"


def _letter(item: m.PartnerCallbackModel) -> DeadCallback:
    return DeadCallback(event_id=item.event_id, client_id=item.client_id, request_id=item.request_id,
                        event_name=item.event_name, body=item.body, attempts=int(item.attempts),
                        last_error=item.last_error, dead_at=item.dead_at)


class DynamoDeadCallbacks:
    @translate_errors
    def add(self, letter: DeadCallback) -> None:
        m.PartnerCallbackModel(_DEAD, letter.event_id, client_id=letter.client_id, request_id=letter.request_id,
                               event_name=letter.event_name, body=letter.body, attempts=letter.attempts,
                               last_error=letter.last_error, dead_at=letter.dead_at).save()

    @translate_errors
    def get(self, event_id: str) -> DeadCallback | None:
        if not 1 <= len(event_id) <= 64:
            return None
        try:
            return _letter(m.PartnerCallbackModel.get(_DEAD, event_id, consistent_read=True))
        except m.PartnerCallbackModel.DoesNotExist:
            return None

    @translate_errors
    def remove(self, event_id: str) -> None:
        m.PartnerCallbackModel(_DEAD, event_id).delete()

    @translate_errors
    def page(self, limit: int, after: str | None) -> tuple[list[DeadCallback], str | None]:
        condition = m.PartnerCallbackModel.event_id > after if after else None
        found = list(m.PartnerCallbackModel.query(_DEAD, condition, limit=limit + 1, consistent_read=True))
        more = len(found) > limit
        return [_letter(i) for i in found[:limit]], found[limit - 1].event_id if more else None


class DynamoQuotaWindows:
    """One transaction adds the calls to every window of the quota, each on the condition that it stays within its
    limit: two API processes (or Lambda containers) can never both take the last call of a window."""

    def __init__(self, region: str, host: str | None) -> None:
        self._connection = m.connection_for(region, host)

    @translate_errors
    def add(self, windows: tuple[QuotaWindow, ...], calls: int) -> int | None:
        q = m.PartnerQuotaModel
        try:
            with TransactWrite(connection=self._connection) as tx:
                for window in windows:
                    expires = datetime.fromtimestamp(window.expires_at, UTC)
                    tx.update(q(window.key), actions=[q.calls.add(calls), q.expires.set(expires)],
                              condition=q.calls.does_not_exist() | (q.calls <= window.limit - calls))
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            for index, reason in enumerate(reasons):
                if reason is not None and getattr(reason, "code", "") == "ConditionalCheckFailed":
                    return index
            raise
        return None

"""Partners on DynamoDB: callbacks held for their next try and the dead-letter list (a partition each of the
callbacks table, read a page at a time, never scanned) and the quota counters every API process shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..domain.partners import DeadCallback, HeldCallback, QuotaWindow
from . import dynamo_models as m
from .dynamo_store import translate_errors

_DEAD = "dead"
_HELD = "held"


# What a held callback and a dead letter both keep (each adds when: its next try, or when it died).
_FIELDS = ("client_id", "request_id", "event_name", "body", "last_error")


def _save(state: str, letter: DeadCallback | HeldCallback, **when: str) -> None:
    values: dict[str, Any] = {"attempts": letter.attempts, **{f: getattr(letter, f) for f in _FIELDS}, **when}
    m.PartnerCallbackModel(state, letter.event_id, **values).save()


def _fields(item: m.PartnerCallbackModel) -> dict[str, Any]:
    return {"event_id": item.event_id, "attempts": int(item.attempts), **{f: getattr(item, f) for f in _FIELDS}}


def _letter(item: m.PartnerCallbackModel) -> DeadCallback:
    return DeadCallback(**_fields(item), dead_at=item.dead_at or "")


def _held(item: m.PartnerCallbackModel) -> HeldCallback:
    return HeldCallback(**_fields(item), due_at=item.due_at or "")


class DynamoDeadCallbacks:
    @translate_errors
    def add(self, letter: DeadCallback) -> None:
        _save(_DEAD, letter, dead_at=letter.dead_at)

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


class DynamoHeldCallbacks:
    """Held callbacks in one partition of the callbacks table. The retry job reads that partition a page at a time
    (it holds only callbacks of partners that are down right now) and claims each by its due time."""

    @translate_errors
    def hold(self, held: HeldCallback) -> None:
        _save(_HELD, held, due_at=held.due_at)

    @translate_errors
    def due(self, now: str, limit: int) -> list[HeldCallback]:
        found: list[HeldCallback] = []
        for item in m.PartnerCallbackModel.query(_HELD, consistent_read=True, page_size=100):
            if (item.due_at or "") <= now:
                found.append(_held(item))
                if len(found) >= limit:
                    break
        return found

    @translate_errors
    def claim(self, held: HeldCallback, lease_until: str) -> bool:
        q = m.PartnerCallbackModel
        try:
            q(_HELD, held.event_id).update(actions=[q.due_at.set(lease_until)],
                                           condition=(q.due_at == held.due_at) & (q.attempts == held.attempts))
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @translate_errors
    def remove(self, event_id: str) -> None:
        m.PartnerCallbackModel(_HELD, event_id).delete()


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

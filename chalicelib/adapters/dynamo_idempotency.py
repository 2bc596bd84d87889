"""Idempotency-Key records of HTTP calls in DynamoDB (the idempotency table; kept a day)."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import PutError

from ..domain.ports import IdempotentCall
from . import dynamo_models as m
from .dynamo_store import translate_errors

KEPT = timedelta(hours=24)


class DynamoIdempotency:
    """Implements :class:`~chalicelib.domain.ports.IdempotencyRecords` with conditional writes."""

    @translate_errors
    def claim(self, key: str, fingerprint: str, request_id: str) -> IdempotentCall | None:
        item = m.IdempotencyModel(key, request_id=request_id, fingerprint=fingerprint, expires=KEPT)
        try:
            item.save(condition=m.IdempotencyModel.key.does_not_exist())
            return None
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        try:
            found = m.IdempotencyModel.get(key, consistent_read=True)
        except m.IdempotencyModel.DoesNotExist:  # released meanwhile: the client may simply retry
            return IdempotentCall(fingerprint=fingerprint, response=None)
        return IdempotentCall(fingerprint=found.fingerprint or "", response=found.response)

    @translate_errors
    def answer(self, key: str, response: str) -> None:
        m.IdempotencyModel(key).update(actions=[m.IdempotencyModel.response.set(response)])

    @translate_errors
    def release(self, key: str) -> None:
        m.IdempotencyModel(key).delete()

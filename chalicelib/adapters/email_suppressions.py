"""The e-mail suppression list over DynamoDB: one item per address hash, written once, read before each send."""

from __future__ import annotations

from datetime import UTC, datetime

from ..domain.outbound import address_key
from . import dynamo_models as m
from .dynamo_store import translate_errors


class DynamoEmailSuppressions:
    @translate_errors
    def is_suppressed(self, address: str) -> bool:
        try:
            m.EmailSuppressionModel.get(address_key(address), consistent_read=True)
        except m.EmailSuppressionModel.DoesNotExist:
            return False
        return True

    @translate_errors
    def suppress(self, address: str, reason: str, at: datetime) -> None:
        m.EmailSuppressionModel(address_key(address), reason=reason[:64],
                                at=at.astimezone(UTC).isoformat()).save()

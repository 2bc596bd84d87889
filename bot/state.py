"""Each chat's conversation state: one DynamoDB item per chat, read at every update, written with a version.

Not PTB's persistence on purpose: that loads everything once at start and never reloads, so a second warm
Lambda container would ignore a conversation the first one began. Reading the item at each update (a
consistent read, about 1 ms) lets any process continue any conversation, and the version attribute makes a
concurrent write fail instead of silently overwriting.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TableError
from pynamodb.models import Model

from .settings import BotSettings

# How many handled update ids each chat remembers, to answer a redelivered update once.
RECENT_UPDATES = 30
# DynamoDB deletes an abandoned item this long after the conversation expired: until then the person still
# gets the "your conversation expired" message; afterwards the chat simply starts afresh.
PURGE_AFTER_EXPIRY = timedelta(days=7)


class Step(StrEnum):
    """The conversation's named states."""

    IDLE = "idle"
    LANGUAGE = "language"
    RESUME = "resume"
    TERMS = "terms"
    NATIONALITY = "nationality"
    DOCUMENT_TYPE = "document_type"
    COUNTRY = "country"
    COUNTRY_CODE = "country_code"
    DOCUMENT_NUMBER = "document_number"
    GIVEN_NAMES = "given_names"
    FIRST_SURNAME = "first_surname"
    SECOND_SURNAME = "second_surname"
    BIRTH_DATE = "birth_date"
    EMAIL = "email"
    SUMMARY = "summary"
    CHANGE_FIELD = "change_field"
    IDENTITY = "identity"
    PAYMENT = "payment"
    VOUCHER_OPERATION = "voucher_operation"
    VOUCHER_DATE = "voucher_date"
    FOLLOWING = "following"
    # Virtual penal control: the enrolment form (annex 1) and the check-in (annex 3).
    CONTROL_MOBILE = "control_mobile"
    CONTROL_HAS_DOCUMENT = "control_has_document"
    CONTROL_NATIONALITY = "control_nationality"
    CONTROL_COUNTRY_CODE = "control_country_code"
    CONTROL_DOCUMENT_TYPE = "control_document_type"
    CONTROL_DOCUMENT_NUMBER = "control_document_number"
    CONTROL_GIVEN_NAMES = "control_given_names"
    CONTROL_SURNAMES = "control_surnames"
    CONTROL_ADDRESS = "control_address"
    CONTROL_DISTRICT = "control_district"  # asked only when no measure is found: where to route the request
    CONTROL_PHOTO = "control_photo"
    CHECKIN_LOCATION = "checkin_location"
    CHECKIN_SELFIE = "checkin_selfie"
    CHECKIN_QUESTIONS = "checkin_questions"
    CHECKIN_FRESH_LOCATION = "checkin_fresh_location"


class ConversationModel(Model):
    class Meta:
        table_name = "bot-conversations"
        region = "us-east-1"
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 2

    chat_id = UnicodeAttribute(hash_key=True)
    step = UnicodeAttribute(default=Step.IDLE.value)
    language = UnicodeAttribute(null=True)
    # What the person typed for the request, until the API has it; then it is dropped from here.
    answers = JSONAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    request_number = UnicodeAttribute(null=True)
    document_type = UnicodeAttribute(null=True)
    # The message whose inline keyboard is the live one; presses on older keyboards are stale.
    prompt_message_id = NumberAttribute(null=True)
    # After the API rejected a field: once it is typed again, the request is submitted again.
    fixing = UnicodeAttribute(null=True)
    # The name the person enrolled for virtual control with: the protocol's messages address them by it.
    control_name = UnicodeAttribute(null=True)
    recent_updates = ListAttribute(of=NumberAttribute, null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    expires = TTLAttribute(null=True)  # DynamoDB deletes the item after this
    version = VersionAttribute()

    @property
    def current(self) -> Step:
        try:
            return Step(self.step)
        except ValueError:
            return Step.IDLE

    def data(self) -> dict[str, Any]:
        if self.answers is None:
            self.answers = {}
        return self.answers

    def seen(self, update_id: int) -> bool:
        return update_id in (self.recent_updates or [])

    def remember(self, update_id: int) -> None:
        self.recent_updates = [*(self.recent_updates or []), update_id][-RECENT_UPDATES:]  # type: ignore[assignment]

    def go(self, step: Step) -> None:
        self.step = step.value

    def forget_answers(self) -> None:
        """Drop what the person typed (after the API has it, or when the conversation ends)."""
        self.answers = {}
        self.fixing = None
        self.prompt_message_id = None

    def is_expired(self, now: datetime, ttl: timedelta) -> bool:
        return self.current is not Step.IDLE and self.updated_at is not None and now - self.updated_at >= ttl


class ConversationConflict(Exception):
    """Another process saved this chat's conversation between our read and our write."""


class ConversationStore:
    def __init__(self, settings: BotSettings) -> None:
        configure(settings)

    def load(self, chat_id: int) -> ConversationModel:
        try:
            return ConversationModel.get(str(chat_id), consistent_read=True)
        except DoesNotExist:
            return ConversationModel(str(chat_id), step=Step.IDLE.value, answers={}, recent_updates=[])

    def save(self, conversation: ConversationModel, now: datetime, ttl: timedelta) -> None:
        conversation.updated_at = now
        conversation.expires = now + ttl + PURGE_AFTER_EXPIRY
        try:
            conversation.save()
        except PutError as error:
            if _conditional_failure(error):
                raise ConversationConflict(conversation.chat_id) from None
            raise


def _conditional_failure(error: PutError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def configure(settings: BotSettings) -> None:
    meta = ConversationModel.Meta
    changed = (meta.table_name, getattr(meta, "host", None)) != (settings.conversations_table,
                                                                  settings.dynamodb_endpoint)
    meta.table_name = settings.conversations_table
    meta.host = settings.dynamodb_endpoint  # type: ignore[attr-defined]
    meta.region = settings.aws_region
    if changed:
        # pynamodb caches one connection per model class, bound to the table and host it first saw.
        ConversationModel._connection = None


def ensure_table(settings: BotSettings) -> bool:
    """Create the conversations table if it is missing (idempotent); True when it was created now."""
    configure(settings)
    if ConversationModel.exists():
        return False
    try:
        ConversationModel.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    except TableError:
        if not ConversationModel.exists():  # another process created it at the same moment
            raise
        return False
    # TTL is housekeeping (deleting abandoned chats); a store where it cannot be set still works.
    with contextlib.suppress(Exception):
        ConversationModel.update_ttl(ignore_update_ttl_errors=True)
    return True

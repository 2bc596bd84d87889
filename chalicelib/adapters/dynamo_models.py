"""The DynamoDB tables as pynamodb models: the one source of truth for names, keys, indexes and TTL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from ..settings import Settings


class _Index(GlobalSecondaryIndex[Any]):
    class Meta:
        projection = AllProjection()


class RequestModel(Model):
    class Meta:
        table_name = "requests"

    request_id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute()
    owner = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    body = JSONAttribute()  # applicant, history, candidates, result: read and written whole
    # Sparse index keys: present only while the request is in that queue.
    queue = UnicodeAttribute(null=True)
    queued_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    class ByOwner(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-owner"
            projection = KeysOnlyProjection()

        owner = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    class ByQueue(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-queue"
            projection = KeysOnlyProjection()

        queue = UnicodeAttribute(hash_key=True)
        queued_at = UnicodeAttribute(range_key=True)

    by_owner = ByOwner()
    by_queue = ByQueue()


class IdempotencyModel(Model):
    class Meta:
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute()
    expires = TTLAttribute(null=True)
    # Idempotency-Key records of HTTP calls (chalicelib/adapters/dynamo_idempotency.py): the request's fingerprint
    # and, once answered, the answer that a retry gets again.
    fingerprint = UnicodeAttribute(null=True)
    response = UnicodeAttribute(null=True)


class OrderModel(Model):
    class Meta:
        table_name = "payment-orders"

    order_code = UnicodeAttribute(hash_key=True)
    request_id = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_id = UnicodeAttribute(null=True)
    open_bucket = UnicodeAttribute(null=True)  # "open" while unpaid: sparse index for the expiry job
    version = VersionAttribute()

    class ByExpiry(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "open-by-expiry"
            projection = KeysOnlyProjection()

        open_bucket = UnicodeAttribute(hash_key=True)
        expires_at = UnicodeAttribute(range_key=True)

    by_expiry = ByExpiry()


class PaymentModel(Model):
    class Meta:
        table_name = "payments"

    payment_key = UnicodeAttribute(hash_key=True)  # provider#payment_id
    order_code = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()
    received_at = UnicodeAttribute()
    disposition = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    refund_state = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refund_updated_at = UnicodeAttribute(null=True)
    # The refund's state while it is open ("due", "requested", "failed"): a sparse index of the operators' list.
    refund_bucket = UnicodeAttribute(null=True)

    class ByRefund(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "refunds-due"
            projection = AllProjection()

        refund_bucket = UnicodeAttribute(hash_key=True)
        received_at = UnicodeAttribute(range_key=True)

    by_refund = ByRefund()


OUTBOX_TABLE = "outbox-v2"


class OutboxModel(Model):
    """Events written in the same transaction as the change they announce; a stream feeds the consumers.

    Keyed by aggregate (the request, check-in... an event is about): the stream's parallel consumers keep the
    order of records with the same partition key, so each aggregate's events are handled in the order written
    while different aggregates are handled at once. (v2: the first outbox was keyed by event id, and a table's
    key cannot change in place.)"""

    class Meta:
        table_name = OUTBOX_TABLE
        stream_view_type = "NEW_IMAGE"

    aggregate_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    data = JSONAttribute()
    expires = TTLAttribute()


class ProcessedModel(Model):
    class Meta:
        table_name = "processed-events"

    key = UnicodeAttribute(hash_key=True)  # handler#event_id
    expires = TTLAttribute()


class CounterModel(Model):
    class Meta:
        table_name = "counters"

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class PartnerQuotaModel(Model):
    """Calls of a partner in one fixed window (minute or day), shared by every API process; forgotten by TTL."""

    class Meta:
        table_name = "partner-quotas"

    key = UnicodeAttribute(hash_key=True)  # client id#window#start
    calls = NumberAttribute(default=0)
    expires = TTLAttribute()


class AuditModel(Model):
    class Meta:
        table_name = "audit"

    day = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # <iso time>#<random>
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    details = JSONAttribute()

    class ByTarget(GlobalSecondaryIndex[Any]):
        """Who did what to one record, across days: the auditor's search by person."""

        class Meta:
            index_name = "by-target"
            projection = AllProjection()

        target = UnicodeAttribute(hash_key=True)
        entry = UnicodeAttribute(range_key=True)

    by_target = ByTarget()


class IdentityModel(Model):
    """The local identity registry (stands in for RENIEC / Migraciones)."""

    class Meta:
        table_name = "identity-registry"

    document_key = UnicodeAttribute(hash_key=True)  # TYPE#NUMBER
    body = JSONAttribute(null=True)  # none: a row an import staged, not yet switched
    staged = JSONAttribute(null=True)  # an import job's values, seen once that job is switched (adapters.staging)
    staged_by = UnicodeAttribute(null=True)  # that job's id


class RecordModel(Model):
    """The penitentiary registry's people and their cases (stands in for INPE's SIP)."""

    class Meta:
        table_name = "penitentiary-records"

    record_id = UnicodeAttribute(hash_key=True)
    document_number = UnicodeAttribute(null=True)
    body = JSONAttribute(null=True)  # none: a row an import staged, not yet switched
    staged = JSONAttribute(null=True)  # an import job's values, seen once that job is switched (adapters.staging)
    staged_by = UnicodeAttribute(null=True)  # that job's id

    class ByDocument(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-document"
            projection = AllProjection()

        document_number = UnicodeAttribute(hash_key=True)

    by_document = ByDocument()


class NameBlockModel(Model):
    """The registry's people filed under small blocks (surnames and birth year, the whole name: see
    matching.filing_blocks), each entry with what the match is scored on, so that the record check reads a few short
    entries and then only the records of its candidates. (It replaces the penitentiary-name-index table, keyed by one
    surname, whose blocks grew with the registry: a registry import fills it.)"""

    class Meta:
        table_name = "penitentiary-name-blocks"

    block = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)
    full_name = UnicodeAttribute(null=True)  # none: an entry an import staged, not yet switched
    document_number = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    staged = JSONAttribute(null=True)  # an import job's values, seen once that job is switched (adapters.staging)
    staged_by = UnicodeAttribute(null=True)  # that job's id


class LedgerModel(Model):
    """The local payment provider's own ledger of agent payments (vouchers)."""

    class Meta:
        table_name = "local-bank-ledger"

    operation_number = UnicodeAttribute(hash_key=True)
    paid_on = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    order_code = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()


class DocumentModel(Model):
    """Every signed document issued; verification reads one item by its unguessable id."""

    class Meta:
        table_name = "documents"

    document_id = UnicodeAttribute(hash_key=True)
    sha256 = UnicodeAttribute()
    body = JSONAttribute()
    version = VersionAttribute()

    class ByHash(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-sha256"
            projection = KeysOnlyProjection()

        sha256 = UnicodeAttribute(hash_key=True)

    by_hash = ByHash()


class StatusListModel(Model):
    """The entries of one status list that are not valid: revoked or superseded document indexes.

    Entries are only ever added (atomic ``ADD`` to a number set), so concurrent revocations need no lock.
    """

    class Meta:
        table_name = "status-lists"

    list_key = UnicodeAttribute(hash_key=True)  # ISSUER#LIST
    revoked = NumberSetAttribute(null=True)
    superseded = NumberSetAttribute(null=True)


class MeasureModel(Model):
    """Court measures (rules of conduct) of people free under them."""

    class Meta:
        table_name = "control-measures"

    measure_id = UnicodeAttribute(hash_key=True)
    person_key = UnicodeAttribute(null=True)  # TYPE#NUMBER or NAME#normalised name, active measures only
    active_district = UnicodeAttribute(null=True)  # the district, active measures only: sparse index
    created_at = UnicodeAttribute(null=True)
    court_code = UnicodeAttribute(null=True)  # 1801-JR-PE-01, from the case file: the court's own list
    body = JSONAttribute()
    version = VersionAttribute()

    class ByCourt(GlobalSecondaryIndex[Any]):
        """Every measure of a court, newest first (the court staff's list, searched in the console)."""

        class Meta:
            index_name = "by-court"
            projection = AllProjection()

        court_code = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    class ByPerson(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-person"
            projection = KeysOnlyProjection()

        person_key = UnicodeAttribute(hash_key=True)

    class ByDistrict(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "active-by-district"
            projection = KeysOnlyProjection()

        active_district = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    by_court = ByCourt()
    by_person = ByPerson()
    by_district = ByDistrict()


class EnrolmentModel(Model):
    """A chat account enrolled for virtual control, linked to its measure chain."""

    class Meta:
        table_name = "control-enrolments"

    owner = UnicodeAttribute(hash_key=True)
    measure_id = UnicodeAttribute()
    chain_id = UnicodeAttribute(null=True)
    body = JSONAttribute()
    version = VersionAttribute()

    class ByChain(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-chain"
            projection = KeysOnlyProjection()

        chain_id = UnicodeAttribute(hash_key=True)

    by_chain = ByChain()


class LinkAttemptModel(Model):
    """Another chat claiming a person whose measure is linked: kept for the officer who may relink."""

    class Meta:
        table_name = "control-link-attempts"

    attempt_id = UnicodeAttribute(hash_key=True)
    chain_id = UnicodeAttribute()
    body = JSONAttribute()

    class ByChain(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-chain"
            projection = KeysOnlyProjection()

        chain_id = UnicodeAttribute(hash_key=True)

    by_chain = ByChain()


class UnmatchedEnrolmentModel(Model):
    """Enrolments with no measure yet, in the CVP head's queue until the court creates the measure."""

    class Meta:
        table_name = "control-unmatched-enrolments"

    attempt_id = UnicodeAttribute(hash_key=True)
    person_key = UnicodeAttribute()
    open_district = UnicodeAttribute(null=True)  # the district while unresolved: sparse index
    at = UnicodeAttribute()
    body = JSONAttribute()

    class ByDistrict(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "open-by-district"
            projection = KeysOnlyProjection()

        open_district = UnicodeAttribute(hash_key=True)
        at = UnicodeAttribute(range_key=True)

    class ByPerson(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-person"
            projection = KeysOnlyProjection()

        person_key = UnicodeAttribute(hash_key=True)

    by_district = ByDistrict()
    by_person = ByPerson()


class CheckinModel(Model):
    """One check-in attempt with all its evidence."""

    class Meta:
        table_name = "control-checkins"

    checkin_id = UnicodeAttribute(hash_key=True)
    measure_id = UnicodeAttribute()
    started_at = UnicodeAttribute()
    body = JSONAttribute()
    version = VersionAttribute()

    class ByMeasure(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-measure"
            projection = KeysOnlyProjection()

        measure_id = UnicodeAttribute(hash_key=True)
        started_at = UnicodeAttribute(range_key=True)

    by_measure = ByMeasure()


class WindowModel(Model):
    """The "Registro de Firmas": one reporting window of one person's measure chain, registered once, closed
    by a refusal until an officer reopens it."""

    class Meta:
        table_name = "control-windows"

    key = UnicodeAttribute(hash_key=True)  # chain id#window key
    held_district = UnicodeAttribute(null=True)  # while a check-in waits for an officer's review
    at = UnicodeAttribute(null=True)
    body = JSONAttribute()
    version = VersionAttribute()

    class Held(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "held-by-district"
            projection = KeysOnlyProjection()

        held_district = UnicodeAttribute(hash_key=True)

    held = Held()


class IncidentModel(Model):
    class Meta:
        table_name = "control-incidents"

    incident_id = UnicodeAttribute(hash_key=True)
    district_day = UnicodeAttribute()  # DISTRICT#YYYY-MM-DD (Peru): the daily report's key
    created_at = UnicodeAttribute()
    measure_id = UnicodeAttribute()
    open_district = UnicodeAttribute(null=True)  # the district until the incident is closed: sparse index
    body = JSONAttribute()
    version = VersionAttribute()

    class OpenByDistrict(GlobalSecondaryIndex[Any]):
        """The CVP head's desk: incidents of the district not closed yet, whatever their day."""

        class Meta:
            index_name = "open-by-district"
            projection = KeysOnlyProjection()

        open_district = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    class ByDistrictDay(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-district-day"
            projection = KeysOnlyProjection()

        district_day = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    class ByMeasure(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-measure"
            projection = KeysOnlyProjection()

        measure_id = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    by_district_day = ByDistrictDay()
    by_measure = ByMeasure()
    open_by_district = OpenByDistrict()


class WarrantModel(Model):
    """The warrants registry ("requisitorias"), local stand-in."""

    class Meta:
        table_name = "warrants"

    warrant_id = UnicodeAttribute(hash_key=True)
    document_number = UnicodeAttribute(null=True)
    body = JSONAttribute(null=True)  # none: a row an import staged, not yet switched
    staged = JSONAttribute(null=True)  # an import job's values, seen once that job is switched (adapters.staging)
    staged_by = UnicodeAttribute(null=True)  # that job's id

    class ByDocument(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-document"
            projection = AllProjection()

        document_number = UnicodeAttribute(hash_key=True)

    by_document = ByDocument()


class WarrantNameIndexModel(Model):
    class Meta:
        table_name = "warrant-name-index"

    key = UnicodeAttribute(hash_key=True)
    warrant_id = UnicodeAttribute(range_key=True)


class CalendarModel(Model):
    """The annual programming calendar of one year and district."""

    class Meta:
        table_name = "control-calendars"

    key = UnicodeAttribute(hash_key=True)  # YEAR#DISTRICT
    body = JSONAttribute()


# --- officers' work, reminders, contingency and daily reports (issue 6) -------------------------------

class OfficerModel(Model):
    """Attention officers per district, with the size of their open list (for the equitable draw)."""

    class Meta:
        table_name = "control-officers"

    district = UnicodeAttribute(hash_key=True)
    officer_id = UnicodeAttribute(range_key=True)  # the operator token's subject
    active = BooleanAttribute()
    assigned = NumberAttribute(default=0)
    body = JSONAttribute()
    version = VersionAttribute()

    class ByOfficer(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-officer"
            projection = KeysOnlyProjection()

        officer_id = UnicodeAttribute(hash_key=True)

    by_officer = ByOfficer()


class CaseModel(Model):
    """A person under virtual control (their measure chain) as an officer works it."""

    class Meta:
        table_name = "control-person-cases"

    chain_id = UnicodeAttribute(hash_key=True)
    district = UnicodeAttribute()
    officer_key = UnicodeAttribute(null=True)  # DISTRICT#officer id or DISTRICT#~unassigned; open cases only
    opened_at = UnicodeAttribute()
    body = JSONAttribute()
    version = VersionAttribute()

    class ByDistrict(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "by-district"
            projection = KeysOnlyProjection()

        district = UnicodeAttribute(hash_key=True)
        opened_at = UnicodeAttribute(range_key=True)

    class ByOfficer(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "open-by-officer"
            projection = KeysOnlyProjection()

        officer_key = UnicodeAttribute(hash_key=True)
        opened_at = UnicodeAttribute(range_key=True)

    by_district = ByDistrict()
    by_officer = ByOfficer()


class ControlMarkerModel(Model):
    """Small facts written once: reminders sent, ongoing outages, the directory of districts."""

    class Meta:
        table_name = "control-markers"

    key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(null=True)
    members = UnicodeSetAttribute(null=True)
    body = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)


class ContingencyModel(Model):
    """Check-ins held under the contingency plan (annex 5) and the callbacks they queued."""

    class Meta:
        table_name = "control-contingencies"

    checkin_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute()
    pending_bucket = UnicodeAttribute(null=True)  # "pending" until the check-in is resolved: sparse index
    callback_district = UnicodeAttribute(null=True)  # the district while the callback is open: sparse index
    body = JSONAttribute()
    version = VersionAttribute()

    class ByPending(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "pending"
            projection = KeysOnlyProjection()

        pending_bucket = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    class ByCallback(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "open-callbacks"
            projection = KeysOnlyProjection()

        callback_district = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    by_pending = ByPending()
    by_callback = ByCallback()


class DailyReportModel(Model):
    """The daily incident report of a district and day (annex 4): its latest revision and files."""

    class Meta:
        table_name = "control-daily-reports"

    key = UnicodeAttribute(hash_key=True)  # DISTRICT#YYYY-MM-DD
    body = JSONAttribute()
    version = VersionAttribute()


class EmailSuppressionModel(Model):
    """Addresses that bounced for good or complained: no more e-mail goes to them (key: the address's hash)."""

    class Meta:
        table_name = "email-suppressions"

    address_key = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    at = UnicodeAttribute()


# --- indicators (SPEC §5): the facts each counted event left, and the month's counters per scope -------------

class IndicatorFactModel(Model):
    """What one event contributed to the indicators (nothing personal): kept so the counters can be rebuilt."""

    class Meta:
        table_name = "indicator-facts"

    period = UnicodeAttribute(hash_key=True)  # YYYY-MM, Peru time
    event_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    district = UnicodeAttribute(null=True)
    data = JSONAttribute()


class IndicatorCounterModel(Model):
    """One counter of one month and scope (PERU or a judicial district), added to atomically."""

    class Meta:
        table_name = "indicator-counters"

    key = UnicodeAttribute(hash_key=True)  # YYYY-MM#SCOPE
    metric = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)


class IndicatorSettingModel(Model):
    """Targets (baseline and expected value of an indicator) and the imported in-person attentions of a month."""

    class Meta:
        table_name = "indicator-settings"

    key = UnicodeAttribute(hash_key=True)  # target#CODE | in_person#YYYY-MM
    body = JSONAttribute()


# --- the operators' console (issue 11) --------------------------------------------------------------------

class OperatorAccountModel(Model):
    """The console's operator accounts on the local stack (Cognito's users in the cloud)."""

    class Meta:
        table_name = "console-operators"

    username = UnicodeAttribute(hash_key=True)
    listing = UnicodeAttribute(default="operators")  # one partition of the index: the administrator's list
    body = JSONAttribute()
    version = VersionAttribute()

    class Listed(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "listed"
            projection = AllProjection()

        listing = UnicodeAttribute(hash_key=True)
        username = UnicodeAttribute(range_key=True)

    listed = Listed()


class ConsoleSessionModel(Model):
    """Console sessions, keyed by the hash of the cookie's token; gone after their absolute lifetime."""

    class Meta:
        table_name = "console-sessions"

    session_id = UnicodeAttribute(hash_key=True)
    body = JSONAttribute()
    expires = TTLAttribute()


class JobModel(Model):
    """Long work (CSV imports) with its progress and error report."""

    class Meta:
        table_name = "jobs"

    job_id = UnicodeAttribute(hash_key=True)
    listing = UnicodeAttribute(default="jobs")  # one partition of the index: the admin's list of recent jobs
    created_at = UnicodeAttribute()
    body = JSONAttribute()
    # Units a fan-out counted done since the body was last saved: one atomic ADD per unit, from parallel
    # consumers; read as part of the body's "written", and folded into it by the next save.
    done = NumberAttribute(null=True)
    # Units of a fan-out whose handling raised and that have not counted done since (domain.jobs.unit_tag): one
    # atomic ADD per failure (a set: a unit failing again is listed once); a unit counted done leaves it in the same
    # write as its count. Not folded into the body: a save writes it back as read.
    failed = UnicodeSetAttribute(null=True)
    expires = TTLAttribute(null=True)
    version = VersionAttribute()

    class Recent(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "recent"
            projection = AllProjection()

        listing = UnicodeAttribute(hash_key=True)
        created_at = UnicodeAttribute(range_key=True)

    recent = Recent()


class PartnerCallbackModel(Model):
    """Partner callbacks held for their next try ("held", read by due time by the retry job) and those that failed
    every try ("dead": the dead-letter list an administrator reads and resends)."""

    class Meta:
        table_name = "partner-callbacks"

    state = UnicodeAttribute(hash_key=True)  # "held" | "dead"
    event_id = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    event_name = UnicodeAttribute()
    body = UnicodeAttribute()  # the JSON sent (no personal data: ids, status, the partner's reference)
    attempts = NumberAttribute()
    last_error = UnicodeAttribute()
    dead_at = UnicodeAttribute(null=True)  # dead letters
    due_at = UnicodeAttribute(null=True)  # held callbacks: when the next try is due (ISO time, UTC)


ALL_MODELS: tuple[type[Model], ...] = (
    RequestModel, IdempotencyModel, OrderModel, PaymentModel, OutboxModel, ProcessedModel, CounterModel,
    AuditModel, IdentityModel, RecordModel, NameBlockModel, LedgerModel, DocumentModel, StatusListModel,
    MeasureModel, EnrolmentModel, LinkAttemptModel, UnmatchedEnrolmentModel, CheckinModel, WindowModel,
    IncidentModel, WarrantModel, WarrantNameIndexModel, CalendarModel,
    OfficerModel, CaseModel, ControlMarkerModel, ContingencyModel, DailyReportModel,
    EmailSuppressionModel, IndicatorFactModel, IndicatorCounterModel, IndicatorSettingModel,
    OperatorAccountModel, ConsoleSessionModel, JobModel, PartnerCallbackModel, PartnerQuotaModel,
)
_BASE_NAMES = {model: model.Meta.table_name for model in ALL_MODELS}


_CONNECTIONS: dict[tuple[str, str | None], Connection] = {}


def connection_for(region: str, host: str | None) -> Connection:
    """The process's one connection to a DynamoDB endpoint: one botocore client (thread-safe for calls) behind
    every model and every transaction. Building a client costs tens of milliseconds; one per table made the first
    request after a cold start pay for each table it touched."""
    key = (region, host)
    connection = _CONNECTIONS.get(key)
    if connection is None:
        # Short timeouts: a database that does not answer becomes a clear 503, not a hung request. The pool is as
        # large as the worker's lanes and the local server's threads may need at once.
        connection = _CONNECTIONS[key] = Connection(region=region, host=host, connect_timeout_seconds=2,
                                                    read_timeout_seconds=5, max_retry_attempts=1,
                                                    max_pool_connections=50)
    return connection


def configure(settings: Settings) -> None:
    """Point every model at the configured endpoint and prefixed table name, all through one shared connection
    (idempotent)."""
    shared = connection_for(settings.aws_region, settings.dynamodb_endpoint)
    for model, base in _BASE_NAMES.items():
        model.Meta.table_name = settings.table_name(base)
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.dynamodb_endpoint
        model.Meta.connect_timeout_seconds = 2
        model.Meta.read_timeout_seconds = 5
        model.Meta.max_retry_attempts = 1
        model._connection = None  # drop a connection cached for another endpoint
        table = model._get_connection()  # its own Connection holds the table's key schema; it has no client yet
        if model.Meta.table_name not in shared._tables:  # configured before, by an earlier container
            shared.add_meta_table(table.connection.get_meta_table(model.Meta.table_name))
        table.connection = shared


def create_tables(settings: Settings) -> list[str]:
    """Create missing tables on demand capacity; safe to call at every start. Returns those created.

    One botocore client for every call and the tables handled in parallel: a start on an existing database
    is one ListTables plus one DescribeTable per table (for indexes added since), not a client per model."""
    configure(settings)
    client = _admin_client(settings)
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    missing = [model for model in ALL_MODELS if model.Meta.table_name not in existing]
    present = [model for model in ALL_MODELS if model.Meta.table_name in existing]
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Indexes first: DynamoDB Local left an index added while new tables were having their TTL switched on
        # CREATING for minutes (seen when a 38th table, with a TTL, was added).
        list(pool.map(lambda model: _add_missing_indexes(client, model), present))
        list(pool.map(lambda model: _create_table(client, model), missing))
    return [model.Meta.table_name for model in missing]


def _admin_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint,
        config=Config(max_pool_connections=16, retries={"max_attempts": 3, "mode": "standard"}))


def _hash_first(keys: list[Any]) -> list[dict[str, str]]:
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"] != "HASH")


def _table_definition(model: type[Model]) -> dict[str, Any]:
    schema = model._get_schema()
    definition: dict[str, Any] = {
        "TableName": model.Meta.table_name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": schema["attribute_definitions"], "KeySchema": _hash_first(schema["key_schema"])}
    indexes = [{"IndexName": i["index_name"], "KeySchema": _hash_first(i["key_schema"]), "Projection": i["projection"]}
               for i in schema.get("global_secondary_indexes", [])]
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    return definition


def _wait_active(client: Any, table_name: str, what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        described = client.describe_table(TableName=table_name)["Table"]
        if described.get("TableStatus") == "ACTIVE" and all(
                i.get("IndexStatus") == "ACTIVE" for i in described.get("GlobalSecondaryIndexes", [])):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} of {table_name} did not become active")
        time.sleep(0.1)  # DynamoDB Local is ready at once; the cloud's tables are made by the CDK stack


def _create_table(client: Any, model: type[Model]) -> None:
    client.create_table(**_table_definition(model))
    _wait_active(client, model.Meta.table_name, "table")
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        client.update_time_to_live(TableName=model.Meta.table_name,
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[0]})


def _add_missing_indexes(client: Any, model: type[Model]) -> None:
    """A table made by an earlier version of the code lacks the indexes added since: add them (one at a
    time, as DynamoDB allows), so a kept local database keeps working after an upgrade."""
    schema = model._get_schema()
    wanted = {i["index_name"]: i for i in schema.get("global_secondary_indexes", [])}
    if not wanted:
        return
    described = client.describe_table(TableName=model.Meta.table_name)["Table"]
    present = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for name in sorted(set(wanted) - present):
        index = wanted[name]
        keys = _hash_first(index["key_schema"])
        client.update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=[{"AttributeName": k["AttributeName"], "AttributeType": types[k["AttributeName"]]}
                                  for k in keys],
            GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": name, "KeySchema": keys,
                                                     "Projection": index["projection"]}}])
        _wait_active(client, model.Meta.table_name, f"index {name}")

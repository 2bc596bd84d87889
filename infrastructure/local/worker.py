"""The local worker: reads the outbox table's DynamoDB Local stream and feeds the handlers the cloud's stream
subscriptions call (app.handle_outbox and app.handle_notices), in parallel lanes; and runs the scheduled jobs on
their rates."""

from __future__ import annotations

import collections
import http.client
import json
import logging
import os
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any
from urllib.parse import urlsplit

import boto3

log = logging.getLogger("worker")

Handler = Callable[[dict[str, Any], Any], Any]
BATCH_SIZE = 10  # records per handler call, as the cloud's subscriptions are configured
ATTEMPTS = 6  # a first try and the cloud's MaximumRetryAttempts (5), then the dead letters
DEFAULT_LANES = 4
CATCH_UP = "catch-up-"  # the pseudo-shard of events read from the table itself


@dataclass(frozen=True)
class Consumer:
    """One subscription to the outbox stream: its handler and the event names it is fed (None: every event)."""

    handler: Handler
    events: frozenset[str] | None = None

    def accepts(self, name: str) -> bool:
        return self.events is None or name in self.events


def app_consumers() -> dict[str, Consumer]:
    """The app's two consumers, each fed only the events it has handlers for, as the infrastructure filters them."""
    import app
    from chalicelib.handlers import NOTICES, WORK, handled_events

    return {WORK: Consumer(app.handle_outbox, handled_events(WORK)),
            NOTICES: Consumer(app.handle_notices, handled_events(NOTICES))}


class StreamError(Exception):
    """An error answer of the streams API, by its code (ExpiredIteratorException, TrimmedDataAccessException...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class RecordsReader:
    """GetRecords on DynamoDB Local's streams API over one kept-alive connection, answering the JSON as sent.

    The poll is the worker's hottest call (every 50 ms, and again for each batch of records), and in the cloud it
    costs the application nothing: Lambda's event source mapping polls. Through boto3 it cost this process's
    interpreter 1.97 ms for an empty answer and 7.7 ms for 20 records (botocore's shape-walking parser, signing,
    hooks); as plain JSON over http.client, 0.37 and 1.07 ms, measured side by side against DynamoDB Local on the
    2-core machine. The answer is also what Lambda hands a handler (epoch seconds, attribute values as sent), not
    botocore's datetimes and bytes. DynamoDB Local reads the credential from the Authorization header without
    checking the signature; every other call of the worker stays on boto3.
    """

    _TARGET = "DynamoDBStreams_20120810.GetRecords"

    def __init__(self, endpoint: str, region: str) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("the local worker reads DynamoDB Local's stream over http://host:port")
        self._host, self._port = parts.hostname, parts.port or 80
        self._headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": self._TARGET,
                         "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20000101/{region}/dynamodb/"
                                          "aws4_request, SignedHeaders=host, Signature=local"}
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def get_records(self, iterator: str, limit: int) -> dict[str, Any]:
        body = json.dumps({"ShardIterator": iterator, "Limit": limit})
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more, afresh
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
                try:
                    self._connection.request("POST", "/", body, self._headers)
                    answer = self._connection.getresponse()
                    status, payload = answer.status, answer.read()
                    break
                except (OSError, http.client.HTTPException):
                    self._close_locked()
                    if attempt == 2:
                        raise
        parsed = json.loads(payload) if payload else {}
        if status != 200:
            code = str(parsed.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP {status}"
            raise StreamError(code, str(parsed.get("message") or parsed.get("Message") or ""))
        return dict(parsed)

    def _close_locked(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()


STALE_ITERATOR = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException"})


class _Pending:
    """A record on its way through the consumers that accept it; the checkpoint moves past it once all are done."""

    __slots__ = ("sequence", "occurred_at", "remaining")

    def __init__(self, sequence: str, occurred_at: str, remaining: int) -> None:
        self.sequence, self.occurred_at, self.remaining = sequence, occurred_at, remaining


class StreamWorker:
    """Reads the stream and hands each record to every consumer that accepts it. A consumer has ``lanes`` threads;
    the records of one aggregate (a request, a check-in) always go to the same lane, in stream order, while the
    lanes run at once: what Lambda does with a ParallelizationFactor over a table keyed by aggregate.

    What all consumers have handled is kept in ``checkpoint_path`` (per shard, the last sequence number before
    which everything is done), so a restart resumes after it instead of replaying the stream.
    """

    def __init__(self, endpoint: str, region: str, table_name: str,
                 consumers: Handler | Mapping[str, Consumer], dead_letter_path: Path, poll_seconds: float = 0.05,
                 lanes: int | None = None, checkpoint_path: Path | None = None) -> None:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                        region_name=region)
        self._ddb = session.client("dynamodb", endpoint_url=endpoint)
        self._streams = session.client("dynamodbstreams", endpoint_url=endpoint)
        self._records = RecordsReader(endpoint, region)
        self._table = table_name
        self._consumers = dict(consumers) if isinstance(consumers, Mapping) else {"all": Consumer(consumers)}
        self._dead_letters = dead_letter_path
        self._poll = poll_seconds
        self._lanes = lanes or int(os.environ.get("WORKER_LANES", DEFAULT_LANES))
        self._checkpoint_path = checkpoint_path
        self._iterators: dict[str, str | None] = {}
        self._last_sequence: dict[str, str] = {}  # last record read, per shard
        self._arn: str | None = None
        self._shards_checked = 0.0
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._pending: dict[str, collections.deque[_Pending]] = {}
        self._done: dict[str, str] = {}  # the checkpoint: per shard, the last sequence all consumers finished
        self._watermark = ""  # occurred_at of the last record the checkpoint passed
        self._in_flight = 0
        self._saved_at = 0.0
        self._dirty = False
        self._queues: dict[tuple[str, int], Queue[list[tuple[dict[str, Any], _Pending, str]] | None]] = {}
        self._threads: list[threading.Thread] = []
        self.handled = 0
        self._load_checkpoint()

    # --- the checkpoint -------------------------------------------------------------------------------------------

    def _load_checkpoint(self) -> None:
        if self._checkpoint_path is None or not self._checkpoint_path.exists():
            return
        try:
            saved = json.loads(self._checkpoint_path.read_text())
        except ValueError:
            return
        if saved.get("table") == self._table:
            self._done = {str(k): str(v) for k, v in saved.get("shards", {}).items()}
            self._watermark = str(saved.get("watermark", ""))
            self._last_sequence = dict(self._done)

    def _save_checkpoint(self, force: bool = False) -> None:
        if self._checkpoint_path is None or not self._dirty or (not force and time.monotonic() - self._saved_at < 0.5):
            return
        with self._lock:
            state = {"table": self._table, "shards": dict(self._done), "watermark": self._watermark}
            self._dirty = False
        self._checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._checkpoint_path.with_suffix(".partial")
        partial.write_text(json.dumps(state))
        partial.replace(self._checkpoint_path)
        self._saved_at = time.monotonic()

    def _finished(self, shard: str, entries: Iterable[_Pending]) -> None:
        with self._lock:
            for entry in entries:
                entry.remaining -= 1
            queue = self._pending.get(shard)
            while queue and queue[0].remaining <= 0:
                head = queue.popleft()
                if not shard.startswith(CATCH_UP):
                    self._done[shard] = head.sequence
                self._watermark = max(self._watermark, head.occurred_at)
                self._in_flight -= 1
                self._dirty = True
            self._lock.notify_all()

    # --- reading the stream ---------------------------------------------------------------------------------------

    def _stream_arn(self) -> str:
        if self._arn is None:
            self._arn = str(self._ddb.describe_table(TableName=self._table)["Table"]["LatestStreamArn"])
        return self._arn

    def _refresh_shards(self, arn: str) -> None:
        """New shards (DynamoDB opens one now and then): read from where the checkpoint left them, or their start."""
        if time.monotonic() - self._shards_checked < 2.0 and self._iterators:
            return
        self._shards_checked = time.monotonic()
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        listed = {shard["ShardId"] for shard in shards}
        with self._lock:
            for gone in set(self._done) - listed:  # trimmed away with its records
                del self._done[gone]
        for shard in shards:
            sid = shard["ShardId"]
            if sid in self._iterators:
                continue
            done = self._done.get(sid)
            kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": done} if done else \
                {"ShardIteratorType": "TRIM_HORIZON"}
            try:
                self._iterators[sid] = self._streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                                        **kind)["ShardIterator"]
            except (self._streams.exceptions.TrimmedDataAccessException,
                    self._streams.exceptions.ResourceNotFoundException):
                # The checkpoint's records are gone from the stream: from its start, and the table itself for
                # whatever the stream no longer holds after the watermark.
                self._iterators[sid] = self._streams.get_shard_iterator(
                    StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                self.catch_up(since=self._watermark)

    def poll_once(self, wait: bool = True) -> int:
        """Read what the stream holds now and hand it to the consumers; with ``wait``, return once it is handled."""
        arn = self._stream_arn()
        self._refresh_shards(arn)
        count = 0
        for sid, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            try:
                answer = self._records.get_records(iterator, 100)
            except StreamError as error:
                if error.code not in STALE_ITERATOR:
                    raise
                # DynamoDB Local refuses an iterator that read an empty shard, and one whose records a
                # restart trimmed. Resume after the last record read; with none, from now on, and replay the
                # outbox table itself after the checkpoint's watermark, so nothing written meanwhile is missed
                # (handlers are idempotent, so a replayed event has one effect).
                last = self._last_sequence.get(sid)
                kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last else \
                    {"ShardIteratorType": "LATEST"}
                self._iterators[sid] = self._streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                                        **kind)["ShardIterator"]
                if not last:
                    self.catch_up(since=self._watermark)
                continue
            records = answer.get("Records", [])
            if records:
                self._dispatch(sid, arn, records)
                count += len(records)
                self._last_sequence[sid] = records[-1]["dynamodb"]["SequenceNumber"]
            self._iterators[sid] = answer.get("NextShardIterator")
            if self._iterators[sid] is None:
                self._shards_checked = 0.0  # a closed shard: its successor is worth looking for now
        if wait:
            self.drain()
        self._save_checkpoint()
        return count

    def _dispatch(self, shard: str, arn: str, records: list[dict[str, Any]]) -> None:
        """Each record to the lane of its aggregate in every consumer that accepts it."""
        batches: dict[tuple[str, int], list[tuple[dict[str, Any], _Pending, str]]] = {}
        entries = []
        for record in records:
            image = record.get("dynamodb", {}).get("NewImage") or {}
            name = image.get("name", {}).get("S", "")
            aggregate = image.get("aggregate_id", {}).get("S", "")
            accepting = [consumer for consumer, c in self._consumers.items()
                         if record.get("eventName") == "INSERT" and c.accepts(name)]
            entry = _Pending(record["dynamodb"]["SequenceNumber"], image.get("occurred_at", {}).get("S", ""),
                             len(accepting))
            entries.append(entry)
            lane = zlib.crc32(aggregate.encode()) % self._lanes
            for consumer in accepting:
                batches.setdefault((consumer, lane), []).append((_lambda_record(arn, record), entry, shard))
        with self._lock:
            self._pending.setdefault(shard, collections.deque()).extend(entries)
            self._in_flight += len(entries)
        self._finished(shard, [])  # records no consumer wants are done at once
        for key, items in batches.items():
            for start in range(0, len(items), BATCH_SIZE):
                self._lane(key).put(items[start:start + BATCH_SIZE])

    def _lane(self, key: tuple[str, int]) -> Queue[list[tuple[dict[str, Any], _Pending, str]] | None]:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = Queue()
            thread = threading.Thread(target=self._run_lane, args=(key[0], queue), daemon=True,
                                      name=f"outbox-{key[0]}-{key[1]}")
            thread.start()
            self._threads.append(thread)
        return queue

    def _run_lane(self, consumer: str, queue: Queue[list[tuple[dict[str, Any], _Pending, str]] | None]) -> None:
        handler = self._consumers[consumer].handler
        while (batch := queue.get()) is not None:
            self._deliver(handler, [record for record, _, _ in batch])
            by_shard: dict[str, list[_Pending]] = {}
            for _, entry, shard in batch:
                by_shard.setdefault(shard, []).append(entry)
            for shard, entries in by_shard.items():
                self._finished(shard, entries)

    def set_lanes(self, lanes: int) -> None:
        """Change the number of lanes per consumer (between polls: what is in flight is finished first)."""
        self.drain()
        self._lanes = max(1, lanes)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every record read so far is handled by every consumer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._in_flight > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining if remaining is not None else 1.0)
        return True

    def _deliver(self, handler: Handler, records: list[dict[str, Any]]) -> None:
        """The cloud's subscription (BisectBatchOnFunctionError, MaximumRetryAttempts): a batch that fails is split
        in two and each half delivered again, so one record that keeps failing holds up none of its batch; a single
        record is tried ATTEMPTS times, then kept among the dead letters."""
        for attempt in range(ATTEMPTS if len(records) == 1 else 1):
            try:
                handler({"Records": records}, None)
                with self._lock:
                    self.handled += len(records)
                return
            except Exception:
                log.exception("outbox batch failed", extra={"attempt": attempt + 1, "records": len(records)})
                if len(records) == 1:
                    # Jittered, so that lanes whose events conflicted (two enrolments taking the same officer's
                    # count) do not meet again.
                    time.sleep(0.2 * (attempt + 1) * (0.5 + random.random()))
        if len(records) > 1:
            half = len(records) // 2
            self._deliver(handler, records[:half])
            self._deliver(handler, records[half:])
            return
        # Like a Lambda's dead-letter queue: kept for an operator, never silently dropped.
        self._dead_letters.parent.mkdir(parents=True, exist_ok=True)
        with self._dead_letters.open("a") as handle:
            handle.write(json.dumps({"Records": records}, default=str) + "\n")

    def catch_up(self, since: str = "") -> int:
        """Deliver outbox events the stream can no longer give (written before a restart of DynamoDB Local), from
        ``since`` (an occurred_at; a minute earlier, for clocks that disagree) on.

        Local only: it reads the outbox table, which no request path does. Handlers are idempotent, so an
        event delivered both here and by the stream has one effect.
        """
        pages = self._ddb.get_paginator("scan").paginate(TableName=self._table)
        items = [item for page in pages for item in page.get("Items", [])]
        if since:
            floor = _minus_a_minute(since)
            items = [item for item in items if item.get("occurred_at", {}).get("S", "") >= floor]
        items.sort(key=lambda item: item.get("occurred_at", {}).get("S", ""))
        arn = self._stream_arn()
        records = [{"eventID": f"catch-up-{i}", "eventName": "INSERT",
                    "dynamodb": {"NewImage": item, "Keys": {}, "SequenceNumber": f"catch-up-{i}", "SizeBytes": 1,
                                 "StreamViewType": "NEW_IMAGE"}} for i, item in enumerate(items)]
        if records:
            self._dispatch(f"{CATCH_UP}{uuid.uuid4().hex[:8]}", arn, records)
            self.drain()
        return len(items)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.poll_once(wait=False)
            except Exception:
                log.exception("stream poll failed")
                self._stop.wait(1.0)
                continue
            if not found:
                self._stop.wait(self._poll)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading, let the lanes finish what they hold, and keep the checkpoint."""
        self._stop.set()
        self.drain(timeout)
        for queue in self._queues.values():
            queue.put(None)
        self._save_checkpoint(force=True)
        self._records.close()


def _minus_a_minute(moment: str) -> str:
    from datetime import datetime, timedelta

    try:
        return (datetime.fromisoformat(moment) - timedelta(minutes=1)).isoformat()
    except ValueError:
        return ""


def _lambda_record(arn: str, record: dict[str, Any]) -> dict[str, Any]:
    """The shape Lambda gives a DynamoDB stream record (what Chalice's on_dynamodb_record expects)."""
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        ddb["ApproximateCreationDateTime"] = created.timestamp()
    elif created is None:
        ddb["ApproximateCreationDateTime"] = time.time()
    return {"eventID": record.get("eventID"), "eventName": record["eventName"], "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": record.get("awsRegion", "us-east-1"),
            "dynamodb": ddb, "eventSourceARN": arn}


class Scheduler:
    """Runs each scheduled function on its rate, calling it with a CloudWatch-style event."""

    def __init__(self, jobs: list[tuple[float, Callable[[dict[str, Any], Any], Any]]]) -> None:
        self._jobs = jobs
        self._stop = threading.Event()

    def run(self) -> None:
        next_run = [time.monotonic() + 5 for _ in self._jobs]
        while not self._stop.is_set():
            now = time.monotonic()
            for i, (period, job) in enumerate(self._jobs):
                if now >= next_run[i]:
                    try:
                        job(scheduled_event(), None)
                    except Exception:
                        log.exception("scheduled job failed")
                    next_run[i] = now + period
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()


def scheduled_event() -> dict[str, Any]:
    """The CloudWatch Events payload a scheduled Lambda receives."""
    return {"version": "0", "id": uuid.uuid4().hex, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1", "resources": [], "detail": {}}

"""The local worker: reads the outbox table's DynamoDB Local stream and feeds the same handler the cloud
calls (app.handle_outbox), and runs the scheduled jobs on their rates."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

log = logging.getLogger("worker")


class StreamWorker:
    def __init__(self, endpoint: str, region: str, table_name: str, handler: Callable[[dict[str, Any], Any], Any],
                 dead_letter_path: Path, poll_seconds: float = 0.2) -> None:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                        region_name=region)
        self._ddb = session.client("dynamodb", endpoint_url=endpoint)
        self._streams = session.client("dynamodbstreams", endpoint_url=endpoint)
        self._table = table_name
        self._handler = handler
        self._dead_letters = dead_letter_path
        self._poll = poll_seconds
        self._iterators: dict[str, str | None] = {}
        self._last_sequence: dict[str, str] = {}
        self._stop = threading.Event()
        self.handled = 0

    def _stream_arn(self) -> str:
        return str(self._ddb.describe_table(TableName=self._table)["Table"]["LatestStreamArn"])

    def _refresh_shards(self, arn: str) -> None:
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in self._iterators:
                # From the start of the stream: a restart replays, and handlers are idempotent.
                self._iterators[sid] = self._streams.get_shard_iterator(
                    StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def poll_once(self) -> int:
        arn = self._stream_arn()
        self._refresh_shards(arn)
        count = 0
        for sid, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            try:
                answer = self._streams.get_records(ShardIterator=iterator, Limit=100)
            except (self._streams.exceptions.TrimmedDataAccessException,
                    self._streams.exceptions.ExpiredIteratorException):
                # DynamoDB Local refuses an iterator that read an empty shard, and one whose records a
                # restart trimmed. Resume after the last record delivered; with none, from the start, and
                # replay the outbox table itself so nothing written meanwhile is missed (handlers are
                # idempotent, so a replayed event has one effect).
                last = self._last_sequence.get(sid)
                kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last else \
                    {"ShardIteratorType": "LATEST"}
                self._iterators[sid] = self._streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                                        **kind)["ShardIterator"]
                if not last:
                    self.catch_up()
                continue
            records = answer.get("Records", [])
            if records:
                self._deliver(arn, records)
                count += len(records)
                self._last_sequence[sid] = records[-1]["dynamodb"]["SequenceNumber"]
            self._iterators[sid] = answer.get("NextShardIterator")
        return count

    def _deliver(self, arn: str, records: list[dict[str, Any]]) -> None:
        event = {"Records": [_lambda_record(arn, r) for r in records]}
        for attempt in range(3):
            try:
                self._handler(event, None)
                self.handled += len(records)
                return
            except Exception:
                log.exception("outbox batch failed", extra={"attempt": attempt + 1})
                time.sleep(0.5 * (attempt + 1))
        # Like a Lambda's dead-letter queue: kept for an operator, never silently dropped.
        self._dead_letters.parent.mkdir(parents=True, exist_ok=True)
        with self._dead_letters.open("a") as handle:
            handle.write(json.dumps(event, default=str) + "\n")

    def catch_up(self) -> int:
        """Deliver outbox events the stream can no longer give (written before a restart of DynamoDB Local).

        Local only: it reads the outbox table, which no request path does. Handlers are idempotent, so an
        event delivered both here and by the stream has one effect.
        """
        pages = self._ddb.get_paginator("scan").paginate(TableName=self._table)
        items = [item for page in pages for item in page.get("Items", [])]
        items.sort(key=lambda item: item.get("occurred_at", {}).get("S", ""))
        arn = self._stream_arn()
        for start in range(0, len(items), 50):
            batch = [{"eventID": f"catch-up-{start + i}", "eventName": "INSERT",
                      "dynamodb": {"NewImage": item, "Keys": {"event_id": item["event_id"]},
                                   "SequenceNumber": str(start + i), "SizeBytes": 1,
                                   "StreamViewType": "NEW_IMAGE"}}
                     for i, item in enumerate(items[start:start + 50])]
            self._deliver(arn, batch)
        return len(items)

    def run(self) -> None:
        try:
            self.catch_up()
        except Exception:
            log.exception("outbox catch-up failed")
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("stream poll failed")
                self._stop.wait(1.0)
            self._stop.wait(self._poll)

    def stop(self) -> None:
        self._stop.set()


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

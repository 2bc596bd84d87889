"""The outbox's parallel consumers: several lanes (and the same event delivered twice at once) still give one
certificate per request and one chat notice per event; a restarted worker resumes after its checkpoint instead of
replaying the stream."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.domain.requests import Status


def _records(api, request_ids, name):
    from chalicelib.adapters import dynamo_models as m
    from infrastructure.local.worker import _lambda_record

    wanted = set(request_ids)
    items = [e for rid in sorted(wanted) for e in m.OutboxModel.query(rid) if e.name == name]
    return [_lambda_record("arn:test", {"eventName": "INSERT", "dynamodb": {
        "NewImage": e.serialize(), "Keys": {}, "SequenceNumber": "1", "SizeBytes": 1,
        "StreamViewType": "NEW_IMAGE"}}) for e in items]


def _issued_events(api, request_id):
    from chalicelib.adapters import dynamo_models as m

    return [e for e in m.OutboxModel.query(request_id) if e.name == "request.issued"]


def test_lanes_and_duplicate_deliveries_give_one_certificate_and_one_notice_per_request(bot_api):
    import app

    api, bot = bot_api
    worker = api.worker()
    api.run_worker()
    users = [f"telegram:88{i:02d}" for i in range(8)]
    requests = [api.paid(user=user) for user in users]
    ids = [r["request_id"] for r in requests]
    paid = _records(api, ids, "request.paid")
    assert len(paid) == len(ids)
    # Every request.paid handled twice at once, from eight threads (what a redelivery beside a retry does).
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda record: app.handle_outbox({"Records": [record]}, None), paid + paid))
    # The stream then delivers everything again, through four lanes per consumer.
    worker.set_lanes(4)
    try:
        api.run_worker()
    finally:
        worker.set_lanes(1)
    issued = _records(api, ids, "request.issued")
    with ThreadPoolExecutor(8) as pool:  # and each notice event twice more, at once
        list(pool.map(lambda record: app.handle_notices({"Records": [record]}, None), issued + issued))
    for request_id, user in zip(ids, users, strict=True):
        request = api.c.store.get_request(request_id)
        assert request.status is Status.ISSUED
        assert [h.status for h in request.history][-3:] == [Status.PAID, Status.APPROVED, Status.ISSUED]
        assert len(_issued_events(api, request_id)) == 1
        assert api.c.store.get_document(request.document_id) is not None
        chat = user.split(":")[1]
        assert [m for m, _ in bot.to(chat)].count("sendDocument") == 1


def test_the_issued_event_carries_what_the_certificate_counts_for(api):
    from chalicelib.domain.indicators import ISSUED_FACT

    request = api.paid(user="telegram:8941")
    api.run_worker()
    (issued,) = _issued_events(api, request["request_id"])
    figures = issued.data[ISSUED_FACT]
    assert figures["peruvian"] is True and figures["reviewed"] is False and figures["review_s"] is None
    assert 0 <= figures["payment_to_certificate_s"] < 60


def test_a_restarted_worker_resumes_after_its_checkpoint(api, tmp_path):
    from chalicelib.adapters import dynamo_models as m
    from infrastructure.local.worker import StreamWorker, app_consumers

    session = api.worker()
    for i in range(3):  # history before the checkpoint
        api.paid(user=f"telegram:890{i + 2}")
    api.run_worker()
    checkpoint = tmp_path / "outbox-checkpoint.json"
    session._checkpoint_path, session._dirty = checkpoint, True  # what `make run` keeps beside its database
    session._save_checkpoint(force=True)
    assert checkpoint.exists()
    request = api.paid(user="telegram:8901")
    restarted = StreamWorker(api.c.settings.dynamodb_endpoint, api.c.settings.aws_region,
                             m.OutboxModel.Meta.table_name, app_consumers(),
                             api.c.settings.data_dir / "dead-letters.jsonl", lanes=2, checkpoint_path=checkpoint)
    while restarted.poll_once() > 0:
        pass
    assert api.c.store.get_request(request["request_id"]).status is Status.ISSUED
    written_since = len(list(m.OutboxModel.query(request["request_id"])))
    everything = sum(1 for _ in m.OutboxModel.scan())
    # Only what came after the checkpoint (this request's events, each to the consumers that take it), not the
    # session's history.
    assert 0 < restarted.handled <= 2 * written_since
    assert everything - written_since >= 3 * written_since
    assert checkpoint.read_text() != ""


def test_the_worker_hands_handlers_the_stream_record_as_lambda_does(api, tmp_path):
    """Read as plain JSON (worker.RecordsReader): attribute values as the stream sends them and the creation time in
    epoch seconds, the shape a Lambda handler gets, which app.handle_outbox turns into the event."""
    from chalicelib.adapters import dynamo_models as m
    from infrastructure.local.worker import StreamWorker

    api.run_worker()
    seen: list[dict] = []
    reader = StreamWorker(api.c.settings.dynamodb_endpoint, api.c.settings.aws_region,
                          m.OutboxModel.Meta.table_name, lambda batch, _: seen.extend(batch["Records"]),
                          tmp_path / "dead-letters.jsonl", lanes=1)
    request = api.created(user="telegram:8931")
    while reader.poll_once() > 0:
        pass
    mine = [r for r in seen if r["dynamodb"]["NewImage"]["aggregate_id"]["S"] == request["request_id"]]
    assert [r["dynamodb"]["NewImage"]["name"]["S"] for r in mine] == ["request.created"]
    record = mine[0]
    assert record["eventName"] == "INSERT" and record["eventSource"] == "aws:dynamodb"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert isinstance(record["dynamodb"]["NewImage"]["data"]["S"], str)  # the JSON attribute as stored


def test_the_stream_reader_names_the_refusal_and_reconnects_after_the_server_hangs_up(api):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import pytest

    from infrastructure.local.worker import RecordsReader, StreamError

    reader = RecordsReader(api.c.settings.dynamodb_endpoint, api.c.settings.aws_region)
    with pytest.raises(StreamError) as refused:
        reader.get_records("not-an-iterator", 100)
    assert refused.value.code == "ValidationException"  # the error's code, without its namespace

    connections: list[int] = []

    class OneAnswerPerConnection(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the client keeps the connection; the server then drops it

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            connections.append(id(self.connection))
            body = b'{"Records": [], "NextShardIterator": "next"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), OneAnswerPerConnection)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        flaky = RecordsReader(f"http://127.0.0.1:{server.server_address[1]}", "us-east-1")
        answers = [flaky.get_records("it", 100) for _ in range(3)]
        assert [a["NextShardIterator"] for a in answers] == ["next"] * 3
        assert len(connections) == 3  # each call after a hang-up went out again on a new connection
        flaky.close()
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ValueError, match="http://host:port"):
        RecordsReader("https://dynamodb.us-east-1.amazonaws.com", "us-east-1")

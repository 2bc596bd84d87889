"""After payment: the record check from the outbox event, and the reviewer's queue and decisions."""

from __future__ import annotations

from tests.factories import CARLOS, JOSE


def test_paid_request_without_record_is_approved_then_issued_by_the_worker(api):
    request = api.paid()
    assert api.run_worker() >= 1
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert [h["status"] for h in status["history"]][-2:] == ["approved", "issued"]
    assert status["result"] == "NO REGISTRA ANTECEDENTES JUDICIALES"


def test_worker_running_twice_has_one_effect(api):
    import app
    from chalicelib.adapters import dynamo_models as m

    request = api.paid()
    api.run_worker()
    event = next(e for e in m.OutboxModel.scan() if e.aggregate_id == request["request_id"]
                 and e.name == "request.paid")
    image = m.OutboxModel.get(event.aggregate_id, event.event_id).serialize()
    record = {"eventName": "INSERT", "eventSource": "aws:dynamodb", "eventSourceARN": "arn:test",
              "awsRegion": "us-east-1", "eventID": "replayed",
              "dynamodb": {"NewImage": image, "ApproximateCreationDateTime": 1.0, "Keys": {}, "SequenceNumber": "1",
                           "SizeBytes": 1, "StreamViewType": "NEW_IMAGE"}}
    app.handle_outbox({"Records": [record]}, None)
    history = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["history"]
    assert [h["status"] for h in history].count("approved") == 1


def test_same_document_number_in_the_registry_goes_to_review_as_record_found(api):
    request = api.paid(CARLOS, user="telegram:2001")
    api.run_worker()
    status = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:2001").json_body
    assert status["status"] == "in_review"
    assert status["result"] is None


def test_homonym_goes_to_review_with_score_and_reasons(api):
    request = api.paid(JOSE, user="telegram:2002")
    api.run_worker()
    headers = api.operator_headers("reviewer")
    case = api.get(f"/v1/admin/review-queue/{request['request_id']}", headers=headers).json_body
    assert case["check_outcome"] == "possible_match"
    candidate = case["candidates"][0]
    assert candidate["record_id"] == "SIP-0002"
    assert "same date of birth" in candidate["reasons"]
    assert 85 <= candidate["score"] <= 100


def test_review_queue_lists_waiting_cases(api):
    request = api.paid(JOSE, user="telegram:2003")
    api.run_worker()
    queue = api.get("/v1/admin/review-queue", headers=api.operator_headers("reviewer")).json_body["items"]
    assert request["request_id"] in [item["request_id"] for item in queue]


def test_reviewer_clearing_every_candidate_approves_without_record(api):
    request = api.paid(JOSE, user="telegram:2004")
    api.run_worker()
    headers = api.operator_headers("reviewer", subject="reviewer-7")
    answer = api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0002",
                      {"decision": "cleared", "note": "different father"}, headers=headers)
    assert answer.status_code == 200
    status = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:2004").json_body
    assert status["status"] == "approved"
    assert status["result"] == "NO REGISTRA ANTECEDENTES JUDICIALES"


def test_reviewer_confirming_a_candidate_approves_with_record_and_is_final(api):
    request = api.paid(CARLOS, user="telegram:2005")
    api.run_worker()
    headers = api.operator_headers("reviewer")
    api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0001", {"decision": "confirmed"},
             headers=headers)
    status = api.get(f"/v1/certificate-requests/{request['request_id']}", user="telegram:2005").json_body
    assert status["result"] == "REGISTRA ANTECEDENTES JUDICIALES"
    again = api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0001",
                     {"decision": "cleared"}, headers=headers)
    assert again.status_code == 400 and again.json_body["error"]["code"] == "already_decided"


def test_decisions_and_reads_are_in_the_audit_log(api):
    request = api.paid(JOSE, user="telegram:2006")
    api.run_worker()
    headers = api.operator_headers("reviewer", subject="reviewer-audit")
    api.get(f"/v1/admin/review-queue/{request['request_id']}", headers=headers)
    api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0002", {"decision": "cleared"},
             headers=headers)
    # Read by record: one day of the session's shared audit table holds thousands of entries.
    entries = api.c.audit.entries_for_target(request["request_id"], 100)
    mine = [(e.action, e.actor) for e in entries]
    assert ("review.open_case", "reviewer-audit") in mine
    assert ("review.cleared", "reviewer-audit") in mine


def test_reviewer_endpoints_need_the_reviewer_role(api):
    answer = api.get("/v1/admin/review-queue", headers=api.operator_headers("officer"))
    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "missing_role"


def test_reviewer_endpoints_need_a_valid_token(api):
    no_token = api.get("/v1/admin/review-queue", headers={"Content-Type": "application/json"})
    forged = api.get("/v1/admin/review-queue", headers={"Authorization": "Bearer a.b.c"})
    channel_key = api.get("/v1/admin/review-queue", headers=api.channel_headers())
    assert no_token.status_code == forged.status_code == channel_key.status_code == 401


def test_bad_decision_names_the_field(api):
    request = api.paid(JOSE, user="telegram:2007")
    api.run_worker()
    answer = api.post(f"/v1/admin/review-queue/{request['request_id']}/candidates/SIP-0002",
                      {"decision": "maybe"}, headers=api.operator_headers("reviewer"))
    assert answer.status_code == 422 and answer.json_body["error"]["field"] == "decision"


def test_registry_import_is_all_or_nothing(api):
    """The former synchronous route answers 202 with the job's Location: the same job as every import."""
    headers = {**api.operator_headers("admin"), "Content-Type": "text/csv"}
    header = ("record_id,given_names,first_surname,second_surname,document_type,document_number,birth_date,"
              "case_file,court,offence,case_date\n")
    bad = header + "SIP-9001,Ana,Pérez,,DNI,1234,1980-01-01,,,,\nSIP-9002,Luis,Soto,,,,1970-01-01,,,,\n"
    answer = api.client.http.post("/v1/admin/registries/penitentiary/import", body=bad.encode(), headers=headers)
    assert answer.status_code == 202
    assert answer.headers["Location"] == f"/v1/admin/jobs/{answer.json_body['job_id']}"
    api.run_worker()
    reader = api.operator_headers("admin")
    failed = api.client.http.get(answer.headers["Location"], headers=reader).json_body
    assert failed["status"] == "failed" and failed["errors"][0]["line"] == 2
    assert api.c.registry.get("SIP-9002") is None
    good = header + "SIP-9002,Luis,Soto,,,,1970-01-01,01-2000,Juzgado,Robo,2000-01-01\n"
    answer = api.client.http.post("/v1/admin/registries/penitentiary/import", body=good.encode(), headers=headers)
    assert answer.status_code == 202
    api.run_worker()
    done = api.client.http.get(answer.headers["Location"], headers=reader).json_body
    assert done["status"] == "done" and done["units"] == 1
    assert api.c.registry.get("SIP-9002").cases[0]["offence"] == "Robo"

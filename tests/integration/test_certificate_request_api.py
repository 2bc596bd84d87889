"""The channel API of a certificate request, from application to payment, on DynamoDB Local."""

from __future__ import annotations

import json
import re

from tests.factories import ANA, CE_ISSUE_DATE, LUIS_CE, applicant, check_character, proof, request_body


def test_post_certificate_request_returns_201_with_number_and_unguessable_id(api):
    answer = api.post("/v1/certificate-requests", request_body())
    assert answer.status_code == 201
    body = answer.json_body
    assert body["status"] == "pending_identity"
    assert body["number"].startswith("2026-") and len(body["number"]) == 11
    assert len(body["request_id"]) >= 22 and body["number"] not in body["request_id"]
    assert body["applicant"]["document_number"] == "****8912"


def test_numbers_are_unique_per_year_and_read_as_the_year_and_six_digits(api):
    numbers = [api.created(user=f"telegram:10{i:02d}")["number"] for i in range(12)]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"2026-\d{6}", number) for number in numbers)


def test_numbers_taken_at_once_by_many_processes_and_threads_never_repeat(api):
    """The yearly counter is sharded and taken in blocks, so that no single item limits the rate; however many
    processes (each its own store) and threads take numbers at once, none comes twice."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.adapters.dynamo_store import DynamoStore

    stores = [DynamoStore(api.c.settings.aws_region, api.c.settings.dynamodb_endpoint) for _ in range(4)]
    with ThreadPoolExecutor(16) as pool:
        numbers = list(pool.map(lambda i: stores[i % 4].next_number("certificate-2091"), range(400)))
    assert len(set(numbers)) == 400 and min(numbers) >= 1
    # One counter write per block of ten, not one per number: at most one unfinished block per store.
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import COUNTER_SHARDS

    blocks = 0
    for shard in range(COUNTER_SHARDS):
        try:
            blocks += int(m.CounterModel.get(f"certificate-2091#{shard}", consistent_read=True).value)
        except m.CounterModel.DoesNotExist:
            continue
    assert 40 <= blocks <= 44


def test_numbers_continue_above_what_the_single_counter_of_earlier_versions_reached(api):
    from chalicelib.adapters import dynamo_models as m
    from chalicelib.adapters.dynamo_store import DynamoStore

    m.CounterModel("certificate-2092", value=5000).save()
    store = DynamoStore(api.c.settings.aws_region, api.c.settings.dynamodb_endpoint)
    assert min(store.next_number("certificate-2092") for _ in range(50)) > 5000


def test_a_started_container_takes_its_block_of_numbers_before_its_first_request(api, monkeypatch):
    """Lambda's init phase (Container.warm) takes the process's block of request numbers, so the first request makes
    only the one transaction every later one makes; the block's numbers are still handed out in order, none lost."""
    from bench.dynamo_calls import counting_dynamodb_calls
    from chalicelib.adapters.dynamo_store import DynamoStore

    fresh = DynamoStore(api.c.settings.aws_region, api.c.settings.dynamodb_endpoint)  # as a new container has it
    monkeypatch.setattr(api.c, "store", fresh)
    api.c.warm()
    api.c.warm()  # started twice (a second warm-up): still the one block, none skipped
    with counting_dynamodb_calls() as calls:
        first = api.created(user="telegram:7001")
    assert dict(calls) == {"TransactWriteItems": 1}
    second = api.created(user="telegram:7002")
    assert int(second["number"][5:]) == int(first["number"][5:]) + 1


def test_a_container_whose_database_is_down_at_start_still_starts_and_numbers_its_first_request(api, monkeypatch):
    """The counters table does not answer during the warm-up: the container starts all the same, and its first
    request takes the block itself."""
    from chalicelib.adapters.dynamo_store import DynamoStore
    from chalicelib.domain.errors import ServiceUnavailable

    fresh = DynamoStore(api.c.settings.aws_region, api.c.settings.dynamodb_endpoint)
    monkeypatch.setattr(api.c, "store", fresh)

    def down(series):  # type: ignore[no-untyped-def]
        raise ServiceUnavailable("The database did not answer.")

    monkeypatch.setattr(fresh, "prefetch_numbers", down)
    api.c.warm()
    assert fresh._numbers == {} or not any(fresh._numbers.values())
    assert re.fullmatch(r"2026-\d{6}", api.created(user="telegram:7003")["number"])


def test_same_idempotency_key_returns_the_same_request(api):
    headers = api.channel_headers(**{"Idempotency-Key": "abc-123"})
    first = api.post("/v1/certificate-requests", request_body(), headers=headers)
    second = api.post("/v1/certificate-requests", request_body(), headers=headers)
    # The retry gets the first answer again (issue 14: one Idempotency-Key layer for every unsafe POST).
    assert first.status_code == 201 and second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json_body["request_id"] == second.json_body["request_id"]


def test_same_idempotency_key_of_another_user_is_another_request(api):
    first = api.post("/v1/certificate-requests", request_body(),
                     headers=api.channel_headers("telegram:1", **{"Idempotency-Key": "k"}))
    second = api.post("/v1/certificate-requests", request_body(),
                      headers=api.channel_headers("telegram:2", **{"Idempotency-Key": "k"}))
    assert first.json_body["request_id"] != second.json_body["request_id"]


def test_malformed_json_is_a_400_with_code(api):
    answer = api.post("/v1/certificate-requests", raw=b'{"applicant": ')
    assert answer.status_code == 400
    assert answer.json_body["error"]["code"] == "invalid_json"


def test_missing_field_names_the_field(api):
    person = dict(ANA)
    del person["birth_date"]
    answer = api.post("/v1/certificate-requests", request_body(person))
    assert answer.status_code == 422
    assert answer.json_body["error"]["field"] == "birth_date"
    assert answer.json_body["error"]["code"] == "missing_field"


def test_extra_field_is_refused(api):
    answer = api.post("/v1/certificate-requests", request_body(applicant(nickname="Anita")))
    assert answer.status_code == 422
    assert answer.json_body["error"]["field"] == "nickname"
    top = api.post("/v1/certificate-requests", {**request_body(), "admin": True})
    assert top.json_body["error"]["field"] == "admin"


def test_wrong_type_names_the_field(api):
    answer = api.post("/v1/certificate-requests", request_body(applicant(document_number=45678912)))
    assert answer.status_code == 422
    assert answer.json_body["error"]["field"] == "document_number"
    assert answer.json_body["error"]["code"] == "wrong_type"


def test_oversized_body_is_413(api):
    answer = api.post("/v1/certificate-requests", raw=b'{"x": "' + b"a" * 20_000 + b'"}')
    assert answer.status_code == 413
    assert answer.json_body["error"]["code"] == "payload_too_large"


def test_future_birth_date_is_refused(api):
    answer = api.post("/v1/certificate-requests", request_body(applicant(birth_date="2030-01-01")))
    assert answer.json_body["error"]["code"] == "date_in_future"


def test_unknown_document_type_is_refused(api):
    answer = api.post("/v1/certificate-requests", request_body(applicant(document_type="RUC")))
    assert answer.json_body["error"]["code"] == "unknown_document_type"


def test_terms_must_be_accepted(api):
    answer = api.post("/v1/certificate-requests", request_body(terms_accepted=False))
    assert answer.json_body["error"]["field"] == "terms_accepted"


def test_wrong_channel_key_is_401(api):
    headers = {**api.channel_headers(), "Authorization": "Bearer nope"}
    answer = api.post("/v1/certificate-requests", request_body(), headers=headers)
    assert answer.status_code == 401


def test_channel_user_sees_only_their_own_requests(api):
    mine = api.created(user="telegram:1")
    other = api.get(f"/v1/certificate-requests/{mine['request_id']}", user="telegram:2")
    unknown = api.get("/v1/certificate-requests/does-not-exist", user="telegram:2")
    assert other.status_code == 404 and unknown.status_code == 404
    assert other.json_body["error"]["code"] == unknown.json_body["error"]["code"]
    listed = api.get("/v1/certificate-requests", user="telegram:never-used").json_body["items"]
    assert listed == []


def test_identity_with_the_cards_issue_date_orders_payment(api):
    request = api.created()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", proof(ANA))
    body = answer.json_body
    assert answer.status_code == 200
    assert body["status"] == "awaiting_payment" and body["identity_proof"] == "issue_date"
    assert body["payment"]["amount"] == "37.70" and body["payment"]["currency"] == "PEN"
    assert len(body["payment"]["order_code"]) == 10
    assert body["payment"]["order_code"] in body["payment"]["pay_url"]


def test_the_check_character_alone_proves_nothing_so_the_issue_date_is_required(api):
    """The check character is a public checksum of the number: anyone who knows a DNI number computes it."""
    request = api.created()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity",
                      {"verification_character": check_character(ANA)})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "missing_field"
    assert answer.json_body["error"]["field"] == "issue_date"
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["identity_attempts_left"] == 5


def test_a_wrong_issue_date_is_refused_and_counted(api):
    request = api.created()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", {"issue_date": "2019-03-16"})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "identity_not_confirmed"
    assert answer.json_body["error"]["details"]["attempts_left"] == 4
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "pending_identity" and status["identity_attempts_left"] == 4


def test_the_certificate_name_is_the_registrys_canonical_form_whatever_the_casing_typed(api):
    typed = applicant(given_names="ana lucia", first_surname="QUISPE", second_surname="mamani")
    request = api.created(typed)
    assert request["applicant"]["given_names"] == "ana lucia"
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", proof(ANA)).json_body
    assert (answer["applicant"]["given_names"], answer["applicant"]["first_surname"],
            answer["applicant"]["second_surname"]) == ("Ana Lucía", "Quispe", "Mamani")
    assert answer["identity_confirmed"] is True


def test_an_expired_document_is_refused_naming_its_expiry_date_and_the_request_closes(api):
    from tests.factories import ROSA, ROSA_EXPIRY

    request = api.created(ROSA)
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", proof(ROSA))
    assert answer.status_code == 422
    error = answer.json_body["error"]
    assert error["code"] == "document_expired" and error["details"]["expiry_date"] == ROSA_EXPIRY
    assert ROSA_EXPIRY in error["message"]
    status = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body
    assert status["status"] == "identity_rejected" and status["rejection"] == "document_expired"
    assert status["payment"] is None


def test_the_expiry_date_is_not_told_to_someone_who_cannot_prove_possession(api):
    from tests.factories import ROSA

    request = api.created(ROSA)
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", {"issue_date": "2016-08-02"})
    assert answer.json_body["error"]["code"] == "identity_not_confirmed"
    assert "2024" not in json.dumps(answer.json_body)


def test_a_wrong_check_character_is_a_typo_that_costs_no_attempt(api):
    request = api.created()
    digit = check_character(ANA)
    wrong = "0" if digit != "0" else "1"
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity",
                      {"verification_character": wrong, **proof(ANA)})
    assert answer.json_body["error"]["code"] == "check_character_mismatch"
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["identity_attempts_left"] == 5


def test_identity_of_a_person_not_in_the_registry_is_refused(api):
    request = api.created(applicant(document_number="12345678"))
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", {"issue_date": "2019-03-15"})
    assert answer.json_body["error"]["code"] == "identity_not_confirmed"


def test_a_dni_typed_with_its_check_character_is_stored_without_it_and_a_wrong_one_is_a_typo(api):
    digit = check_character(ANA)
    request = api.created(applicant(document_number=f"{ANA['document_number']}-{digit}"))
    assert request["applicant"]["document_number"].endswith("8912")
    wrong = "0" if digit != "0" else "1"
    answer = api.post("/v1/certificate-requests/validation",
                      {"applicant": {"document_type": "DNI", "document_number": f"45678912-{wrong}"}})
    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "check_character_mismatch"
    assert answer.json_body["error"]["field"] == "document_number"


def test_a_country_code_that_no_country_has_is_refused_where_it_is_typed(api):
    for typed, code in (("VIETNAM", "invalid_field"), ("XYZ", "unknown_country")):
        answer = api.post("/v1/certificate-requests/validation", {"applicant": {"nationality": typed}})
        assert answer.status_code == 422
        assert (answer.json_body["error"]["field"], answer.json_body["error"]["code"]) == ("nationality", code)
    assert api.post("/v1/certificate-requests/validation", {"applicant": {"nationality": "VNM"}}).status_code == 200


def test_too_many_failed_identity_attempts_reject_the_request(api):
    request = api.created()
    for _ in range(5):
        api.post(f"/v1/certificate-requests/{request['request_id']}/identity", {"issue_date": "2000-01-01"})
    assert api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["status"] == "identity_rejected"


def test_foreigner_proves_possession_with_the_issue_date(api):
    request = api.created(LUIS_CE)
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/identity", {"issue_date": CE_ISSUE_DATE})
    assert answer.json_body["status"] == "awaiting_payment"


def test_status_history_records_each_change(api):
    request = api.awaiting_payment()
    history = api.get(f"/v1/certificate-requests/{request['request_id']}").json_body["history"]
    assert [h["status"] for h in history] == ["pending_identity", "awaiting_payment"]


def test_cancel_before_payment(api):
    request = api.awaiting_payment()
    answer = api.post(f"/v1/certificate-requests/{request['request_id']}/cancel", {})
    assert answer.json_body["status"] == "cancelled"
    assert answer.json_body["payment"]["status"] == "expired"


def test_error_bodies_carry_a_request_id_and_no_personal_data(api):
    answer = api.post("/v1/certificate-requests", request_body(applicant(given_names="Ana 2")))
    text = json.dumps(answer.json_body)
    assert answer.json_body["error"]["request_id"]
    assert "Quispe" not in text and "45678912" not in text


def test_status_is_served_by_key_lookups_alone(api):
    from bench.dynamo_calls import counting_dynamodb_calls

    request = api.paid()
    with counting_dynamodb_calls() as calls:
        answer = api.get(f"/v1/certificate-requests/{request['request_id']}")
    assert answer.status_code == 200
    assert set(calls) == {"GetItem"} and sum(calls.values()) <= 2


def test_fields_can_be_checked_one_at_a_time(api):
    ok = api.post("/v1/certificate-requests/validation", {"applicant": {"given_names": "María José"}})
    assert ok.status_code == 200 and ok.json_body == {"valid": True}
    bad = api.post("/v1/certificate-requests/validation",
                   {"applicant": {"document_type": "DNI", "document_number": "1234"}})
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "document_number"
    future = api.post("/v1/certificate-requests/validation", {"applicant": {"birth_date": "2090-01-01"}})
    assert future.json_body["error"]["code"] == "date_in_future"

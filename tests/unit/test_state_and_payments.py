"""The request's state machine, the webhook signature, and the use cases over in-memory fakes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.errors import ConcurrentUpdate, InvalidTransition, ValidationError
from chalicelib.domain.matching import MatchThresholds, RegistryPerson
from chalicelib.domain.payments import (
    BadSignature,
    PaymentNotice,
    parse_amount,
    sign_webhook,
    verify_webhook_signature,
)
from chalicelib.domain.ports import IdentityRecord
from chalicelib.domain.requests import TRANSITIONS, Status
from chalicelib.services import certificate_requests as svc
from chalicelib.services.review import check_records
from chalicelib.services.time import FixedClock
from tests.factories import ANA, proof, request_body
from tests.fakes import FakeIdentityRegistry, FakePaymentProvider, FakePenitentiaryRegistry, FakeStore

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ANA_RECORD = IdentityRecord("DNI", "45678912", "Ana Lucía", "Quispe", "Mamani", date(1990, 4, 12),
                            issue_date=date(2019, 3, 15))


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    return {"store": FakeStore(), "clock": FixedClock(NOW), "identity": FakeIdentityRegistry(ANA_RECORD),
            "provider": FakePaymentProvider(), "rules": svc.RequestRules()}


def _awaiting(w):  # type: ignore[no-untyped-def]
    request, _ = svc.create_request(request_body(), owner="telegram:1", idempotency_key=None, store=w["store"],
                                    clock=w["clock"])
    return svc.confirm_identity(request.request_id, proof(ANA),
                                owner="telegram:1", store=w["store"], identity=w["identity"],
                                provider=w["provider"], clock=w["clock"], rules=w["rules"])


def _notice(request, w, **changes):  # type: ignore[no-untyped-def]
    order = w["store"].get_order(request.order_code)
    fields = {"provider": "local", "payment_id": "P1", "order_code": order.order_code, "amount": order.amount,
              "currency": order.currency, **changes}
    return PaymentNotice(**fields)


def test_terminal_states_have_no_way_out():
    for status in (Status.ISSUED, Status.EXPIRED, Status.CANCELLED, Status.IDENTITY_REJECTED):
        assert TRANSITIONS[status] == frozenset()


def test_a_request_cannot_skip_payment(world):
    request, _ = svc.create_request(request_body(), owner="telegram:1", idempotency_key=None,
                                    store=world["store"], clock=world["clock"])
    with pytest.raises(InvalidTransition):
        request.transition(Status.PAID, NOW, "x")


def test_every_change_emits_its_event_in_the_same_transaction(world):
    request = _awaiting(world)
    names = [e.name for e in world["store"].events]
    assert names == ["request.created", "request.payment_ordered"]
    assert request.history[-1].status is Status.AWAITING_PAYMENT


def test_stale_write_is_refused(world):
    request = _awaiting(world)
    stale = request  # version read before someone else's write
    svc.apply_payment(_notice(request, world), store=world["store"], clock=world["clock"])
    tx = world["store"].transaction()
    tx.put_request(stale)
    with pytest.raises(ConcurrentUpdate):
        tx.commit()


def test_payment_applies_once_and_the_record_check_approves(world):
    request = _awaiting(world)
    svc.apply_payment(_notice(request, world), store=world["store"], clock=world["clock"])
    svc.apply_payment(_notice(request, world), store=world["store"], clock=world["clock"])
    paid = world["store"].get_request(request.request_id)
    assert paid.status is Status.PAID
    approved = check_records(request.request_id, store=world["store"], registry=FakePenitentiaryRegistry(),
                             clock=world["clock"], thresholds=MatchThresholds())
    stored_version = world["store"].get_request(request.request_id).version
    check_records(request.request_id, store=world["store"], registry=FakePenitentiaryRegistry(),
                  clock=world["clock"], thresholds=MatchThresholds())
    assert approved.status is Status.APPROVED
    assert world["store"].get_request(request.request_id).version == stored_version  # the rerun wrote nothing
    assert [h.status for h in world["store"].get_request(request.request_id).history].count(Status.APPROVED) == 1


def test_record_check_with_a_homonym_queues_for_review(world):
    request = _awaiting(world)
    svc.apply_payment(_notice(request, world), store=world["store"], clock=world["clock"])
    registry = FakePenitentiaryRegistry(
        (RegistryPerson("SIP-1", "ANA LUCIA QUISPE MAMANI", None, None, date(1990, 4, 12)), ("Quispe", "Mamani")))
    checked = check_records(request.request_id, store=world["store"], registry=registry, clock=world["clock"],
                            thresholds=MatchThresholds())
    assert checked.status is Status.IN_REVIEW
    assert checked.candidates[0].record_id == "SIP-1"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"amount": Decimal("1.00")}, "amount_mismatch"),
    ({"currency": "USD"}, "amount_mismatch"),
    ({"order_code": "NOPE"}, "unknown_order"),
])
def test_unappliable_payments_are_kept_for_refund(world, changes, reason):
    request = _awaiting(world)
    with pytest.raises(svc.PaymentNotApplied) as error:
        svc.apply_payment(_notice(request, world, **changes), store=world["store"], clock=world["clock"])
    assert error.value.code == reason
    assert world["store"].get_payment("local", "P1").disposition == "refund_due"


def test_signature_round_trip_and_tampering():
    body = b'{"a":1}'
    header = sign_webhook("s3cret", 1_000, body)
    verify_webhook_signature("s3cret", header, body, now=1_100, tolerance_seconds=300)
    with pytest.raises(BadSignature):
        verify_webhook_signature("s3cret", header, b'{"a":2}', now=1_100, tolerance_seconds=300)
    with pytest.raises(BadSignature):
        verify_webhook_signature("other", header, body, now=1_100, tolerance_seconds=300)
    with pytest.raises(BadSignature) as stale:
        verify_webhook_signature("s3cret", header, body, now=1_301, tolerance_seconds=300)
    assert stale.value.code == "stale_signature"


@pytest.mark.parametrize("value", ["37.701", "-1", "abc", True, None, "NaN", "Infinity"])
def test_amounts_must_be_positive_with_two_decimals(value):
    with pytest.raises(ValidationError):
        parse_amount(value)


def test_a_database_failure_is_a_503_and_its_cause_is_logged_without_the_message(caplog):
    from botocore.exceptions import ClientError, ReadTimeoutError
    from pynamodb.exceptions import GetError

    from chalicelib.adapters.dynamo_store import translate_errors
    from chalicelib.domain.errors import ServiceUnavailable

    causes = [ReadTimeoutError(endpoint_url="http://db"),
              ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "key 4567"}}, "Get"),
              ValueError("no response attribute")]
    for cause in causes:
        @translate_errors
        def failing(cause=cause):  # type: ignore[no-untyped-def]
            raise GetError("failed", cause=cause)

        with pytest.raises(ServiceUnavailable):
            failing()
    logged = [r.cause for r in caplog.records if r.getMessage() == "database call failed"]
    assert logged == ["ReadTimeoutError", "ProvisionedThroughputExceededException", "ValueError"]
    assert all("4567" not in r.getMessage() for r in caplog.records)

"""Issue 13's rules over in-memory fakes: possession and expiry, the canonical name, refunds, which notice an event
becomes and for which channel, SES feedback, and countries as people type them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from chalicelib.domain.errors import NotFound, ValidationError
from chalicelib.domain.identity import validate_applicant_fields, validate_document
from chalicelib.domain.payments import PaymentNotice
from chalicelib.domain.ports import IdentityRecord
from chalicelib.domain.requests import Event, Result, Status
from chalicelib.services import certificate_requests as svc
from chalicelib.services import refunds
from chalicelib.services.email_feedback import handle_feedback, suppressed_by
from chalicelib.services.notifications import compose, email_message
from chalicelib.services.time import FixedClock
from tests.factories import ANA, applicant, check_character, request_body
from tests.fakes import FakeEmailSuppressions, FakeIdentityRegistry, FakePaymentProvider, FakeStore

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ANA_RECORD = IdentityRecord("DNI", "45678912", "Ana Lucía", "Quispe", "Mamani", date(1990, 4, 12),
                            issue_date=date(2019, 3, 15), expiry_date=date(2027, 3, 15))
OPERATOR = SimpleNamespace(subject="op-1", roles=("admin",))


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    return SimpleNamespace(store=FakeStore(), clock=FixedClock(NOW), identity=FakeIdentityRegistry(ANA_RECORD),
                           provider=FakePaymentProvider(), rules=svc.RequestRules())


def _created(w, person=None, owner="telegram:1"):  # type: ignore[no-untyped-def]
    request, _ = svc.create_request(request_body(person), owner=owner, idempotency_key=None, store=w.store,
                                    clock=w.clock)
    return request


def _confirm(w, request, body, owner="telegram:1"):  # type: ignore[no-untyped-def]
    return svc.confirm_identity(request.request_id, body, owner=owner, store=w.store, identity=w.identity,
                                provider=w.provider, clock=w.clock, rules=w.rules)


def test_possession_needs_the_issue_date_and_the_name_becomes_the_registrys(world):
    request = _created(world, applicant(given_names="ANA LUCIA", first_surname="quispe"))
    with pytest.raises(ValidationError) as missing:
        _confirm(world, request, {"verification_character": check_character(ANA)})
    assert (missing.value.field, missing.value.code) == ("issue_date", "missing_field")
    confirmed = _confirm(world, request, {"issue_date": "2019-03-15"})
    assert confirmed.status is Status.AWAITING_PAYMENT and confirmed.identity_proof == "issue_date"
    assert confirmed.applicant.full_name == "Ana Lucía Quispe Mamani"


def test_an_expired_document_closes_the_request_only_after_possession_is_proven(world):
    world.identity = FakeIdentityRegistry(replace(ANA_RECORD, expiry_date=date(2026, 11, 19)))
    request = _created(world)
    with pytest.raises(ValidationError) as wrong:
        _confirm(world, request, {"issue_date": "2019-03-16"})
    assert wrong.value.code == "identity_not_confirmed" and "expiry_date" not in wrong.value.details
    with pytest.raises(ValidationError) as expired:
        _confirm(world, request, {"issue_date": "2019-03-15"})
    assert expired.value.code == "document_expired" and expired.value.details == {"expiry_date": "2026-11-19"}
    closed = world.store.get_request(request.request_id)
    assert closed.status is Status.IDENTITY_REJECTED and closed.rejection == "document_expired"
    assert world.store.events[-1].data["actor"] == "telegram:1"  # answered in the chat: no second message there


def test_a_registry_without_the_issue_date_cannot_prove_possession(world):
    world.identity = FakeIdentityRegistry(replace(ANA_RECORD, issue_date=None))
    with pytest.raises(ValidationError) as refused:
        _confirm(world, _created(world), {"issue_date": "2019-03-15"})
    assert refused.value.code == "identity_not_confirmed"


def test_the_dni_check_character_is_a_typing_check_and_country_codes_must_exist():
    digit = check_character(ANA)
    assert validate_document("DNI", f"45678912-{digit}")[1] == "45678912"
    with pytest.raises(ValidationError) as typo:
        validate_document("DNI", "45678912-" + ("0" if digit != "0" else "1"))
    assert typo.value.code == "check_character_mismatch"
    with pytest.raises(ValidationError) as unknown:
        validate_applicant_fields({"nationality": "XYZ"}, date(2026, 11, 20))
    assert "unknown_country" in str([e.code for e in unknown.value.errors])
    validate_applicant_fields({"nationality": "vnm"}, date(2026, 11, 20))


def _paid_twice(w):  # type: ignore[no-untyped-def]
    request = _confirm(w, _created(w), {"issue_date": "2019-03-15"})
    order = w.store.get_order(request.order_code)
    first = PaymentNotice("local", "P1", order.order_code, order.amount, order.currency)
    svc.apply_payment(first, store=w.store, clock=w.clock)
    with pytest.raises(svc.PaymentNotApplied):
        svc.apply_payment(replace(first, payment_id="P2"), store=w.store, clock=w.clock)
    return request


def test_the_applied_payment_is_the_receipt_and_the_second_one_is_owed_back_on_the_request(world):
    request = _paid_twice(world)
    stored = world.store.get_request(request.request_id)
    assert stored.receipt["operation"] == "P1" and stored.receipt["amount"] == "37.70"
    assert [(r["operation"], r["state"], r["reason"]) for r in stored.refunds] == [("P2", "due", "order_already_paid")]
    assert [p.payment_id for p in refunds.open_refunds(store=world.store, limit=10)[0]] == ["P2"]


def test_a_refund_is_sent_once_and_confirmed_once(world):
    request = _paid_twice(world)
    sent = refunds.send_refund("local", "P2", operator=OPERATOR, store=world.store, provider=world.provider,
                               clock=world.clock)
    again = refunds.send_refund("local", "P2", operator=OPERATOR, store=world.store, provider=world.provider,
                                clock=world.clock)
    assert sent.refund_state == "requested" and again.refund_id == sent.refund_id
    assert [e.action for e in world.store.audit] == ["refund.send"]
    with pytest.raises(NotFound):
        refunds.confirm_refund("local", {"refund_id": "RF-x", "payment_id": "P2", "status": "refunded"},
                               store=world.store, clock=world.clock)
    done = refunds.confirm_refund("local", {"refund_id": sent.refund_id, "payment_id": "P2", "status": "refunded"},
                                  store=world.store, clock=world.clock)
    assert done.refund_state == "refunded" and refunds.open_refunds(store=world.store, limit=10) == ([], None)
    assert world.store.get_request(request.request_id).refunds[0]["state"] == "refunded"
    with pytest.raises(NotFound):  # an applied payment is never "refunded"
        refunds.send_refund("local", "P1", operator=OPERATOR, store=world.store, provider=world.provider,
                            clock=world.clock)


def test_each_event_becomes_the_notice_true_to_its_outcome(world):
    request = _paid_twice(world)
    paid = next(e for e in world.store.events if e.name == "request.paid")
    notice = compose(paid, world.store)
    assert notice.key == "paid" and notice.chat and notice.values["operation"] == "P1"
    refund = next(e for e in world.store.events if e.name == "payment.refund_due")
    assert compose(refund, world.store).values["reason"] == "la orden ya estaba pagada (es un pago duplicado)"
    stored = world.store.get_request(request.request_id)
    in_review = replace(stored, status=Status.IN_REVIEW, check_outcome="record_found")
    world.store.requests[stored.request_id] = in_review
    review = Event("e1", "request.review_required", stored.request_id, NOW)
    assert compose(review, world.store).key == "in_review.record_found"
    approved = Event("e2", "request.approved", stored.request_id, NOW)
    assert compose(approved, world.store) is None  # never in review: the certificate itself follows
    created = Event("e3", "request.created", stored.request_id, NOW)
    assert compose(created, world.store).chat is False  # the chat said so at once; the e-mail still does


def test_a_chat_only_request_hears_of_its_payment_and_certificate_from_the_events_alone(world, monkeypatch):
    """Without an e-mail address, request.paid and request.issued carry all the chat notice says: composing them
    reads nothing, and gives what reading the request gives (an event written before, without language and number,
    is composed from the request)."""
    request = _paid_twice(world)
    stored = world.store.get_request(request.request_id)
    approved, _ = stored.transition(Status.APPROVED, NOW, "record-check", result=Result.NO_RECORD)
    issued, issued_event = approved.transition(Status.ISSUED, NOW, "issuer")
    issued_event.data.update(document_id=approved.document_id, storage_key="certificates/x.pdf")
    paid = next(e for e in world.store.events if e.name == "request.paid")
    reads: list[str] = []
    read = world.store.get_request
    monkeypatch.setattr(world.store, "get_request", lambda rid: reads.append(rid) or read(rid))
    for event, then in ((paid, stored), (issued_event, issued)):  # each told while the request is as it says
        world.store.requests[request.request_id] = then
        told = compose(event, world.store)
        assert reads == []
        older = replace(event, data={k: v for k, v in event.data.items() if k not in ("language", "number")})
        assert compose(older, world.store) == told  # the same notice, from the request
        assert reads == [request.request_id]
        reads.clear()
    assert compose(paid, world.store).values["operation"] == "P1"
    # A voucher the person reported in their own chat was answered there: the event says so, no second message.
    own = replace(paid, data={**paid.data, "actor": paid.data["owner"]})
    assert compose(own, world.store).chat is False and reads == []
    assert compose(issued_event, world.store).certificate
    # With an address, the e-mail needs the request: it is read.
    with_email = replace(paid, data={**paid.data, "email": True})
    world.store.requests[request.request_id] = replace(
        issued, applicant=replace(issued.applicant, email="ana@example.pe"))
    assert compose(with_email, world.store).email == "ana@example.pe" and reads == [request.request_id]


def test_the_email_carries_the_tracking_link_and_no_chat_command(world):
    request = _paid_twice(world)
    notice = compose(next(e for e in world.store.events if e.name == "request.paid"), world.store)
    subject, body = email_message(notice, public_base_url="https://verifica.example.pe", bot_username="inpe_bot")
    assert subject == f"Solicitud {request.number}: comprobante de pago"
    assert f"https://verifica.example.pe/track/{request.request_id}" in body
    assert f"https://t.me/inpe_bot?start=r_{request.request_id}" in body
    assert "/estado" not in body and "Monto: S/ 37.70" in body


def test_ses_feedback_suppresses_hard_bounces_and_complaints_only():
    transient = {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "a@x"}]}
    assert suppressed_by({"notificationType": "Bounce", "bounce": transient}) == []
    suppressions = FakeEmailSuppressions()
    count = handle_feedback('{"eventType": "Complaint", "complaint": {"complainedRecipients": '
                            '[{"emailAddress": "B@X.org"}]}}', suppressions=suppressions, now=NOW)
    assert count == 1 and suppressions.is_suppressed("b@x.org")
    assert handle_feedback("not json", suppressions=suppressions, now=NOW) == 0


def test_countries_are_understood_by_name_or_code_in_either_language():
    from bot.countries import country_label, resolve_country

    assert [resolve_country(t) for t in ("Vietnam", "vnm", "VN", "Perú", "Estados Unidos", "united states")] == [
        "VNM", "VNM", "VNM", "PER", "USA", "USA"]
    assert resolve_country("Wakanda") == "WAKANDA"  # passed on for the API to refuse
    assert country_label("VNM", "es") == "Vietnam" and country_label("DEU", "en") == "Germany"


def test_a_refund_is_recorded_even_when_the_worker_moves_the_request_on_at_the_same_moment(world):
    """The operator's send and the worker's issuing race on the request item: the refund reads it again."""
    _paid_twice(world)
    store = world.store
    reads = {"count": 0}
    original = store.get_request

    def stale_once(request_id):  # type: ignore[no-untyped-def]
        request = original(request_id)
        reads["count"] += 1
        return replace(request, version=request.version - 1) if reads["count"] == 1 and request else request

    store.get_request = stale_once  # the first read is already out of date when it is written
    sent = refunds.send_refund("local", "P2", operator=OPERATOR, store=store, provider=world.provider,
                               clock=world.clock)
    assert sent.refund_state == "requested" and reads["count"] >= 2
    assert store.payments[("local", "P2")].refund_state == "requested"

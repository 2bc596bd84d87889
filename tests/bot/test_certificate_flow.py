"""The whole certificate conversation through the webhook handler, against the real API and DynamoDB Local."""

from __future__ import annotations

import re

from bot.texts import money, text
from tests.bot.harness import buttons
from tests.bot.steps import birth_date_typed, to_birth_date, to_identity, to_summary, to_terms
from tests.factories import ANA, issue_date_typed


def test_start_greets_in_the_persons_telegram_language_with_the_guide_and_the_terms(person):
    replies = person.send("/start")
    assert [m["text"] for m in replies] == [f"{text('welcome', 'es')}\n\n{text('guide', 'es', fee=money('37.70'))}",
                                            text("terms", "es")]
    assert "S/ 37.70" in replies[0]["text"]
    assert buttons(replies[1]) == [text("button.accept", "es"), text("button.decline", "es"),
                                   text("button.switch.en", "en")]


def test_an_english_client_reads_english_at_once_and_anyone_can_switch_on_the_terms(make_user):
    english = make_user(language_code="en-GB")
    assert english.send("/start")[1]["text"] == text("terms", "en")
    spanish = make_user(language_code="es")
    spanish.send("/start")
    replies = spanish.press(text("button.switch.en", "en"))
    assert replies[1]["text"] == text("terms", "en")
    assert buttons(replies[1])[-1] == text("button.switch.es", "es")


def test_the_summary_shows_every_detail_back_before_anything_is_registered(person, api_stack):
    from tests.bot.steps import api_requests

    replies = to_summary(person)
    summary = replies[-1]
    assert summary["text"].startswith("<b>Revise sus datos") or "Revise sus datos" in summary["text"]
    for shown in ("DNI 45678912", "Ana Lucía", "Quispe Mamani", "12/04/1990", text("summary.no_email", "es")):
        assert shown in summary["text"]
    assert buttons(summary) == [text("button.confirm", "es"), text("button.change", "es"),
                                text("button.add_email", "es")]
    assert api_requests(api_stack["api_base_url"], person) == []


def test_one_wrong_detail_is_asked_again_on_its_own_and_the_summary_returns(person, api_stack):
    from tests.bot.steps import api_requests

    to_birth_date(person, {**ANA, "first_surname": "Quispee"})
    person.send(birth_date_typed(ANA))
    assert person.press(text("button.change", "es"))[0]["text"] == text("ask.change", "es")
    assert person.press(text("change.first_surname", "es"))[0]["text"] == text("ask.first_surname", "es")
    summary = person.send("Quispe")[-1]
    assert "Quispe Mamani" in summary["text"] and "Quispee" not in summary["text"]
    assert buttons(summary)[0] == text("button.confirm", "es")
    created = person.press(text("button.confirm", "es"))
    assert created[0]["text"].startswith("Registramos su solicitud")
    assert len(api_requests(api_stack["api_base_url"], person)) == 1


def test_an_email_is_added_from_the_summary_and_a_wrong_one_is_refused_in_one_message(person):
    to_summary(person)
    assert person.press(text("button.add_email", "es"))[0]["text"] == text("ask.email", "es")
    replies = person.send("ana-at-example")
    assert [m["text"] for m in replies] == [text("err.email", "es")]
    assert buttons(replies[0]) == [text("button.no_email", "es")]
    summary = person.send("ana@example.org")[-1]
    assert "ana@example.org" in summary["text"] and buttons(summary)[-1] == text("button.change_email", "es")


def test_registering_asks_for_the_cards_issue_date_and_keeps_no_personal_data_in_the_chat(person, bot_settings):
    from bot.state import ConversationStore

    replies = to_identity(person)
    assert len(replies) == 1
    assert replies[0]["text"].startswith("Registramos su solicitud N.° <b>")
    assert replies[0]["text"].endswith(text("ask.issue_date.DNI", "es"))
    convo = ConversationStore(bot_settings).load(person.user["id"])
    assert convo.step == "identity" and convo.request_id
    assert convo.answers == {}


def test_the_payment_order_shows_the_registrys_canonical_name_whatever_was_typed(person):
    to_birth_date(person, {**ANA, "given_names": "ana lucia", "first_surname": "QUISPE", "second_surname": "mamani"})
    person.send(birth_date_typed(ANA))
    person.press(text("button.confirm", "es"))
    order = person.send(issue_date_typed(ANA))[-1]
    assert "a nombre de <b>Ana Lucía Quispe Mamani</b>" in order["text"]
    assert "ana lucia" not in order["text"] and "QUISPE" not in order["text"]
    code = re.search(r"Código: <b>([A-Z0-9]+)</b>", order["text"]).group(1)
    assert buttons(order) == [text("button.pay_online", "es"), text("button.paid_at_agent", "es"),
                              text("button.check_status", "es")]
    assert order["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(f"/pay/{code}")


def test_paying_online_through_the_signed_webhook_then_status_shows_the_receipt(person, api_stack):
    from infrastructure.local.payment_simulator import pay_online
    from tests.bot.steps import order_code, to_payment_order, wait_for_status

    order = to_payment_order(person)[-1]
    status, answer = pay_online(order_code(order), "37.70", "PEN", api_base=api_stack["api_base_url"])
    assert status == 200 and answer["disposition"] == "applied"
    reached = wait_for_status(api_stack["api_base_url"], person, {"approved", "issued"})
    replies = person.send("/estado")
    number = re.search(r"N\.° (\S+):", order["text"]).group(1)
    expected = text("status.summary", "es", number=number, status=text(f"status.{reached}", "es"))
    assert replies[0]["text"].startswith(expected)
    assert f"Pago: S/ 37.70, operación {answer['payment_id']}" in replies[0]["text"]


def test_paying_at_an_agent_answers_with_the_receipt(person, api_stack):
    from infrastructure.local.payment_simulator import pay_at_agent
    from tests.bot.steps import order_code, to_payment_order

    order = to_payment_order(person)[-1]
    operation, day = pay_at_agent(order_code(order), "37.70")
    assert person.press(text("button.paid_at_agent", "es"))[0]["text"] == text("ask.operation_number", "es")
    assert person.send(operation)[0]["text"] == text("ask.voucher_date", "es")
    replies = person.send(day.strftime("%d/%m/%Y"))
    assert len(replies) == 1
    number = re.search(r"N\.° (\S+):", order["text"]).group(1)
    assert replies[0]["text"].startswith(f"¡Pago recibido! Solicitud N.° <b>{number}</b>: S/ 37.70, operación "
                                         f"BN-{operation}")


def test_the_whole_conversation_reads_in_english_when_chosen(make_user):
    from tests.bot.steps import to_payment_order

    person = make_user(language_code="en", first_name="Ana")
    replies = to_payment_order(person, lang="en")
    assert "Payment order for request No." in replies[-1]["text"]
    english = person.bot_texts()
    assert text("ask.birth_date", "en") in english
    assert not any("Orden de pago" in t for t in english)


def test_a_foreigner_types_a_country_by_name_and_a_wrong_one_is_asked_again_on_its_own(person):
    to_terms(person)
    person.press(text("button.accept", "es"))
    person.press(text("button.foreigner", "es"))
    person.press(text("doc.PASSPORT", "es"))
    assert person.press(text("button.other_country", "es"))[0]["text"] == text("ask.country_code", "es")
    replies = person.send("Wakanda")
    assert [m["text"] for m in replies] == [text("err.nationality", "es")]
    assert person.send("XYZ")[0]["text"] == text("err.nationality", "es")  # three letters no country has
    assert person.send("Vietnam")[0]["text"] == text("ask.document_number", "es", document="Pasaporte")


def test_a_foreigner_applies_with_a_carne_de_extranjeria_and_its_issue_date(person):
    from tests.factories import CE_ISSUE_DATE, LUIS_CE

    to_terms(person)
    person.press(text("button.accept", "es"))
    assert person.press(text("button.foreigner", "es"))[0]["text"] == text("ask.document_type", "es")
    replies = person.press(text("doc.CE", "es"))
    assert replies[0]["text"] == text("ask.country", "es") and "Venezuela" in buttons(replies[0])
    assert person.press("Venezuela")[0]["text"] == text("ask.document_number", "es", document="Carné de Extranjería")
    for field in ("document_number", "given_names", "first_surname", "second_surname"):
        person.send(LUIS_CE[field])
    summary = person.send(birth_date_typed(LUIS_CE))[-1]
    assert "Venezuela" in summary["text"] and "Carné de Extranjería 001234567" in summary["text"]
    replies = person.press(text("button.confirm", "es"))
    assert replies[-1]["text"].endswith(text("ask.issue_date", "es", document="Carné de Extranjería"))
    year, month, day = CE_ISSUE_DATE.split("-")
    assert "Orden de pago" in person.send(f"{day}/{month}/{year}")[-1]["text"]


def test_an_expired_document_is_refused_naming_its_expiry_date(person):
    from tests.factories import ROSA

    to_identity(person, ROSA)
    replies = person.send(issue_date_typed(ROSA))
    assert [m["text"] for m in replies] == [text("identity.expired", "es", document="DNI", date="01/08/2024",
                                                 number=re.search(r"<b>(\S+)</b>", person.bot_texts()[-2]).group(1))]
    assert "identidad está vencido" in person.send("/estado")[0]["text"]


def test_an_issued_certificate_is_offered_and_sent_as_a_pdf(person, api_stack):
    from infrastructure.local.payment_simulator import pay_online
    from tests.bot.steps import order_code, to_payment_order, wait_for_status

    order = to_payment_order(person)[-1]
    pay_online(order_code(order), "37.70", "PEN", api_base=api_stack["api_base_url"])
    assert wait_for_status(api_stack["api_base_url"], person, {"issued"}, seconds=30) == "issued"
    replies = person.send("/estado")
    assert buttons(replies[0]) == [text("button.get_pdf", "es")]
    delivered = person.press(text("button.get_pdf", "es"))
    document = delivered[0]["document"]
    assert document["mime_type"] == "application/pdf" and document["file_name"].endswith(".pdf")
    content = person.http.get(f"/file/{document['file_id']}").content
    assert content.startswith(b"%PDF")

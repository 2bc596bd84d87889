"""Every answer the API refuses comes back as a localized message, and the person can correct it and go on."""

from __future__ import annotations

import re

from bot.texts import ntext, text
from tests.bot.steps import (
    birth_date_typed,
    order_code,
    to_birth_date,
    to_document_number,
    to_identity,
    to_payment_order,
)
from tests.factories import ANA, check_character, issue_date_typed


def _finish_after_birth_date(person, birth_date: str, lang: str = "es"):
    person.send(birth_date)
    return person.press(text("button.confirm", lang))


def test_a_dni_of_the_wrong_length_is_explained_once_and_asked_again_then_accepted(person):
    to_document_number(person)
    replies = person.send("1234")
    assert [m["text"] for m in replies] == [text("err.document_number.DNI", "es")]
    assert person.send(ANA["document_number"])[0]["text"] == text("ask.given_names", "es")
    for answer in (ANA["given_names"], ANA["first_surname"], ANA["second_surname"]):
        person.send(answer)
    replies = _finish_after_birth_date(person, birth_date_typed(ANA))
    assert replies[0]["text"].startswith("Registramos su solicitud")
    assert replies[0]["text"].endswith(text("ask.issue_date.DNI", "es"))


def test_a_dni_may_carry_its_check_character_and_a_wrong_one_is_a_typo_told_at_once(person):
    to_document_number(person)
    right = check_character(ANA)
    wrong = "0" if right != "0" else "1"
    assert [m["text"] for m in person.send(f"{ANA['document_number']}-{wrong}")] == [
        text("err.document_number.check_character_mismatch", "es")]
    assert person.send(f"{ANA['document_number']}-{right}")[0]["text"] == text("ask.given_names", "es")


def test_names_with_digits_are_refused_at_once_naming_the_field(person):
    to_document_number(person)
    person.send(ANA["document_number"])
    replies = person.send("Ana L7cía")
    assert [m["text"] for m in replies] == [text("err.name", "es", field="Nombres")]
    assert person.send(ANA["given_names"])[0]["text"] == text("ask.first_surname", "es")


def test_a_birth_date_in_the_future_is_refused_at_once_and_can_be_corrected(person):
    to_birth_date(person)
    replies = person.send("01/01/2090")
    assert [m["text"] for m in replies] == [text("err.birth_date.date_in_future", "es")]
    assert "12/04/1990" in person.send(birth_date_typed(ANA))[0]["text"]  # the summary
    assert person.press(text("button.confirm", "es"))[0]["text"].startswith("Registramos su solicitud")


def test_each_wrong_field_is_refused_where_it_is_typed_and_the_form_goes_on(person):
    to_document_number(person)
    assert person.send("12")[0]["text"] == text("err.document_number.DNI", "es")
    assert person.send(ANA["document_number"])[0]["text"] == text("ask.given_names", "es")
    assert person.send("Ana")[0]["text"] == text("ask.first_surname", "es")
    assert person.send("Qu1spe")[0]["text"] == text("err.name", "es", field="Primer apellido")
    assert person.send(ANA["first_surname"])[0]["text"] == text("ask.second_surname", "es")
    person.send(ANA["second_surname"])
    assert [m["text"] for m in person.send("31/02/1990")] == [text("err.birth_date", "es")]
    replies = _finish_after_birth_date(person, birth_date_typed(ANA))
    assert replies[0]["text"].startswith("Registramos su solicitud")


def test_a_wrong_issue_date_says_how_many_attempts_are_left_in_proper_plural_and_allows_a_retry(person):
    to_identity(person)
    replies = person.send("16/03/2019")
    assert [m["text"] for m in replies] == [ntext("identity.failed", 4, "es")]
    assert "Le quedan 4 intentos" in replies[0]["text"]
    for _ in range(3):
        last = person.send("16/03/2019")
    assert "Le queda 1 intento." in last[0]["text"]
    assert "Orden de pago" in person.send(issue_date_typed(ANA))[-1]["text"]


def test_an_unknown_voucher_is_refused_and_the_operation_number_asked_again(person, api_stack):
    from infrastructure.local.payment_simulator import pay_at_agent

    order = to_payment_order(person)[-1]
    person.press(text("button.paid_at_agent", "es"))
    person.send("99999999")
    replies = person.send("20/11/2026")
    assert [m["text"] for m in replies] == [text("err.voucher_not_found", "es")]
    operation, day = pay_at_agent(order_code(order), "37.70")
    person.send(operation)
    replies = person.send(day.strftime("%d/%m/%Y"))
    number = re.search(r"N\.° (\S+):", order["text"]).group(1)
    assert replies[0]["text"].startswith(f"¡Pago recibido! Solicitud N.° <b>{number}</b>")


def test_errors_are_shown_in_english_to_an_english_speaker(make_user):
    person = make_user(language_code="en")
    to_document_number(person, lang="en")
    replies = person.send("1234")
    assert [m["text"] for m in replies] == [text("err.document_number.DNI", "en")]


def test_typing_where_a_button_is_expected_points_to_the_buttons(person):
    from tests.bot.steps import to_terms

    to_terms(person)
    assert person.send("sí, acepto")[0]["text"] == text("use_buttons", "es")

"""The message catalogue: every text in Spanish and English, the push texts, and API errors as messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot import texts
from bot.errors import describe
from bot.texts import CATALOGUE, placeholders, text

ROOT = Path(__file__).resolve().parents[2]
PUSH_KEYS = ("push.paid", "push.in_review", "push.in_review.record_found", "push.approved", "push.issued",
             "push.expired", "push.revoked", "push.revoked.free", "push.refund_due", "push.refund_requested",
             "push.refunded", "push.refund_failed")


def test_every_key_exists_in_spanish_and_english_with_the_same_placeholders():
    assert set(CATALOGUE["es"]) == set(CATALOGUE["en"])
    for key in CATALOGUE["es"]:
        assert placeholders(CATALOGUE["es"][key]) == placeholders(CATALOGUE["en"][key]), key
        assert CATALOGUE["es"][key].strip() and CATALOGUE["en"][key].strip(), key


def test_spanish_and_english_texts_differ_where_they_are_prose():
    same = [k for k in CATALOGUE["es"] if CATALOGUE["es"][k] == CATALOGUE["en"][k]]
    assert set(same) <= {"button.switch.es", "button.switch.en", "doc.DNI", "doc.CE", "doc.PTP",
                         "button.no"}


def test_the_push_texts_are_plain_json_in_both_languages_with_the_request_number():
    data = json.loads((ROOT / "bot" / "push_texts.json").read_text(encoding="utf-8"))
    for key in PUSH_KEYS:
        assert set(data[key]) == {"es", "en"}
        assert placeholders(data[key]["es"]) == placeholders(data[key]["en"]), key
        assert "number" in placeholders(data[key]["es"]), key
        for lang in ("es", "en"):
            assert "<" not in data[key][lang]
            values = dict.fromkeys(placeholders(data[key][lang]), "x") | {"number": "2026-000123"}
            assert text(key, lang, **values) == data[key][lang].format(**values)


def test_plural_texts_follow_each_languages_plural_forms():
    from bot.texts import ntext

    assert "Le queda 1 intento." in ntext("identity.failed", 1, "es")
    assert "Le quedan 2 intentos." in ntext("identity.failed", 2, "es")
    assert "You have 1 attempt left." in ntext("identity.failed", 1, "en")
    assert "You have 0 attempts left." in ntext("identity.failed", 0, "en")
    assert "1 caso " in ntext("verify.result.cases", 1, "es", result="R")
    assert "3 cases " in ntext("verify.result.cases", 3, "en", result="R")


def test_the_push_texts_agree_with_the_copy_the_api_notifier_reads():
    copy = ROOT / "chalicelib" / "notification_texts.json"
    if copy.exists():  # the notifier keeps its own copy (Lambda cannot import bot/) and may have more keys
        notifier = json.loads(copy.read_text(encoding="utf-8"))
        ours = json.loads((ROOT / "bot" / "push_texts.json").read_text(encoding="utf-8"))
        assert {key: notifier.get(key) for key in ours} == ours


def test_the_catalogue_module_imports_without_telegram():
    code = "import sys, bot.texts; print('telegram' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_values_filled_into_texts_are_escaped_for_telegram_html():
    assert text("status.summary", "es", number="<b>x</b>", status="a & b") == \
        "Solicitud N.° <b>&lt;b&gt;x&lt;/b&gt;</b>\nEstado: <b>a &amp; b</b>"


def test_unknown_language_falls_back_to_spanish_and_language_codes_map_to_the_catalogue():
    assert text("help", "qu") == text("help", "es")
    assert texts.language_for("en-GB") == "en" and texts.language_for("es-PE") == "es"
    assert texts.language_for(None) == "es" and texts.language_for("pt") == "es"


def test_money_and_dates_read_as_in_peru():
    assert texts.money("37.7") == "S/ 37.70"
    assert texts.money("10", "USD") == "USD 10.00"
    assert texts.lima_datetime("2026-11-21T15:00:00+00:00", "es") == "21 nov 2026, 10:00"
    assert texts.lima_datetime("2026-11-21T15:00:00+00:00", "en") == "21 Nov 2026, 10:00"


def test_api_errors_become_the_most_specific_localized_message():
    assert describe({"code": "date_in_future", "field": "birth_date"}, "es") == \
        text("err.birth_date.date_in_future", "es")
    assert describe({"code": "invalid_field", "field": "document_number"}, "en", "DNI") == \
        text("err.document_number.DNI", "en")
    assert describe({"code": "invalid_field", "field": "document_number"}, "es", "CE") == \
        text("err.document_number", "es", document="Carné de Extranjería")
    assert describe({"code": "voucher_not_found", "field": "operation_number"}, "es") == \
        text("err.voucher_not_found", "es")
    assert describe({"code": "missing_field", "field": "second_surname"}, "es") == \
        text("err.second_surname.missing_field", "es")
    assert describe({"code": "invalid_field", "field": "first_surname"}, "en") == \
        text("err.name", "en", field="First surname")


def test_an_error_the_catalogue_does_not_know_still_names_the_field_in_the_persons_language():
    assert describe({"code": "something_new", "field": "document_type"}, "es") == \
        "El dato «tipo de documento» no fue aceptado. Revíselo e inténtelo de nuevo."
    assert describe({"code": "something_new", "field": "favourite_colour"}, "en") == \
        "The value for “favourite_colour” was not accepted. Please check it and try again."
    assert describe({"code": "something_new"}, "es") == text("err.generic", "es")

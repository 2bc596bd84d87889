"""The domain's refusals in the console's language: every message and f-string template raised under chalicelib/
(found with ``ast``) is in both catalogues, and a message is shown exact, filled from its template, or, unknown,
in English marked as such; the API's own JSON keeps the English message."""

from __future__ import annotations

import ast

import pytest

from chalicelib.console import i18n
from chalicelib.domain.errors import ValidationError
from infrastructure.local import console_messages
from infrastructure.local.console_messages import Template

FOUND = console_messages.scan()


def test_the_scan_finds_the_literal_messages_and_the_f_string_templates() -> None:
    literal = next(text for text in FOUND if text == "Choose a CSV file.")
    assert not isinstance(literal, Template) and FOUND[literal][0].startswith("chalicelib/")
    templates = {text for text in FOUND if isinstance(text, Template)}
    assert "At most {max_rows} rows per import." in templates
    assert "The {kind} number must be {expected}." in templates
    assert "The CSV header lacks columns: {missing}." in templates
    assert len(FOUND) > 300 and len(templates) > 40


def test_placeholders_are_named_after_what_the_f_string_prints() -> None:
    def named(source: str) -> str:
        node = ast.parse(source, mode="eval").body
        assert isinstance(node, ast.JoinedStr)
        return console_messages.template(node)

    assert named('f"At most {MAX_ROWS} rows; {request.status.value}; {len(errors)} {x + 1}."') == \
        "At most {max_rows} rows; {status}; {errors} {x}."
    assert named("""f"Lacks {', '.join(sorted(known))}; {first['index']}; {{literal}}; {a.b} {c.b}." """.strip()) \
        == "Lacks {known}; {index}; {{literal}}; {b} {b_2}."


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_the_source_raises_is_in_both_catalogues(lang: str) -> None:
    known = i18n.domain_catalogue(lang)
    missing = sorted(text for text in FOUND if text not in known)
    assert not missing, f"{len(missing)} missing from {lang}: python -m infrastructure.local.console_messages"


def test_each_template_keeps_its_placeholders_in_both_languages_and_english_is_the_key_itself() -> None:
    es, en = i18n.domain_catalogue("es"), i18n.domain_catalogue("en")
    for text in FOUND:
        assert en[text] == text
        if isinstance(text, Template):
            assert i18n.placeholders(es[text]) == i18n.placeholders(text), text
            i18n.template_pattern(text)  # compiles
        else:
            assert es[text] != text or text in {"Expected csv."}, f"untranslated: {text}"


def test_templates_are_in_their_own_msgctxt_and_literals_with_braces_stay_exact() -> None:
    exact, templates = i18n.domain_templates("es")
    assert 'Expected {"active": true|false}.' in exact
    assert i18n.domain_text("es", 'Expected {"active": true|false}.') == \
        i18n.Shown('Se esperaba {"active": true|false}.', "es")
    assert len(templates) == sum(1 for text in FOUND if isinstance(text, Template))


def test_an_exact_message_is_translated() -> None:
    assert i18n.domain_text("es", "Choose a CSV file.") == i18n.Shown("Seleccione un archivo CSV.", "es")
    assert i18n.domain_text("es", "Expected a case file number like 00123-2020-0-1801-JR-PE-01.") == \
        i18n.Shown("Ingrese un número de expediente como 00123-2020-0-1801-JR-PE-01.", "es")
    assert i18n.domain_text("en", "Choose a CSV file.") == i18n.Shown("Choose a CSV file.", "en")


def test_a_templated_message_carries_its_values_over() -> None:
    assert i18n.domain_text("es", "At most 5000 rows per import.").text == "Como máximo 5000 filas por importación."
    assert i18n.domain_text("es", "The CSV header lacks columns: case_file, court.").text == \
        "A la cabecera del CSV le faltan columnas: case_file, court."
    assert i18n.domain_text("es", "Expected a whole number from 1 to 31.").text == \
        "Ingrese un número entero de 1 a 31."
    # A value the catalogue knows reads in Spanish too; a nested message is translated as a message.
    assert i18n.domain_text("es", "The DNI number must be 8 digits.").text == "El número de DNI debe tener 8 dígitos."
    assert i18n.domain_text("es", "Item 2: Choose a CSV file. Nothing was created.").text == \
        "Elemento 2: Seleccione un archivo CSV. No se creó nada."
    assert i18n.domain_text("en", "At most 5000 rows per import.") == i18n.Shown("At most 5000 rows per import.", "en")


def test_the_most_specific_template_wins() -> None:
    # "The same person and case file as line {seen}." also matches "The same {what} as line {seen}.".
    assert i18n.domain_text("es", "The same person and case file as line 4.").text == \
        "La misma persona y el mismo expediente que en la línea 4."
    assert i18n.domain_text("es", "The same warrant as line 4.").text == \
        "Dato repetido (requisitoria): ya figura en la línea 4."


def test_an_unknown_message_stays_english_and_says_so() -> None:
    assert i18n.domain_text("es", "A message nobody wrote down.") == i18n.Shown("A message nobody wrote down.", "en")
    # A text that already is the console's own (a form's note) is not marked English.
    own = i18n.translator("es")("review.note_required")
    assert i18n.domain_text("es", own) == i18n.Shown(own, "es")


def test_the_page_marks_english_only_on_an_untranslated_message() -> None:
    from types import SimpleNamespace

    from chalicelib.console.render import environment

    macros = environment().get_template("_macros.html")

    def summary(lang: str, message: str) -> str:
        module = macros.make_module({"lang": lang, "t": i18n.translator(lang), "has": lambda key: False,
                                     "tm": lambda text: i18n.domain_text(lang, text), "ctx": SimpleNamespace()})
        return str(module.errors_summary({"file": message}))

    spanish = summary("es", "Choose a CSV file.")
    assert "<span>Seleccione un archivo CSV.</span>" in spanish and 'lang="en"' not in spanish
    assert '<span lang="en">Not in the catalogue.</span>' in summary("es", "Not in the catalogue.")
    english = summary("en", "Choose a CSV file.")
    assert "<span>Choose a CSV file.</span>" in english and "lang=" not in english


def test_the_api_keeps_the_english_message() -> None:
    assert ValidationError("Choose a CSV file.", field="file").to_dict()["message"] == "Choose a CSV file."



def test_the_jobs_error_report_is_downloaded_in_the_consoles_language() -> None:
    from chalicelib.console.routes_admin import translated_report
    from chalicelib.domain.jobs import report_csv

    stored = report_csv([{"line": 3, "field": "case_file", "code": "invalid_field",
                          "message": "Expected a case file number like 00123-2020-0-1801-JR-PE-01."},
                         {"line": 4, "field": "", "code": "x", "message": "Not in the catalogue."}])
    spanish = translated_report(stored, "es").decode("utf-8-sig").splitlines()
    assert spanish == ["line,field,code,message",
                       "3,case_file,invalid_field,Ingrese un número de expediente como 00123-2020-0-1801-JR-PE-01.",
                       "4,,x,Not in the catalogue."]

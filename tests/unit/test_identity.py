"""Identity documents and applicant data: formats, the DNI check character, names, dates."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.errors import FieldErrors, ValidationError
from chalicelib.domain.identity import (
    DocumentType,
    clean_name,
    dni_check_characters,
    is_valid_dni_check_character,
    validate_applicant,
    validate_document,
)
from tests.factories import ANA, LUIS_CE

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(("number", "digit", "letter"), [
    # 10117410-2: python-stdnum's documented example (stdnum.pe.cui); its letter follows from the same index.
    ("10117410", "2", "G"),
    # Worked by hand: 1*3+2*2+3*7+4*6+5*5+6*4+7*3+8*2 = 138; 138 mod 11 = 6 → digit "1", letter "E".
    ("12345678", "1", "E"),
    # Sum 0 → remainder 0 → "6" / "K" (11 - 0 = 11 wraps to index 0 in the published tables).
    ("00000000", "6", "K"),
    # 1*3 = 3 → remainder 3 → "3" / "H".
    ("10000000", "3", "H"),
    # 9*2 = 18 → remainder 7 → "0" / "D".
    ("00000009", "0", "D"),
    # The third weight is 7: 1*7 = 7 → "0" / "D".
    ("00100000", "0", "D"),
    # 2*3 = 6 → "1" / "E"; 5*3 = 15 → 4 → "2" / "G"; 4*3 = 12 → 1 → "5" / "J".
    ("20000000", "1", "E"),
    ("50000000", "2", "G"),
    ("40000000", "5", "J"),
])
def test_dni_check_character_known_cases(number, digit, letter):
    assert dni_check_characters(number) == (digit, letter)
    assert is_valid_dni_check_character(number, digit)
    assert is_valid_dni_check_character(number, letter.lower())


def test_dni_check_character_rejects_every_other_character():
    wrong = [c for c in "0123456789ABCDEFGHIJK" if c not in dni_check_characters("45678912")]
    assert len(wrong) == 19
    assert not any(is_valid_dni_check_character("45678912", c) for c in wrong)


def test_dni_must_be_eight_digits():
    with pytest.raises(ValidationError) as error:
        validate_document("DNI", "1234567")
    assert error.value.field == "document_number"
    assert validate_document("DNI", "45.678.912") == (DocumentType.DNI, "45678912")


@pytest.mark.parametrize(("kind", "number", "ok"), [
    ("CE", "001234567", True), ("CE", "1234567890123", False), ("CE", "12-34", False),
    ("PTP", "123456789", True), ("PASSPORT", "ab1234567", True), ("PASSPORT", "AB12345678", False),
])
def test_foreign_document_formats(kind, number, ok):
    if ok:
        assert validate_document(kind, number)[0] == DocumentType(kind)
    else:
        with pytest.raises(ValidationError):
            validate_document(kind, number)


def test_unknown_document_type_names_the_field():
    with pytest.raises(ValidationError) as error:
        validate_document("RUC", "20123456789")
    assert error.value.field == "document_type" and error.value.code == "unknown_document_type"


@pytest.mark.parametrize("name", ["María José", "Ñañez Güémez", "O'Higgins", "Pérez-Alvarado", "Nguyễn Thị",
                                  "Ольга"])
def test_names_accept_accents_apostrophes_hyphens_and_other_scripts(name):
    assert clean_name(name, "given_names") == name


@pytest.mark.parametrize("name", ["Ana2", "R2-D2", "Ana <b>", "@@", "x" * 61])
def test_names_refuse_digits_and_symbols(name):
    with pytest.raises(ValidationError) as error:
        clean_name(name, "given_names")
    assert error.value.field == "given_names"


def test_valid_applicant_is_normalised():
    applicant = validate_applicant({**ANA, "given_names": "  Ana   Lucía ", "nationality": "per"}, TODAY)
    assert applicant.given_names == "Ana Lucía" and applicant.nationality == "PER"
    assert applicant.full_name == "Ana Lucía Quispe Mamani"


def test_every_wrong_field_is_reported():
    with pytest.raises(FieldErrors) as error:
        validate_applicant({**ANA, "given_names": "Ana1", "birth_date": "2030-01-01"}, TODAY)
    fields = {e["field"] for e in error.value.details["errors"]}
    assert fields == {"given_names", "birth_date"}


def test_minor_is_refused():
    with pytest.raises(FieldErrors) as error:
        validate_applicant({**ANA, "birth_date": "2010-01-01"}, TODAY)
    assert error.value.code == "not_adult"


def test_eighteenth_birthday_is_adult():
    assert validate_applicant({**ANA, "birth_date": "2008-11-20"}, TODAY).birth_date == date(2008, 11, 20)


def test_impossible_date_is_refused():
    with pytest.raises(FieldErrors) as error:
        validate_applicant({**ANA, "birth_date": "1990-02-30"}, TODAY)
    assert error.value.field == "birth_date"


def test_dni_belongs_to_peruvians_and_foreigners_use_their_documents():
    with pytest.raises(FieldErrors) as error:
        validate_applicant({**ANA, "nationality": "VEN"}, TODAY)
    assert error.value.code == "document_nationality"
    with pytest.raises(FieldErrors):
        validate_applicant({**LUIS_CE, "nationality": "PER"}, TODAY)


def test_foreigner_may_have_one_surname():
    applicant = validate_applicant({**LUIS_CE, "second_surname": ""}, TODAY)
    assert applicant.second_surname == "" and applicant.is_foreigner


def test_email_is_optional_but_checked():
    assert validate_applicant({**ANA, "email": "ana@example.org"}, TODAY).email == "ana@example.org"
    with pytest.raises(FieldErrors) as error:
        validate_applicant({**ANA, "email": "not-an-email"}, TODAY)
    assert error.value.field == "email"

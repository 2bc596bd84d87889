"""Factory functions for test data: valid by default, changed by keyword."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.identity import dni_check_characters

# Fictitious people of infrastructure/local/seed/identity.csv
ANA = {"nationality": "PER", "document_type": "DNI", "document_number": "45678912", "given_names": "Ana Lucía",
       "first_surname": "Quispe", "second_surname": "Mamani", "birth_date": "1990-04-12"}
JOSE = {"nationality": "PER", "document_type": "DNI", "document_number": "41234567", "given_names": "José Luis",
        "first_surname": "Ramírez", "second_surname": "González", "birth_date": "1985-07-30"}
CARLOS = {"nationality": "PER", "document_type": "DNI", "document_number": "40000005",
          "given_names": "Carlos Alberto", "first_surname": "Torres", "second_surname": "Vega",
          "birth_date": "1979-01-20"}
LUIS_CE = {"nationality": "VEN", "document_type": "CE", "document_number": "001234567",
           "given_names": "Luis Alberto", "first_surname": "Pérez", "second_surname": "Rodríguez",
           "birth_date": "1992-12-01"}
CE_ISSUE_DATE = "2022-01-10"


def applicant(**changes: Any) -> dict[str, Any]:
    return {**ANA, **changes}


def request_body(person: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    return {"applicant": person or ANA, "terms_accepted": True, "language": "es", **changes}


def check_character(person: dict[str, Any]) -> str:
    return dni_check_characters(person["document_number"])[0]

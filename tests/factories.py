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
# The cards' issue dates in the seeded identity registry: what proves a person holds the card.
ISSUE_DATES = {"45678912": "2019-03-15", "41234567": "2018-11-02", "40000005": "2025-05-12",
               "47001234": "2021-06-20", "70112233": "2016-08-01", "001234567": "2022-01-10",
               "123456789": "2021-02-15", "AB1234567": "2020-09-09", "44556677": "2018-04-04",
               "46677889": "2020-02-02"}
# A seeded person whose DNI has expired (the identity check refuses her once she proves she holds it).
ROSA = {"nationality": "PER", "document_type": "DNI", "document_number": "70112233", "given_names": "Rosa Elvira",
        "first_surname": "de la Cruz", "second_surname": "Huamán", "birth_date": "1972-02-14"}
ROSA_EXPIRY = "2024-08-01"


def applicant(**changes: Any) -> dict[str, Any]:
    return {**ANA, **changes}


def request_body(person: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    return {"applicant": person or ANA, "terms_accepted": True, "language": "es", **changes}


def check_character(person: dict[str, Any]) -> str:
    return dni_check_characters(person["document_number"])[0]


def proof(person: dict[str, Any]) -> dict[str, str]:
    """The identity step's answer: the card's issue date, as the registry holds it."""
    return {"issue_date": ISSUE_DATES[person["document_number"]]}


def issue_date_typed(person: dict[str, Any]) -> str:
    year, month, day = ISSUE_DATES[person["document_number"]].split("-")
    return f"{day}/{month}/{year}"


# A synthetic penitentiary registry with Peru's common surnames at roughly their frequency (Quispe first), for the
# record check's blocking test and bench/record_check.py.
SURNAMES = (["Quispe"] * 12 + ["Flores"] * 8 + ["Sánchez"] * 6 + ["Rodríguez"] * 6 + ["García"] * 6 +
            ["Mamani"] * 6 + ["Huamán"] * 5 + ["Rojas"] * 5 + ["Vásquez"] * 4 + ["Chávez"] * 4 +
            ["Ramírez", "Torres", "Díaz", "Mendoza", "Condori", "Castillo", "Espinoza", "Pérez", "Gonzales",
             "Ccori", "Cruz", "Gutiérrez", "Vargas", "Salazar", "Paredes", "Ríos", "Apaza", "Ticona", "Cusi",
             "Huanca", "Yupanqui", "Pari", "Llanos", "Villanueva", "Cárdenas", "Aguilar", "Medina", "Ortiz"])
GIVEN = ["Juan", "José", "Luis", "Carlos", "Jorge", "Miguel", "Pedro", "Víctor", "César", "Julio", "María", "Rosa",
         "Ana", "Carmen", "Luz", "Juana", "Elena", "Gladys", "Norma", "Flor", "Alberto", "Manuel", "Rocío", "Diana"]


def synthetic_registry(size: int, seed: int = 17) -> list[tuple[Any, tuple[str, ...]]]:
    """``size`` registry people (RegistryPerson, surnames), the same people first whatever the size; one in twenty
    without a birth date, as old records are."""
    import random
    from datetime import date, timedelta

    from chalicelib.domain.matching import RegistryPerson

    rng = random.Random(seed)
    people = []
    for i in range(size):
        first, second = rng.choice(SURNAMES), rng.choice(SURNAMES)
        given = " ".join(rng.sample(GIVEN, rng.choice((1, 2))))
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))
        people.append((RegistryPerson(f"SIP-S{i:06d}", f"{given} {first} {second}".upper(), "DNI",
                                      f"{10_000_000 + i:08d}", None if i % 20 == 19 else born,
                                      ({"case_file": f"{i:05d}-2015", "offence": "Robo"},)), (first, second)))
    return people

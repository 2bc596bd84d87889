"""The record check reads small blocks of the registry (surname and birth date, both surnames and a given name,
the whole name) and scores what the index holds before reading any full record: the same outcomes as scoring the
whole registry, and reads that do not grow with it."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.identity import Applicant, DocumentType
from chalicelib.domain.matching import MatchThresholds, RegistryPerson, match_applicant
from chalicelib.services.review import registry_match
from tests.factories import synthetic_registry
from tests.fakes import FakePenitentiaryRegistry
from tests.unit.test_matching import BORN, LABELLED, THRESHOLDS

# The registry's surnames for each labelled registry name (the registry files people by them).
REGISTRY_SURNAMES = {
    "JOSE LUIS RAMIREZ GONZALES": ("Ramirez", "Gonzales"), "Ramírez González, José Luis": ("Ramírez", "González"),
    "Maria Carmen Cruz Huaman": ("Cruz", "Huaman"), "Juan Carlos Vasquez Quispe": ("Vasquez", "Quispe"),
    "Luz Marina Nahui Ccori": ("Nahui", "Ccori"), "Miguel Angel Chaves Rios": ("Chaves", "Rios"),
    "Rosa Elena Mamani Condory": ("Mamani", "Condory"), "Pablo Pedro Mendoza Rios": ("Mendoza", "Rios"),
    "Juan Pérez Gómez": ("Pérez", "Gómez"), "Ana María Quispe Mamani": ("Quispe", "Mamani"),
    "Carlos Torres": ("Torres",), "Luis Fernando Pérez Rodríguez": ("Pérez", "Rodríguez"),
    "Fernando Nuñez Gomez": ("Nuñez", "Gomez"), "Juan Rosas Quispe Mamani": ("Quispe", "Mamani"),
    "Rosa Cruz Huamán": ("Cruz", "Huamán"), "Jorge Luis Salas Pardo": ("Salas", "Pardo"),
}


def _applicant(full: str, born: date, document_number: str = "00000000") -> Applicant:
    """Given names, then two surnames (particles stay with the surname they precede)."""
    words = full.split()
    surnames: list[list[str]] = []
    for word in reversed(words):
        if surnames and surnames[-1] and word.lower() in ("de", "la", "del") and len(surnames) <= 2:
            surnames[-1].insert(0, word)
        elif len(surnames) < 2:
            surnames.append([word])
        else:
            break
    taken = sum(len(s) for s in surnames)
    second, first = (" ".join(s) for s in surnames)
    return Applicant("PER", DocumentType.DNI, document_number, " ".join(words[:len(words) - taken]), first, second,
                     born)


def _outcome(result):
    return result.outcome, [(c.record_id, c.score, c.kind) for c in result.candidates]


@pytest.mark.parametrize("registered_birth", [BORN, None, date(1950, 1, 1)], ids=["same", "none", "other"])
def test_labelled_pairs_get_the_same_outcome_through_the_blocks(registered_birth):
    for applicant_name, registry_name, _ in LABELLED:
        person = RegistryPerson("R1", registry_name, None, None, registered_birth, ({"offence": "Robo"},))
        registry = FakePenitentiaryRegistry((person, REGISTRY_SURNAMES[registry_name]))
        applicant = _applicant(applicant_name, BORN)
        expected = match_applicant(applicant.full_name, "00000000", BORN, [person], THRESHOLDS)
        result, records = registry_match(applicant, registry, THRESHOLDS)
        assert _outcome(result) == _outcome(expected), (applicant_name, registry_name)
        assert all(records[c.record_id].cases == person.cases for c in result.candidates)


def test_identical_name_with_another_birth_date_is_found_and_a_similar_one_is_not():
    identical = RegistryPerson("R2", "José Luis Ramírez González", None, None, date(1950, 1, 1))
    similar = RegistryPerson("R1", "Jose Luis Ramirez Gonzales", None, None, date(1950, 1, 1))
    registry = FakePenitentiaryRegistry((similar, ("Ramirez", "Gonzales")), (identical, ("Ramírez", "González")))
    result, _ = registry_match(_applicant("José Luis Ramírez González", BORN), registry, THRESHOLDS)
    assert [c.record_id for c in result.candidates] == ["R2"]


@pytest.mark.parametrize(("applicant_name", "registry_name", "surnames"), [
    ("Ana Quispe Mamani", "JUANA QUISPE MAMANI", ("Quispe", "Mamani")),  # a given name that sounds different
    ("Rosa Quispe Mamani", "ROSA QUISPE HUAMÁN", ("Quispe", "Huamán")),  # a surname that sounds different
])
def test_a_similar_name_without_a_birth_date_is_found(applicant_name, registry_name, surnames):
    person = RegistryPerson("R1", registry_name, None, None, None)
    registry = FakePenitentiaryRegistry((person, surnames))
    applicant = _applicant(applicant_name, BORN)
    expected = match_applicant(applicant.full_name, "00000000", BORN, [person], THRESHOLDS)
    result, _ = registry_match(applicant, registry, THRESHOLDS)
    assert expected.candidates and _outcome(result) == _outcome(expected)


def _applicants(people: list[tuple[RegistryPerson, tuple[str, ...]]]) -> list[Applicant]:
    """Homonyms of registry people (their name and birth date, another document), the same with one given name
    changed, the same name born another day, and the registry people themselves (same document)."""
    chosen = [p for p, _ in people[:400:10]]
    applicants = []
    for i, person in enumerate(chosen):
        born = person.birth_date or BORN
        base = _applicant(person.full_name.title(), born, f"7{i:07d}")
        applicants.append(base)
        applicants.append(Applicant("PER", DocumentType.DNI, f"6{i:07d}", "Teodoro", base.first_surname,
                                    base.second_surname, born))
        applicants.append(Applicant("PER", DocumentType.DNI, f"5{i:07d}", base.given_names, base.first_surname,
                                    base.second_surname, date(2001, 2, 3)))
        applicants.append(_applicant(person.full_name.title(), born, person.document_number or ""))
    return applicants


def test_on_a_synthetic_registry_the_blocked_check_finds_what_scoring_everyone_finds():
    people = synthetic_registry(1500)
    registry = FakePenitentiaryRegistry(*people)
    everyone = [p for p, _ in people]
    outcomes = set()
    for applicant in _applicants(people):
        expected = match_applicant(applicant.full_name, applicant.document_number, applicant.birth_date, everyone,
                                   THRESHOLDS)
        result, _ = registry_match(applicant, registry, THRESHOLDS)
        assert _outcome(result) == _outcome(expected), applicant.full_name
        outcomes.add(result.outcome)
    assert len(outcomes) == 3  # no record, possible match and record found all occur


def test_reads_grow_at_most_twofold_when_the_registry_grows_tenfold():
    """Read units as DynamoDB charges them; full records are read for the candidates only (true homonyms, who do
    grow with the registry)."""
    def reads(size: int) -> int:
        people = synthetic_registry(size)
        registry = FakePenitentiaryRegistry(*people)
        candidates = 0
        for applicant in _applicants(people[:400]):
            result, _ = registry_match(applicant, registry, THRESHOLDS)
            candidates += sum(c.record_id not in {p.record_id for p in registry.by_document_number(
                applicant.document_number)} for c in result.candidates)
        assert registry.records_read <= candidates
        return registry.read_units - registry.records_read

    assert reads(10_000) <= 2 * reads(1_000)


def test_a_clean_applicant_reads_no_full_record():
    registry = FakePenitentiaryRegistry(*synthetic_registry(2_000))
    result, _ = registry_match(_applicant("Teodora Quispe Mamani", date(1999, 12, 31)), registry,
                               MatchThresholds())
    assert result.candidates == () and registry.records_read == 0

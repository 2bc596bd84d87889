"""Name matching against the penitentiary registry, and the thresholds justified by a labelled set."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.matching import (
    MatchThresholds,
    Outcome,
    RegistryPerson,
    blocking_keys,
    is_partial_name,
    match_applicant,
    name_similarity,
    normalise_name,
)
from chalicelib.settings import Settings

SETTINGS = Settings()
THRESHOLDS = MatchThresholds(SETTINGS.match_name_threshold, SETTINGS.match_exact_name_threshold)
BORN = date(1985, 7, 30)

# (applicant, registry name, label). "same": the same person written differently, or a homonym a human
# must look at; "different": different people whose names merely share parts.
LABELLED = [
    ("José Luis Ramírez González", "JOSE LUIS RAMIREZ GONZALES", "same"),
    ("José Luis Ramírez González", "Ramírez González, José Luis", "same"),
    ("María del Carmen de la Cruz Huamán", "Maria Carmen Cruz Huaman", "same"),
    ("Juan Carlos Vásquez Quispe", "Juan Carlos Vasquez Quispe", "same"),
    ("Luz Marina Ñahui Ccori", "Luz Marina Nahui Ccori", "same"),
    ("Miguel Ángel Chávez Ríos", "Miguel Angel Chaves Rios", "same"),
    ("Rosa Elena Mamani Condori", "Rosa Elena Mamani Condory", "same"),
    ("Pedro Pablo Mendoza Ríos", "Pablo Pedro Mendoza Rios", "same"),
    ("Juan Pérez García", "Juan Pérez Gómez", "different"),
    ("Ana Lucía Quispe Mamani", "Ana María Quispe Mamani", "different"),
    ("Carlos Alberto Torres Vega", "Carlos Torres", "same"),  # partial name, same birth date: a human looks
    ("Luis Alberto Pérez Rodríguez", "Luis Fernando Pérez Rodríguez", "different"),
    ("María Fernanda Ñañez Güémez", "Fernando Nuñez Gomez", "different"),
    ("Juana Rosa Quispe Mamani", "Juan Rosas Quispe Mamani", "same"),  # one typo apart: a human decides
    ("Rosa Elvira de la Cruz Huamán", "Rosa Cruz Huamán", "same"),  # partial, same birth date
    ("Jorge Luis Salazar Paredes", "Jorge Luis Salas Pardo", "different"),
]


def test_normalisation_drops_accents_case_particles_and_order():
    assert normalise_name("María del Carmen DE LA Cruz") == normalise_name("cruz carmen maria")
    assert normalise_name("Ñañez Güémez") == "gueemez nanez" or normalise_name("Ñañez Güémez") == "guemez nanez"


def test_labelled_pairs_are_classified_as_labelled_with_the_default_thresholds():
    wrong = []
    for applicant, registry, label in LABELLED:
        person = RegistryPerson("R1", registry, None, None, BORN)
        result = match_applicant(applicant, "00000000", BORN, [person], THRESHOLDS)
        predicted = "same" if result.outcome is Outcome.POSSIBLE_MATCH else "different"
        if predicted != label:
            wrong.append((applicant, registry, round(name_similarity(applicant, registry))))
    assert wrong == []


def test_thresholds_are_neither_too_loose_nor_too_strict():
    """Every full-name "same" pair scores above every "different" pair: the threshold sits in the gap."""
    same = [name_similarity(a, b) for a, b, label in LABELLED if label == "same" and not is_partial_name(a, b)]
    different = [name_similarity(a, b) for a, b, label in LABELLED if label == "different"]
    assert min(same) >= THRESHOLDS.name > max(different)


def test_partial_name_needs_the_same_birth_date():
    person = RegistryPerson("R1", "Carlos Torres", None, None, date(1960, 1, 1))
    result = match_applicant("Carlos Alberto Torres Vega", "40000005", BORN, [person], THRESHOLDS)
    assert result.outcome is Outcome.NO_RECORD


def test_same_document_number_is_a_record_found():
    person = RegistryPerson("R1", "Otro Nombre", "DNI", "40000005", None)
    result = match_applicant("Carlos Torres Vega", "40000005", BORN, [person], THRESHOLDS)
    assert result.outcome is Outcome.RECORD_FOUND
    assert result.candidates[0].reasons == ("same document number",)


def test_homonym_with_different_birth_date_is_not_a_match_unless_the_name_is_identical():
    similar = RegistryPerson("R1", "Jose Luis Ramirez Gonzales", None, None, date(1950, 1, 1))
    identical = RegistryPerson("R2", "José Luis Ramírez González", None, None, date(1950, 1, 1))
    result = match_applicant("José Luis Ramírez González", "41234567", BORN, [similar, identical], THRESHOLDS)
    assert [c.record_id for c in result.candidates] == ["R2"]
    assert "different date of birth" in result.candidates[0].reasons


def test_missing_birth_date_in_the_registry_still_counts_as_doubtful():
    person = RegistryPerson("R1", "Jose Luis Ramirez Gonzalez", None, None, None)
    result = match_applicant("José Luis Ramírez González", "41234567", BORN, [person], THRESHOLDS)
    assert result.outcome is Outcome.POSSIBLE_MATCH
    assert "no date of birth in the registry" in result.candidates[0].reasons


def test_candidates_are_ordered_strongest_first():
    a = RegistryPerson("A", "Jose Luis Ramirez Gonzales", None, None, None)
    b = RegistryPerson("B", "Jose Luis Ramirez Gonzalez", None, None, BORN)
    result = match_applicant("José Luis Ramírez González", "41234567", BORN, [a, b], THRESHOLDS)
    assert [c.record_id for c in result.candidates] == ["B", "A"]


def test_no_candidates_is_no_record():
    assert match_applicant("Ana Quispe", "45678912", BORN, [], THRESHOLDS).outcome is Outcome.NO_RECORD


@pytest.mark.parametrize(("a", "b"), [("González", "Gonzales"), ("Vásquez", "Vasquez"), ("Llanos", "Yanos"),
                                      ("Chávez", "Chaves"), ("Ccori", "Cori")])
def test_spelling_variants_share_a_blocking_key(a, b):
    assert blocking_keys(a) & blocking_keys(b)


def test_token_sort_ratio_is_rapidfuzz_s():
    """The plain-Python similarity gives exactly what rapidfuzz (the library it replaced) gives."""
    import random

    from rapidfuzz import fuzz

    from chalicelib.domain.matching import token_sort_ratio
    from tests.factories import synthetic_registry

    names = [normalise_name(a) for pair in LABELLED for a in pair[:2]]
    names += [normalise_name(p.full_name) for p, _ in synthetic_registry(300)]
    rng = random.Random(3)
    pairs = [(a, b) for a in names[:40] for b in names[:40]] + [tuple(rng.sample(names, 2)) for _ in range(3000)]
    pairs += [("", ""), ("a", ""), ("ab" * 40, "ba" * 41)]  # empty, and longer than a machine word
    for a, b in pairs:
        assert token_sort_ratio(a, b) == fuzz.token_sort_ratio(a, b), (a, b)

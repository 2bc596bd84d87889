"""Matching an applicant against the penitentiary registry: name normalisation, scores and reasons."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# Particles that Spanish surnames carry or drop depending on who typed them ("de la Cruz" / "Cruz").
PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "da", "do", "dos", "van", "von", "di"})


def normalise_name(name: str) -> str:
    """Lower case, no accents, no particles or punctuation, tokens sorted (word order does not count)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^a-z\s]", " ", plain.replace("ñ", "n"))
    return " ".join(sorted(t for t in plain.split() if t not in PARTICLES))


def phonetic_key(token: str) -> str:
    """A coarse Spanish sound key for blocking: gonzales/gonzález, vasquez/bazquez, llanos/yanos."""
    t = normalise_name(token).replace(" ", "")
    for a, b in (("ll", "y"), ("qu", "k"), ("ch", "x"), ("ce", "se"), ("ci", "si"), ("z", "s"),
                 ("v", "b"), ("w", "u"), ("c", "k"), ("h", ""), ("j", "g")):
        t = t.replace(a, b)
    collapsed = re.sub(r"(.)\1+", r"\1", t)
    return collapsed[:4]


def blocking_keys(*surnames: str) -> set[str]:
    """Index keys under which a person is filed: one per significant surname token."""
    keys: set[str] = set()
    for surname in surnames:
        for token in normalise_name(surname).split():
            if len(token) >= 2:
                keys.add(phonetic_key(token))
    return keys


def _joined(keys: set[str]) -> str:
    return "+".join(sorted(keys))


def filing_blocks(full_name: str, surnames: tuple[str, ...], birth_date: date | None) -> set[str]:
    """The blocks a registry person is filed under, one for each way score_candidate can find them doubtful, each a
    small part of the registry (the ``u#`` blocks hold only the records without a birth date, a few hundred bytes
    per person in the index):

    - ``d#<surname key>#<birth date>`` for each surname: a similar or partial name needs the same birth date;
    - ``u#<surname key>`` for each surname, without a birth date: a similar name shares a surname (the rest may
      sound different: "Ana" and "Juana", "Mamani" and "Huamán");
    - ``n#<keys of every name token>``: a homonym with another birth date is doubtful only when the whole name is.
    """
    surname_keys = blocking_keys(*surnames)
    blocks: set[str] = set()
    if birth_date is not None:
        blocks.update(f"d#{key}#{birth_date.isoformat()}" for key in surname_keys)
    else:
        blocks.update(f"u#{key}" for key in surname_keys)
    name_keys = blocking_keys(full_name)
    if name_keys:
        blocks.add(f"n#{_joined(name_keys)}")
    return blocks


def search_blocks(full_name: str, surnames: tuple[str, ...], birth_date: date) -> set[str]:
    """The blocks that can hold a doubtful candidate for this applicant: the registry's people filed with either of
    their surnames and their birth date, with either and no birth date, and with their whole name."""
    surname_keys = blocking_keys(*surnames)
    blocks = {f"d#{key}#{birth_date.isoformat()}" for key in surname_keys}
    blocks.update(f"u#{key}" for key in surname_keys)
    name_keys = blocking_keys(full_name)
    if name_keys:
        blocks.add(f"n#{_joined(name_keys)}")
    return blocks


class Outcome(StrEnum):
    NO_RECORD = "no_record"
    RECORD_FOUND = "record_found"
    POSSIBLE_MATCH = "possible_match"


@dataclass(frozen=True)
class RegistryPerson:
    """One person in the penitentiary registry, with their cases."""

    record_id: str
    full_name: str
    document_type: str | None
    document_number: str | None
    birth_date: date | None
    cases: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Candidate:
    record_id: str
    score: float
    reasons: tuple[str, ...]
    kind: Outcome = Outcome.POSSIBLE_MATCH


@dataclass(frozen=True)
class MatchThresholds:
    name: float = 88.0
    exact_name: float = 97.0


@dataclass(frozen=True)
class MatchResult:
    outcome: Outcome
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)


def name_similarity(a: str, b: str) -> float:
    """0–100 over normalised names, token-sorted: word order, accents, case and particles do not count."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    return token_sort_ratio(na, nb)


def _lcs_length(a: str, b: str) -> int:
    """The longest common subsequence's length, bit-parallel (Hyyrö 2004): one pass over ``b`` with integer
    operations as wide as ``a``."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    width = (1 << len(a)) - 1
    v = width
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & width
    return len(a) - v.bit_count()


def token_sort_ratio(a: str, b: str) -> float:
    """0-100: the Indel similarity of the two strings with their words sorted, as rapidfuzz's
    fuzz.token_sort_ratio computes it (the library it replaces, kept as the tests' reference: plain Python here
    keeps 12 MB of compiled code out of the API's package for a few comparisons per record check)."""
    sa, sb = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    total = len(sa) + len(sb)
    if not total:
        return 100.0
    distance = total - 2 * _lcs_length(sa, sb)
    return (1.0 - distance / total) * 100


def is_partial_name(applicant: str, registered: str) -> bool:
    """The registry holds only part of the name (e.g. one surname), every part of it the applicant's."""
    tokens = normalise_name(registered).split()
    return len(tokens) >= 2 and set(tokens) < set(normalise_name(applicant).split())


def score_candidate(full_name: str, document_number: str, birth_date: date, person: RegistryPerson,
                    thresholds: MatchThresholds) -> Candidate | None:
    if person.document_number and person.document_number == document_number:
        return Candidate(person.record_id, 100.0, ("same document number",), Outcome.RECORD_FOUND)
    similarity = name_similarity(full_name, person.full_name)
    reasons = [f"name similarity {similarity:.0f}/100"]
    if person.document_number:
        reasons.append("different document number in the registry")
    else:
        reasons.append("no document number in the registry")
    same_birth = person.birth_date is not None and person.birth_date == birth_date
    if person.birth_date is None:
        reasons.append("no date of birth in the registry")
    elif same_birth:
        reasons.append("same date of birth")
    else:
        reasons.append("different date of birth")
    partial = same_birth and is_partial_name(full_name, person.full_name)
    if partial:
        reasons.insert(1, "the registry's name is part of the applicant's name")
    doubtful = (
        (similarity >= thresholds.name and (same_birth or person.birth_date is None))
        or similarity >= thresholds.exact_name
        or partial
    )
    if not doubtful:
        return None
    # The score blends the name with what the birth date says, so reviewers see the strongest first.
    base = max(similarity, thresholds.name) if partial else similarity
    score = base * (1.0 if same_birth else 0.9 if person.birth_date is None else 0.75)
    return Candidate(person.record_id, round(score, 1), tuple(reasons))


def match_applicant(full_name: str, document_number: str, birth_date: date,
                    people: list[RegistryPerson], thresholds: MatchThresholds) -> MatchResult:
    candidates = [c for p in people
                  if (c := score_candidate(full_name, document_number, birth_date, p, thresholds))]
    candidates.sort(key=lambda c: (c.kind != Outcome.RECORD_FOUND, -c.score, c.record_id))
    if not candidates:
        return MatchResult(Outcome.NO_RECORD)
    if any(c.kind == Outcome.RECORD_FOUND for c in candidates):
        return MatchResult(Outcome.RECORD_FOUND, tuple(candidates))
    return MatchResult(Outcome.POSSIBLE_MATCH, tuple(candidates))

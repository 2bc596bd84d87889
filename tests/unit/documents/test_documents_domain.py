"""Domain rules of signed documents: masking, sealed claims, content invariants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.documents import (
    KIND_ATTENDANCE,
    RESULT_NO_RECORD,
    RESULT_RECORD,
    SealedData,
    mask_document_number,
)
from tests.factories_documents import DOCUMENT_ID, ISSUED, make_content


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("12345678", "****5678"),  # DNI: last 4
        ("001234567890", "********7890"),  # Carné de Extranjería, 12 characters
        ("AB12345", "*****45"),  # shorter than 8: last 2
        ("1234", "**34"),
        ("12", "**"),  # too short to show anything
        ("", ""),
        (" 1234 5678 ", "****5678"),  # whitespace is not part of the number
    ],
)
def test_mask_document_number_keeps_only_the_last_characters(number: str, masked: str) -> None:
    assert mask_document_number(number) == masked


def test_document_content_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_content(issued_at=datetime(2026, 11, 22, 10, 15))


def test_sealed_data_from_content_masks_the_number_and_truncates_to_seconds() -> None:
    content = make_content(issued_at=ISSUED.replace(microsecond=999_999))
    data = SealedData.from_content(content)
    assert data.masked_document_number == "****5678"
    assert data.issued_at == ISSUED
    assert data.verification_url == content.verification_url


def test_claims_round_trip_gives_back_the_same_data() -> None:
    data = SealedData.from_content(make_content(holder_name="Ñañez Güémez, Ольга"))
    claims = data.to_claims()
    assert SealedData.from_claims(claims, verification_url=data.verification_url) == data


def test_claims_use_short_codes_for_known_kinds_and_results() -> None:
    claims = SealedData.from_content(make_content()).to_claims()
    assert claims["k"] == "C"
    assert claims["rc"] == "N"
    assert "r" not in claims
    assert claims["iat"] == int(ISSUED.timestamp())
    record = SealedData.from_content(make_content(result=RESULT_RECORD)).to_claims()
    assert record["rc"] == "R"


def test_unknown_results_and_kinds_travel_verbatim() -> None:
    data = SealedData.from_content(make_content(kind="other", result="ALGO DISTINTO"))
    claims = data.to_claims()
    assert claims["k"] == "other"
    assert claims["r"] == "ALGO DISTINTO"
    assert "rc" not in claims
    back = SealedData.from_claims(claims)
    assert (back.kind, back.result) == ("other", "ALGO DISTINTO")


def test_attendance_kind_round_trips() -> None:
    data = SealedData.from_content(make_content(kind=KIND_ATTENDANCE))
    assert SealedData.from_claims(data.to_claims()).kind == KIND_ATTENDANCE


@pytest.mark.parametrize(
    "broken",
    [
        {"k": "C", "n": "X", "d": "**", "rc": "N", "iat": 1, "exp": 2},  # no id
        {"id": 5, "k": "C", "n": "X", "d": "**", "rc": "N", "iat": 1, "exp": 2},  # id not text
        {"id": "a", "k": "C", "n": "X", "d": "**", "rc": "?", "iat": 1, "exp": 2},  # unknown code
        {"id": "a", "k": "C", "n": "X", "d": "**", "rc": "N", "iat": "1", "exp": 2},  # date as text
        {"id": "a", "k": "C", "n": "X", "d": "**", "rc": "N", "iat": True, "exp": 2},  # bool
        {"id": "a", "k": "C", "n": "X", "d": "**", "iat": 1, "exp": 2},  # no result
    ],
)
def test_from_claims_rejects_malformed_claims(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="malformed|must be"):
        SealedData.from_claims(broken)


def test_from_claims_returns_utc_datetimes() -> None:
    data = SealedData.from_claims({"id": DOCUMENT_ID, "k": "C", "n": "X", "d": "**", "rc": "N", "iat": 0, "exp": 60})
    assert data.issued_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert data.result == RESULT_NO_RECORD

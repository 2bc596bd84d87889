"""Domain rules of signed documents: masking, sealed claims, content invariants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.documents import (
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_KIND,
    CLAIM_RESULT,
    CLAIM_RESULT_CODE,
    CLAIM_STATUS,
    ISSUER_INPE,
    ISSUER_JUDICIARY,
    KIND_ATTENDANCE,
    KIND_CERTIFICATE,
    KIND_REPORT,
    RESULT_NO_RECORD,
    RESULT_RECORD,
    SealedData,
    StatusRef,
    issuer_of,
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
    data = SealedData.from_content(make_content(holder_name="Ñañez Güémez, Ольга", status=StatusRef(1, 4242)))
    claims = data.to_claims()
    assert SealedData.from_claims(claims, DOCUMENT_ID, verification_url=data.verification_url) == data


def test_claims_are_cwt_claims_with_short_codes_for_known_kinds_and_results() -> None:
    claims = SealedData.from_content(make_content(status=StatusRef(2, 7))).to_claims()
    assert claims[CLAIM_ISS] == "INPE"  # the issuer, which the seal key's certificate must name
    assert claims[CLAIM_KIND] == "C"
    assert claims[CLAIM_RESULT_CODE] == "N"
    assert CLAIM_RESULT not in claims
    assert claims[CLAIM_IAT] == int(ISSUED.timestamp())
    assert claims[CLAIM_STATUS] == [2, 7]
    record = SealedData.from_content(make_content(result=RESULT_RECORD)).to_claims()
    assert record[CLAIM_RESULT_CODE] == "R"


def test_each_kind_has_its_own_issuer() -> None:
    assert issuer_of(KIND_CERTIFICATE).code == ISSUER_INPE
    assert issuer_of(KIND_ATTENDANCE).code == issuer_of(KIND_REPORT).code == ISSUER_JUDICIARY
    attendance = SealedData.from_content(make_content(kind=KIND_ATTENDANCE))
    assert attendance.to_claims()[CLAIM_ISS] == ISSUER_JUDICIARY
    assert issuer_of(KIND_ATTENDANCE).signature_field != issuer_of(KIND_CERTIFICATE).signature_field


def test_unknown_results_and_kinds_travel_verbatim() -> None:
    data = SealedData.from_content(make_content(kind="other", result="ALGO DISTINTO"))
    claims = data.to_claims()
    assert claims[CLAIM_KIND] == "other"
    assert claims[CLAIM_RESULT] == "ALGO DISTINTO"
    assert CLAIM_RESULT_CODE not in claims
    back = SealedData.from_claims(claims, DOCUMENT_ID)
    assert (back.kind, back.result) == ("other", "ALGO DISTINTO")


def test_attendance_kind_round_trips() -> None:
    data = SealedData.from_content(make_content(kind=KIND_ATTENDANCE))
    assert SealedData.from_claims(data.to_claims(), DOCUMENT_ID).kind == KIND_ATTENDANCE


_GOOD = {1: "INPE", -1: "C", -2: "X", -3: "**", -4: "N", 6: 1, 4: 2}


@pytest.mark.parametrize(
    "change",
    [
        {1: None},  # no issuer
        {-2: 5},  # name not text
        {-4: "?"},  # unknown code
        {6: "1"},  # date as text
        {6: True},  # bool
        {-4: None},  # no result
        {-6: [1]},  # status entry without index
        {-6: [1, -3]},  # negative index
    ],
)
def test_from_claims_rejects_malformed_claims(change: dict[int, object]) -> None:
    broken = {**_GOOD, **change}
    broken = {key: value for key, value in broken.items() if value is not None}
    with pytest.raises(ValueError, match="malformed|must be"):
        SealedData.from_claims(broken, DOCUMENT_ID)


def test_from_claims_returns_utc_datetimes() -> None:
    data = SealedData.from_claims({**_GOOD, 6: 0, 4: 60}, DOCUMENT_ID)
    assert data.issued_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert data.result == RESULT_NO_RECORD

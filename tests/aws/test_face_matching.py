"""Face matching with Rekognition CompareFaces (moto's canned answer, reshaped per case) and its threshold."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.adapters.aws.rekognition import RekognitionFaceMatcher, interpret_compare_faces
from chalicelib.domain.biometrics import FaceMatch, InconclusiveFaceMatcher

from .conftest import REGION

REFERENCE, PROBE = b"\xff\xd8reference-jpeg", b"\xff\xd8selfie-jpeg"


@pytest.fixture
def canned(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Reshape moto's canned CompareFaces answer: one face by default, with the given similarity."""
    from moto.rekognition.models import RekognitionBackend

    original_match = RekognitionBackend._face_matches(None)  # type: ignore[arg-type]
    original_unmatched = RekognitionBackend._unmatched_faces(None)  # type: ignore[arg-type]
    shape: dict[str, Any] = {"similarity": 100.0, "faces": 1, "unmatched": 0, "sharpness": None}

    def matches(self: Any) -> list[dict[str, Any]]:
        found = []
        for _ in range(shape["faces"]):
            match = copy.deepcopy(original_match[0])
            match["Similarity"] = shape["similarity"]
            if shape["sharpness"] is not None:
                match["Face"]["Quality"]["Sharpness"] = shape["sharpness"]
            found.append(match)
        return found

    monkeypatch.setattr(RekognitionBackend, "_face_matches", matches)
    monkeypatch.setattr(RekognitionBackend, "_unmatched_faces",
                        lambda self: copy.deepcopy(original_unmatched) * shape["unmatched"])
    return shape


def test_moto_canned_answer_with_two_faces_in_the_selfie_is_not_conclusive(mocked_aws: None) -> None:
    # moto answers one matched and one unmatched face: someone else is in the picture.
    result = RekognitionFaceMatcher(REGION).compare(REFERENCE, PROBE)

    assert result == FaceMatch(conclusive=False, matched=False, similarity=None, reason="several_faces")


def test_one_face_at_or_above_the_threshold_is_a_match(canned: dict[str, Any]) -> None:
    canned["similarity"] = 90.0

    result = RekognitionFaceMatcher(REGION, threshold=90).compare(REFERENCE, PROBE)

    assert result == FaceMatch(conclusive=True, matched=True, similarity=90.0, reason="match")


def test_one_face_below_the_threshold_is_a_conclusive_non_match(canned: dict[str, Any]) -> None:
    canned["similarity"] = 85.5

    assert RekognitionFaceMatcher(REGION, threshold=90).compare(REFERENCE, PROBE) == FaceMatch(
        conclusive=True, matched=False, similarity=85.5, reason="no_match")
    assert RekognitionFaceMatcher(REGION, threshold=80).compare(REFERENCE, PROBE).matched


def test_no_face_in_the_selfie_is_not_conclusive(canned: dict[str, Any]) -> None:
    canned["faces"] = 0

    assert RekognitionFaceMatcher(REGION).compare(REFERENCE, PROBE).reason == "no_face"


def test_a_blurred_face_is_not_conclusive_whatever_its_score(canned: dict[str, Any]) -> None:
    canned["sharpness"] = 4.0

    result = RekognitionFaceMatcher(REGION).compare(REFERENCE, PROBE)

    assert (result.conclusive, result.reason, result.similarity) == (False, "low_quality", None)


def test_no_face_in_the_reference_photo_is_not_conclusive() -> None:
    from botocore.exceptions import ClientError

    class Refusing:
        def compare_faces(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs["SimilarityThreshold"] == 0.0 and kwargs["QualityFilter"] == "NONE"
            raise ClientError({"Error": {"Code": "InvalidParameterException", "Message": "no face"}}, "CompareFaces")

    result = RekognitionFaceMatcher(REGION, rekognition=Refusing()).compare(REFERENCE, PROBE)

    assert result == FaceMatch(conclusive=False, matched=False, similarity=None, reason="no_face")


def test_default_threshold_is_ninety() -> None:
    one_face = {"FaceMatches": [{"Face": {"Quality": {"Sharpness": 90, "Brightness": 60}}, "Similarity": 89.9}]}

    assert RekognitionFaceMatcher(REGION).threshold == 90.0
    assert interpret_compare_faces(one_face, 90.0).reason == "no_match"


def test_embedded_default_never_decides() -> None:
    assert InconclusiveFaceMatcher().compare(REFERENCE, PROBE) == FaceMatch(False, False, None, "no_engine")

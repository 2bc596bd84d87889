"""Face matching with Amazon Rekognition CompareFaces: one clear face each side, or no decision at all."""

from __future__ import annotations

from typing import Any

from ...domain.biometrics import FaceMatch
from .clients import client, error_code

# Rekognition refuses images it cannot use with these codes; none of them says anything about the person.
_UNUSABLE_IMAGE = {"InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"}


def interpret_compare_faces(
    response: dict[str, Any], threshold: float, min_sharpness: float = 20.0, min_brightness: float = 15.0
) -> FaceMatch:
    """Decide from a CompareFaces answer asked with SimilarityThreshold=0 (so every face carries its score).

    Conclusive only with exactly one face in the probe, of usable quality: several faces could mean
    someone else is in the picture, and a blurred or dark face gives a score that means little.
    """
    faces = [(m.get("Face", {}), m.get("Similarity")) for m in response.get("FaceMatches", [])]
    faces += [(face, None) for face in response.get("UnmatchedFaces", [])]
    if not faces:
        return FaceMatch(conclusive=False, matched=False, similarity=None, reason="no_face")
    if len(faces) > 1:
        return FaceMatch(conclusive=False, matched=False, similarity=None, reason="several_faces")
    face, similarity = faces[0]
    quality = face.get("Quality", {})
    if (float(quality.get("Sharpness", 100.0)) < min_sharpness
            or float(quality.get("Brightness", 100.0)) < min_brightness):
        return FaceMatch(conclusive=False, matched=False, similarity=None, reason="low_quality")
    score = float(similarity) if similarity is not None else 0.0
    if score >= threshold:
        return FaceMatch(conclusive=True, matched=True, similarity=score, reason="match")
    return FaceMatch(conclusive=True, matched=False, similarity=score, reason="no_match")


class RekognitionFaceMatcher:
    """Implements :class:`~chalicelib.domain.biometrics.FaceMatcher` (``reference``: photo on file; ``probe``:
    the selfie). The images are sent as bytes and not stored by Rekognition."""

    def __init__(self, region: str, threshold: float = 90.0, *, min_sharpness: float = 20.0,
                 min_brightness: float = 15.0, rekognition: Any = None) -> None:
        self.region = region
        self.threshold = threshold
        self.min_sharpness = min_sharpness
        self.min_brightness = min_brightness
        self._rekognition = rekognition

    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        service = self._rekognition if self._rekognition is not None else client("rekognition", self.region)
        try:
            # Threshold 0 and no quality filter: the decision (and its reason) is made here, not hidden.
            response = service.compare_faces(SourceImage={"Bytes": reference}, TargetImage={"Bytes": probe},
                                             SimilarityThreshold=0.0, QualityFilter="NONE")
        except Exception as error:
            code = error_code(error)
            if code == "InvalidParameterException":
                # What Rekognition answers when the reference photo holds no face.
                return FaceMatch(conclusive=False, matched=False, similarity=None, reason="no_face")
            if code in _UNUSABLE_IMAGE:
                return FaceMatch(conclusive=False, matched=False, similarity=None, reason="unusable_image")
            raise
        return interpret_compare_faces(response, self.threshold, self.min_sharpness, self.min_brightness)

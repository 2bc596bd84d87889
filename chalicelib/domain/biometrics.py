"""Face comparison port: a selfie against the photo on file (Rekognition in the cloud)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FaceMatch:
    conclusive: bool
    matched: bool
    similarity: float | None
    reason: str  # "match", "no_match", "no_face", "several_faces", "low_quality", "no_engine", ...


class FaceMatcher(Protocol):
    def compare(self, reference: bytes, probe: bytes) -> FaceMatch: ...


class InconclusiveFaceMatcher:
    """The embedded default where no engine is configured: never decides, so the questions are asked."""

    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        return FaceMatch(conclusive=False, matched=False, similarity=None, reason="no_engine")

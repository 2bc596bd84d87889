"""The warrants registry ("requisitorias") over its local DynamoDB tables: by document, then by a name index."""

from __future__ import annotations

import contextlib
from typing import Any

from ...domain.control.warrants import Warrant
from ...domain.matching import blocking_keys, name_similarity
from ...tracing import traced
from .. import dynamo_models as m
from ..dynamo_store import translate_errors
from ..staging import current, publish_rows, stage_rows, unstage_rows
from .codec import day

PROBE_KEY = "~probe"  # a warrant id nobody has: reading it proves the registry can be read


def _warrant(item: m.WarrantModel) -> Warrant | None:
    """What readers see of a warrant (an import's staged one once its job is switched; none before)."""
    seen = current(item, ("document_number", "body"))
    b = seen["body"]
    if not b:
        return None
    return Warrant(item.warrant_id, b["full_name"], seen["document_number"], b["issued_by"], day(b.get("issued_on")))


def _rows(warrants: list[tuple[Warrant, str]]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    return [((w.warrant_id,), {"document_number": w.document_number or None, "body": {
        "full_name": w.full_name, "issued_by": w.issued_by,
        "issued_on": w.issued_on.isoformat() if w.issued_on else None}}) for w, _ in warrants]


class DynamoWarrantsRegistry:
    @traced("registry.warrants.possible_warrants")
    @translate_errors
    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        """By document number, then by name: a similar name is a *possible* warrant for a human to check."""
        found: dict[str, Warrant] = {}
        if document_number:
            for item in m.WarrantModel.by_document.query(document_number):
                seen = _warrant(item)
                if seen is not None and seen.document_number == document_number:
                    found[item.warrant_id] = seen
        ids = {e.warrant_id for key in sorted(blocking_keys(surnames)) for e in m.WarrantNameIndexModel.query(key)}
        ids -= set(found)
        if ids:
            for item in m.WarrantModel.batch_get(sorted(ids)):
                warrant = _warrant(item)
                if warrant is not None and name_similarity(full_name, warrant.full_name) >= name_threshold:
                    found[warrant.warrant_id] = warrant
        return list(found.values())

    @translate_errors
    def put_warrants(self, warrants: list[tuple[Warrant, str]], stage: str | None = None) -> None:
        """With ``stage`` (an import job's id), staged: readers keep what they see until that job is switched (the
        name index only points at warrants, so a new entry finds nothing until then)."""
        if stage is not None:
            stage_rows(m.WarrantModel, _rows(warrants), stage, index_keys=("document_number",))
        else:
            with m.WarrantModel.batch_write() as batch:
                for (key,), values in _rows(warrants):
                    batch.save(m.WarrantModel(key, **values))
        with m.WarrantNameIndexModel.batch_write() as batch:
            for warrant, surnames in warrants:
                for key in blocking_keys(surnames):
                    batch.save(m.WarrantNameIndexModel(key, warrant.warrant_id))

    @translate_errors
    def publish_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        publish_rows(m.WarrantModel, _rows(warrants), stage)

    @translate_errors
    def discard_warrants(self, warrants: list[tuple[Warrant, str]], stage: str) -> None:
        unstage_rows(m.WarrantModel, _rows(warrants), stage, index_keys=("document_number",))

    @translate_errors
    def ping(self) -> None:
        with contextlib.suppress(m.WarrantModel.DoesNotExist):
            m.WarrantModel.get(PROBE_KEY)

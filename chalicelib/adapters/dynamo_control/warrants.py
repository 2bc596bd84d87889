"""The warrants registry ("requisitorias") over its local DynamoDB tables: by document, then by a name index."""

from __future__ import annotations

import contextlib

from ...domain.control.warrants import Warrant
from ...domain.matching import blocking_keys, name_similarity
from ...tracing import traced
from .. import dynamo_models as m
from ..dynamo_store import translate_errors
from .codec import day

PROBE_KEY = "~probe"  # a warrant id nobody has: reading it proves the registry can be read


def _warrant(item: m.WarrantModel) -> Warrant:
    b = item.body
    return Warrant(item.warrant_id, b["full_name"], item.document_number, b["issued_by"], day(b.get("issued_on")))


class DynamoWarrantsRegistry:
    @traced("registry.warrants.possible_warrants")
    @translate_errors
    def possible_warrants(self, document_number: str | None, full_name: str, surnames: str,
                          name_threshold: float) -> list[Warrant]:
        """By document number, then by name: a similar name is a *possible* warrant for a human to check."""
        found: dict[str, Warrant] = {}
        if document_number:
            for item in m.WarrantModel.by_document.query(document_number):
                found[item.warrant_id] = _warrant(item)
        ids = {e.warrant_id for key in sorted(blocking_keys(surnames)) for e in m.WarrantNameIndexModel.query(key)}
        ids -= set(found)
        if ids:
            for item in m.WarrantModel.batch_get(sorted(ids)):
                warrant = _warrant(item)
                if name_similarity(full_name, warrant.full_name) >= name_threshold:
                    found[warrant.warrant_id] = warrant
        return list(found.values())

    @translate_errors
    def put_warrants(self, warrants: list[tuple[Warrant, str]]) -> None:
        with m.WarrantModel.batch_write() as batch:
            for warrant, _ in warrants:
                batch.save(m.WarrantModel(warrant.warrant_id, document_number=warrant.document_number or None, body={
                    "full_name": warrant.full_name, "issued_by": warrant.issued_by,
                    "issued_on": warrant.issued_on.isoformat() if warrant.issued_on else None}))
        with m.WarrantNameIndexModel.batch_write() as batch:
            for warrant, surnames in warrants:
                for key in blocking_keys(surnames):
                    batch.save(m.WarrantNameIndexModel(key, warrant.warrant_id))

    @translate_errors
    def ping(self) -> None:
        with contextlib.suppress(m.WarrantModel.DoesNotExist):
            m.WarrantModel.get(PROBE_KEY)

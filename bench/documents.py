"""Benchmark: signed documents per second on one core, against pyHanko signing a blank page; and what the
long-term level (PAdES B-LT) costs against the time-stamp round trip and the embedding of validation data.

Run: .venv/bin/python bench/documents.py [--iterations N] [--rounds R] [--lt-iterations M]
Prints: documents_per_second (tagged PDF/A, PAdES B-B), blank_signatures_per_second and ratio (time per
document / time per blank signature), as before; then, with the local test PKI's services running in this
process, lt_document_ms (a B-LT certificate), tsa_round_trip_ms (one RFC 3161 request alone), lt_extra_ms
(B-LT minus B-B) and lt_embedding_ms (what remains of it after the time stamp: validation and the DSS update).
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyhanko.pdf_utils import generic  # noqa: E402
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter  # noqa: E402

from chalicelib.adapters.documents import ensure_local_pki, local_pipeline  # noqa: E402
from chalicelib.domain.documents import (  # noqa: E402
    KIND_CERTIFICATE,
    RESULT_NO_RECORD,
    RESULT_RECORD,
    CaseLine,
    DocumentContent,
)
from infrastructure.local.pki_services import serve  # noqa: E402
from tests.conftest import free_port  # noqa: E402

GIVEN = ["JUAN CARLOS", "MARÍA DEL PILAR", "JOSÉ LUIS", "ROSA ELENA", "ÁNGEL", "LUCÍA", "FÉLIX", "NOEMÍ"]
SURNAMES = ["QUISPE", "MAMANI", "ÑAÑEZ", "GÜÉMEZ", "FLORES", "HUAMÁN", "RODRÍGUEZ", "CHÁVEZ", "PEÑA"]


def _contents(count: int) -> list[DocumentContent]:
    issued = datetime(2026, 11, 22, 15, 15, tzinfo=UTC)
    items = []
    for index in range(count):
        document_id = secrets.token_urlsafe(16)
        name = (
            f"{SURNAMES[index % len(SURNAMES)]} {SURNAMES[(index * 7 + 3) % len(SURNAMES)]}, "
            f"{GIVEN[index % len(GIVEN)]}"
        )
        cases: tuple[CaseLine, ...] = ()
        if index % 10 == 0:  # some certificates record antecedents
            cases = (
                CaseLine(
                    "00123-2020-0-1801-JR-PE-01",
                    "3.° Juzgado Penal Unipersonal de Lima",
                    "Hurto agravado",
                    "12/03/2021",
                ),
            )
        items.append(
            DocumentContent(
                document_id=document_id,
                kind=KIND_CERTIFICATE,
                title="CERTIFICADO DE ANTECEDENTES JUDICIALES",
                number=f"CAJ-2026-{index:07d}",
                holder_name=name,
                document_type="DNI",
                document_number=f"{40000000 + index * 7919:08d}",
                result=RESULT_RECORD if cases else RESULT_NO_RECORD,
                cases=cases,
                issued_at=issued,
                valid_until=issued + timedelta(days=90),
                verification_url=f"https://verifica.inpe.gob.pe/v/{document_id}",
            )
        )
    return items


def _blank_pdf() -> bytes:
    writer = PdfFileWriter()
    contents = writer.add_object(generic.StreamObject(stream_data=b""))
    writer.insert_page(PageObject(contents, [0, 0, 595.28, 841.89]))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lt-iterations", type=int, default=60)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        pki = ensure_local_pki(work / "pki")
        pipeline = local_pipeline(pki)
        signer = pipeline.signer
        store = work / "store"
        store.mkdir()
        contents = _contents(args.iterations)
        blank = _blank_pdf()

        def produce(content: DocumentContent) -> None:
            pdf = pipeline.produce(content)
            # Stand-in for the document store: one file per document.
            (store / f"{content.document_id}.pdf").write_bytes(pdf)

        for content in contents[:30]:  # warm up: fonts, subsets, QR tables, code paths
            produce(content)
            signer.sign_pdf(blank)

        # Documents and blank signatures alternate one by one, so that the machine's
        # speed changes (shared virtual CPUs drift by tens of percent) hit both alike.
        document_time = 0.0
        blank_time = 0.0
        clock = time.perf_counter
        for _ in range(args.rounds):
            for content in contents:
                start = clock()
                produce(content)
                middle = clock()
                signer.sign_pdf(blank)
                document_time += middle - start
                blank_time += clock() - middle
        count = args.rounds * len(contents)

        lt = _long_term(work, contents, args.lt_iterations, pipeline)

    per_document = document_time / count
    per_blank = blank_time / count
    print(f"documents_per_second: {1 / per_document:.1f}")
    print(f"blank_signatures_per_second: {1 / per_blank:.1f}")
    print(f"ratio: {per_document / per_blank:.2f}")
    for name, value in lt.items():
        print(f"{name}: {value:.1f}")


def _long_term(work: Path, contents: list[DocumentContent], iterations: int, plain: object) -> dict[str, float]:
    """B-B and B-LT documents and bare time-stamp requests, alternating, against the in-process PKI services."""
    import asyncio
    import hashlib

    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    port = free_port()
    pki = ensure_local_pki(work / "pki", f"http://127.0.0.1:{port}")
    server = serve(port, pki)
    try:
        long_term = local_pipeline(pki, timestamp_url=pki.timestamp_url)
        stamper = RequestsHTTPTimeStamper(pki.timestamp_url)
        loop = asyncio.new_event_loop()

        def stamp() -> None:
            loop.run_until_complete(stamper.async_timestamp(hashlib.sha256(b"x").digest(), "sha256"))

        for content in contents[:5]:  # warm up: OCSP answers fetched once, TSA connection, code paths
            long_term.produce(content)
            stamp()
        totals = {"bb": 0.0, "lt": 0.0, "tsa": 0.0}
        clock = time.perf_counter
        for content in contents[:iterations]:
            start = clock()
            plain.produce(content)  # type: ignore[attr-defined]
            middle = clock()
            long_term.produce(content)
            end = clock()
            stamp()
            totals["bb"] += middle - start
            totals["lt"] += end - middle
            totals["tsa"] += clock() - end
        loop.close()
    finally:
        server.shutdown()
        server.server_close()
    count = min(iterations, len(contents))
    bb, lt, tsa = (1000 * totals[key] / count for key in ("bb", "lt", "tsa"))
    return {"lt_document_ms": lt, "bb_document_ms": bb, "tsa_round_trip_ms": tsa, "lt_extra_ms": lt - bb,
            "lt_embedding_ms": lt - bb - tsa}


if __name__ == "__main__":
    main()

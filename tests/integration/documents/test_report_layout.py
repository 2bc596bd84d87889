"""The daily incident report as annex 4: a landscape table, one row per incident, rows never split across pages,
the header repeated, page numbers, the judiciary's heading and signature."""

from __future__ import annotations

import re
import secrets
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from integ_doc_samples import ISSUED, VERIFY_BASE

from chalicelib.adapters.documents.pipeline import DocumentPipeline
from chalicelib.domain.documents import ReportContent, ReportRow


def report_content(rows: int, *, revision: int = 1, long_detail: bool = False) -> ReportContent:
    document_id = secrets.token_urlsafe(16)
    detail = "Usuario externo se encuentra fuera de la jurisdicción permitida"
    return ReportContent(
        document_id=document_id, title="REPORTE DE INCIDENCIAS DEL DÍA", number="RID-LIMA-20261129",
        district="LIMA", day=(ISSUED - timedelta(days=1)).date(), revision=revision,
        prepared_by="Sistema de Control Virtual Penal (reporte diario automático)",
        rows=tuple(ReportRow(
            occurred_at=ISSUED - timedelta(hours=20 - index), full_name=f"PERSONA{index:02d} QUISPE, ANA LUCÍA",
            identity_document=f"DNI 4567{index:04d}", case_file=f"00123-2020-0-1801-JR-PE-{index:02d}",
            court="3.° Juzgado Penal Unipersonal de Lima", incident_type="Fuera del área permitida",
            detail=" ".join([detail] * (1 + (index % 4 if long_detail else 0))),
            observations="Se pidió una nueva ubicación" if index % 2 else "—", status="Comunicada")
            for index in range(rows)),
        result=f"{rows} INCIDENCIAS REGISTRADAS", issued_at=ISSUED, valid_until=ISSUED + timedelta(days=3650),
        verification_url=VERIFY_BASE + document_id,
        supersedes="RID-LIMA-20261129" if revision > 1 else None)


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.fixture(scope="module")
def report_pdf(pipeline: DocumentPipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    path.write_bytes(pipeline.produce(report_content(rows=18, revision=2, long_detail=True)))
    return path


def _pages(path: Path) -> list[str]:
    return _run("pdftotext", "-layout", str(path), "-").split("\f")[:-1]


def test_the_report_is_landscape_with_the_judiciarys_heading(report_pdf: Path) -> None:
    info = _run("pdfinfo", str(report_pdf))
    assert re.search(r"Page size:\s+841\.89 x 595\.28", info)
    first = _pages(report_pdf)[0]
    for expected in ("PODER JUDICIAL DEL PERÚ", "REPORTE DE INCIDENCIAS DEL DÍA", "Distrito judicial: LIMA",
                     "Revisión: 2 (reemplaza al reporte N.° RID-LIMA-20261129)",
                     "Elaborado por: Sistema de Control Virtual Penal", "Firmado digitalmente por: Poder Judicial"):
        assert expected in first, expected
    for heading in ("Fecha y hora", "Nombre completo", "Tipo de", "Observaciones", "Estado"):
        assert heading in first
    assert "Titular" not in first and "Válido hasta" not in first


def test_every_incident_is_one_row_never_split_and_pages_are_numbered(report_pdf: Path) -> None:
    pages = _pages(report_pdf)
    assert len(pages) >= 2
    seen = []
    for number, page in enumerate(pages, start=1):
        assert f"Página {number} de {len(pages)}" in page
        assert "Nombre completo" in page  # the table's header repeats
        names = re.findall(r"PERSONA(\d\d)", page)
        seen += names
        for name in set(names):  # a row's cells (name, case file, status) are all on the page of its name
            assert f"00123-2020-0-1801-JR-PE-{name}" in page
    assert sorted(set(seen)) == [f"{i:02d}" for i in range(18)]
    assert all(seen.count(name) == 1 for name in set(seen))  # no row printed twice (or half on each page)


def test_row_order_follows_the_time_of_the_incidents(report_pdf: Path) -> None:
    names = re.findall(r"PERSONA(\d\d)", "".join(_pages(report_pdf)))
    assert names == sorted(names)

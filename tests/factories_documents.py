"""Document contents for tests (valid by default, changed by keyword): one factory for every test tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.documents import KIND_CERTIFICATE, RESULT_NO_RECORD, CaseLine, DocumentContent

ISSUED = datetime(2026, 11, 22, 15, 15, tzinfo=UTC)
DOCUMENT_ID = "Xk3b9QpL2mN7vR4tY8wZ1a"
VERIFY_BASE = "https://verifica.inpe.gob.pe/v/"


def make_content(**changes: object) -> DocumentContent:
    document_id = str(changes.pop("document_id", DOCUMENT_ID))
    values: dict[str, object] = {
        "document_id": document_id,
        "kind": KIND_CERTIFICATE,
        "title": "CERTIFICADO DE ANTECEDENTES JUDICIALES",
        "number": "CAJ-2026-0001234",
        "holder_name": "QUISPE MAMANI, JUAN CARLOS",
        "document_type": "DNI",
        "document_number": "12345678",
        "result": RESULT_NO_RECORD,
        "cases": (),
        "issued_at": ISSUED,
        "valid_until": ISSUED + timedelta(days=90),
        "verification_url": VERIFY_BASE + document_id,
    }
    values.update(changes)
    return DocumentContent(**values)  # type: ignore[arg-type]


def case(index: int) -> CaseLine:
    return CaseLine(
        case_file=f"00123-2020-0-1801-JR-PE-{index:02d}",
        court="3.° Juzgado Penal Unipersonal de la Corte Superior de Justicia de Lima",
        offence="Hurto agravado",
        date="12/03/2021",
    )

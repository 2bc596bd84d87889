"""Every list of the console exports to CSV, and to XLSX where the procedure keeps a spreadsheet (9.1 the
enrolment list, 9.2 the officer's assigned list): written to storage and handed out through a short-lived link,
as photos are, so that large files never travel through the API's response (and work behind API Gateway)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from chalice import Response

from ..domain.errors import ValidationError
from ..domain.requests import new_id
from .web import Ctx, page_headers

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")  # the byte-order mark makes spreadsheets read the accents


def to_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True})
    for column, header in enumerate(headers):
        sheet.write_string(0, column, str(header), bold)
        sheet.set_column(column, column, max(12, min(48, len(str(header)) + 4)))
    for r, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            sheet.write_string(r, column, "" if value is None else str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(headers) - 1, 0))
    book.close()
    return buffer.getvalue()


def export_lists(ctx: Ctx, name: str, lists: dict[str, tuple[Sequence[dict[str, Any]], Sequence[str]]], *,
                 xlsx: Sequence[str] = ()) -> Response:
    """One of a page's lists (``?list=``, the first by default) as a file: its items' named fields as columns."""
    which = ctx.query.get("list") or next(iter(lists))
    if which not in lists:
        raise ValidationError(f"Expected one of {', '.join(lists)}.", field="list")
    items, columns = lists[which]
    return export(ctx, f"{name}-{which}", columns, [[item.get(c) for c in columns] for item in items],
                  xlsx=which in xlsx)


def export(ctx: Ctx, name: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
           xlsx: bool = False) -> Response:
    """The list as a file (``?format=csv`` or ``xlsx``), through a two-minute link; the export is audited."""
    kind = ctx.query.get("format", "csv")
    if kind not in ("csv", "xlsx") or (kind == "xlsx" and not xlsx):
        raise ValidationError("Expected csv" + (" or xlsx." if xlsx else "."), field="format")
    data = to_xlsx(name, headers, rows) if kind == "xlsx" else to_csv(headers, rows)
    content_type = XLSX if kind == "xlsx" else "text/csv; charset=utf-8"
    key = f"exports/{new_id()}.{kind}"
    ctx.c.storage.put(key, data, content_type)
    ctx.audit("console.export", name, format=kind, rows=len(rows))
    stamp = ctx.c.clock.now().strftime("%Y%m%d-%H%M")
    link = ctx.c.media.link(key, subject=ctx.operator.subject, content_type=content_type,
                            filename=f"{name}-{stamp}.{kind}", seconds=120)
    return Response(body="", status_code=303, headers=page_headers(ctx, {"Location": link}))


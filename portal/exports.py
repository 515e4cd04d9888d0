"""A filtered list as a file for the accountant: CSV (semicolons, a byte-order mark: what a
German Excel opens as columns with its umlauts) or XLSX (openpyxl, amounts as numbers in their
currency, dates as dates).

Both are written row by row and never held whole in memory: the CSV is streamed to the client
while the rows are read (`rows` is a lazy iterable: a query with `yield_per`), the XLSX is
written by openpyxl's write-only workbook into a temporary file that is sent and then gone."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from flask import Response, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CHUNK_ROWS = 500  # rows per piece of the streamed CSV


def _cell(value):
    """A text a spreadsheet will not run as a formula (names and numbers come from outside)."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return f"'{value}"
    return value


def csv_lines(header: list[str], rows: Iterable) -> Iterator[str]:
    """The CSV in pieces: the byte-order mark and the header first, then a piece every
    CSV_CHUNK_ROWS rows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    out.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([_csv_value(v) for v in row])
        if count % CSV_CHUNK_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable) -> Response:
    """Streams: the rows are read while the response is sent (in the request's context, so
    a query behind `rows` keeps its session)."""
    return Response(
        stream_with_context(csv_lines(header, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def _csv_value(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")  # German Excel reads a comma as the decimal
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    return _cell(value)


def xlsx_response(filename: str, header: list[str], rows: Iterable) -> Response:
    """The workbook is written row by row to a temporary file (openpyxl's write-only mode keeps
    no rows in memory), which is sent from an open handle: its name is removed at once, the
    space when the response closes the handle."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(sheet, v) for v in row])
    handle, path = tempfile.mkstemp(prefix="mahnwerk-export-", suffix=".xlsx")
    try:
        os.close(handle)
        workbook.save(path)
        file = open(path, "rb")  # noqa: SIM115 - closed by the response
    finally:
        os.unlink(path)
    return send_file(file, mimetype=XLSX_TYPE, as_attachment=True, download_name=f"{filename}.xlsx")


def _xlsx_value(sheet, value):
    """Amounts stay Decimal (exact in the file) with two decimals; dates as dates."""
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD.MM.YYYY"
        return cell
    return _cell(value)

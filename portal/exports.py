"""A filtered list as a file for the accountant: CSV (semicolons, a byte-order mark: what a
German Excel opens as columns with its umlauts) or XLSX (openpyxl, amounts as numbers in their
currency, dates as dates)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text a spreadsheet will not run as a formula (names and numbers come from outside)."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return f"'{value}"
    return value


def csv_response(filename: str, header: list[str], rows) -> Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return Response(
        out.getvalue(),
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


def xlsx_response(filename: str, header: list[str], rows) -> Response:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(sheet, v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


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

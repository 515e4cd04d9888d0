"""The order list's open total for the current filter, and the filtered list as CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from tests.portal.conftest import PORTAL_RULES, Portal, order_body


def _book(seed, merchant_info):
    seed(
        merchant_info["id"],
        [
            order_body("AK-1", amount="100.00"),
            order_body("AK-2", amount="20.50", name="=Mallory"),
            order_body("AK-3", amount="1000.00", method="invoice"),
        ],
        PORTAL_RULES,
    )


def test_the_list_shows_the_open_total_of_its_filter(app, portal, merchant_info, seed):
    _book(seed, merchant_info)
    portal.post("/orders/AK-1/mark-paid")
    # the list loads its total as a block of its own (hx-trigger="load"), with its filter
    listing = portal.get("/orders?method=prepayment", htmx=True).get_data(as_text=True)
    assert 'hx-get="/orders/open-total?method=prepayment" hx-trigger="load"' in listing
    everything = portal.get("/orders/open-total", htmx=True).get_data(as_text=True)
    assert "Open: <strong>€1,020.50</strong>" in everything  # AK-1 is paid
    prepaid = portal.get("/orders/open-total?method=prepayment", htmx=True).get_data(as_text=True)
    assert "Open: <strong>€20.50</strong>" in prepaid


def test_the_filtered_list_as_csv_and_xlsx(app, portal, merchant_info, seed):
    _book(seed, merchant_info)
    response = portal.get("/orders/export.csv?method=prepayment")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["number", "ordered_on", "due_on"]
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == {"AK-1", "AK-2"}
    assert by_number["AK-2"][3] == "'=Mallory"  # never a formula in the accountant's sheet
    assert by_number["AK-2"][8:10] == ["20,50", "20,50"]  # a German Excel's decimal comma

    response = portal.get("/orders/export.xlsx?status=unpaid")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.values)
    assert values[0][0] == "number" and len(values) == 4
    row = next(r for r in values if r[0] == "AK-3")
    assert Decimal(str(row[8])) == Decimal("1000.00") and row[1].date() == date(2026, 10, 1)


def test_a_clerk_gets_no_export(app, merchant_info, seed):
    from ledger import accounts
    from ledger.db import db

    _book(seed, merchant_info)
    with app.app_context():
        accounts.create_user(
            "clerk@alpenkiste.example", accounts.find_merchant(merchant_info["name"]),
            "correct horse battery", "clerk",
        )  # fmt: skip
        db.session.commit()
    clerk = Portal(app, {"email": "clerk@alpenkiste.example", "password": "correct horse battery"})
    assert clerk.get("/orders/export.csv").status_code == 403
    assert "export.csv" not in clerk.get("/orders").get_data(as_text=True)

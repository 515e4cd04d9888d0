"""A large export is complete: streamed CSV and the write-only XLSX end with the last order."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import insert

COUNT = 5000


def _many_orders(app, merchant_id: int) -> None:
    from ledger.db import db
    from ledger.models import Order

    first = date(2026, 1, 1)
    rows = [
        {
            "merchant_id": merchant_id,
            "number": f"B-{n:05d}",
            "customer_name": f"Kundin {n}",
            "customer_email": f"b{n}@example.de",
            "country": "DE",
            "amount": Decimal("10.00") + n,
            "currency": "EUR",
            "payment_method": "invoice",
            "ordered_on": first + timedelta(days=n // 100),
            "due_on": first + timedelta(days=n // 100 + 14),
        }
        for n in range(1, COUNT + 1)
    ]
    with app.app_context():
        db.session.execute(insert(Order), rows)
        db.session.commit()


def test_a_large_export_ends_with_its_last_order(app, portal, merchant_info):
    _many_orders(app, merchant_info["id"])

    response = portal.get("/orders/export.csv")
    assert response.status_code == 200 and response.is_streamed
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffnumber;")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert len(rows) == COUNT + 1
    assert rows[1][0] == "B-05000" and rows[-1][0] == "B-00001"  # newest first, none lost
    assert rows[-1][8] == "11,00" and rows[1][8] == "5010,00"
    assert len({row[0] for row in rows[1:]}) == COUNT

    response = portal.get("/orders/export.xlsx")
    assert response.status_code == 200
    values = list(load_workbook(io.BytesIO(response.get_data()), read_only=True).active.values)
    assert len(values) == COUNT + 1
    assert values[-1][0] == "B-00001" and Decimal(str(values[-1][8])) == Decimal("11.00")

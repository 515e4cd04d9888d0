"""The audit log page: every action, filtered by who, what, order and day, and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from ledger.models import AuditEntry
from tests.portal.conftest import PORTAL_RULES, order_body


def _entries(app, merchant_id, *rows):
    from ledger.db import db

    with app.app_context():
        for actor, action, created, order_id, detail in rows:
            db.session.add(
                AuditEntry(merchant_id=merchant_id, actor=actor, action=action,
                           created_at=created, order_id=order_id, detail=detail)
            )  # fmt: skip
        db.session.commit()


def _order_id(app, number):
    from sqlalchemy import select

    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        return db.session.scalar(select(Order.id).where(Order.number == number))


def test_the_log_filters_by_who_what_order_and_day(app, portal, merchant_info, seed):
    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2")], PORTAL_RULES)
    one, two = _order_id(app, "AK-1"), _order_id(app, "AK-2")
    _entries(
        app, merchant_info["id"],
        ("user:anna@alpenkiste.example", "order.blocked", datetime(2026, 11, 2, 9), one, {}),
        ("matcher", "payment.recorded", datetime(2026, 11, 3, 9), two, {"amount": "80.00"}),
        # 23:30 UTC on the 3rd is the 4th in Berlin
        ("api", "order.upserted", datetime(2026, 11, 3, 23, 30), two, {}),
    )  # fmt: skip
    # the results block (the filter's action list names every action)
    page = portal.get("/audit?actor=anna", htmx=True).get_data(as_text=True)
    assert "order.blocked" in page and "payment.recorded" not in page
    page = portal.get("/audit?action=payment.recorded", htmx=True).get_data(as_text=True)
    assert "amount: 80.00" in page and "order.blocked" not in page
    page = portal.get("/audit?order=AK-1", htmx=True).get_data(as_text=True)
    assert "order.blocked" in page and "order.upserted" not in page
    page = portal.get("/audit?since=2026-11-04&until=2026-11-04", htmx=True).get_data(as_text=True)
    assert "order.upserted" in page and "payment.recorded" not in page
    refused = portal.get("/audit?since=yesterday")
    assert refused.status_code == 200 and "is not a date" in refused.get_data(as_text=True)


def test_the_log_as_csv_keeps_the_filter_and_defuses_formulas(app, portal, merchant_info):
    _entries(
        app, merchant_info["id"],
        ("api", "note.added", datetime(2026, 11, 2, 9), None, {"note": "=HYPERLINK(1)"}),
        ("api", "other", datetime(2026, 11, 2, 9), None, {}),
        ("=cmd|calc", "note.added", datetime(2026, 11, 2, 10), None, {}),
    )  # fmt: skip
    response = portal.get("/audit.csv?action=note.added")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0] == ["time_utc", "actor", "action", "order", "detail"]
    assert [r[2] for r in rows[1:]] == ["note.added", "note.added"]
    assert rows[1][1] == "'=cmd|calc"  # newest first; a spreadsheet shows it as text
    assert rows[2][4] == '{"note": "=HYPERLINK(1)"}'  # JSON starts with "{": harmless

"""The shop-facing REST API: upsert, payments, read-back, and refusing bad input without a trace."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.portal.conftest import count


def order_body(**overrides):
    body = {
        "number": "AK-1001",
        "customer": {
            "name": "Anna Schmidt",
            "email": "anna@example.de",
            "country": "DE",
            "language": "de",
            "type": "b2c",
        },
        "amount": "49.90",
        "currency": "EUR",
        "payment_method": "prepayment",
        "ordered_on": "2026-11-01",
    }
    body.update(overrides)
    return body


def test_create_then_update_by_number(app, shop):
    from ledger.models import Order

    created = shop.post("/api/v1/orders", json=order_body())
    assert created.status_code == 201
    assert created.json["status"] == "unpaid"
    assert created.json["due_on"] == "2026-11-01"  # defaults to the order day
    assert created.json["next_step_on"] == "2026-11-15"
    assert created.json["next_step"] == "remind"

    updated = shop.post("/api/v1/orders", json=order_body(amount="59.90", due_on="2026-11-05"))
    assert updated.status_code == 200
    assert updated.json["amount"] == "59.90"
    assert updated.json["next_step_on"] == "2026-11-19"
    assert count(app, Order) == 1

    # An update without due_on keeps the due date that was set before.
    again = shop.post("/api/v1/orders", json=order_body(amount="59.90"))
    assert again.json["due_on"] == "2026-11-05"


def test_payments_settle_the_order(shop):
    shop.post("/api/v1/orders", json=order_body())
    partial = shop.post(
        "/api/v1/orders/AK-1001/payments", json={"amount": "20.00", "paid_on": "2026-11-03"}
    )
    assert partial.status_code == 201
    assert partial.json["status"] == "partially_paid"
    assert partial.json["open_amount"] == "29.90"
    assert partial.json["next_step_on"] == "2026-11-15"

    full = shop.post(
        "/api/v1/orders/AK-1001/payments",
        json={"amount": 29.9, "paid_on": "2026-11-04", "reference": "AK-1001 Schmidt"},
    )
    assert full.json["status"] == "paid"
    assert full.json["open_amount"] == "0.00"
    assert full.json["next_step_on"] is None

    read = shop.get("/api/v1/orders/AK-1001")
    assert read.status_code == 200
    assert read.json["paid_amount"] == "49.90"
    assert read.json["dunning_level"] == 0


def test_invalid_order_lists_every_bad_field_and_stores_nothing(app, shop):
    from ledger.models import AuditEntry, Order

    audit_before = count(app, AuditEntry)
    body = order_body(
        amount="12.345", currency="USD", payment_method="bitcoin", ordered_on="1.11.2026"
    )
    body["customer"] = {
        "name": "",
        "email": "not-an-address",
        "country": "Germany",
        "language": "es",
        "type": "vip",
    }
    response = shop.post("/api/v1/orders", json=body)
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json["errors"]}
    assert set(fields) == {
        "amount",
        "currency",
        "payment_method",
        "ordered_on",
        "customer.name",
        "customer.email",
        "customer.country",
        "customer.language",
        "customer.type",
    }
    assert "two decimal places" in fields["amount"]
    assert count(app, Order) == 0
    assert count(app, AuditEntry) == audit_before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"number": "AK/1"}, "number"),
        ({"due_on": "2026-10-01"}, "due_on"),
        ({"ordered_on": "2026-02-30"}, "ordered_on"),
        ({"tags": "wholesale"}, "tags"),
        ({"customer": None}, "customer.name"),
    ],
)
def test_single_bad_fields(app, shop, change, field):
    from ledger.models import Order

    response = shop.post("/api/v1/orders", json=order_body(**change))
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["errors"]}
    assert count(app, Order) == 0


def test_body_that_is_not_json(app, shop):
    from ledger.models import Order

    response = shop.post("/api/v1/orders", data="number=1", content_type="text/plain")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "body"
    assert shop.post("/api/v1/orders", json=[1, 2]).status_code == 422
    assert count(app, Order) == 0


def test_invalid_payment_stores_nothing(app, shop):
    from ledger.models import LedgerEntry

    shop.post("/api/v1/orders", json=order_body())
    response = shop.post("/api/v1/orders/AK-1001/payments", json={"amount": "0", "paid_on": "x"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"amount", "paid_on"}
    assert count(app, LedgerEntry) == 1  # the order's charge, no payment
    assert shop.post("/api/v1/orders/NOPE/payments", json={"amount": "1"}).status_code == 404


def test_tokens(app, make_merchant, shop):
    from ledger.models import Order

    anonymous = app.test_client()
    assert anonymous.post("/api/v1/orders", json=order_body()).status_code == 401
    wrong = anonymous.get("/api/v1/orders/AK-1001", headers={"Authorization": "Bearer mw_nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(app, Order) == 0

    # Another merchant's token sees nothing of this merchant's orders.
    shop.post("/api/v1/orders", json=order_body())
    other = make_merchant("Bergladen AG")
    response = anonymous.get(
        "/api/v1/orders/AK-1001", headers={"Authorization": f"Bearer {other['token']}"}
    )
    assert response.status_code == 404


def test_tokens_are_stored_hashed(app, make_merchant):
    from ledger.db import db
    from ledger.models import ApiToken

    token = make_merchant()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64

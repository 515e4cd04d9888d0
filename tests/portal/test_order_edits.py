"""The order page's "Order data" card (portal/order_edits.py): the edit form on an open order
only, a refusal under its field storing nothing, the shop change kept aside and accepted by a
button, the payment terms shown, extra payer names and numbers, roles and German."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.portal.conftest import order_body
from tests.portal.test_roles import _user

EDIT = {
    "customer_email": "k-1@example.de",
    "amount": "80.00",
    "due_on": "2026-10-01",
    "postal_address": "",
}


def _merchant_id(app, merchant_info) -> int:
    from ledger.accounts import find_merchant

    with app.app_context():
        return find_merchant(merchant_info["name"]).id


def _order(app, merchant_info, number):
    from ledger import orders
    from ledger.db import db

    with app.app_context():
        order = orders.find_order(_merchant_id(app, merchant_info), number)
        db.session.expunge(order)
        return order


def _seed(app, seed, merchant_info, number="K-1", **extra):
    seed(_merchant_id(app, merchant_info), [order_body(number, **extra)])


def test_the_page_shows_the_form_and_the_terms(app, portal, seed, merchant_info):
    terms = {"net_days": 30, "discount_percent": "2.00", "discount_days": 14}
    _seed(app, seed, merchant_info, "K-1", method="invoice", payment_terms=terms)
    page = portal.get("/orders/K-1").get_data(as_text=True)
    assert 'id="order-data"' in page and 'name="customer_email"' in page
    assert "2% discount within 14 days, 30 days net" in page
    assert "The day dunning counts from, not the due date of the payment terms." in page
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    german = portal.get("/orders/K-1").get_data(as_text=True)
    assert "14 Tage 2 % Skonto, 30 Tage netto" in german
    assert "Auftragsdaten bearbeiten" in german


def test_an_edit_is_saved_and_the_shop_change_kept_aside(app, portal, seed, merchant_info):
    _seed(app, seed, merchant_info, "K-2", ordered_on=date(2026, 10, 1))
    form = EDIT | {"customer_email": "neu@example.de", "amount": "90,50"}
    response = portal.post("/orders/K-2/edit", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    order = _order(app, merchant_info, "K-2")
    assert order.customer_email == "neu@example.de" and order.amount == Decimal("90.50")
    assert sorted(order.manual_fields) == ["amount", "customer_email"]
    html = response.get_data(as_text=True)
    assert "Edited by hand" in html

    _seed(app, seed, merchant_info, "K-2", amount="99.00")  # the shop sends a new amount
    order = _order(app, merchant_info, "K-2")
    assert order.amount == Decimal("90.50") and order.shop_changes["amount"] == "99.00"
    # the shop still sends its own email: kept aside too, for someone to accept or not
    assert order.shop_changes["customer_email"] == "k-2@example.de"
    page = portal.get("/orders/K-2").get_data(as_text=True)
    assert "Shop changes ignored" in page and "Accept shop change" in page
    accepted = portal.post("/orders/K-2/shop-changes/amount/accept")
    assert accepted.status_code == 200
    order = _order(app, merchant_info, "K-2")
    assert order.amount == Decimal("99.00") and order.manual_fields == ["customer_email"]
    assert order.shop_changes == {"customer_email": "k-2@example.de"}
    assert portal.post("/orders/K-2/shop-changes/amount/accept").status_code == 422
    assert portal.post("/orders/K-2/shop-changes/number/accept").status_code == 404


def test_bad_input_is_refused_under_its_field(app, portal, seed, merchant_info):
    _seed(app, seed, merchant_info, "K-3")
    response = portal.post("/orders/K-3/edit", EDIT | {"customer_email": "k-3@example.de",
                                                       "amount": "zwanzig"})  # fmt: skip
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="edit-error-amount"' in html and 'value="zwanzig"' in html
    early = portal.post("/orders/K-3/edit", EDIT | {"customer_email": "k-3@example.de",
                                                    "due_on": "2026-09-01"})  # fmt: skip
    assert 'id="edit-error-due_on"' in early.get_data(as_text=True)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    german = portal.post("/orders/K-3/edit", EDIT | {"customer_email": "kaputt"})
    assert "Geben Sie eine gültige E-Mail-Adresse ein." in german.get_data(as_text=True)
    order = _order(app, merchant_info, "K-3")
    assert order.amount == Decimal("80.00") and not order.manual_fields


def test_a_paid_order_has_no_form_and_is_refused(app, portal, seed, merchant_info):
    from ledger import orders
    from ledger.db import db

    _seed(app, seed, merchant_info, "K-4")
    with app.app_context():
        order = orders.find_order(_merchant_id(app, merchant_info), "K-4")
        payment = orders.parse_payment({"amount": "80.00", "paid_on": "2026-10-02"})
        orders.record_payment(order, payment, "t")
        db.session.commit()
    page = portal.get("/orders/K-4").get_data(as_text=True)
    assert 'name="customer_email"' not in page
    refused = portal.post("/orders/K-4/edit", EDIT | {"customer_email": "x@example.de"})
    assert refused.status_code == 422 and "the order is paid" in refused.get_data(as_text=True)
    assert _order(app, merchant_info, "K-4").customer_email == "k-4@example.de"


def test_extra_payer_names_and_numbers(app, portal, seed, merchant_info):
    _seed(app, seed, merchant_info, "K-5")
    form = {"payer_names": "Erika Muster\r\nFirma GmbH", "extra_references": "RE-4711"}
    response = portal.post("/orders/K-5/payment-info", form)
    assert response.status_code == 200
    order = _order(app, merchant_info, "K-5")
    assert order.payer_names == ["Erika Muster", "Firma GmbH"]
    assert order.extra_references == ["RE-4711"]
    removed = portal.post("/orders/K-5/payment-info", form | {"payer_names": "Firma GmbH"})
    assert removed.status_code == 200
    assert _order(app, merchant_info, "K-5").payer_names == ["Firma GmbH"]
    too_long = portal.post("/orders/K-5/payment-info", form | {"extra_references": "x" * 40})
    assert too_long.status_code == 422
    assert 'id="info-error-extra_references"' in too_long.get_data(as_text=True)


def test_a_clerk_cannot_edit(app, portal, seed, merchant_info):
    _seed(app, seed, merchant_info, "K-6")
    clerk = _user(app, merchant_info, "clerk")
    assert 'name="customer_email"' not in clerk.get("/orders/K-6").get_data(as_text=True)
    assert (
        clerk.post("/orders/K-6/edit", EDIT | {"customer_email": "x@example.de"}).status_code == 403
    )
    assert _order(app, merchant_info, "K-6").customer_email == "k-6@example.de"

"""The order page's "Re-read from the shop" (portal/shop_sync.py) against a real HTTP server:
the button only with a shop URL (else a hint to the settings), the result block (changed
fields, fields kept aside, or the error as an alert), the money permission, German."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from tests.ledger.test_shop_sync import ShopHandler, answer, body_of, shop  # noqa: F401
from tests.portal.conftest import order_body
from tests.portal.test_order_edits import EDIT, _merchant_id, _order
from tests.portal.test_roles import _user


def _setup(app, portal, seed, merchant_info, shop_url, number="R-1"):  # noqa: F811
    seed(_merchant_id(app, merchant_info), [order_body(number)])
    if shop_url:
        assert portal.post("/settings/shop", {"shop_url": shop_url}).status_code == 200
        portal.post("/settings/webhook/secret")


def _result(page: str) -> str:
    found = re.search(
        r'<div class="alert[^"]*" role="(?:status|alert)" id="reread-result">(.*?)</div>',
        page,
        re.S,
    )
    assert found, page
    return html.unescape(re.sub(r"\s+", " ", found.group(1)))


def test_without_a_shop_url_the_card_points_to_the_settings(app, portal, seed, merchant_info):
    _setup(app, portal, seed, merchant_info, None)
    page = portal.get("/orders/R-1").get_data(as_text=True)
    assert 'id="reread-hint"' in page and 'href="/settings#settings-shop"' in page
    assert "/orders/R-1/reread" not in page
    refused = portal.post("/orders/R-1/reread")
    assert refused.status_code == 422
    assert "no shop URL is set (settings)" in _result(refused.get_data(as_text=True))


def test_the_shops_changes_are_applied_and_listed(app, portal, seed, merchant_info, shop):  # noqa: F811
    _setup(app, portal, seed, merchant_info, shop)
    page = portal.get("/orders/R-1").get_data(as_text=True)
    assert 'hx-post="/orders/R-1/reread"' in page
    answer("R-1", body_of("R-1", amount="95.50", customer={"email": "neu@example.de"}))

    response = portal.post("/orders/R-1/reread")

    assert response.status_code == 200
    shown = _result(response.get_data(as_text=True))
    assert "these fields changed" in shown
    assert "customer email</span>: r-1@example.de → neu@example.de" in shown
    assert "amount</span>: 80.00 → 95.50" in shown
    order = _order(app, merchant_info, "R-1")
    assert order.amount == Decimal("95.50") and order.customer_email == "neu@example.de"
    assert "order.re-read from the shop" in response.get_data(as_text=True)  # the audit trail
    [(path, headers)] = ShopHandler.received
    assert path == "/shop/orders/R-1" and headers["X-Mahnwerk-Signature"].startswith("sha256=")

    again = _result(portal.post("/orders/R-1/reread").get_data(as_text=True))
    assert "nothing changed" in again


def test_a_field_edited_by_hand_is_kept_aside(app, portal, seed, merchant_info, shop):  # noqa: F811
    _setup(app, portal, seed, merchant_info, shop)
    edit = EDIT | {"customer_email": "hand@example.de", "due_on": "2026-10-01"}
    assert portal.post("/orders/R-1/edit", edit).status_code == 200
    answer("R-1", body_of("R-1", customer={"email": "shop@example.de"}))
    response = portal.post("/orders/R-1/reread")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    shown = _result(page)
    assert "nothing changed" in shown and "Kept aside" in shown
    assert "customer email</span>: shop@example.de" in shown
    assert "Shop changes ignored" in page and "Accept shop change" in page
    assert _order(app, merchant_info, "R-1").customer_email == "hand@example.de"


def test_errors_are_shown_as_an_alert_and_change_nothing(app, portal, seed, merchant_info, shop):  # noqa: F811
    _setup(app, portal, seed, merchant_info, shop)
    answer("R-1", b"{}", status=404)
    response = portal.post("/orders/R-1/reread")
    assert response.status_code == 422
    assert "the shop does not know this order (HTTP 404)" in _result(
        response.get_data(as_text=True)
    )
    assert 'role="alert" id="reread-result"' in response.get_data(as_text=True)

    answer("R-1", b"{oops")
    assert "is not JSON" in _result(portal.post("/orders/R-1/reread").get_data(as_text=True))
    answer("R-1", body_of("R-1", amount="abc"))
    invalid = _result(portal.post("/orders/R-1/reread").get_data(as_text=True))
    assert (
        "the shop's order data is invalid" in invalid
        and "amount</code>: must be a plain decimal amount" in invalid
    )
    answer("R-1", body_of("R-2"))
    other = _result(portal.post("/orders/R-1/reread").get_data(as_text=True))
    assert "another order number (R-2)" in other
    assert _order(app, merchant_info, "R-1").amount == Decimal("80.00")

    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    answer("R-1", b"{}", status=404)
    german = _result(portal.post("/orders/R-1/reread").get_data(as_text=True))
    assert "Der Shop kennt diesen Auftrag nicht (HTTP 404)" in german
    page = portal.get("/orders/R-1").get_data(as_text=True)
    assert "Aus dem Shop neu lesen" in page


def test_the_money_permission_is_needed(app, portal, seed, merchant_info, shop):  # noqa: F811
    _setup(app, portal, seed, merchant_info, shop)
    clerk = _user(app, merchant_info, "clerk")
    assert "/orders/R-1/reread" not in clerk.get("/orders/R-1").get_data(as_text=True)
    assert clerk.post("/orders/R-1/reread").status_code == 403
    assert ShopHandler.received == []
    assert portal.post("/orders/NOPE/reread").status_code == 404

"""The order page's notices to the customer: the Cancel form's "Tell the customer", Resend
payment information, the payment slip letter; the settings' Notices section and its CLI flags;
a payment through the API that settles an order confirms it to the customer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.permissions import Role
from tests.portal.conftest import order_body
from tests.portal.test_roles import _user

ADDRESS = "Hauptstr. 1\n10115 Berlin"


def with_address(number: str) -> dict:
    body = order_body(number)
    body["customer"]["address"] = ADDRESS
    return body


@pytest.fixture
def orders(seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1"), with_address("AK-2")])


def set_merchant(app, info, **values):
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        merchant = db.session.get(Merchant, info["id"])
        for name, value in values.items():
            setattr(merchant, name, value)
        db.session.commit()


def state_of(app, number):
    """The order's status and its messages (purpose, kind) and audit actions."""
    from ledger.db import db
    from ledger.models import AuditEntry, Order, OutboxMessage

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        messages = db.session.execute(
            select(OutboxMessage.purpose, OutboxMessage.kind)
            .where(OutboxMessage.order_id == order.id, OutboxMessage.kind != "webhook")
            .order_by(OutboxMessage.id)
        ).all()
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.order_id == order.id)
        ).all()
        return order.status, [tuple(m) for m in messages], list(actions)


def test_the_cancel_form_offers_the_ways_preselecting_the_default(
    app, portal, orders, merchant_info
):
    set_merchant(app, merchant_info, cancellation_notice="letter")
    page = portal.get("/orders/AK-2").get_data(as_text=True)
    assert 'name="notice"' in page and "Tell the customer" in page
    assert '<option value="letter" selected' in page
    page = portal.get("/orders/AK-1").get_data(as_text=True)  # no address: letter is no choice
    assert '<option value="none" selected' in page
    assert "by letter (the order has no postal address)" in page


def test_cancel_by_email_queues_the_notice_and_says_so(app, portal, orders):
    answer = portal.post("/orders/AK-1/cancel", {"reason": "", "notice": "email"})
    assert answer.status_code == 200
    assert "The customer is told by email." in answer.get_data(as_text=True)
    status, messages, actions = state_of(app, "AK-1")
    assert status == "cancelled" and messages == [("cancellation", "email")]
    assert "order.cancellation_notice" in actions and "order.cancelled" in actions
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "order.cancellation notice" in page  # the audit trail's label


def test_cancel_by_letter_without_an_address_changes_nothing(app, portal, orders):
    refused = portal.post("/orders/AK-1/cancel", {"notice": "letter"})
    assert refused.status_code == 422
    assert "Nothing was changed: the order has no postal address." in refused.get_data(as_text=True)
    assert state_of(app, "AK-1")[:2] == ("unpaid", [])
    bad = portal.post("/orders/AK-1/cancel", {"notice": "fax"})
    assert bad.status_code == 422
    assert "Choose how the customer is told" in bad.get_data(as_text=True)
    assert state_of(app, "AK-1")[0] == "unpaid"
    done = portal.post("/orders/AK-2/cancel", {"notice": "letter"})
    assert "A cancellation letter waits for the next print run." in done.get_data(as_text=True)
    assert state_of(app, "AK-2")[1] == [("cancellation", "letter")]


def test_cancel_without_the_field_follows_the_merchants_default(app, portal, orders, merchant_info):
    portal.post("/orders/AK-1/cancel", {})
    assert state_of(app, "AK-1")[:2] == ("cancelled", [])  # the default: none
    set_merchant(app, merchant_info, cancellation_notice="email")
    portal.post("/orders/AK-2/cancel", {})
    assert state_of(app, "AK-2")[1] == [("cancellation", "email")]


def test_resend_payment_information_while_the_order_is_open(app, portal, orders, merchant_info):
    set_merchant(app, merchant_info, payment_info_on_change=False)  # the button always sends
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "Resend payment information" in page
    answer = portal.post("/orders/AK-1/payment-info/send")
    assert answer.status_code == 200
    assert "The payment information goes out by email again." in answer.get_data(as_text=True)
    _status, messages, actions = state_of(app, "AK-1")
    assert messages == [("payment_info", "email")] and "order.payment_info_resent" in actions
    paid = portal.post("/orders/AK-1/mark-paid", {})
    assert paid.status_code == 200
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "Resend payment information" not in page
    assert "Payment information cannot be sent by email: the order is paid." in page
    refused = portal.post("/orders/AK-1/payment-info/send")
    assert refused.status_code == 422
    assert "Nothing was changed: the order is paid" in refused.get_data(as_text=True)


def test_the_payment_slip_letter_only_while_the_order_is_owed(app, portal, orders):
    page = portal.get("/orders/AK-2").get_data(as_text=True)
    assert "Send payment slip by letter (payment information)" in page
    portal.post("/orders/AK-2/mark-paid", {})
    page = portal.get("/orders/AK-2").get_data(as_text=True)
    assert "Send payment slip by letter" not in page
    assert "No payment slip or invoice letter can be sent: the order is paid." in page
    refused = portal.post("/orders/AK-2/letters", {"kind": "payment_info"})
    assert refused.status_code == 422


def test_only_the_dunning_permission_may_resend(app, orders, merchant_info):
    viewer = _user(app, merchant_info, Role.VIEWER)
    page = viewer.get("/orders/AK-1").get_data(as_text=True)
    assert "Resend payment information" not in page
    assert viewer.post("/orders/AK-1/payment-info/send").status_code == 403


def test_the_settings_notices_section(app, portal, merchant_info):
    page = portal.get("/settings").get_data(as_text=True)
    assert 'id="settings-notices"' in page and "Confirm payments to the customer" in page
    saved = portal.post(
        "/settings/notices", {"payment_received_mail": "on", "cancellation_notice": "letter"}
    )
    assert saved.status_code == 200 and "Saved:" in saved.get_data(as_text=True)
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        assert (merchant.payment_received_mail, merchant.cancellation_notice) == (True, "letter")
    refused = portal.post("/settings/notices", {"cancellation_notice": "fax"})
    assert refused.status_code == 422
    assert 'id="error-cancellation_notice"' in refused.get_data(as_text=True)
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        assert (merchant.payment_received_mail, merchant.cancellation_notice) == (True, "letter")
    portal.post("/settings/notices", {"cancellation_notice": "none"})  # the box unticked
    with app.app_context():
        assert db.session.get(Merchant, merchant_info["id"]).payment_received_mail is False


def test_the_cli_flags(app, merchant_info):
    from ledger.db import db
    from ledger.models import Merchant

    runner = app.test_cli_runner()
    name = merchant_info["name"]
    done = runner.invoke(
        args=["merchant", "update", "--merchant", name, "--payment-received-mail",
              "--cancellation-notice", "email"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "cancellation_notice: none -> email" in done.output
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        assert (merchant.payment_received_mail, merchant.cancellation_notice) == (True, "email")
    off = runner.invoke(
        args=["merchant", "update", "--merchant", name, "--no-payment-received-mail"]
    )
    assert off.exit_code == 0, off.output
    bad = runner.invoke(
        args=["merchant", "update", "--merchant", name, "--cancellation-notice", "fax"]
    )
    assert bad.exit_code != 0
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        assert (merchant.payment_received_mail, merchant.cancellation_notice) == (False, "email")


def test_a_payment_through_the_api_confirms_it_once(app, merchant_info, orders):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {merchant_info['token']}"
    body = {"amount": "80.00", "paid_on": "2026-10-03"}
    assert client.post("/api/v1/orders/AK-1/payments", json=body).status_code in (200, 201)
    assert state_of(app, "AK-1")[:2] == ("paid", [])  # the setting is off
    set_merchant(app, merchant_info, payment_received_mail=True)
    partial = {"amount": "30.00", "paid_on": "2026-10-03"}
    assert client.post("/api/v1/orders/AK-2/payments", json=partial).status_code in (200, 201)
    assert state_of(app, "AK-2")[1] == []  # partly paid: nothing yet
    rest = {"amount": "50.00", "paid_on": "2026-10-04"}
    assert client.post("/api/v1/orders/AK-2/payments", json=rest).status_code in (200, 201)
    assert state_of(app, "AK-2")[:2] == ("paid", [("payment_received", "email")])


def test_an_erased_order_offers_neither_and_says_why(app, portal, orders):
    erased = portal.post("/orders/AK-2/erase", {"confirm": "yes"})
    assert erased.status_code == 200, erased.get_data(as_text=True)
    page = portal.get("/orders/AK-2").get_data(as_text=True)
    assert "Resend payment information" not in page
    assert "Send payment slip by letter" not in page
    assert (
        "No payment slip or invoice letter can be sent: the customer&#39;s data was erased." in page
    )
    assert (
        "Payment information cannot be sent by email: the customer&#39;s data was erased." in page
    )

"""Payments through the API: an Idempotency-Key makes a retry (even a simultaneous one) the same
payment with the same answer, a repeated reference is stored once; and a payment for a
cancelled order is kept, flagged, reported to accounting and cleared by reactivating the order
in the portal."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.portal.conftest import PORTAL_RULES, Portal, count, order_body

WEBHOOK = "http://127.0.0.1:9/hook"
PAID_ON = "2026-10-03"


@pytest.fixture
def info(app, make_merchant):
    from ledger import rulesets
    from ledger.db import db
    from ledger.models import Merchant

    info = make_merchant(webhook_url=WEBHOOK)
    with app.app_context():
        rulesets.save_and_activate(db.session.get(Merchant, info["id"]), PORTAL_RULES, "test")
        db.session.commit()
    return info


def shop_client(app, info):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {info['token']}"
    return client


@pytest.fixture
def shop(app, info):
    client = shop_client(app, info)
    created = client.post("/api/v1/orders", json=order_body("AK-1"))
    assert created.status_code == 201, created.json
    return client


def pay(client, number="AK-1", key=None, **body):
    body = {"amount": "20.00", "paid_on": PAID_ON} | body
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"/api/v1/orders/{number}/payments", json=body, headers=headers)


def payment_entries(app, number="AK-1") -> list:
    from ledger.db import db
    from ledger.models import LedgerEntry, Order

    with app.app_context():
        return db.session.execute(
            select(LedgerEntry.id, LedgerEntry.amount)
            .join(Order, Order.id == LedgerEntry.order_id)
            .where(Order.number == number, LedgerEntry.kind == "payment")
            .order_by(LedgerEntry.id)
        ).all()


def flagged(portal) -> list[str]:
    listing = portal.get("/orders?flag=paid_after_cancellation").get_data(as_text=True)
    return re.findall(r'class="order-link" href="/orders/[^"]+">([^<]+)</a>', listing)


# --- Idempotency-Key and reference -----------------------------------------------------------


def test_the_same_key_twice_is_one_payment_and_the_same_answer(app, shop):
    from ledger.models import IdempotentRequest

    first = pay(shop, key="pay-AK-1-a")
    assert first.status_code == 201, first.json
    assert first.json["status"] == "partially_paid" and first.json["open_amount"] == "60.00"
    again = pay(shop, key="pay-AK-1-a")
    assert again.status_code == first.status_code
    assert again.json == first.json
    assert len(payment_entries(app)) == 1
    assert count(app, IdempotentRequest) == 1
    assert shop.get("/api/v1/orders/AK-1").json["paid_amount"] == "20.00"

    # Another key is another payment, even with the same body.
    other = pay(shop, key="pay-AK-1-b")
    assert other.status_code == 201 and other.json["payment"]["id"] != first.json["payment"]["id"]
    assert other.json["paid_amount"] == "40.00"
    assert len(payment_entries(app)) == 2


def test_the_same_key_with_another_request_is_refused_naming_the_key(app, shop):
    first = pay(shop, key="k-1")
    assert first.status_code == 201
    for reused in (
        pay(shop, key="k-1", amount="25.00"),  # another body
        pay(shop, key="k-1", paid_on="2026-10-04"),
    ):
        assert reused.status_code == 422, reused.json
        assert "Idempotency-Key" in reused.json["error"]
        assert [e["field"] for e in reused.json["errors"]] == ["Idempotency-Key"]
    shop.post("/api/v1/orders", json=order_body("AK-2"))
    elsewhere = pay(shop, number="AK-2", key="k-1")  # the same body for another order
    assert elsewhere.status_code == 422
    assert [e["field"] for e in elsewhere.json["errors"]] == ["Idempotency-Key"]
    assert payment_entries(app, "AK-2") == []
    assert [amount for _id, amount in payment_entries(app)] == [Decimal("20.00")]
    # The stored answer still replays.
    assert pay(shop, key="k-1").json == first.json


def test_the_same_reference_without_a_key_is_stored_once(app, shop):
    first = pay(shop, reference="BANK-2026-0001")
    assert first.status_code == 201
    assert first.json["payment"]["duplicate"] is False
    second = pay(shop, reference="BANK-2026-0001")
    assert second.status_code == 200, second.json
    assert second.json["payment"] == {"id": first.json["payment"]["id"], "duplicate": True}
    assert second.json["paid_amount"] == "20.00"
    assert len(payment_entries(app)) == 1
    # Another reference is another payment.
    assert pay(shop, reference="BANK-2026-0002").status_code == 201
    assert len(payment_entries(app)) == 2


def race(app, tokens: list[str], key: str) -> list:
    """Two clients post the same payment with the same key at the same moment; their answers."""
    barrier = threading.Barrier(2, timeout=30)
    answers: list = [None, None]
    errors: list = []

    def post(slot: int) -> None:
        try:
            with app.app_context():
                client = shop_client(app, {"token": tokens[slot]})
                barrier.wait()
                response = pay(client, key=key, amount="5.00")
                answers[slot] = (response.status_code, response.json)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return answers


def test_the_same_key_sent_twice_at_the_same_time_is_one_payment(app, info, shop):
    """Two shop retries racing each other: each thread with its own app context and client, and
    its own token (so the tokens' last-used stamp does not put one behind the other)."""
    from ledger import accounts
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        second_token = accounts.create_token(db.session.get(Merchant, info["id"]))
        db.session.commit()
    for round_ in range(4):
        first, second = race(app, [info["token"], second_token], f"race-{round_}")
        assert first is not None and first == second, (first, second)
        assert first[0] == 201
        assert len(payment_entries(app)) == round_ + 1
    assert shop.get("/api/v1/orders/AK-1").json["paid_amount"] == "20.00"


# --- a payment for a cancelled order ---------------------------------------------------------


def test_a_payment_after_cancellation_is_kept_flagged_reported_and_reactivated(app, info, shop):
    from ledger import dunning
    from ledger.clock import today_for
    from ledger.db import db
    from ledger.models import AuditEntry, Merchant, Order, OutboxMessage

    portal = Portal(app, info)
    cancelled = portal.post("/orders/AK-1/cancel", {"reason": "not paid in time"})
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert shop.get("/api/v1/orders/AK-1").json["status"] == "cancelled"

    paid = pay(shop, amount="80.00", reference="late-transfer")
    assert paid.status_code == 201, paid.json
    assert paid.json["status"] == "cancelled"
    assert paid.json["paid_after_cancellation"] is True
    assert (paid.json["open_amount"], paid.json["credit"]) == ("0.00", "80.00")
    read = shop.get("/api/v1/orders/AK-1").json
    assert (read["status"], read["paid_after_cancellation"]) == ("cancelled", True)

    assert shop.post("/api/v1/orders", json=order_body("AK-2")).status_code == 201
    assert flagged(portal) == ["AK-1"]  # the order list's filter
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert 'id="paid-after-cancellation"' in page
    assert "A payment came in after this order was cancelled" in page
    assert "/orders/AK-1/reactivate" in page and ">Reactivate</button>" in page

    # The next daily run's accounting digest names the order.
    with app.app_context():
        merchant = db.session.get(Merchant, info["id"])
        dunning.execute(merchant, today_for(merchant))
        digests = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == "accounting_digest")
        ).all()
        assert len(digests) == 1
        assert digests[0].recipient == "buchhaltung@example.com"
        assert digests[0].payload["orders"] == ["AK-1"]
        lines = [line for line in digests[0].body.splitlines() if "AK-1" in line]
        assert len(lines) == 1 and "nach der Stornierung bezahlt" in lines[0], digests[0].body
        # …once: the next run has nothing new to say about it.
        dunning.execute(merchant, today_for(merchant))
        assert (
            db.session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.purpose == "accounting_digest"
                )
            )
            == 1
        )

    reactivated = portal.post("/orders/AK-1/reactivate")
    assert reactivated.status_code == 200, reactivated.get_data(as_text=True)
    assert "The order is reactivated" in reactivated.get_data(as_text=True)
    read = shop.get("/api/v1/orders/AK-1").json
    assert (read["status"], read["paid_after_cancellation"]) == ("paid", False)
    assert (read["open_amount"], read["credit"]) == ("0.00", "0.00")
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert 'id="paid-after-cancellation"' not in page
    assert flagged(portal) == []

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == "AK-1"))
        assert (order.status, order.paid_after_cancellation, order.cancelled_on) == (
            "paid",
            False,
            None,
        )
        webhooks = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "webhook", OutboxMessage.order_id == order.id)
            .order_by(OutboxMessage.id)
        ).all()
        assert [w.purpose for w in webhooks] == [
            "order.cancelled", "order.reservation_released", "order.reactivated",
        ]  # fmt: skip
        hook = webhooks[-1]
        assert hook.recipient == WEBHOOK and hook.state == "pending"
        assert hook.payload["event"] == "order.reactivated"
        assert hook.payload["order"]["number"] == "AK-1"
        assert hook.payload["order"]["status"] == "paid"
        assert hook.payload["order"]["paid_after_cancellation"] is False
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.order_id == order.id).order_by(AuditEntry.id)
        ).all()
        assert actions[-1] == "order.reactivated"
        assert actions.count("payment.recorded") == 1 and "order.cancelled" in actions

    # Reactivated once: the button is gone and a second press changes nothing.
    again = portal.post("/orders/AK-1/reactivate")
    assert again.status_code == 422
    assert "Nothing was changed" in again.get_data(as_text=True)


def test_payments_that_would_add_up_past_the_largest_amount_are_refused(app, shop):
    """Two payments of the largest amount each: the second would overflow the order's paid sum
    (a money column holds 10 digits before the point); refused with 409, not a 500."""
    assert shop.post("/api/v1/orders", json=order_body("AK-90001")).status_code == 201
    largest = {"amount": "9999999999.99", "paid_on": "2026-10-05"}
    assert shop.post("/api/v1/orders/AK-90001/payments", json=largest).status_code == 201
    again = shop.post("/api/v1/orders/AK-90001/payments", json=largest | {"reference": "x"})
    assert again.status_code == 409 and "more than 9999999999.99" in again.get_json()["error"]

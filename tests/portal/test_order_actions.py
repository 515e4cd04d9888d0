"""The order page's actions completed by issue 15: a dunning block with an end (the daily run
lifts it by itself), marking paid with amount, date and note (and undoing it), and a dunning
run for one order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tests.portal.conftest import order_body
from tests.portal.test_portal_orders import audit_actions, load

RULES = "vorkasse:\n    after 7 days: remind level 1\n    after 14 days: remind level 2\n"


def _entries(app, number: str, action: str) -> list[dict]:
    from ledger.db import db
    from ledger.models import AuditEntry, Order

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        return [
            dict(e.detail or {}, actor=e.actor)
            for e in db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.order_id == order.id, AuditEntry.action == action
                )
            )
        ]


def test_a_block_with_an_end_is_shown_and_lifted_by_the_daily_run(app, portal, seed, merchant_info):
    from ledger import dunning
    from ledger.accounts import find_merchant
    from ledger.db import db
    from ledger.models import Merchant

    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1")], rules=RULES)
    bad = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "r", "until": "31.12."})
    assert bad.status_code == 422 and "a date like" in bad.get_data(as_text=True)
    past = portal.post(
        "/orders/AK-1/block", {"blocked": "on", "reason": "r", "until": "2026-10-04"}
    )
    assert past.status_code == 422 and "in the past" in past.get_data(as_text=True)
    assert not load(app, "AK-1").dunning_block

    response = portal.post(
        "/orders/AK-1/block", {"blocked": "on", "reason": "disputed", "until": "2026-10-12"}
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Dunning resumes by itself after" in text and 'id="block-end"' in text
    order = load(app, "AK-1")
    assert order.dunning_block and order.dunning_block_until == date(2026, 10, 12)
    assert _entries(app, "AK-1", "dunning.block_ends")[0]["blocked_until"] == "2026-10-12"

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        summary = dunning.execute(merchant, date(2026, 10, 12))  # the last blocked day
        assert not summary.steps
        assert load(app, "AK-1").dunning_block
        summary = dunning.execute(find_merchant(merchant.name), date(2026, 10, 13))
        assert summary.steps["remind"] == 1  # level 1 was due on day 7: it goes now
    order = load(app, "AK-1")
    assert not order.dunning_block and order.dunning_block_until is None
    assert _entries(app, "AK-1", "dunning.unblocked")[0]["actor"] == "system"


def test_lifting_a_block_by_hand_clears_its_end(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "r", "until": "2026-11-01"})
    assert portal.post("/orders/AK-1/block", {"blocked": "off"}).status_code == 200
    order = load(app, "AK-1")
    assert not order.dunning_block and order.dunning_block_until is None
    assert audit_actions(app, "AK-1")[-1] == "dunning.unblocked"


def test_mark_paid_takes_amount_date_and_note_and_refuses_bad_input(
    app, portal, seed, merchant_info
):
    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1", amount="80.00")])
    for data, says in (
        ({"amount": "zwölf"}, "is not an amount"),
        ({"amount": "-5"}, "more than 0"),
        ({"paid_on": "gestern"}, "a date like"),
        ({"paid_on": "2026-10-06"}, "must not be in the future"),
        ({"note": "x" * 501}, "at most 500"),
        ({"amount": "1000000000000"}, "too large"),
    ):
        response = portal.post("/orders/AK-1/mark-paid", data)
        assert response.status_code == 422, data
        assert says in response.get_data(as_text=True), data
    assert load(app, "AK-1").paid_total == 0
    assert "payment.recorded" not in audit_actions(app, "AK-1")

    response = portal.post(
        "/orders/AK-1/mark-paid", {"amount": "30,50", "paid_on": "2026-10-03", "note": "cash"}
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Recorded a payment of €30.50" in text and "(cash)" in text
    order = load(app, "AK-1")
    assert order.status == "partially_paid" and order.paid_total == Decimal("30.50")
    recorded = _entries(app, "AK-1", "payment.recorded")[0]
    assert recorded["amount"] == "30.50" and recorded["paid_on"] == "2026-10-03"

    # empty fields: the rest, today
    assert portal.post("/orders/AK-1/mark-paid", {}).status_code == 200
    order = load(app, "AK-1")
    assert order.status == "paid" and order.paid_total == Decimal("80.00")


def test_a_manual_payment_can_be_undone_once_a_bank_payment_not_here(
    app, portal, seed, merchant_info
):
    from ledger import lifecycle
    from ledger.db import db
    from ledger.models import LedgerEntry, Order, Source

    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2")])
    page = portal.post("/orders/AK-1/mark-paid", {}).get_data(as_text=True)
    assert "Undo payment" in page
    with app.app_context():
        entry_id = db.session.scalar(
            select(LedgerEntry.id)
            .join(Order)
            .where(Order.number == "AK-1", LedgerEntry.kind == "payment")
        )
        other = db.session.scalar(select(Order).where(Order.number == "AK-2"))
        cause = lifecycle.Cause("bank", Source.BANK, date(2026, 10, 5))
        bank_entry = lifecycle.record_payment(other, Decimal("10.00"), cause.today, cause, "R1")[0]
        db.session.commit()
        bank_id = bank_entry.id
    # not this order's entry, and a bank payment: refused, nothing changes
    assert portal.post(f"/orders/AK-1/payments/{bank_id}/undo").status_code == 422
    refused = portal.post(f"/orders/AK-2/payments/{bank_id}/undo")
    assert refused.status_code == 422
    assert load(app, "AK-2").paid_total == Decimal("10.00")
    assert "Undo payment" not in portal.get("/orders/AK-2").get_data(as_text=True)

    response = portal.post(f"/orders/AK-1/payments/{entry_id}/undo")
    assert response.status_code == 200
    assert "The payment is undone" in response.get_data(as_text=True)
    order = load(app, "AK-1")
    assert order.status == "unpaid" and order.paid_total == 0
    reversed_ = _entries(app, "AK-1", "payment.reversed")
    assert len(reversed_) == 1 and reversed_[0]["reason"] == "payment undone by hand"
    again = portal.post(f"/orders/AK-1/payments/{entry_id}/undo")
    assert again.status_code == 422
    assert len(_entries(app, "AK-1", "payment.reversed")) == 1


def test_run_dunning_for_one_order_takes_its_step_once_with_the_daily_run(
    app, portal, seed, merchant_info
):
    from ledger import dunning
    from ledger.db import db
    from ledger.models import DunningEvent, DunningRun, Merchant, Order, OutboxMessage

    app.config["MAHNWERK_TODAY"] = "2026-10-09"  # level 1 is due on 2026-10-08
    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2")], rules=RULES)
    assert "Run dunning for this order" in portal.get("/orders/AK-1").get_data(as_text=True)
    response = portal.post("/orders/AK-1/run")
    assert response.status_code == 200
    assert "step due today was taken" in response.get_data(as_text=True)
    assert load(app, "AK-1").dunning_level == 1
    assert load(app, "AK-2").dunning_level == 0  # only this order
    again = portal.post("/orders/AK-1/run")
    assert "nothing due for this order today" in again.get_data(as_text=True)

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        summary = dunning.execute(merchant, date(2026, 10, 9))
        assert summary.steps["remind"] == 1  # AK-2 only
        one = db.session.scalar(select(Order.id).where(Order.number == "AK-1"))
        reminders = db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.order_id == one, OutboxMessage.purpose == "reminder"
            )
        ).all()
        assert len(reminders) == 1
        events = db.session.scalars(
            select(DunningEvent.level).where(DunningEvent.order_id == one)
        ).all()
        assert events == [1]
        runs = db.session.scalars(select(DunningRun.trigger)).all()
        assert runs.count("portal") == 2

    portal.post("/orders/AK-1/block", {"blocked": "on", "reason": "disputed"})
    refused = portal.post("/orders/AK-1/run")
    assert refused.status_code == 422 and "dunning is blocked" in refused.get_data(as_text=True)


def test_cancel_is_offered_on_prepayment_only_and_refused_for_invoice(
    app, portal, seed, merchant_info
):
    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1"), order_body("RE-1", method="invoice")])
    assert 'id="cancel-reason"' in portal.get("/orders/AK-1").get_data(as_text=True)
    assert 'id="cancel-reason"' not in portal.get("/orders/RE-1").get_data(as_text=True)
    refused = portal.post("/orders/RE-1/cancel", {"reason": "x"})
    assert refused.status_code == 422
    assert load(app, "RE-1").status == "unpaid"
    assert "order.cancelled" not in audit_actions(app, "RE-1")

"""The order page's actions completed by issue 15: a dunning block with an end (the daily run
lifts it by itself), marking paid with amount, date and note (and undoing it), and a dunning
run for one order."""

from __future__ import annotations

from datetime import date

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

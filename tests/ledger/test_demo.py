"""The demo merchant: loaded once, with orders in every state and a draft to preview."""

from __future__ import annotations

from sqlalchemy import func, select

from ledger import demo, preview, rulesets
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.models import CollectionCase, DunningEvent, Order, OutboxMessage, PaymentClaim


def test_demo_loads_once_with_every_state_and_a_draft_version(ctx):
    assert demo.load(60) is True
    assert demo.load(60) is False  # a second call changes nothing
    merchant = find_merchant(demo.MERCHANT_NAME)
    statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert {"unpaid", "paid", "cancelled"} <= statuses
    methods = set(db.session.scalars(select(Order.payment_method).distinct()))
    assert methods == {"prepayment", "invoice", "cod"}
    assert db.session.scalar(select(func.count(DunningEvent.id))) > 0
    versions = rulesets.versions(merchant.id)
    assert [(v.number, v.active) for v in versions] == [(2, False), (1, True)]
    assert not rulesets.has_errors(merchant, versions[0].text)
    # The draft really differs from the active rules on the demo's own orders.
    today = max(db.session.scalars(select(Order.ordered_on)))
    assert preview.compare(merchant, versions[0].text, today).changed
    # Payment information by letter waits for the reviewer's print run: one per country.
    asked = db.session.scalars(
        select(Order.country)
        .join(OutboxMessage, OutboxMessage.order_id == Order.id)
        .where(OutboxMessage.kind == "letter", OutboxMessage.purpose == "payment_info")
    ).all()
    assert sorted(asked) == ["AT", "CH", "DE"]
    # The order page's sections the replayed days do not make on their own, one order each.
    assert db.session.scalar(select(func.count(PaymentClaim.id))) == 1
    claim = db.session.scalar(select(PaymentClaim))
    assert claim.proof_type == "image/png" and claim.state == "open"
    (case,) = db.session.scalars(select(CollectionCase)).all()
    assert case.partner == "Inkasso Süd GmbH" and case.status == "accepted"
    assert any(o.statement.credit > 0 for o in db.session.scalars(select(Order)))
    bounced = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.bounced_at.is_not(None))
    ).all()
    assert len(bounced) == 1 and "5.1.1" in bounced[0].bounce_reason

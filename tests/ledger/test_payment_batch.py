"""lifecycle.PaymentBatch: payments booked together write each order once, in one statement,
with the same version check as the ORM's per-row UPDATE."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm.exc import StaleDataError

from ledger import lifecycle
from ledger.db import db
from ledger.models import AuditEntry, Order

TODAY = date(2026, 10, 20)


def _book(orders, amounts):
    batch = lifecycle.PaymentBatch()
    locked = lifecycle.lock_many([o.id for o in orders])
    batch.expect([o.id for o in locked], "bank", [f"t:{o.id}" for o in locked])
    cause = lifecycle.Cause("test", "bank", TODAY)
    for order, amount in zip(locked, amounts, strict=True):
        lifecycle.record_payment(
            order, Decimal(amount), TODAY, cause, reference=f"t:{order.id}", batch=batch
        )
    return batch, locked


def test_the_orders_are_written_in_one_statement_with_their_new_state(card_merchant, add_order):
    orders = [add_order(card_merchant, f"AK-2000{i}") for i in range(3)]
    db.session.commit()
    before = {o.id: o.version for o in orders}
    updates = []

    def count(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE ORDERS"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        batch, locked = _book(orders, ["80.00", "80.00", "80.00"])
        batch.finish()
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(updates) == 1  # three paid orders, one executemany; the flush adds none
    db.session.expire_all()
    for order in db.session.scalars(select(Order).where(Order.id.in_(before))):
        assert (order.status, order.paid_total, order.next_due_on) == ("paid", 80, None)
        assert order.version == before[order.id] + 1
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "payment.recorded"))
    assert sorted(a.order_id for a in audited) == sorted(before)


def test_an_order_changed_since_it_was_read_fails_the_batch(card_merchant, add_order):
    orders = [add_order(card_merchant, f"AK-2100{i}") for i in range(2)]
    db.session.commit()
    batch, locked = _book(orders, ["80.00", "30.00"])
    # someone else's write, behind the session's back (the version the batch read is old)
    db.session.connection().execute(
        text("UPDATE orders SET version = version + 1 WHERE id = :id"), {"id": locked[1].id}
    )
    with pytest.raises(StaleDataError, match="changed since they were read"):
        batch.finish()
    db.session.rollback()
    assert db.session.get(Order, locked[0].id).paid_total == 0  # nothing of the batch stays

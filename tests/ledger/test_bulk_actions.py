"""Bulk actions on many orders (ledger/bulk_actions.py): the review's plan, the job run order by
order, resumed after a stop without acting twice, and an order changed meanwhile skipped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger import bulk_actions, lifecycle, manual
from ledger.clock import today_for
from ledger.db import db
from ledger.models import AuditEntry, BulkJob, OutboxMessage, Source


def reminders(order_ids) -> dict[int, int]:
    rows = db.session.execute(
        select(OutboxMessage.order_id, func.count())
        .where(OutboxMessage.purpose == "reminder", OutboxMessage.order_id.in_(order_ids))
        .group_by(OutboxMessage.order_id)
    )
    return dict(rows.all())


@pytest.fixture
def book(card_merchant, add_order, pay):
    """Open A, B; paid P; blocked K; invoice order I; erased E."""
    m = card_merchant
    orders = {n: add_order(m, n) for n in ("A", "B", "P", "K", "E")}
    orders["I"] = add_order(m, "I", method="invoice")
    pay(orders["P"])
    cause = lifecycle.Cause("test", Source.MANUAL, today_for(m), reason="Kunde ruft an")
    manual.block(orders["K"], cause)
    manual.erase_personal_data(orders["E"], "test", today_for(m))
    db.session.commit()
    return orders


def test_plan_counts_and_skip_reasons(card_merchant, book):
    ids = [o.id for o in book.values()]
    touch, skipped = bulk_actions.plan(card_merchant, "remind", ids)
    assert touch == [book["A"].id, book["B"].id, book["I"].id]
    assert {s["number"]: str(s["reason"]) for s in skipped} == {
        "P": "the order is paid",
        "K": "dunning is blocked for this order",
        "E": "the customer's data was erased",
    }
    touch, skipped = bulk_actions.plan(card_merchant, "cancel", ids)
    assert touch == [book["A"].id, book["B"].id, book["K"].id]
    assert {s["number"]: s["reason"].code for s in skipped} == {
        "P": "status",
        "I": "cancel_method",
        "E": "erased",
    }
    touch, _skipped = bulk_actions.plan(card_merchant, "unblock", ids)
    assert touch == [book["K"].id]
    touch, skipped = bulk_actions.plan(card_merchant, "mark_paid", ids)
    assert book["P"].id not in touch and book["A"].id in touch


def test_plan_leaves_out_another_merchants_orders(card_merchant, book, make_merchant, add_order):
    from ledger.accounts import find_merchant

    other = find_merchant(make_merchant("Bergladen AG")["name"])
    foreign = add_order(other, "X-1")
    db.session.commit()
    touch, skipped = bulk_actions.plan(card_merchant, "remind", [foreign.id, book["A"].id])
    assert touch == [book["A"].id] and skipped == []


def test_a_reminder_without_an_email_is_skipped(card_merchant, book):
    book["B"].customer_email = ""
    db.session.commit()
    _touch, skipped = bulk_actions.plan(card_merchant, "remind", [book["B"].id])
    assert [s["reason"].code for s in skipped] == ["no_customer_email"]


def test_a_reminder_to_a_customer_who_says_they_paid_is_skipped(card_merchant, book):
    book["B"].payment_claimed_on = book["B"].ordered_on
    db.session.commit()
    _touch, skipped = bulk_actions.plan(card_merchant, "remind", [book["B"].id])
    assert [s["reason"].code for s in skipped] == ["claim_pending"]


def test_bad_starts_store_nothing(card_merchant, book):
    with pytest.raises(bulk_actions.BulkRefused) as exc:
        bulk_actions.start(card_merchant, "explode", [book["A"].id], {}, "user:x")
    assert exc.value.code == "bulk_action"
    with pytest.raises(bulk_actions.BulkRefused) as exc:
        bulk_actions.start(card_merchant, "remind", list(range(1, 10_002)), {}, "user:x")
    assert exc.value.code == "bulk_too_many"
    with pytest.raises(bulk_actions.BulkRefused) as exc:
        bulk_actions.start(card_merchant, "remind", [book["P"].id], {}, "user:x")
    assert exc.value.code == "bulk_empty"
    db.session.rollback()
    assert db.session.scalar(select(func.count(BulkJob.id))) == 0


def test_run_reminds_each_order_once_and_lists_the_skipped(card_merchant, book):
    ids = [o.id for o in book.values()]
    job = bulk_actions.start(card_merchant, "remind", ids, {}, "user:owner@x")
    db.session.commit()
    assert (job.total, job.done, job.state, len(job.skipped)) == (3, 0, "queued", 3)
    result = bulk_actions.run(job.id)
    assert result == {"done": 3, "touched": 3, "skipped": 3}
    db.session.refresh(job)
    assert job.state == "done" and job.finished_at is not None
    assert reminders(ids) == {book["A"].id: 1, book["B"].id: 1, book["I"].id: 1}
    assert book["A"].dunning_level == 1
    assert bulk_actions.run(job.id) == {"skipped": "the job is not waiting"}
    assert reminders(ids) == {book["A"].id: 1, book["B"].id: 1, book["I"].id: 1}
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.startswith("bulk."))
    ).all()
    assert actions == ["bulk.started", "bulk.finished"]


def test_a_stopped_job_resumes_where_it_stopped(card_merchant, book):
    """A worker killed after the first order: the job's position was committed with it, so the
    rerun acts on the rest only."""
    ids = [book["A"].id, book["B"].id, book["I"].id]
    job = bulk_actions.start(card_merchant, "remind", ids, {}, "user:owner@x")
    db.session.commit()
    # The first order's reminder and the position, as the killed worker committed them.
    manual.remind_now(book["A"], today_for(card_merchant), "user:owner@x")
    job.done, job.state = 1, "running"
    db.session.commit()
    bulk_actions.run(job.id)
    assert reminders(ids) == {book["A"].id: 1, book["B"].id: 1, book["I"].id: 1}
    assert db.session.get(BulkJob, job.id).done == 3


def test_an_order_paid_since_the_review_is_skipped_never_reminded(card_merchant, book, pay):
    ids = [book["A"].id, book["B"].id]
    job = bulk_actions.start(card_merchant, "remind", ids, {}, "user:owner@x")
    db.session.commit()
    pay(book["B"])
    db.session.commit()
    bulk_actions.run(job.id)
    job = db.session.get(BulkJob, job.id)
    assert reminders(ids) == {book["A"].id: 1}
    assert job.skipped == [{"number": "B", "reason": "the order is paid", "stage": "run"}]
    assert bulk_actions.touched(job) == 1 and job.done == 2


def test_mark_paid_block_and_cancel(card_merchant, book):
    job = bulk_actions.start(card_merchant, "mark_paid", [book["A"].id], {}, "user:owner@x")
    db.session.commit()
    bulk_actions.run(job.id)
    db.session.refresh(book["A"])
    assert book["A"].status == "paid" and book["A"].paid_total == Decimal("80.00")
    job = bulk_actions.start(
        card_merchant, "block", [book["B"].id], {"reason": "Reklamation"}, "user:owner@x"
    )
    db.session.commit()
    bulk_actions.run(job.id)
    db.session.refresh(book["B"])
    assert book["B"].dunning_block and book["B"].dunning_block_reason == "Reklamation"
    job = bulk_actions.start(
        card_merchant,
        "cancel",
        [book["B"].id],
        {"reason": "storniert", "notice": "email"},
        "user:owner@x",
    )
    db.session.commit()
    bulk_actions.run(job.id)
    db.session.refresh(book["B"])
    assert book["B"].status == "cancelled"
    notice = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.order_id == book["B"].id, OutboxMessage.purpose == "cancellation"
        )
    )
    assert notice is not None and notice.recipient == "b@example.de"


def test_a_cancellation_notice_refused_leaves_the_order_uncancelled(card_merchant, book):
    """A letter needs a postal address: an order without one is skipped when the job starts
    (listed with the reason, not cancelled), and one whose address went meanwhile when it runs."""
    book["B"].postal_address = book["K"].postal_address = "Hauptstraße 5\n80331 München"
    db.session.commit()
    ids = [book["A"].id, book["B"].id, book["K"].id]
    job = bulk_actions.start(card_merchant, "cancel", ids, {"notice": "letter"}, "user:owner@x")
    db.session.commit()
    book["K"].postal_address = None
    db.session.commit()
    bulk_actions.run(job.id)
    job = db.session.get(BulkJob, job.id)
    for order in book.values():
        db.session.refresh(order)
    assert (book["A"].status, book["B"].status, book["K"].status) == (
        "unpaid", "cancelled", "unpaid",
    )  # fmt: skip
    assert [(s["number"], s["stage"]) for s in job.skipped] == [("A", "review"), ("K", "run")]
    assert "postal address" in job.skipped[0]["reason"] and bulk_actions.touched(job) == 1

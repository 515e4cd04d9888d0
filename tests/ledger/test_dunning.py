"""The run's promises: each step once, catch-up without stacking, paid orders untouched, and a
cost that follows the due orders through the indexed next-due date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import rules
from ledger import dunning, lifecycle, rulebook, rulesets
from ledger.db import db
from ledger.models import DunningEvent, OutboxMessage, RulesetVersion
from tests.conftest import CARD_RULES

DAY0 = date(2026, 10, 1)  # the order day of the add_order fixture


@pytest.fixture
def merchant(card_merchant):
    return card_merchant


def run(merchant, day, **kwargs):
    return dunning.execute(merchant, day, **kwargs)


def test_next_due_date_follows_order_payments_and_rules(merchant, add_order, pay):
    prepaid = add_order(merchant, "P-1")
    invoice = add_order(merchant, "I-1", method="invoice")
    assert prepaid.next_due_on == DAY0 + timedelta(days=14)
    assert invoice.next_due_on is None  # no block matches an invoice

    rulesets.save_and_activate(merchant, "vorkasse after 7 days: remind\n", "test")
    assert prepaid.next_due_on == DAY0 + timedelta(days=7)

    pay(prepaid)
    assert prepaid.status == "paid"
    assert prepaid.next_due_on is None


def test_each_step_fires_once_per_order(merchant, add_order):
    order = add_order(merchant, "P-1")
    quiet = run(merchant, DAY0 + timedelta(days=13))
    assert quiet.orders_due == 0 and not quiet.steps

    first = run(merchant, DAY0 + timedelta(days=14))
    assert first.steps == {"remind": 1}
    assert order.dunning_level == 1
    assert order.next_due_on == DAY0 + timedelta(days=21)

    second = run(merchant, DAY0 + timedelta(days=14))
    assert second.orders_due == 0 and not second.steps
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_catch_up_escalates_in_order(merchant, add_order):
    """Runs missed between day 13 and 25: the reminder goes out first (the one promise: never
    a cancellation before any reminder), and the cancellation keeps its 7 days' distance."""
    order = add_order(merchant, "P-1")
    late = DAY0 + timedelta(days=25)
    assert run(merchant, late).steps == {"remind": 1}
    assert order.status == "unpaid" and order.next_due_on == late + timedelta(days=7)
    assert not run(merchant, late + timedelta(days=6)).steps
    assert run(merchant, late + timedelta(days=7)).steps == {"cancel": 1, "notify": 1}
    assert order.status == "cancelled"
    purposes = db.session.scalars(select(OutboxMessage.purpose).order_by(OutboxMessage.id)).all()
    assert purposes == ["reminder", "accounting_digest"]


def test_catch_up_skips_to_the_latest_step_when_the_rules_say_so(merchant, add_order):
    """With `on missed steps: skip to the latest` the cancel fires, the reminder is recorded as
    skipped and no reminder goes out for an order we are cancelling."""
    rulesets.save_and_activate(
        merchant, "on missed steps: skip to the latest\n" + CARD_RULES, "test"
    )
    order = add_order(merchant, "P-1")
    summary = run(merchant, DAY0 + timedelta(days=25))
    assert summary.steps == {"cancel": 1, "notify": 1}
    assert summary.skipped == 1
    assert order.status == "cancelled"
    program = rulebook.program_of(rulesets.active_version(merchant.id))
    kinds = [(e.action, e.step_key) for e in order.events]
    assert ("skipped", program.legacy_keys()["prepayment/after 14 days"]) in kinds
    purposes = db.session.scalars(select(OutboxMessage.purpose)).all()
    assert purposes == ["accounting_digest"]


def test_paid_and_other_orders_are_never_touched(merchant, add_order, pay):
    paid = add_order(merchant, "P-PAID")
    pay(paid, day=DAY0 + timedelta(days=2))
    partly = add_order(merchant, "P-PART")
    pay(partly, amount="30.00")
    invoice = add_order(merchant, "I-1", method="invoice")
    cod = add_order(merchant, "C-1", method="cod")

    for offset in range(0, 40):
        run(merchant, DAY0 + timedelta(days=offset))

    assert paid.status == "paid" and paid.events == []
    assert invoice.status == "unpaid" and invoice.events == []
    assert cod.status == "unpaid" and cod.events == []
    # Partly paid still owes money: it is reminded and then cancelled.
    assert partly.status == "cancelled"
    assert [e.action for e in partly.events] == ["remind", "cancel", "notify"]


def test_a_payment_cancels_the_pending_reminder(merchant, add_order, pay):
    order = add_order(merchant, "P-1")
    run(merchant, DAY0 + timedelta(days=14))
    message = order.events[0]
    pay(order, day=DAY0 + timedelta(days=14))

    reminder = db.session.scalar(select(OutboxMessage).where(OutboxMessage.event_id == message.id))
    assert reminder.state == "cancelled"
    assert "paid" in reminder.last_error


def test_a_blocked_order_is_skipped_until_unblocked(merchant, add_order):
    order = add_order(merchant, "P-1")
    cause = lifecycle.Cause("test", "manual", DAY0, reason="customer disputes the delivery")
    lifecycle.block(order, cause)
    assert order.next_due_on is None
    assert not run(merchant, DAY0 + timedelta(days=14)).steps
    lifecycle.unblock(order, cause)
    assert order.next_due_on == DAY0 + timedelta(days=14)
    assert run(merchant, DAY0 + timedelta(days=15)).steps == {"remind": 1}


def test_digest_lists_every_order_cancelled_in_the_run(merchant, add_order):
    for n in range(3):
        add_order(merchant, f"P-{n}")
    add_order(merchant, "P-LATE", ordered_on=DAY0 + timedelta(days=5))
    run(merchant, DAY0 + timedelta(days=14))
    run(merchant, DAY0 + timedelta(days=21))
    digests = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.purpose == "accounting_digest")
    ).all()
    assert len(digests) == 1
    assert digests[0].recipient == merchant.accounting_email
    assert digests[0].payload["orders"] == ["P-0", "P-1", "P-2"]
    # in the merchant's language, without English words in the German text
    assert "storniert" in digests[0].body and "cancelled" not in digests[0].body


def test_dry_run_changes_nothing(merchant, add_order):
    order = add_order(merchant, "P-1")
    db.session.commit()
    summary = run(merchant, DAY0 + timedelta(days=30), dry_run=True)
    assert summary.steps == {"remind": 1}
    db.session.expire_all()
    assert order.status == "unpaid"
    assert db.session.scalar(select(func.count(DunningEvent.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_the_run_reads_only_due_orders(merchant, add_order):
    for n in range(20):
        add_order(merchant, f"P-{n}", ordered_on=DAY0 + timedelta(days=n))
    due = dunning.due_order_ids(merchant.id, DAY0 + timedelta(days=16))
    assert len(due) == 3  # ordered on days 0, 1 and 2


def test_refused_rules_leave_the_active_rules_unchanged(merchant, add_order):
    order = add_order(merchant, "P-1")
    db.session.commit()
    before = rulesets.active_version(merchant.id)
    with pytest.raises(rules.RulesError):
        rulesets.save_and_activate(merchant, "vorkasse after 14 days: remnd\n", "test")
    db.session.rollback()
    assert rulesets.active_version(merchant.id).id == before.id
    assert db.session.scalar(select(func.count(RulesetVersion.id))) == 1
    assert order.next_due_on == DAY0 + timedelta(days=14)


def test_the_digest_has_words_for_every_step_in_every_language():
    from ledger.messages import DONE_WORDS
    from ledger.models import LANGUAGES
    from rules.actions import SPECS

    for language in LANGUAGES:
        assert set(SPECS) | {"paid_after_cancellation"} == set(DONE_WORDS[language]), language

"""The dry run: a candidate text against the real open orders, next to the active rules."""

from __future__ import annotations

import gc
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import rules
from ledger import dunning, preview
from ledger.db import db
from ledger.models import DunningEvent, Order, OutboxMessage

DAY0 = date(2026, 10, 1)  # the add_order fixture's order day
CANDIDATE = "vorkasse after 10 days: remind with fee 2.50; after 14 days: cancel\n"


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


@pytest.fixture
def shop(card_merchant, add_order, pay):
    """A (day 0) and B (day 3) unpaid prepayment, C paid, D an invoice."""
    orders = {
        "A": add_order(card_merchant, "A"),
        "B": add_order(card_merchant, "B", ordered_on=day(3)),
        "C": add_order(card_merchant, "C"),
        "D": add_order(card_merchant, "D", method="invoice"),
    }
    pay(orders["C"])
    db.session.commit()
    return card_merchant


def numbers(orders) -> list[str]:
    return sorted(o.number for o in orders)


def test_compare_counts_each_kind_for_both_versions_and_the_difference(shop):
    result = preview.compare(shop, CANDIDATE, day(14))
    rows = {row.kind: row for row in result.rows}
    assert result.open_orders == 3  # A, B and D; the paid C is not there at all
    # Active (the card): A is reminded on day 14. Candidate: A and B reminded (day 10 and 13;
    # escalating in order, A's reminder comes before its cancellation), and without the fee:
    # no fee on a first reminder.
    assert numbers(rows["remind"].active) == ["A"]
    assert numbers(rows["remind"].candidate) == ["A", "B"]
    assert numbers(rows["remind"].added) == ["B"] and rows["remind"].removed == []
    assert rows["remind"].delta == 1
    assert "cancel" not in rows and "fee" not in rows
    assert result.candidate_fees == {} and result.active_fees == {}
    assert result.changed


def test_compare_counts_fees_of_later_reminders(shop):
    dunning.execute(shop, day(14))  # A gets the card's first reminder
    text = "vorkasse after 14 days: remind; after 16 days: remind with fee 2.50\n"
    rows = {row.kind: row for row in preview.compare(shop, text, day(17)).rows}
    assert numbers(rows["fee"].candidate) == ["A"]  # B gets its first reminder, without a fee


def test_the_same_text_changes_nothing(shop):
    dunning.execute(shop, day(14))
    result = preview.compare(shop, rules_text(shop), day(21))
    assert not result.changed
    assert all(numbers(r.active) == numbers(r.candidate) for r in result.rows)
    assert {r.kind for r in result.rows} == {"cancel", "notify", "remind"}


def rules_text(merchant) -> str:
    from ledger import rulesets

    return rulesets.active_version(merchant.id).text


def test_the_active_side_agrees_with_the_real_run(shop):
    """Whatever the preview says the active rules do today is what the daily run then does."""
    said = preview.compare(shop, CANDIDATE, day(21))
    predicted = {row.kind: numbers(row.active) for row in said.rows if row.active}
    summary = dunning.execute(shop, day(21))
    assert {k: len(v) for k, v in predicted.items()} == dict(summary.steps)


def test_a_preview_writes_nothing(shop):
    def state():
        return (
            db.session.scalar(select(func.count(DunningEvent.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))),
            sorted(db.session.execute(select(Order.number, Order.next_due_on)).all()),
        )

    before = state()
    preview.compare(shop, CANDIDATE, day(30))
    preview.forecast(shop, CANDIDATE, day(0))
    db.session.commit()
    assert state() == before


def test_a_text_with_errors_is_refused(shop):
    with pytest.raises(rules.RulesError):
        preview.compare(shop, "rechnung after 3 days: cancel\n", day(14))


def test_forecast_lists_each_version_s_steps_per_day(shop):
    result = preview.forecast(shop, CANDIDATE, day(0), days=30)
    assert len(result.days) == 30 and result.days[0] == day(0)

    def on(side: str) -> dict[date, Counter]:
        return {d: c for d, c in zip(result.days, getattr(result, side), strict=True) if c}

    # Card: reminders on day 14 (A) and 17 (B), cancel + notify on 21 (A) and 24 (B).
    assert on("active") == {
        day(14): Counter(remind=1),
        day(17): Counter(remind=1),
        day(21): Counter(cancel=1, notify=1),
        day(24): Counter(cancel=1, notify=1),
    }
    assert on("candidate") == {
        day(10): Counter(remind=1),
        day(13): Counter(remind=1),
        day(14): Counter(cancel=1),
        day(17): Counter(cancel=1),
    }
    assert result.totals("active")["cancel"] == 2 and result.peak == 2


def test_timeline_shows_one_order_under_both_versions(shop):
    a, b = (db.session.scalar(select(Order).where(Order.number == n)) for n in "AB")
    dunning.execute(shop, day(14))  # A is reminded by the card's "after 14 days"
    result = preview.timeline(b, CANDIDATE, day(15))
    assert result.events == []
    assert [(s.name, s.due_on) for s in result.active] == [
        ("prepayment/after 14 days", day(17)),
        ("prepayment/after 21 days", day(24)),
    ]
    assert [(s.name, s.due_on) for s in result.candidate] == [
        ("prepayment/after 10 days", day(15)),  # overdue under the candidate: fires at once
        ("prepayment/after 14 days", day(19)),  # and the cancellation 4 days after it
    ]

    result = preview.timeline(a, CANDIDATE, day(15))
    assert [e.action for e in result.events] == ["remind"]
    assert [(s.name, s.due_on) for s in result.active] == [("prepayment/after 21 days", day(21))]
    # A reached reminder level 1 (on day 14): the candidate's level-1 reminder counts as done,
    # and its cancellation comes 4 days after that reminder.
    assert [(s.name, s.due_on) for s in result.candidate.steps] == [
        ("prepayment/after 14 days", day(18))
    ]


def test_preview_reads_tags_amounts_and_dates_as_the_rules_need_them(card_merchant, add_order):
    from ledger import orders

    body = {
        "number": "W-1",
        "customer": {"name": "Grosshandel", "email": "w@example.de", "country": "AT",
                     "language": "de", "type": "b2b"},
        "amount": "1200.50",
        "currency": "EUR",
        "payment_method": "invoice",
        "ordered_on": DAY0.isoformat(),
        "due_on": day(14).isoformat(),
        "tags": ["wholesale"],
    }  # fmt: skip
    orders.upsert_order(card_merchant, orders.parse_order(body), "test")
    add_order(card_merchant, "R-1", method="invoice", amount="1200.50")
    db.session.commit()
    loaded = {o.number: o for o in preview.open_orders(card_merchant)}
    assert loaded["W-1"].facts.tags == frozenset({"wholesale"})
    assert loaded["W-1"].facts.amount == Decimal("1200.50") and loaded["W-1"].amount == Decimal(
        "1200.50"
    )
    assert loaded["W-1"].facts.due_on == day(14) and loaded["W-1"].facts.ordered_on == DAY0
    assert loaded["R-1"].facts.tags == frozenset()

    text = 'rechnung tag is "wholesale" amount over 1200.49 after 3 days: remind\n'
    result = preview.compare(card_merchant, text, day(17))
    assert [numbers(r.candidate) for r in result.rows] == [["W-1"]]


def test_overlapping_previews_keep_the_collector_off_until_the_last_one_ends():
    """Two previews in two portal threads overlap: the first to end must not switch the
    garbage collector on under the other, and the last to end switches it back on."""
    assert gc.isenabled()
    first, second = preview._bulk(), preview._bulk()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()

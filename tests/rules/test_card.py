"""The card's line, end to end: parse, check, decide, catch up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import rules

CARD = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
DUE = date(2026, 10, 1)


def facts(**changes) -> rules.OrderFacts:
    base = dict(
        payment_method="prepayment",
        amount=Decimal("49.90"),
        currency="EUR",
        country="DE",
        language="de",
        customer_type="b2c",
        ordered_on=DUE,
        due_on=DUE,
    )
    return rules.OrderFacts(**(base | changes))


def test_card_line_compiles_without_diagnostics():
    assert rules.check_text(CARD) == []
    program = rules.compile_rules(CARD)
    assert [b.method for b in program.blocks] == ["prepayment"]
    assert program.warnings == []


def test_card_line_reminds_after_14_days_and_cancels_after_21():
    program = rules.compile_rules(CARD)
    history = rules.OrderHistory()
    assert program.next_due_on(facts(), history) == DUE + timedelta(days=14)
    assert program.decide(facts(), history, DUE + timedelta(days=13)) is None
    reminder = program.decide(facts(), history, DUE + timedelta(days=14))
    assert reminder.step.name == "prepayment/after 14 days"
    assert [a.kind for a in reminder.step.actions] == ["remind"]
    assert reminder.step.actions[0].level == 1
    assert reminder.skipped == () and reminder.deferred_to is None

    after = rules.OrderHistory().after(reminder.step, DUE + timedelta(days=14))
    assert program.decide(facts(), after, DUE + timedelta(days=20)) is None
    cancel = program.decide(facts(), after, DUE + timedelta(days=21))
    assert [a.kind for a in cancel.step.actions] == ["cancel", "notify"]
    assert cancel.step.actions[1].recipient == "accounting"
    assert cancel.step.source_line == CARD.strip()
    assert cancel.step.line == 1


def test_card_line_catches_up_in_order_the_cancel_keeping_its_distance():
    """Found 25 days late: the reminder goes out first; the cancellation comes 7 days after it
    (its distance from the reminder), never before any reminder reached the order."""
    program = rules.compile_rules(CARD)
    late = DUE + timedelta(days=25)
    decision = program.decide(facts(), rules.OrderHistory(), late)
    assert decision.step.name == "prepayment/after 14 days" and decision.skipped == ()
    after = rules.OrderHistory().after(decision.step, late)
    assert program.next_due_on(facts(), after) == late + timedelta(days=7)
    assert program.decide(facts(), after, late + timedelta(days=6)) is None
    cancel = program.decide(facts(), after, late + timedelta(days=7))
    assert cancel.step.name == "prepayment/after 21 days"


def test_card_line_skips_to_the_latest_step_when_the_block_says_so():
    program = rules.compile_rules("on missed steps: skip to the latest\n" + CARD)
    decision = program.decide(facts(), rules.OrderHistory(), DUE + timedelta(days=25))
    assert decision.step.name == "prepayment/after 21 days"
    assert [s.name for s in decision.skipped] == ["prepayment/after 14 days"]


def test_invoice_orders_do_not_match_the_card():
    program = rules.compile_rules(CARD)
    invoice = facts(payment_method="invoice")
    assert program.match(invoice).block is None
    assert program.next_due_on(invoice, rules.OrderHistory()) is None

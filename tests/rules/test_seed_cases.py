"""The four seed cases of issue #3, one test each (the same texts are examples in docs/rules.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import rules
from tests.rules.helpers import DUE, facts, history, kinds

DOCS = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")

CARD = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
STEP_FIRST = (
    "vorkasse:\n"
    "    remind after 7 days, remind with fee 2.50 after 14, cancel and notify accounting after 21,"
    " release reservation\n"
)
INVOICE = """\
rechnung amount over 100 country in DE, AT:
    after 14 days: remind level 1
    after 28 days: remind level 2 with fee 2.50
    after 42 days: remind level 3 with fee 5 EUR and charge interest statutory
    after 60 days: hand over to collection and notify accounting
    at least 7 days between reminders
"""
COD = "nachnahme after 30 days: mark overdue and notify team\n"


def day(n: int):
    return DUE + timedelta(days=n)


def test_seed_texts_are_in_the_docs():
    for text in (CARD, STEP_FIRST, INVOICE, COD):
        assert text in DOCS


def test_seed_1_card_line():
    program = rules.compile_rules(CARD)
    assert program.warnings == []
    (block,) = program.blocks
    assert (block.alias, block.method, block.multiline) == ("vorkasse", "prepayment", False)
    schedule = program.schedule(facts(), history(), DUE)
    assert [(s.name, s.due_on) for s in schedule.steps] == [
        ("prepayment/after 14 days", day(14)),
        ("prepayment/after 21 days", day(21)),
    ]
    assert schedule.cancellation_on == day(21)
    reminded = history().after(program.decide(facts(), history(), day(14)).step, day(14))
    assert kinds(program.decide(facts(), reminded, day(21))) == ["cancel", "notify"]


def test_seed_2_step_first_line():
    program = rules.compile_rules(STEP_FIRST)
    steps = program.blocks[0].steps
    assert [(s.trigger.days, s.trigger.business) for s in steps] == [
        (7, False),
        (14, False),
        (21, False),
    ]
    assert [[a.kind for a in s.actions] for s in steps] == [
        ["remind"],
        ["remind"],
        ["cancel", "notify", "release_reservation"],
    ]
    first = program.decide(facts(), history(), day(7)).step
    second = program.decide(facts(), history().after(first, day(7)), day(14))
    (remind,) = second.step.actions
    assert (remind.level, remind.fee, remind.fee_currency) == (2, Decimal("2.50"), None)
    latest = rules.compile_rules("on missed steps: skip to the latest\n" + STEP_FIRST)
    last = latest.decide(facts(), history(), day(30))
    assert kinds(last) == ["cancel", "notify", "release_reservation"]
    assert [s.name for s in last.skipped] == ["prepayment/after 7 days", "prepayment/after 14 days"]


def test_seed_3_invoice_with_three_levels_interest_and_collection():
    program = rules.compile_rules(INVOICE)
    order = facts(payment_method="invoice", amount=Decimal("250.00"), country="AT")
    schedule = program.schedule(order, history(), DUE)
    assert [s.due_on for s in schedule] == [day(14), day(28), day(42), day(60)]
    assert [s.level for s in schedule] == [1, 2, 3, None]
    assert [s.fee for s in schedule] == [None, Decimal("2.50"), Decimal("5"), None]
    assert [a.kind for a in schedule[2].actions] == ["remind", "charge_interest"]
    assert schedule[2].actions[1].statutory is True
    assert schedule.collection_on == day(60)
    # Orders of 100 or less, or from Switzerland, are not this block's.
    assert program.match(facts(payment_method="invoice", amount=Decimal("100"))).block is None
    assert (
        program.match(facts(payment_method="invoice", country="CH", amount=Decimal("300"))).block
        is None
    )
    # Handing over ends dunning: once every step is done nothing is due again.
    done = frozenset(s.key for s in schedule)
    assert program.next_due_on(order, history(done_steps=done)) is None


def test_seed_4_cod_marked_overdue_and_merchant_notified():
    program = rules.compile_rules(COD)
    order = facts(payment_method="cod")
    assert program.decide(order, history(), day(29)) is None
    decision = program.decide(order, history(), day(30))
    assert kinds(decision) == ["mark_overdue", "notify"]
    assert decision.step.actions[1].recipient == "team"
    assert program.schedule(order, history(), DUE).overdue_on == day(30)
    # The team address is unknown: a warning, not an error.
    context = rules.CheckContext(team_address_known=False)
    (warning,) = rules.check_text(COD, context)
    assert warning.severity == "warning" and (warning.line, warning.column) == (1, 43)
    rules.compile_rules(COD, context)

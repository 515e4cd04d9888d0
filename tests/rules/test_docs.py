"""Every example in docs/rules.md compiles (or fails, for the error examples) and the named
examples behave as the text around them says."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import rules
from tests.rules.helpers import DUE, facts, history, kinds, with_done

DOCS = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(rules|rules-error)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXAMPLES = [(kind, text) for kind, text in FENCE.findall(DOCS)]
NAMED = {
    m.group(1): text
    for kind, text in EXAMPLES
    if (m := re.match(r"# example: (\S+)", text)) and kind == "rules"
}


def test_the_docs_have_examples():
    assert len(EXAMPLES) >= 12
    assert {"card", "step-first", "invoice-levels", "cod-overdue", "settings"} <= set(NAMED)


@pytest.mark.parametrize(("kind", "text"), EXAMPLES, ids=[t.split("\n")[0] for _, t in EXAMPLES])
def test_every_docs_example(kind, text):
    diagnostics = rules.check_text(text)
    errors = [d for d in diagnostics if d.severity == "error"]
    if kind == "rules-error":
        assert errors
        with pytest.raises(rules.RulesError):
            rules.compile_rules(text)
        return
    assert errors == []
    program = rules.compile_rules(text)
    if "example: shadowed" not in text:
        assert diagnostics == []
        assert program.warnings == []
    assert rules.format_rules(rules.format_rules(text)) == rules.format_rules(text)


def program(name: str) -> rules.Program:
    return rules.compile_rules(NAMED[name])


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def test_conditions_example():
    p = program("conditions")
    wholesale = facts(payment_method="invoice", customer_type="b2b", tags=frozenset({"wholesale"}))
    assert p.match(wholesale).label == 'invoice customer is b2b tag is "wholesale"'
    swiss = facts(language="fr", amount=Decimal("500"), currency="CHF", country="CH")
    assert p.match(swiss).label == "any language is fr amount at least 500 CHF"
    assert p.match(facts(language="fr", amount=Decimal("500"))).block is None  # EUR
    reasons = p.match(facts(language="fr", amount=Decimal("499"), currency="CHF")).reasons
    assert reasons == {
        'invoice customer is b2b tag is "wholesale"': "payment method is prepayment, not invoice",
        "any language is fr amount at least 500 CHF": "amount 499 CHF is not at least 500",
    }


@pytest.mark.parametrize(
    ("due", "region", "expected"),
    [
        (date(2026, 12, 23), None, date(2026, 12, 29)),
        (date(2026, 12, 30), None, date(2027, 1, 5)),
        (date(2027, 1, 4), None, date(2027, 1, 7)),
        (date(2027, 1, 4), "BY", date(2027, 1, 8)),
    ],
)
def test_business_days_example(due, region, expected):
    p = program("business-days")
    order = facts(payment_method="invoice", due_on=due, ordered_on=due, region=region)
    assert p.next_due_on(order, history()) == expected
    assert p.decide(order, history(), expected - timedelta(days=1)) is None
    assert kinds(p.decide(order, history(), expected)) == ["remind"]


def test_cod_example_keeps_going_after_overdue():
    p = program("cod")
    order = facts(payment_method="cod", status="overdue")
    done = with_done(p, "cod/after 30 days")
    assert kinds(p.decide(order, done, day(45))) == ["send_webhook"]


def test_settings_example():
    p = program("settings")
    # Prepayment: due on a Thursday; the reminder on day 14 is a Thursday too.
    assert p.decide(facts(), history(bank_data_as_of=day(14)), day(14)).deferred_to is None
    # Bank data too old: every step waits a day.
    held = p.decide(facts(), history(bank_data_as_of=day(10)), day(14))
    assert held.deferred_to == day(15) and "bank data" in held.deferred_because
    # A reminder due on a Saturday waits for Monday.
    saturday = facts(due_on=date(2026, 10, 3), ordered_on=date(2026, 10, 3))
    weekend = p.decide(saturday, history(bank_data_as_of=date(2026, 10, 17)), date(2026, 10, 17))
    assert weekend.deferred_to == date(2026, 10, 19)
    # Invoice block: at least 7 days between reminders (second reminder is 4 days later).
    invoice = facts(payment_method="invoice", ordered_on=date(2026, 1, 5))
    first = history(
        done_steps=frozenset({"invoice/after 14 days"}),
        last_reminder_on=day(14),
        bank_data_as_of=day(30),
    )
    gap = p.decide(invoice, first, day(18))
    assert gap.deferred_to == day(21)
    # Claimed payment pauses 10 days in this block.
    claimed = rules.OrderHistory(payment_claimed_on=day(10), bank_data_as_of=day(30))
    assert p.decide(invoice, claimed, day(19)) is None
    assert p.next_due_on(invoice, claimed) == day(20)
    assert kinds(p.decide(invoice, claimed, day(20))) == ["remind"]
    # ... 7 days (the default) in the prepayment block.
    assert p.next_due_on(facts(), rules.OrderHistory(payment_claimed_on=day(10))) == day(17)
    # Orders from 2025 do not match the invoice block.
    old = facts(payment_method="invoice", ordered_on=date(2025, 12, 31))
    assert p.match(old).block is None


def test_shadowed_example_warns_at_the_shadowed_block():
    (warning,) = rules.check_text(NAMED["shadowed"])
    assert (warning.severity, warning.line, warning.column) == ("warning", 3, 1)
    assert "line 2" in warning.message

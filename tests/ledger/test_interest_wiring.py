"""Statutory interest in the run: per country and customer type, a ledger entry of its own, the
same itemised amount in the reminder as on the order page, and a clear error where the base
rate is not known."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import rules
from ledger import dunning, interest, orders, rulesets
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.documents.locales import locale_for
from ledger.models import EntryKind, LedgerEntry, OutboxMessage
from rules.checker import STATUTORY_BASE

RULES = (
    "rechnung:\n"
    "    after 14 days: remind\n"
    "    after 45 days: remind level 2 and charge interest statutory\n"
)


def test_the_checker_knows_whose_statutory_rate_needs_a_base_rate():
    for country in ("DE", "AT", "CH"):
        for kind in ("b2c", "b2b"):
            parts = interest.statutory_rate_parts(country, kind)
            needs = kind in STATUTORY_BASE.get(country, ())
            assert (parts.base_country is not None) == needs, (country, kind)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (RULES, True),
        ("rechnung country in CH:\n" + RULES.split(":\n", 1)[1], False),
        ("rechnung country in AT customer is b2c:\n" + RULES.split(":\n", 1)[1], False),
        ("rechnung country in AT customer is b2b:\n" + RULES.split(":\n", 1)[1], True),
    ],
)
def test_a_day_past_the_base_rate_table_is_an_error(text, error):
    past = rules.base_rates.known_until("DE").replace(day=1).replace(month=12)
    found = rules.check_text(text, rules.CheckContext(today=past))
    messages = [d.message for d in found if d.severity == "error"]
    assert bool(messages) == error
    if error:
        assert "known only up to" in messages[0] and "rules/base_rates.py" in messages[0]
    assert not [d for d in rules.check_text(text, rules.CheckContext(today=date(2025, 1, 15)))
                if d.severity == "error"]  # fmt: skip


def _order(merchant, number, country, kind, currency, due):
    body = {
        "number": number,
        "customer": {"name": "Firma " + number, "email": f"{number.lower()}@example.com",
                     "country": country, "language": "de", "type": kind},
        "amount": "1000.00",
        "currency": currency,
        "payment_method": "invoice",
        "ordered_on": due.isoformat(),
    }  # fmt: skip
    return orders.upsert_order(merchant, orders.parse_order(body), "test")[0]


@pytest.mark.parametrize(
    ("country", "kind", "currency", "due", "day", "expected", "flat"),
    [
        # 1000 EUR, business, Germany, 1 Dec 2024 to 14 Jan 2025 (end day excluded): 31 days at
        # 3.37 + 9 = 12.37 % (1000 * 0.1237 * 31/365 = 10.5060) and 14 days at 2.27 + 9 =
        # 11.27 % after the base rate's change on 1 Jan (1000 * 0.1127 * 14/365 = 4.3227):
        # 14.8287 -> 14.83, and the 40 EUR flat fee of § 288 (5) BGB.
        ("DE", "b2b", "EUR", date(2024, 12, 1), date(2025, 1, 15), "14.83", "40.00"),
        # Consumer in Germany, 1 Jul - 14 Aug 2025: 45 days at 1.27 + 5 = 6.27 %:
        # 1000 * 0.0627 * 45/365 = 7.7301 -> 7.73, no flat fee.
        ("DE", "b2c", "EUR", date(2025, 7, 1), date(2025, 8, 15), "7.73", None),
        # Switzerland, Art. 104 OR: 5 % for 45 days: 1000 * 0.05 * 45/365 = 6.1644 -> 6.16.
        ("CH", "b2c", "CHF", date(2025, 7, 1), date(2025, 8, 15), "6.16", None),
        # Austria, consumer, § 1000 ABGB: 4 %: 1000 * 0.04 * 45/365 = 4.9315 -> 4.93.
        ("AT", "b2c", "EUR", date(2025, 7, 1), date(2025, 8, 15), "4.93", None),
    ],
)
def test_the_run_charges_statutory_interest_by_country(
    app, ctx, make_merchant, country, kind, currency, due, day, expected, flat
):
    app.config["MAHNWERK_TODAY"] = day.isoformat()
    merchant = find_merchant(make_merchant()["name"])
    rulesets.save_and_activate(merchant, RULES, "test")
    order = _order(merchant, "I-1", country, kind, currency, due)
    db.session.commit()
    assert dunning.execute(merchant, date.fromordinal(due.toordinal() + 14)).steps == {"remind": 1}
    summary = dunning.execute(merchant, day)
    assert summary.steps == {"remind": 1, "charge_interest": 1}
    entries = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.order_id == order.id).order_by(LedgerEntry.id)
    ).all()
    charged = [(e.kind, e.amount) for e in entries if e.kind in (EntryKind.INTEREST, "fee")]
    assert charged == [("interest", Decimal(expected))] + ([("fee", Decimal(flat))] if flat else [])
    assert order.interest_total == Decimal(expected)
    # The reminder of the same step states the interest and the open amount the page shows.
    body = db.session.scalars(
        db.select(OutboxMessage.body)
        .where(OutboxMessage.order_id == order.id, OutboxMessage.purpose == "reminder")
        .order_by(OutboxMessage.id.desc())
    ).first()
    open_amount = order.statement.open
    assert open_amount == Decimal("1000.00") + Decimal(expected) + Decimal(flat or 0)
    money = dunning_money(open_amount, currency, locale_for(order))
    assert f"Offener Betrag: {money}" in body and "Verzugszinsen" in body
    assert "trotz unserer Erinnerung" in body  # an earlier reminder did go out


def dunning_money(amount, currency, locale):
    """The amount as the reminder writes it: in the order's locale (de-CH: CHF 1'006.16)."""
    from ledger.money import format_money

    return format_money(amount, currency, locale)


def test_no_interest_where_no_statutory_law_is_known(app, ctx, make_merchant):
    """A French customer: the run charges no interest and says why on the run."""
    app.config["MAHNWERK_TODAY"] = "2025-08-15"
    merchant = find_merchant(make_merchant()["name"])
    rulesets.save_and_activate(merchant, RULES, "test")
    order = _order(merchant, "F-1", "FR", "b2c", "EUR", date(2025, 7, 1))
    db.session.commit()
    dunning.execute(merchant, date(2025, 7, 15))
    summary = dunning.execute(merchant, date(2025, 8, 15))
    assert order.interest_total == 0
    assert any("F-1: no interest charged" in p and "'FR'" in p for p in summary.problems)

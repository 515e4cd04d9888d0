"""Missed steps escalate in order: an order found 60 days past due under a three-level invoice
block gets level 1 first, then 2 and 3 at their distances, worded for its real history; the
editor's forecast says the same as the real runs; `on missed steps: skip to the latest` keeps
the old catch-up."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from ledger import dunning, orders, preview, rulesets
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.models import DunningEvent, OutboxMessage

DUE = date(2026, 8, 1)
LATE = DUE + timedelta(days=60)
BLOCK = (
    "rechnung:\n"
    "    after 10 days: remind level 1\n"
    "    after 20 days: remind level 2 with fee 2.50\n"
    "    after 30 days: remind level 3 by email and letter with fee 5\n"
)


def _setup(app, make_merchant, text):
    app.config["MAHNWERK_TODAY"] = LATE.isoformat()
    merchant = find_merchant(make_merchant()["name"])
    rulesets.save_and_activate(merchant, text, "test")
    body = {
        "number": "RE-1",
        "customer": {"name": "Anna Schmidt", "email": "anna@example.de", "country": "DE",
                     "language": "de", "type": "b2c", "address": "Hauptstr. 1\n80331 München"},
        "amount": "100.00",
        "currency": "EUR",
        "payment_method": "invoice",
        "ordered_on": DUE.isoformat(),
    }  # fmt: skip
    order = orders.upsert_order(merchant, orders.parse_order(body), "api")[0]
    db.session.commit()
    return merchant, order


def _run_days(merchant, first: date, days: int) -> dict[date, Counter]:
    fired = {}
    for n in range(days):
        day = first + timedelta(days=n)
        summary = dunning.execute(merchant, day)
        if summary.steps:
            fired[day] = Counter(summary.steps)
    return fired


def test_an_order_60_days_late_gets_level_1_first_then_2_and_3_at_their_distances(
    app, ctx, make_merchant
):
    merchant, order = _setup(app, make_merchant, BLOCK)
    forecast = preview.forecast(merchant, BLOCK, LATE, days=30)
    predicted = {d: c for d, c in zip(forecast.days, forecast.active, strict=True) if c}

    fired = _run_days(merchant, LATE, 30)
    assert fired == {
        LATE: Counter(remind=1),
        LATE + timedelta(days=10): Counter(remind=1),
        LATE + timedelta(days=20): Counter(remind=1),
    }
    assert predicted == fired  # the editor's forecast is what the runs did
    events = db.session.scalars(
        select(DunningEvent).where(DunningEvent.order_id == order.id).order_by(DunningEvent.id)
    ).all()
    assert [(e.action, e.level, e.fee) for e in events] == [
        ("remind", 1, None),
        ("remind", 2, Decimal("2.50")),
        ("remind", 3, Decimal("5.00")),
    ]
    assert order.fees_total == Decimal("7.50") and order.statement.open == Decimal("107.50")

    mails = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.order_id == order.id, OutboxMessage.kind == "email")
        .order_by(OutboxMessage.id)
    ).all()
    first, second, third = mails
    assert first.subject == "Zahlungserinnerung zu Ihrer Bestellung RE-1"
    assert "trotz unserer Erinnerung" not in first.body and "Mahngebühren" not in first.body
    assert second.subject == "2. Mahnung zu Bestellung RE-1"
    assert "trotz unserer Erinnerung" in second.body
    assert "Mahngebühren: 2,50 €" in second.body and "Offener Betrag: 102,50 €" in second.body
    assert "Mahngebühren: 7,50 €" in third.body and "Offener Betrag: 107,50 €" in third.body


def test_skip_to_the_latest_keeps_the_old_catch_up(app, ctx, make_merchant):
    text = "on missed steps: skip to the latest\n" + BLOCK
    merchant, order = _setup(app, make_merchant, text)
    fired = _run_days(merchant, LATE, 30)
    assert fired == {LATE: Counter(remind=1)}
    events = db.session.scalars(
        select(DunningEvent).where(DunningEvent.order_id == order.id).order_by(DunningEvent.id)
    ).all()
    assert [(e.action, e.level) for e in events] == [("skipped", None), ("skipped", None),
                                                     ("remind", 3)]  # fmt: skip
    assert order.fees_total == Decimal("5.00")


def test_a_manual_reminder_makes_the_rules_level_done(app, ctx, make_merchant):
    """Reminded by hand at level 1 on day 5: the rules send level 2 next, never a second
    level 1, and it keeps its distance from the manual reminder."""
    from ledger import manual

    merchant, order = _setup(app, make_merchant, BLOCK)
    manual.remind_now(order, DUE + timedelta(days=5), "user:a@b.de")
    db.session.commit()
    fired = _run_days(merchant, DUE, 40)
    levels = db.session.scalars(
        select(DunningEvent.level)
        .where(DunningEvent.order_id == order.id, DunningEvent.action == "remind")
        .order_by(DunningEvent.id)
    ).all()
    assert levels == [1, 2, 3]
    assert sorted(fired) == [DUE + timedelta(days=20), DUE + timedelta(days=30)]

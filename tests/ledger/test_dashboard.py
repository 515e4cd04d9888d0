"""The dashboard's figures (ledger.dashboard) against a book built by hand through the ledger's
own services: every number asserted exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger import dashboard, dunning, lifecycle, manual, orders, outbox
from ledger.accounts import find_merchant
from ledger.bank import accounts as bank_accounts
from ledger.db import db
from ledger.models import BankImport, BankTransaction, Source

TODAY = date(2026, 11, 30)


def _order(merchant, number, method, amount, ordered_on, due_on, currency="EUR"):
    body = {
        "number": number,
        "customer": {"name": f"Kunde {number}", "email": f"{number.lower()}@example.de",
                     "country": "CH" if currency == "CHF" else "DE", "language": "de",
                     "type": "b2c"},
        "amount": amount,
        "currency": currency,
        "payment_method": method,
        "ordered_on": ordered_on.isoformat(),
        "due_on": due_on.isoformat(),
    }  # fmt: skip
    return orders.upsert_order(merchant, orders.parse_order(body), "test")[0]


def _pay(order, amount, day):
    data = orders.parse_payment({"amount": amount, "paid_on": day.isoformat()})
    return orders.record_payment(order, data, "test")[0]


def _cause(day=TODAY):
    return lifecycle.Cause("test", Source.MANUAL, day)


def build_book(merchant) -> None:
    """Open orders of every method and age, one in CHF; a level-1 reminder paid within and
    one paid after 14 days, a level-2 reminder; a cancelled unpaid prepayment order; a claim,
    an unmatched bank payment, a failed message, runs."""
    d = date
    _order(merchant, "A1", "invoice", "100.00", d(2026, 11, 20), d(2026, 12, 10))  # not due
    a2 = _order(merchant, "A2", "invoice", "200.00", d(2026, 11, 1), d(2026, 11, 20))  # 10 days
    a3 = _order(merchant, "A3", "prepayment", "50.00", d(2026, 10, 20), d(2026, 10, 25))  # 36
    a4 = _order(merchant, "A4", "cod", "80.00", d(2026, 8, 1), d(2026, 8, 1))  # 121 days
    a5 = _order(merchant, "A5", "invoice", "300.00", d(2026, 9, 1), d(2026, 9, 15))  # 76 days
    _order(merchant, "C1", "invoice", "150.00", d(2026, 11, 10), d(2026, 11, 10), "CHF")  # 20
    r1 = _order(merchant, "R1", "invoice", "120.00", d(2026, 10, 1), d(2026, 10, 1))
    r2 = _order(merchant, "R2", "invoice", "90.00", d(2026, 10, 1), d(2026, 10, 1))
    p1 = _order(merchant, "P1", "prepayment", "60.00", d(2026, 11, 2), d(2026, 11, 2))
    db.session.commit()

    _pay(a3, "20.00", d(2026, 10, 26))  # partially paid: 30.00 open
    lifecycle.mark_overdue(a4, _cause())
    lifecycle.mark_overdue(a5, _cause())
    lifecycle.hand_over(a5, _cause())
    manual.remind_now(r1, d(2026, 10, 10), "user:test")  # level 1
    manual.remind_now(r2, d(2026, 10, 10), "user:test")  # level 1
    manual.remind_now(r2, d(2026, 10, 24), "user:test")  # level 2
    db.session.commit()
    _pay(r1, "120.00", d(2026, 10, 20))  # 10 days after its level-1 reminder
    _pay(r2, "90.00", d(2026, 10, 30))  # 20 days after level 1, 6 after level 2
    lifecycle.cancel(p1, _cause(d(2026, 11, 20)))
    lifecycle.claim_paid(a2, d(2026, 11, 28), _cause())

    account = bank_accounts.accounts_of(merchant.id)[0]  # the merchant's IBAN
    account.data_as_of = d(2026, 11, 25)
    imported = BankImport(merchant_id=merchant.id, filename="s.xml", format="camt.053",
                          sha256="0" * 64, way="upload", actor="test")  # fmt: skip
    db.session.add(imported)
    db.session.flush()
    for n, state in enumerate(("unmatched", "suggested", "matched", "ignored")):
        db.session.add(
            BankTransaction(merchant_id=merchant.id, account_id=account.id,
                            import_id=imported.id, fingerprint=f"fp{n}",
                            booking_date=d(2026, 11, 25), amount=Decimal("12.00"),
                            currency="EUR", credit=True, remittance="Miete", state=state)
        )  # fmt: skip
    failed = outbox.add(merchant.id, "email", "reminder", "a@example.de", subject="x", body="y")
    sent = outbox.add(merchant.id, "email", "reminder", "b@example.de", subject="x", body="y")
    db.session.flush()
    outbox.mark_failed(failed, "550 no such user", permanent=True)
    outbox.mark_sent(sent)
    for day in (d(2026, 11, 28), d(2026, 11, 29), d(2026, 11, 30)):
        dunning.start_run(merchant, day, "cli")
    db.session.commit()


@pytest.fixture
def merchant(ctx, make_merchant):
    ctx.config["MAHNWERK_TODAY"] = TODAY.isoformat()
    merchant = find_merchant(make_merchant()["name"])
    build_book(merchant)
    return merchant


def _tally(count, **amounts):
    return {"count": count, "amounts": {c: v for c, v in amounts.items()}}


def test_open_figures_by_method_age_and_status(merchant):
    figures = dashboard.compute(merchant.id, TODAY)
    assert figures["currencies"] == ["EUR", "CHF"]
    opened = figures["open"]
    assert opened["total"] == _tally(6, EUR="710.00", CHF="150.00")
    assert opened["by_method"] == {
        "invoice": _tally(4, EUR="600.00", CHF="150.00"),
        "prepayment": _tally(1, EUR="30.00"),
        "cod": _tally(1, EUR="80.00"),
    }
    assert opened["by_age"] == {
        "not_due": _tally(1, EUR="100.00"),
        "0_14": _tally(1, EUR="200.00"),
        "15_30": _tally(1, CHF="150.00"),
        "31_60": _tally(1, EUR="30.00"),
        "61_90": _tally(1, EUR="300.00"),
        "over_90": _tally(1, EUR="80.00"),
    }
    assert opened["by_status"]["overdue"] == _tally(1, EUR="80.00")
    assert opened["by_status"]["in_collection"] == _tally(1, EUR="300.00")
    assert opened["by_status"]["partially_paid"] == _tally(1, EUR="30.00")


def test_the_age_buckets_bounds(merchant):
    """Due today is 0 days past due; 14 days is still 0–14, 15 is 15–30."""
    for number, due in (("B0", TODAY), ("B14", date(2026, 11, 16)), ("B15", date(2026, 11, 15))):
        _order(merchant, number, "invoice", "1.00", date(2026, 11, 1), due)
    db.session.commit()
    ages = dashboard.compute(merchant.id, TODAY)["open"]["by_age"]
    assert ages["0_14"]["count"] == 3 and ages["15_30"]["count"] == 2


def test_recovery_by_dunning_level(merchant):
    assert dashboard.compute(merchant.id, TODAY)["recovery"] == [
        {"level": 1, "reminded": 2, "paid": 1, "rate": 0.5, "amounts": {"EUR": "120.00"}},
        {"level": 2, "reminded": 1, "paid": 1, "rate": 1.0, "amounts": {"EUR": "90.00"}},
    ]


def test_a_reversed_payment_is_not_recovered(merchant):
    r1 = orders.find_order(merchant.id, "R1")
    payment = next(e for e in r1.entries if e.kind == "payment")
    lifecycle.reverse_payment(r1, payment, _cause(date(2026, 10, 22)))
    db.session.commit()
    level1 = dashboard.compute(merchant.id, TODAY)["recovery"][0]
    assert level1 == {
        "level": 1, "reminded": 2, "paid": 0, "rate": 0.0, "amounts": {"EUR": "0.00"}
    }  # fmt: skip


def test_cancelled_unpaid_prepayment_and_sales_per_month(merchant):
    months = dashboard.compute(merchant.id, TODAY)["months"]
    assert [m["month"] for m in months][:2] == ["2025-12", "2026-01"]
    assert len(months) == 12 and months[-1]["month"] == "2026-11"
    by_month = {m["month"]: m for m in months}
    assert by_month["2026-11"]["cancelled"] == _tally(1, EUR="60.00")
    assert by_month["2026-11"]["sales"] == _tally(3, EUR="300.00", CHF="150.00")  # not P1
    assert by_month["2026-10"]["sales"] == _tally(3, EUR="260.00")
    assert by_month["2026-10"]["cancelled"] == _tally(0)
    assert by_month["2026-09"]["sales"] == _tally(1, EUR="300.00")
    assert by_month["2026-08"]["sales"] == _tally(1, EUR="80.00")
    assert by_month["2026-07"]["sales"] == _tally(0)


def test_the_work_waiting(merchant):
    live = dashboard.live(merchant, TODAY)
    assert live.claims == 1  # A2
    assert live.inbox == 2  # unmatched and suggested; not the matched nor the set aside
    assert live.bank_data_as_of == date(2026, 11, 25) and live.bank_data_days == 5
    assert live.bank_data_stale
    assert live.failed_messages == 1
    assert [run.run_on.day for run in live.runs] == [30, 29, 28]


def test_an_empty_merchant(ctx, make_merchant):
    merchant = find_merchant(make_merchant("Leer GmbH")["name"])
    figures = dashboard.compute(merchant.id, TODAY)
    assert figures["open"]["total"] == _tally(0)
    assert figures["recovery"] == [] and figures["currencies"] == ["EUR"]
    assert all(m["sales"]["count"] == 0 for m in figures["months"])
    live = dashboard.live(merchant, TODAY)
    assert (live.claims, live.inbox, live.failed_messages, live.runs) == (0, 0, 0, [])
    assert live.bank_data_days is None and live.bank_data_stale


def test_the_snapshot_is_stale_after_a_new_day_a_run_or_an_import(merchant):
    assert dashboard.needs_refresh(merchant, TODAY)  # none yet
    dashboard.refresh(merchant, TODAY)
    db.session.commit()
    assert not dashboard.needs_refresh(merchant, TODAY)
    assert dashboard.needs_refresh(merchant, date(2026, 12, 1))  # the nightly one
    run = dunning.start_run(merchant, TODAY, "cli")
    dunning.finish_run(run, dunning.RunSummary(TODAY))
    db.session.commit()
    assert dashboard.needs_refresh(merchant, TODAY)

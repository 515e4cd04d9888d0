"""Debt collection cases (ledger/collection.py): the hand-over by hand and by the rules (one case,
the webhook's itemised payload), the partner's reports (forward only, payments booked once per
reference, `paid` closes the case and pays the order) and the recall back into dunning."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger import collection, dunning, lifecycle, orders, rulesets
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.models import (
    AuditEntry,
    CollectionCase,
    CollectionUpdate,
    DunningEvent,
    EntryKind,
    LedgerEntry,
    OutboxMessage,
    Status,
)
from ledger.refusals import Refused

DUE = date(2026, 8, 1)
TODAY = date(2026, 11, 2)
RULES = "rechnung:\n    after 30 days: remind level 1\n    after 60 days: hand over to collection\n"


@pytest.fixture
def merchant(ctx, make_merchant):
    merchant = find_merchant(make_merchant(webhook_url="https://shop.example/hook")["name"])
    merchant.collection_partner = "Inkasso Nord GmbH"
    rulesets.save_and_activate(merchant, RULES, "test")
    db.session.commit()
    return merchant


def _order(merchant, number="RE-1", method="invoice", amount="100.00"):
    body = {
        "number": number,
        "customer": {"name": "Anna Schmidt", "email": "anna@example.de", "country": "DE",
                     "language": "de", "type": "b2c", "address": "Hauptstr. 1\n80331 München"},
        "amount": amount,
        "currency": "EUR",
        "payment_method": method,
        "ordered_on": DUE.isoformat(),
    }  # fmt: skip
    order = orders.upsert_order(merchant, orders.parse_order(body), "api")[0]
    db.session.commit()
    return order


def _cause(actor="user:owner@alpenkiste.example", today=TODAY, reason=None):
    return lifecycle.Cause(actor, "manual", today, reason=reason)


def _charge(order, kind, amount):
    lifecycle.charge(order, kind, Decimal(amount), _cause())
    db.session.commit()


def _hand_over(order, **kwargs):
    case = lifecycle.retrying(lambda: collection.hand_over(order, _cause(), **kwargs))
    db.session.refresh(order)
    return case


def _report(order, body, today=TODAY):
    report = collection.parse_update(body)

    def unit():
        return collection.update_from_partner(order, report, "api", today)

    result = lifecycle.retrying(unit)
    db.session.refresh(order)
    return result


def _webhooks(order, name):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.order_id == order.id, OutboxMessage.purpose == name
        )
    ).all()


def test_a_hand_over_by_hand_opens_one_case_with_the_amounts_itemised(merchant):
    order = _order(merchant)
    _charge(order, EntryKind.FEE, "5.00")
    _charge(order, EntryKind.INTEREST, "3.20")
    lifecycle.retrying(
        lambda: lifecycle.record_payment(order, Decimal("20.00"), TODAY, _cause(), "T-1")
    )

    case = _hand_over(order)

    assert order.status == Status.IN_COLLECTION
    assert case.partner == "Inkasso Nord GmbH"
    assert case.file_number == f"IK-{TODAY.year}-00001"
    assert (case.principal, case.fees, case.interest, case.paid_before, case.handed_over) == (
        Decimal("100.00"), Decimal("5.00"), Decimal("3.20"), Decimal("20.00"), Decimal("88.20"),
    )  # fmt: skip
    assert case.principal + case.fees + case.interest - case.paid_before == case.handed_over
    assert [u.status for u in case.updates] == ["handed_over"]

    [webhook] = _webhooks(order, "collection.handed_over")
    sent = webhook.payload["case"]
    assert sent["file_number"] == case.file_number
    assert sent["currency"] == "EUR"
    assert sent["amounts"] == {
        "principal": "100.00", "fees": "5.00", "interest": "3.20", "paid_before": "20.00",
        "handed_over": "88.20", "recovered": "0.00", "partner_fees": "0.00",
    }  # fmt: skip
    assert sent["customer"]["name"] == "Anna Schmidt"
    assert sent["customer"]["email"] == "anna@example.de"
    assert sent["customer"]["address"] == "Hauptstr. 1\n80331 München"
    assert webhook.payload["order"]["status"] == "in_collection"
    assert len(_webhooks(order, "order.handed_over_to_collection")) == 1  # the shop's, as before

    # A second hand-over is refused and stores nothing.
    with pytest.raises(Refused) as refused:
        _hand_over(order)
    assert refused.value.code == "status_already"
    assert db.session.scalar(select(func.count(CollectionCase.id))) == 1

    # The next case of the merchant gets the next number.
    other = _order(merchant, "RE-2")
    assert _hand_over(other).file_number == f"IK-{TODAY.year}-00002"


def test_without_a_partner_the_hand_over_is_refused_and_nothing_changes(merchant):
    merchant.collection_partner = None
    db.session.commit()
    order = _order(merchant)
    with pytest.raises(Refused) as refused:
        _hand_over(order)
    assert refused.value.code == "no_collection_partner"
    assert order.status == Status.UNPAID
    assert db.session.scalar(select(func.count(CollectionCase.id))) == 0
    # a partner named for this hand-over is enough
    assert _hand_over(order, partner="  Inkasso  Süd ").partner == "Inkasso Süd"


def test_a_paid_order_is_not_handed_over(merchant):
    order = _order(merchant)
    lifecycle.retrying(
        lambda: lifecycle.record_payment(order, Decimal("100.00"), TODAY, _cause(), "T-1")
    )
    with pytest.raises(Refused) as refused:
        _hand_over(order)
    assert refused.value.code == "status"
    assert collection.latest_case(order) is None


def test_the_rules_hand_over_once_with_a_case(app, merchant):
    order = _order(merchant)
    for n in range(0, 75):
        dunning.execute(merchant, DUE + timedelta(days=n))
    db.session.refresh(order)
    assert order.status == Status.IN_COLLECTION
    [case] = collection.cases_of(order)
    assert case.created_by == "system"
    assert (case.principal, case.fees, case.handed_over) == (100, order.fees_total, 100)
    [event] = db.session.scalars(
        select(DunningEvent).where(
            DunningEvent.order_id == order.id, DunningEvent.action == "hand_over_to_collection"
        )
    ).all()
    [webhook] = _webhooks(order, "collection.handed_over")
    assert webhook.event_id == event.id
    assert webhook.payload["rule"] == "after 60 days: hand over to collection"


def test_the_rules_without_a_partner_say_so_and_leave_the_order(app, merchant):
    merchant.collection_partner = None
    db.session.commit()
    order = _order(merchant)
    problems = []
    for n in range(0, 75):
        problems += dunning.execute(merchant, DUE + timedelta(days=n)).problems
    db.session.refresh(order)
    assert order.status == Status.UNPAID
    assert collection.latest_case(order) is None
    assert problems == [
        "RE-1: not handed over to collection: no collection partner is set in the settings"
    ]


def test_partner_reports_move_the_case_and_book_payments_once(merchant):
    order = _order(merchant)
    _charge(order, EntryKind.FEE, "5.00")
    case = _hand_over(order)

    _report(order, {"status": "accepted", "partner_file_number": "INK-4711"})
    _report(order, {"status": "payment_plan", "fees": "35.00"})
    body = {
        "status": "partially_paid",
        "payment": {"amount": "40.00", "paid_on": "2026-11-20", "reference": "P-1"},
    }
    _, stored = _report(order, body)
    assert stored
    assert order.status == Status.IN_COLLECTION
    assert order.statement.open == Decimal("65.00")
    [payment] = db.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.PAYMENT
        )
    ).all()
    assert (payment.source, payment.reference, payment.amount) == ("collection", "P-1", 40)
    assert payment.booked_on == date(2026, 11, 20)

    # The same report again (a retry): nothing stored, booked once.
    _, stored = _report(order, body)
    assert not stored
    assert order.paid_total == Decimal("40.00")
    db.session.refresh(case)
    assert case.recovered == Decimal("40.00")
    assert case.partner_file_number == "INK-4711"
    assert case.partner_fees == Decimal("35.00")

    # `paid` without the money that settles the order is refused, nothing stored.
    with pytest.raises(Refused) as refused:
        _report(order, {"status": "paid"})
    assert refused.value.code == "collection_not_paid"
    assert refused.value.params["amount"] == Decimal("65.00")
    db.session.refresh(case)
    assert case.status == "partially_paid"

    # `paid` with the rest: the order is paid, the case closed.
    _report(
        order,
        {"status": "paid", "payment": {"amount": "65.00", "paid_on": "2026-12-01",
                                       "reference": "P-2"}},
    )  # fmt: skip
    db.session.refresh(case)
    assert order.status == Status.PAID
    assert order.statement.open == 0
    assert case.status == "paid" and case.closed_at is not None
    assert case.recovered == Decimal("105.00")
    assert [u.status for u in case.updates] == [
        "handed_over", "accepted", "payment_plan", "partially_paid", "paid",
    ]  # fmt: skip
    assert case.updates[3].detail["reference"] == "P-1"

    # A closed case takes no more reports; the last one repeated is a duplicate.
    with pytest.raises(Refused) as refused:
        _report(order, {"status": "closed"})
    assert refused.value.code == "collection_closed"
    _, stored = _report(
        order,
        {"status": "paid", "payment": {"amount": "65.00", "paid_on": "2026-12-01",
                                       "reference": "P-2"}},
    )  # fmt: skip
    assert not stored
    assert db.session.scalar(select(func.count(CollectionUpdate.id))) == 5
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.order_id == order.id)
    ).all()
    assert actions.count("collection.updated") == 5  # the hand-over and four reports


def test_a_report_never_moves_the_case_back(merchant):
    order = _order(merchant)
    _hand_over(order)
    _report(order, {"status": "in_progress"})
    with pytest.raises(Refused) as refused:
        _report(order, {"status": "accepted"})
    assert refused.value.code == "collection_backwards"
    assert str(refused.value) == "the collection case is in_progress and cannot become accepted"
    _report(order, {"status": "in_progress"})  # the same status again is fine
    _report(order, {"status": "uncollectible", "note": "debtor unknown at the address"})
    assert order.status == Status.IN_COLLECTION  # stays in collection
    _report(order, {"status": "closed"})
    case = collection.latest_case(order)
    assert case.closed_at is not None and order.status == Status.IN_COLLECTION
    with pytest.raises(Refused):
        _report(order, {"status": "in_progress"})


def test_bad_reports_are_refused_field_by_field():
    with pytest.raises(orders.ValidationError) as bad:
        collection.parse_update({"status": "won", "fees": "-1", "payment": {"amount": "0"}})
    errors = bad.value.errors
    assert errors["status"].startswith("must be one of accepted, in_progress")
    assert "fees" in errors
    assert set(errors) >= {"payment.amount", "payment.paid_on", "payment.reference"}
    assert collection.parse_update({"status": "ACCEPTED", "fees": 0}).fees == 0


def test_a_report_for_an_order_without_a_case_is_refused(merchant):
    order = _order(merchant)
    with pytest.raises(Refused) as refused:
        _report(order, {"status": "accepted"})
    assert refused.value.code == "no_collection_case"


@pytest.mark.parametrize(
    ("method", "expected"), [("invoice", Status.OVERDUE), ("prepayment", Status.UNPAID)]
)
def test_a_recall_puts_the_order_back_into_dunning(merchant, method, expected):
    order = _order(merchant, method=method)
    _hand_over(order)
    _report(order, {"status": "accepted"})

    case = lifecycle.retrying(
        lambda: collection.recall(order, _cause(reason="customer disputes the claim"))
    )
    db.session.refresh(order)
    assert order.status == expected
    assert case.status == "recalled" and case.recalled_at and case.closed_at
    assert case.updates[-1].detail == {"reason": "customer disputes the claim"}
    [webhook] = _webhooks(order, "collection.recalled")
    assert webhook.payload["case"]["status"] == "recalled"
    assert webhook.payload["reason"] == "customer disputes the claim"
    assert db.session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.order_id == order.id, AuditEntry.action == "collection.recalled"
        )
    )
    # recalled: no more reports, no second recall; a new hand-over opens a new case
    with pytest.raises(Refused):
        _report(order, {"status": "in_progress"})
    with pytest.raises(Refused) as refused:
        lifecycle.retrying(lambda: collection.recall(order, _cause()))
    assert refused.value.code == "no_collection_case"
    assert _hand_over(order).file_number.endswith("-00002")


def test_a_paid_case_is_not_recalled(merchant):
    order = _order(merchant)
    _hand_over(order)
    _report(
        order,
        {"status": "paid", "payment": {"amount": "100.00", "paid_on": "2026-11-10",
                                       "reference": "P-1"}},
    )  # fmt: skip
    assert collection.why_not_recall(order).code == "collection_closed"

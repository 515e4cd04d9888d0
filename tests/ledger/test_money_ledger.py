"""The order's money ledger under the lifecycle: random sequences of commands on one order keep
the cached sums equal to the entries, the status equal to what the money says, and a refused
command changes nothing; the transition table refuses what it does not list; and
`mahnwerk ledger verify` finds a cached sum that no entry explains."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from ledger import accounts, entries, lifecycle, rulesets
from ledger.db import db
from ledger.models import (
    OPEN_STATUSES,
    EntryKind,
    LedgerEntry,
    Method,
    Order,
    Source,
    Status,
)
from ledger.money import Statement
from tests.conftest import CARD_RULES

DAY0 = date(2026, 10, 1)  # the order day of the add_order fixture
ZERO = Decimal("0.00")
Event = lifecycle.Event

amounts = st.decimals(min_value="0.01", max_value="500", places=2)

# The operations, each with the event the transition table knows it by and its argument.
# Amounts are random; "open"/"principal_open"/"credit"/"half" are computed from the locked order,
# so exact settlements and full refunds are common too.
OPERATIONS = {
    "pay": (Event.PAYMENT, amounts | st.sampled_from(["open", "principal_open"])),
    "reverse": (Event.PAYMENT_REVERSAL, st.integers(min_value=0, max_value=7)),
    "fee": (Event.CHARGE, amounts),
    "interest": (Event.CHARGE, amounts),
    "change_amount": (Event.CHARGE, amounts),
    "write_off": (Event.WRITE_OFF, st.none()),
    "refund": (Event.REFUND, amounts | st.sampled_from(["credit", "half"])),
    "cancel": (Event.CANCEL, st.none()),
    "reactivate": (Event.REACTIVATE, st.none()),
    "reopen": (Event.REOPEN, st.none()),
    "mark_overdue": (Event.MARK_OVERDUE, st.none()),
    "hand_over": (Event.HAND_OVER, st.none()),
}


def next_operation(data, status: str) -> tuple[str, object]:
    """Mostly an operation the table lists for the status (so long sequences reach deep states:
    written off, paid after cancellation, refunded, reopened), sometimes any (to be refused)."""
    listed = [
        name
        for name, (event, _arg) in OPERATIONS.items()
        if lifecycle.status_after(status, event) is not None
    ]
    anything = data.draw(st.integers(min_value=0, max_value=4), label="any operation?") == 0
    name = data.draw(st.sampled_from(sorted(OPERATIONS) if anything else listed), label="op")
    return name, data.draw(OPERATIONS[name][1], label=name)


_numbers = itertools.count(1)

# How each entry kind counts in the Statement, written out here on purpose (not the product's
# entries.CACHE): (component, sign).
COUNTS = {
    "charge": ("principal", 1),
    "payment": ("paid", 1),
    "payment_reversal": ("paid", -1),
    "fee": ("fees", 1),
    "interest": ("interest", 1),
    "discount": ("adjustments", 1),
    "write_off": ("adjustments", 1),
    "refund": ("adjustments", -1),
}


def statement_from_entries(order: Order, ledger: list[LedgerEntry]) -> Statement:
    sums = dict.fromkeys(("principal", "fees", "interest", "paid", "adjustments"), ZERO)
    for entry in ledger:
        component, sign = COUNTS[entry.kind]
        sums[component] += sign * entry.amount
    return Statement(order.currency, cancelled=order.status == Status.CANCELLED, **sums)


def snapshot(order_id: int) -> tuple:
    """What a refused command must leave as it was (read fresh from the database)."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    count = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.order_id == order_id)
    )
    return (
        order.status,
        order.amount,
        order.paid_total,
        order.fees_total,
        order.interest_total,
        order.adjustments_total,
        order.paid_after_cancellation,
        order.dunning_level,
        count,
    )


@dataclass
class History:
    """What the test remembers of the order's life, independently of the product."""

    cancelled_after_entry: int | None = None  # the last entry id when the order was cancelled
    reopened_written_off: bool = False  # the last command reopened a written-off order
    log: list[str] = field(default_factory=list)


def _apply(name: str, arg, order: Order, cause: lifecycle.Cause):
    statement = order.statement
    if name == "pay":
        amount = {"open": statement.open, "principal_open": statement.principal_open}.get(arg, arg)
        amount = amount if amount > 0 else Decimal("10.00")  # nothing open: pay something anyway
        return lifecycle.record_payment(order, amount, cause.today, cause)
    if name == "reverse":
        payments = [e for e in entries.entries_of(order.id) if e.kind == EntryKind.PAYMENT]
        if not payments:
            raise lifecycle.Refused("not_a_payment")  # test-side: nothing to reverse
        return lifecycle.reverse_payment(order, payments[arg % len(payments)], cause)
    if name in ("fee", "interest"):
        return lifecycle.charge(order, EntryKind(name), arg, cause)
    if name == "change_amount":
        return lifecycle.change_amount(order, arg, cause)
    if name == "refund":
        credit = statement.credit
        amount = {"credit": credit, "half": (credit / 2).quantize(Decimal("0.01"))}.get(arg, arg)
        return lifecycle.refund(order, amount, cause)
    if name == "write_off":
        return lifecycle.write_off(order, cause)
    return getattr(lifecycle, name)(order, cause)


def check_books(order_id: int, history: History) -> None:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    trail = " → ".join(history.log)
    ledger = entries.entries_of(order.id)
    derived = statement_from_entries(order, ledger)
    cached = order.statement
    assert cached.open == derived.open, trail
    # the list's totals sum the same open amount in SQL
    in_sql = db.session.scalar(select(Order.open_amount_sql()).where(Order.id == order.id))
    assert Decimal(in_sql).quantize(Decimal("0.01")) == cached.open, trail
    assert cached.credit == derived.credit, trail
    assert (cached.principal, cached.paid, cached.fees, cached.interest, cached.adjustments) == (
        derived.principal,
        derived.paid,
        derived.fees,
        derived.interest,
        derived.adjustments,
    ), trail
    assert entries.verify(order.merchant_id) == [], trail

    status = Status(order.status)
    if status in OPEN_STATUSES or status == Status.PAID:
        settled = derived.principal - derived.paid - derived.adjustments <= 0
        assert (status == Status.PAID) == settled, f"{status} with {derived}: {trail}"
        covered = derived.paid + derived.adjustments  # payments, write-offs less refunds
        assert status != Status.UNPAID or covered <= 0, f"unpaid with {derived}: {trail}"
        assert status != Status.PARTIALLY_PAID or covered > 0, trail
    # The flag asks someone to reactivate or refund: only a cancelled order carries it.
    assert not order.paid_after_cancellation or status == Status.CANCELLED, trail
    if status == Status.CANCELLED and history.cancelled_after_entry is not None:
        # Money that came in after the cancellation (and was not reversed or refunded since)
        # is flagged for someone to reactivate or refund.
        later = [e for e in ledger if e.id > history.cancelled_after_entry]
        reversed_ids = {e.reverses_id for e in later if e.kind == EntryKind.PAYMENT_REVERSAL}
        received = sum(
            (e.amount for e in later if e.kind == "payment" and e.id not in reversed_ids), ZERO
        ) - sum((e.amount for e in later if e.kind == "refund"), ZERO)
        if received > 0:
            assert order.paid_after_cancellation, trail
    if history.reopened_written_off:
        # The write-off is undone entirely, whatever was paid or refunded meanwhile.
        written_off = sum((e.amount for e in ledger if e.kind == "write_off"), ZERO)
        assert written_off == ZERO, trail
    for entry in ledger:
        assert entry.amount == entry.amount.quantize(Decimal("0.01")), trail


# A failing case shrinks for up to Hypothesis's 5 minutes: room for that before pytest-timeout,
# and no explain phase (its tracing makes every database round trip slow).
@pytest.mark.timeout(900)
@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(list(Method)),
    principal=amounts,
    length=st.integers(min_value=1, max_value=14),
    data=st.data(),
)
def test_random_commands_keep_the_books_and_the_status_right(
    ctx, add_order, method, principal, length, data
):
    # A merchant of its own per example (with the card's rules), so that `verify` looks at this
    # example's order only and does not slow down as the examples pile up.
    number = next(_numbers)
    merchant = accounts.create_merchant(f"Beispiel {number}", "buchhaltung@example.com")
    rulesets.save_and_activate(merchant, CARD_RULES, "test")
    order = add_order(merchant, f"H-{number}", method=str(method), amount=str(principal))
    db.session.commit()
    order_id = order.id
    history = History(log=[f"{method} {principal}"])
    check_books(order_id, history)
    for day in range(1, length + 1):
        before = snapshot(order_id)
        name, arg = next_operation(data, before[0])
        cause = lifecycle.Cause("test", Source.MANUAL, DAY0 + timedelta(days=day), reason=name)
        try:
            lifecycle.retrying(
                lambda name=name, arg=arg, cause=cause: _apply(
                    name, arg, lifecycle.lock(order_id), cause
                )
            )
        except lifecycle.Refused as exc:
            history.log.append(f"{name}({arg}) refused: {exc}")
            assert snapshot(order_id) == before, history.log
            history.reopened_written_off = False
        else:
            status = snapshot(order_id)[0]
            history.log.append(f"{name}({arg}) → {status}")
            history.reopened_written_off = name == "reopen" and before[0] == "written_off"
            if name == "cancel":
                history.cancelled_after_entry = db.session.scalar(
                    select(func.max(LedgerEntry.id)).where(LedgerEntry.order_id == order_id)
                )
            elif status != Status.CANCELLED:
                history.cancelled_after_entry = None
        check_books(order_id, history)


def run(order_id: int, command, day: int):
    cause = lifecycle.Cause("test", Source.MANUAL, DAY0 + timedelta(days=day), reason="test")
    return lifecycle.retrying(lambda: command(lifecycle.lock(order_id), cause))


def paying(amount: str):
    return lambda order, cause: lifecycle.record_payment(order, Decimal(amount), cause.today, cause)


def test_payment_after_cancellation_refund_and_reactivate(card_merchant, add_order):
    order = add_order(card_merchant, "C-1", amount="100.00")
    db.session.commit()
    run(order.id, lifecycle.cancel, 1)
    run(order.id, paying("100.00"), 2)
    db.session.expire_all()
    assert (order.status, order.paid_after_cancellation) == ("cancelled", True)
    assert order.statement.credit == Decimal("100.00") and order.statement.open == ZERO
    run(order.id, lambda o, c: lifecycle.refund(o, Decimal("100.00"), c), 3)
    db.session.expire_all()
    assert (order.status, order.paid_after_cancellation) == ("cancelled", False)
    with pytest.raises(lifecycle.Refused, match="no payment came in after the cancellation"):
        run(order.id, lifecycle.reactivate, 4)
    run(order.id, paying("100.00"), 5)
    run(order.id, lifecycle.reactivate, 6)
    db.session.expire_all()
    assert (order.status, order.paid_after_cancellation, order.cancelled_on) == (
        "paid",
        False,
        None,
    )
    assert order.statement.balance == ZERO


def test_reopen_undoes_the_whole_write_off_after_a_refund(card_merchant, add_order):
    """Found by the property test on b3f9067: reopen posted -adjustments_total, which nets the
    refund in, so 30 of the write-off stayed (the order owed 70, partially paid)."""
    order = add_order(card_merchant, "W-1", amount="100.00")
    db.session.commit()
    run(order.id, lifecycle.write_off, 1)
    run(order.id, paying("30.00"), 2)  # a credit on the written-off order…
    run(order.id, lambda o, c: lifecycle.refund(o, Decimal("30.00"), c), 3)  # …paid back
    run(order.id, lifecycle.reopen, 4)
    db.session.expire_all()
    written_off = sum(
        (e.amount for e in entries.entries_of(order.id) if e.kind == EntryKind.WRITE_OFF), ZERO
    )
    assert written_off == ZERO  # the write-off is undone
    assert order.statement.open == Decimal("100.00")  # the customer got their 30 back
    assert order.status == "unpaid"


def test_reopen_of_a_cancelled_order_paid_after_cancellation_clears_the_flag(
    card_merchant, add_order
):
    """On b3f9067 the reopened, paid order kept the flag (and its banner) for good."""
    order = add_order(card_merchant, "R-1", amount="100.00")
    db.session.commit()
    run(order.id, lifecycle.cancel, 1)
    run(order.id, paying("100.00"), 2)
    run(order.id, lifecycle.reopen, 3)
    db.session.expire_all()
    assert order.status == "paid"
    assert order.paid_after_cancellation is False


# --- the transition table -------------------------------------------------------------------


def bare_order(status: Status, method: Method, **fields) -> Order:
    """An order that is not in the database, only to ask the table about."""
    values = {
        "status": status,
        "payment_method": method,
        "currency": "EUR",
        "amount": Decimal("80.00"),
        "paid_total": ZERO,
        "fees_total": ZERO,
        "interest_total": ZERO,
        "adjustments_total": ZERO,
        "paid_after_cancellation": False,
        "dunning_block": False,
        "erased_at": None,
    }
    values.update(fields)
    return Order(**values)


MISSING = [
    (status, event)
    for status in Status
    for event in lifecycle.Event
    if (status, event) not in lifecycle.TRANSITIONS
]


def test_the_table_refuses_some_pairs_and_names_every_status_and_event():
    assert MISSING  # the table is not "everything goes"
    listed = set(lifecycle.TRANSITIONS)
    assert {s for s, _e in listed} == set(Status)
    assert {e for _s, e in listed} == set(lifecycle.Event)
    for target in lifecycle.TRANSITIONS.values():
        assert target in (lifecycle.SETTLE, lifecycle.SAME) or target in set(Status)


@pytest.mark.parametrize(("status", "event"), MISSING, ids=lambda v: str(v))
def test_every_pair_not_in_the_table_is_refused_with_a_message(status, event):
    assert lifecycle.status_after(status, event) is None
    for method in Method:
        # Whatever else is true of the order (a credit, a late payment, a block), the table wins.
        order = bare_order(
            status, method, paid_total=Decimal("100.00"), paid_after_cancellation=True
        )
        reason = lifecycle.why_not(order, event)
        assert isinstance(reason, str) and reason.strip(), (status, event, method)
        assert status.replace("_", " ") in reason
        assert not lifecycle.can(order, event)


@pytest.mark.parametrize(
    ("event", "allowed"),
    [
        (Event.CANCEL, {Method.PREPAYMENT}),
        (Event.MARK_OVERDUE, {Method.INVOICE, Method.COD}),
    ],
)
def test_cancel_only_prepayment_and_mark_overdue_only_invoice_and_cod(event, allowed):
    statuses = [s for s in Status if (s, event) in lifecycle.TRANSITIONS]
    assert set(statuses) == {Status.UNPAID, Status.PARTIALLY_PAID}
    for status in statuses:
        for method in Method:
            reason = lifecycle.why_not(bare_order(status, method), event)
            if method in allowed:
                assert reason is None, (status, method)
            else:
                assert reason and reason.startswith("only "), (status, method, reason)


def test_method_restrictions_hold_through_the_commands(card_merchant, add_order):
    invoice = add_order(card_merchant, "I-1", method="invoice")
    prepaid = add_order(card_merchant, "P-1", method="prepayment")
    db.session.commit()
    cause = lifecycle.Cause("test", Source.MANUAL, DAY0)
    with pytest.raises(lifecycle.Refused, match="only prepayment"):
        lifecycle.retrying(lambda: lifecycle.cancel(lifecycle.lock(invoice.id), cause))
    with pytest.raises(lifecycle.Refused, match="only invoice and cod"):
        lifecycle.retrying(lambda: lifecycle.mark_overdue(lifecycle.lock(prepaid.id), cause))
    lifecycle.retrying(lambda: lifecycle.mark_overdue(lifecycle.lock(invoice.id), cause))
    lifecycle.retrying(lambda: lifecycle.cancel(lifecycle.lock(prepaid.id), cause))
    db.session.expire_all()
    assert (invoice.status, prepaid.status) == ("overdue", "cancelled")


# --- mahnwerk ledger verify -----------------------------------------------------------------


def test_ledger_verify_agrees_on_a_fresh_book_and_finds_a_tampered_sum(
    app, make_merchant, add_order, pay
):
    from ledger.accounts import find_merchant

    runner = app.test_cli_runner()
    empty = runner.invoke(args=["ledger", "verify"])
    assert empty.exit_code == 0, empty.output
    assert "the books agree" in empty.output

    with app.app_context():
        merchant = find_merchant(make_merchant()["name"])
        pay(add_order(merchant, "V-1"), amount="30.00")
        add_order(merchant, "V-2")
        db.session.commit()

    fresh = runner.invoke(args=["ledger", "verify"])
    assert fresh.exit_code == 0, fresh.output
    assert "the books agree" in fresh.output

    with app.app_context():
        db.session.execute(
            text("UPDATE orders SET paid_total = paid_total + 1 WHERE number = 'V-1'")
        )
        db.session.commit()

    tampered = runner.invoke(args=["ledger", "verify"])
    assert tampered.exit_code == 1, tampered.output
    assert "order V-1" in tampered.output
    assert "paid_total is 31.00, the entries say 30.00" in tampered.output
    assert "V-2" not in tampered.output
    assert "the books agree" not in tampered.output

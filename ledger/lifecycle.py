"""An order's life: the transition table and the commands that are the only way to change one.

Every caller that pays, cancels, blocks, reminds or charges an order — the API, a portal button,
a rules step in the daily run, the CLI, the worker's last look before sending — calls a command
here. Each command

1. works on the order locked (`lock`/`lock_many`: `SELECT … FOR UPDATE` on PostgreSQL; on both
   databases the order's `version` column makes any UPDATE of a row that changed since it was
   read fail with StaleDataError, and `retrying` runs the unit again on fresh rows),
2. re-checks its precondition on that fresh row against TRANSITIONS (`why_not`),
3. writes its money entries (ledger.entries.post), the audit entry, withdraws the customer
   messages the new state forbids, refreshes the next due date and queues its webhook —
   all in the caller's one transaction.

A payment that races the daily run therefore always wins or is told: either the run sees the
paid row and fires nothing, or the run's cancel committed first and the payment is stored on
the cancelled order, flagged "paid after cancellation" for someone to reactivate or refund.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ledger import audit, bulk, digest, entries, notes, outbox, refusals, scheduling
from ledger.db import db
from ledger.models import (
    OPEN_STATUSES,
    DunningEvent,
    EntryKind,
    LedgerEntry,
    Merchant,
    Method,
    Order,
    Source,
    Status,
    utcnow,
)
from ledger.money import MAX_MONEY
from ledger.refusals import Refusal
from ledger.rulebook import Rulebook, program_for

ZERO = Decimal("0.00")


class Event(StrEnum):
    """What can happen to an order: the columns of the transition table."""

    PAYMENT = "payment"
    PAYMENT_REVERSAL = "payment_reversal"
    CLAIM_PAID = "claim_paid"
    CANCEL = "cancel"
    MARK_OVERDUE = "mark_overdue"
    BLOCK = "block"
    UNBLOCK = "unblock"
    HAND_OVER = "hand_over"
    RECALL = "recall"  # the collection case is taken back from the partner
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"  # a refund not paid out after all
    WRITE_OFF = "write_off"
    REOPEN = "reopen"
    REACTIVATE = "reactivate"
    ERASE = "erase"
    CHARGE = "charge"  # a fee, interest, or a change of the order amount
    REMIND = "remind"
    STEP = "step"  # a rules step (its actions are the events above)
    EDIT = "edit"  # order data changed by hand: email, amount, due date, address, payment info


SETTLE = "settle"  # the status follows from the money: paid, partially paid or unpaid
SAME = "same"  # the status stays (a flag, an entry or a message changes)

_OPEN = tuple(OPEN_STATUSES)
_ALL = tuple(Status)
_EVERY_OPEN_AND_PAID = (*_OPEN, Status.PAID)


def _table() -> dict[tuple[Status, Event], str]:
    rows = [
        (_OPEN, Event.PAYMENT, SETTLE),
        ((Status.PAID,), Event.PAYMENT, SAME),  # an overpayment: a credit to refund
        ((Status.CANCELLED,), Event.PAYMENT, SAME),  # flagged: paid after cancellation
        ((Status.WRITTEN_OFF,), Event.PAYMENT, SAME),  # a credit; reopen to undo the write-off
        (_EVERY_OPEN_AND_PAID, Event.PAYMENT_REVERSAL, SETTLE),
        ((Status.CANCELLED, Status.WRITTEN_OFF), Event.PAYMENT_REVERSAL, SAME),
        (_OPEN, Event.CLAIM_PAID, SAME),
        ((Status.UNPAID, Status.PARTIALLY_PAID), Event.CANCEL, Status.CANCELLED),
        ((Status.UNPAID, Status.PARTIALLY_PAID), Event.MARK_OVERDUE, Status.OVERDUE),
        (_OPEN, Event.BLOCK, SAME),
        (_ALL, Event.UNBLOCK, SAME),
        (
            (Status.UNPAID, Status.PARTIALLY_PAID, Status.OVERDUE),
            Event.HAND_OVER,
            Status.IN_COLLECTION,
        ),
        ((Status.IN_COLLECTION,), Event.RECALL, SETTLE),  # back into dunning (RECALLED_TO_OVERDUE)
        ((Status.PAID, Status.WRITTEN_OFF), Event.RECALL, SAME),  # left collection already
        ((Status.PAID, Status.CANCELLED, Status.WRITTEN_OFF), Event.REFUND, SAME),
        (_EVERY_OPEN_AND_PAID, Event.REFUND_REVERSAL, SETTLE),  # the money counts again
        ((Status.CANCELLED, Status.WRITTEN_OFF), Event.REFUND_REVERSAL, SAME),
        (_OPEN, Event.WRITE_OFF, Status.WRITTEN_OFF),
        ((Status.CANCELLED, Status.WRITTEN_OFF), Event.REOPEN, SETTLE),
        ((Status.CANCELLED,), Event.REACTIVATE, SETTLE),
        (_ALL, Event.ERASE, SAME),
        (_EVERY_OPEN_AND_PAID, Event.CHARGE, SETTLE),
        ((Status.CANCELLED, Status.WRITTEN_OFF), Event.CHARGE, SAME),
        (_OPEN, Event.REMIND, SAME),
        (_OPEN, Event.STEP, SAME),
        ((Status.UNPAID, Status.PARTIALLY_PAID, Status.OVERDUE), Event.EDIT, SAME),
    ]
    return {(status, ev): target for statuses, ev, target in rows for status in statuses}


# status × event → the status after it (or SETTLE / SAME). A pair not in it is refused.
TRANSITIONS: dict[tuple[Status, Event], str] = _table()

# Events only some payment methods have: a prepayment order is cancelled (the goods were never
# sent); an invoice or COD order is marked overdue (the goods are with the customer).
METHODS = {
    Event.CANCEL: (Method.PREPAYMENT,),
    Event.MARK_OVERDUE: (Method.INVOICE, Method.COD),
}
# A recalled order goes back into dunning: overdue for the methods that can be overdue, else
# by its money (unpaid, partially paid).
RECALLED_TO_OVERDUE = METHODS[Event.MARK_OVERDUE]
# Events that act on the customer: refused once the customer's data is erased.
NEEDS_CUSTOMER = frozenset({Event.REMIND, Event.STEP, Event.CLAIM_PAID})
# Events a dunning block holds back.
BLOCKED_BY_BLOCK = frozenset({Event.REMIND, Event.STEP})
# Webhooks to the shop, queued with the command that caused them.
WEBHOOKS = {
    Event.CANCEL: "order.cancelled",
    Event.REACTIVATE: "order.reactivated",
    Event.HAND_OVER: "order.handed_over_to_collection",
}


class Refused(refusals.Refused):
    """The command does not apply to the order in its current state; nothing was changed.
    `Refused(code, **values)` with a code of ledger.refusals.TEXTS, or `Refused(why_not(…))`."""


@dataclass(frozen=True)
class Cause:
    """Who asks for a command, from where, on which day (and for a rules step, which run)."""

    actor: str  # "api", "user:a@b.de", "system", "cli"
    source: str  # a models.Source
    today: date
    run_id: int | None = None
    reason: str | None = None
    # The daily run refreshes next due dates itself, from the history it carries in memory.
    refresh: bool = True


def status_after(status: str, event: str) -> str | None:
    """The table's answer for a status: the new status, SETTLE, SAME, or None (refused). The
    rules' simulation (Program.schedule) reads status effects through this."""
    return TRANSITIONS.get((Status(status), Event(event)))


def why_not(order: Order, event: Event) -> Refusal | None:
    """Why `event` cannot happen to the order now (a Refusal: its English text, code and
    values), or None when it can."""
    status = Status(order.status)
    if (status, event) not in TRANSITIONS:
        already = any(t == status for (_s, e), t in TRANSITIONS.items() if e == event)
        return Refusal("status_already" if already else "status", status=status)
    allowed = METHODS.get(event)
    if allowed and order.payment_method not in allowed:
        return Refusal(_METHOD_REFUSAL[event], methods=allowed)
    if event in NEEDS_CUSTOMER and order.erased_at is not None:
        return Refusal("erased")
    if event in BLOCKED_BY_BLOCK and order.dunning_block:
        return Refusal("blocked")
    if event is Event.BLOCK and order.dunning_block:
        return Refusal("blocked_already")
    if event is Event.UNBLOCK and not order.dunning_block:
        return Refusal("not_blocked")
    if event is Event.REACTIVATE and not order.paid_after_cancellation:
        return Refusal("no_late_payment")
    if event is Event.REFUND and order.statement.credit <= 0:
        return Refusal("no_credit")
    if event is Event.ERASE and order.erased_at is not None:
        return Refusal("erased_already")
    return None


_METHOD_REFUSAL = {Event.CANCEL: "cancel_method", Event.MARK_OVERDUE: "mark_overdue_method"}
assert set(_METHOD_REFUSAL) == set(METHODS), "every method restriction has its refusal"
# Why an order's pending customer messages are withdrawn when it closes (ledger.notes).
_WITHDRAWN = {
    Status.PAID: "withdrawn_paid",
    Status.CANCELLED: "withdrawn_cancelled",
    Status.WRITTEN_OFF: "withdrawn_written_off",
}


def can(order: Order, event: str) -> bool:
    """For templates: show only the actions the table allows."""
    return why_not(order, Event(event)) is None


def payment_refusal(order: Order, amount: Decimal) -> Refusal | None:
    """Why this payment cannot be booked now (None: it can): the transition table, and the
    most the order's payments can add up to."""
    reason = why_not(order, Event.PAYMENT)
    if reason is None and order.paid_total + amount > MAX_MONEY:
        reason = Refusal("payments_too_high", limit=MAX_MONEY)
    return reason


def _check(order: Order, event: Event) -> None:
    reason = why_not(order, event)
    if reason:
        raise Refused(reason)


# --- locking ------------------------------------------------------------------------------

_LOCKED = "lifecycle_locked_orders"


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
def _forget_locks(session) -> None:
    session.info.pop(_LOCKED, None)


def lock_many(ids) -> list[Order]:
    """The orders, read fresh and locked for this transaction (ordered by id, so two
    transactions locking overlapping sets cannot deadlock)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    found = db.session.scalars(
        select(Order)
        .where(bulk.among(Order.id, ids))
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    db.session.info.setdefault(_LOCKED, set()).update(o.id for o in found)
    return list(found)


def lock(order_or_id) -> Order:
    order_id = getattr(order_or_id, "id", order_or_id)
    found = lock_many([order_id])
    if not found:
        raise Refused("no_order")
    return found[0]


def _locked(order: Order) -> Order:
    if order.id is not None and order.id not in db.session.info.get(_LOCKED, ()):
        return lock(order)
    return order


T = TypeVar("T")
RETRIES = 8


def retrying(unit: Callable[[], T], attempts: int = RETRIES) -> T:
    """Run `unit` and commit; when a row it read changed meanwhile (the version check), or the
    database was busy or chose it as a deadlock victim, roll back and run it again on fresh
    data. Other errors roll back and propagate."""
    for attempt in range(attempts):
        try:
            result = unit()
            db.session.commit()
            return result
        except (StaleDataError, OperationalError, IntegrityError) as exc:
            db.session.rollback()
            if attempt == attempts - 1 or not transient(exc):
                raise
            time.sleep(0.01 * (attempt + 1))
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def transient(exc: Exception) -> bool:
    """A conflict worth running the unit again for: a row changed (version check, a unique
    key taken meanwhile), the database was busy, or it chose us as a deadlock victim."""
    if isinstance(exc, StaleDataError | IntegrityError):
        return True
    text = str(exc).lower()
    return "locked" in text or "deadlock" in text or "could not serialize" in text


# --- what every command does ---------------------------------------------------------------


def _settled(order: Order, base: Status) -> Status:
    """The status the money says, for an order whose dunning stage is `base`: paid once
    payments, discounts and write-offs (less refunds) cover the order amount; partially paid
    while they cover some of it."""
    statement = order.statement
    covered = statement.paid + statement.adjustments
    if statement.principal - covered <= 0:
        return Status.PAID
    if base in (Status.OVERDUE, Status.IN_COLLECTION):
        return base
    return Status.PARTIALLY_PAID if covered > 0 else Status.UNPAID


def _transition(
    order: Order,
    event: Event,
    cause: Cause,
    dunning_event: DunningEvent | None = None,
    batch: PaymentBatch | None = None,
):
    """Move the order by the table, and do what the new state requires. Returns the webhook
    message queued, if any. `batch`: withdraw the customer messages when the batch finishes."""
    before = Status(order.status)
    target = TRANSITIONS[(before, event)]
    if target == SETTLE:
        if event is Event.RECALL:
            base = Status.OVERDUE if order.payment_method in RECALLED_TO_OVERDUE else Status.UNPAID
        elif before in (Status.CANCELLED, Status.WRITTEN_OFF):
            base = Status.UNPAID
        else:
            base = before
        after = _settled(order, base)
    elif target == SAME:
        after = before
    else:
        after = Status(target)
    order.status = after
    order.updated_at = utcnow()  # always an UPDATE, so the version check always runs
    if after == Status.CANCELLED and before != Status.CANCELLED:
        order.cancelled_on = cause.today
    if after == Status.PAID and order.payment_claimed_on is not None:
        from ledger import claims  # the customer's claims (they use the commands here)

        claims.settle_claims(order)
    if after not in OPEN_STATUSES:
        order.payment_claimed_on = None
        reason = notes.text(_WITHDRAWN[after])
        if batch is not None:
            batch.withdraw_messages(order, reason)
        else:
            outbox.cancel_pending_for_order(order.id, reason)
    name = WEBHOOKS.get(event)
    return queue_webhook(order, name, cause, dunning_event) if name else None


def refresh(order: Order, cause: Cause) -> None:
    """Refresh the order's next due date (the daily run does its own, in memory)."""
    if cause.refresh:
        scheduling.refresh_next_due(order)


def queue_webhook(
    order: Order,
    name: str,
    cause: Cause,
    event: DunningEvent | None = None,
    extra: dict | None = None,
):
    """The shop hears of the order's change, in the same transaction (the outbox). `extra`:
    more top-level fields of the payload (a collection case)."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    if not merchant.webhook_url:
        return None
    statement = order.statement
    payload = {
        "event": name,
        "merchant": merchant.name,
        "order": {
            "number": order.number,
            "status": str(order.status),
            "amount": str(order.amount),
            "currency": order.currency,
            "open_amount": str(statement.open),
            "dunning_level": order.dunning_level,
            "paid_after_cancellation": order.paid_after_cancellation,
        },
        "decided_on": cause.today.isoformat(),
        "rule" if cause.source == Source.RULE else "reason": cause.reason,
    } | (extra or {})
    return outbox.add(
        order.merchant_id,
        "webhook",
        name,
        merchant.webhook_url,
        order_id=order.id,
        run_id=cause.run_id,
        event=event,
        payload=payload,
    )


# --- the commands -------------------------------------------------------------------------


def open_order(order: Order, cause: Cause) -> None:
    """A new order: its amount is the first charge of its ledger."""
    amount, order.amount = order.amount, ZERO
    order.status = Status.UNPAID
    db.session.flush()
    entries.post(
        order,
        EntryKind.CHARGE,
        amount,
        order.ordered_on,
        cause.source,
        cause.actor,
        note=notes.text("order_amount"),
    )
    refresh(order, cause)


def change_amount(order: Order, amount: Decimal, cause: Cause) -> None:
    """The shop changed the order amount: a charge of the difference."""
    order = _locked(order)
    _check(order, Event.CHARGE)
    difference = amount - order.amount
    if difference == 0:
        return
    entries.post(
        order,
        EntryKind.CHARGE,
        difference,
        cause.today,
        cause.source,
        cause.actor,
        note=notes.text("order_amount_changed"),
    )
    _transition(order, Event.CHARGE, cause)
    refresh(order, cause)


def find_payment(order: Order, source: str, reference: str | None) -> LedgerEntry | None:
    if reference is None:
        return None
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.order_id == order.id,
            LedgerEntry.kind == EntryKind.PAYMENT,
            LedgerEntry.source == source,
            LedgerEntry.reference == reference,
        )
    )


def record_payment(
    order: Order,
    amount: Decimal,
    paid_on: date,
    cause: Cause,
    reference: str | None = None,
    note: str | None = None,
    allowance: tuple[EntryKind, Decimal] | None = None,
    batch: PaymentBatch | None = None,
) -> tuple[LedgerEntry, bool]:
    """Book a payment. Returns (entry, created): the same reference from the same source again
    is the same payment, stored once. A payment for a cancelled order is stored and the order
    flagged "paid after cancellation" (reactivate or refund); accounting hears of it in the next
    digest. `allowance` settles the rest with the payment: a Skonto (DISCOUNT) paid in time, or
    a shortfall within the merchant's tolerance (WRITE_OFF), booked first, one transition.
    `batch`: one of many payments booked together (PaymentBatch); the entry has no id until
    the batch finishes."""
    order = _locked(order)
    if batch is not None:
        existing = batch.find_payment(order, cause.source, reference)
    else:
        existing = find_payment(order, cause.source, reference)
    if existing is not None:
        return existing, False
    if reason := payment_refusal(order, amount):
        raise Refused(reason)
    into = batch.entries if batch is not None else None
    paid_before = order.status == Status.PAID

    def post(kind: EntryKind, value: Decimal) -> LedgerEntry:
        return entries.post(
            order, kind, value, paid_on, cause.source, cause.actor, reference, note, into=into
        )

    if allowance is not None:
        kind, rest = allowance
        if (
            kind not in (EntryKind.DISCOUNT, EntryKind.WRITE_OFF)
            or not 0 < rest <= order.open_amount
        ):
            raise Refused("allowance", limit=order.open_amount)
        post(kind, rest)
    entry = post(EntryKind.PAYMENT, amount)
    if batch is None:
        db.session.flush()
    _transition(order, Event.PAYMENT, cause, batch=batch)
    order.payment_claimed_on = None
    if order.status == Status.CANCELLED and not order.paid_after_cancellation:
        order.paid_after_cancellation = True
        if batch is not None:  # the digest line names the entry: it needs its id now
            batch.write_entries()
        _tell_accounting(order, cause, entry)
    audited = audit.values(
        order.merchant_id,
        cause.actor,
        "payment.recorded",
        order.id,
        amount=str(amount),
        paid_on=paid_on.isoformat(),
        reference=reference,
        source=cause.source,
        status=str(order.status),
    )
    if batch is not None:
        batch.booked(order, entry, audited)
        if order.status == Status.PAID and not paid_before:
            batch.paid(order, amount, paid_on)
    else:
        refresh(order, cause)
        audit.add(audited)
        if order.status == Status.PAID and not paid_before:
            _payment_received(order, amount, paid_on)
    return entry, True


def _payment_received(order: Order, amount: Decimal, paid_on: date) -> None:
    """The customer's optional confirmation of the payment that settled the order
    (ledger.notices: only when the merchant wants it and the customer did not unsubscribe)."""
    from ledger import notices  # it queues letters and mails through the commands here

    notices.payment_received(order, amount, paid_on)


class PaymentBatch:
    """Many payments booked in one transaction on orders locked together (the bank matcher's
    batches of transactions). Each still goes through `record_payment`, one after the other,
    and sees what the earlier ones did to the orders; what would cost a database statement
    per payment is done once for all: the duplicate check reads the batch's references in one
    query (`expect`), and `finish` writes the entries and the audit entries, withdraws the paid
    orders' pending customer messages and refreshes the touched orders' next due dates from one
    history query per merchant. Call `finish` before the transaction commits (and before
    anything reads the batch's payments back from the database)."""

    def __init__(self) -> None:
        # what `expect` read: any of these orders with any of these (source, reference)
        self._checked_orders: set[int] = set()
        self._checked: set[tuple[str, str]] = set()
        self._payments: dict[tuple[int, str, str], LedgerEntry] = {}
        self._withdraw: dict[str, set[int]] = {}
        self._touched: dict[int, Order] = {}
        self._audited: list[dict] = []
        self._books: dict[int, Rulebook] = {}
        self._paid: dict[int, tuple[Order, Decimal, date]] = {}  # settled by the batch
        self.entries: list[LedgerEntry] = []  # booked, not written yet (entries.write_many)

    def expect(self, order_ids, source: str, references) -> None:
        """Read, in one query, the payments `source` booked already under these references
        for these orders."""
        references = sorted(set(references))
        order_ids = sorted(set(order_ids))
        if order_ids and references:
            for entry in db.session.scalars(
                select(LedgerEntry).where(
                    bulk.among(LedgerEntry.order_id, order_ids),
                    LedgerEntry.kind == EntryKind.PAYMENT,
                    LedgerEntry.source == source,
                    bulk.among(LedgerEntry.reference, references),
                )
            ):
                self._payments[(entry.order_id, entry.source, entry.reference)] = entry
        self._checked_orders.update(order_ids)
        self._checked.update((source, reference) for reference in references)

    def find_payment(self, order: Order, source: str, reference: str | None):
        if reference is None:
            return None
        key = (order.id, source, reference)
        if key in self._payments or (
            order.id in self._checked_orders and (source, reference) in self._checked
        ):
            return self._payments.get(key)
        return find_payment(order, source, reference)  # not read by `expect`: ask

    def booked(self, order: Order, entry: LedgerEntry, audited: dict) -> None:
        if entry.reference is not None:
            self._payments[(order.id, entry.source, entry.reference)] = entry
        self._touched[order.id] = order
        self._audited.append(audited)

    def paid(self, order: Order, amount: Decimal, paid_on: date) -> None:
        """A payment settled the order: its "payment received" mail is queued by `finish`
        (once, with the payment that settled it)."""
        self._paid[order.id] = (order, amount, paid_on)

    def withdraw_messages(self, order: Order, reason: str) -> None:
        self._withdraw.setdefault(reason, set()).add(order.id)

    def write_entries(self) -> None:
        """Insert the ledger entries booked so far; each gets its id."""
        entries.write_many(self.entries)
        self.entries = []

    def book(self, merchant_id: int) -> Rulebook:
        """The merchant's active rules, read once per batch."""
        if merchant_id not in self._books:
            self._books[merchant_id] = Rulebook.active(merchant_id)
        return self._books[merchant_id]

    def finish(self) -> None:
        """Write what the batch booked so far (it may go on booking after)."""
        # The next due dates first, so each order is written once: they depend on the orders
        # (in memory) and their dunning history, which payments do not change.
        with db.session.no_autoflush:
            scheduling.refresh_next_due_many(list(self._touched.values()), self.book)
        write_orders(list(self._touched.values()))
        self.write_entries()
        db.session.flush()
        audit.record_many(self._audited)
        for reason, ids in self._withdraw.items():
            outbox.cancel_pending_for_orders(sorted(ids), reason)
        for order, amount, paid_on in self._paid.values():
            if order.status == Status.PAID:  # not reversed by a later payment of the batch
                _payment_received(order, amount, paid_on)
        self._withdraw, self._touched, self._audited, self._paid = {}, {}, [], {}


def write_orders(orders: list[Order]) -> None:
    """Write the orders' changed columns now, one statement per set of changed columns
    (ledger.bulk.update_rows: an UPDATE … FROM (VALUES …) on PostgreSQL, an executemany on
    SQLite), where the ORM sends one statement per versioned row (a round trip each on
    PostgreSQL). The same version check: each row written only `WHERE id = :id AND version =
    :read`, and a row changed since it was read raises StaleDataError (`retrying` runs the unit
    again). The session then holds the written values as committed, so its flush skips these
    orders."""
    columns = {attr.key for attr in Order.__mapper__.column_attrs} - {"version"}
    groups: dict[tuple[str, ...], list[Order]] = {}
    for order in orders:
        state = sa_inspect(order)
        if not state.persistent:
            continue
        # the attributes set since the order was read (committed_state keeps their old values)
        changed = sorted(key for key in state.committed_state if key in columns)
        if changed and "updated_at" not in changed:  # as the column's onupdate would
            order.updated_at = utcnow()
            changed.append("updated_at")
        if changed:
            groups.setdefault(tuple(changed), []).append(order)
    for changed, group in groups.items():
        rows = [
            {"id": order.id, "version": order.version}
            | {key: getattr(order, key) for key in changed}
            for order in group
        ]
        written = bulk.update_rows(Order.__table__, rows, where=("id", "version"), bump="version")
        if written != len(group):
            raise StaleDataError(
                f"{len(group) - written} of {len(group)} orders changed since they were read"
            )
        for order in group:
            bulk.written(
                order,
                {key: getattr(order, key) for key in changed} | {"version": order.version + 1},
            )


def _tell_accounting(order: Order, cause: Cause, entry: LedgerEntry) -> None:
    """A line in the next accounting digest (a notify event the digest picks up)."""
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    db.session.add(
        DunningEvent(
            merchant_id=order.merchant_id,
            order_id=order.id,
            run_id=cause.run_id,
            step_key=f"{digest.PAID_AFTER_CANCELLATION}{entry.id}",
            action="notify",
            recipient=merchant.accounting_email,
            decided_on=cause.today,
            reason=notes.text(
                "paid_after_cancellation", amount=entry.amount, currency=entry.currency
            ),
        )
    )


def reverse_payment(order: Order, entry: LedgerEntry, cause: Cause) -> LedgerEntry:
    """Undo a payment (a returned transfer, a booking by mistake): the order goes back into
    dunning where it was (its level and done steps stay)."""
    order = _locked(order)
    if entry.order_id != order.id or entry.kind != EntryKind.PAYMENT:
        raise Refused("not_a_payment")
    already = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id))
    if already:
        raise Refused("reversed_already")
    _check(order, Event.PAYMENT_REVERSAL)
    reversal = entries.post(
        order,
        EntryKind.PAYMENT_REVERSAL,
        entry.amount,
        cause.today,
        cause.source,
        cause.actor,
        reference=entry.reference,
        reverses=entry,
        note=cause.reason,
    )
    _transition(order, Event.PAYMENT_REVERSAL, cause)
    if order.status == Status.CANCELLED and order.paid_total <= 0:
        order.paid_after_cancellation = False
    refresh(order, cause)
    audit.record(
        order.merchant_id,
        cause.actor,
        "payment.reversed",
        order.id,
        amount=str(entry.amount),
        reference=entry.reference,
        reason=cause.reason,
    )
    return reversal


def claim_paid(order: Order, claimed_on: date, cause: Cause) -> None:
    """The customer says they paid: dunning pauses for the rules' claim pause."""
    order = _locked(order)
    _check(order, Event.CLAIM_PAID)
    order.payment_claimed_on = claimed_on
    _transition(order, Event.CLAIM_PAID, cause)
    refresh(order, cause)
    audit.record(
        order.merchant_id,
        cause.actor,
        "payment.claimed",
        order.id,
        claimed_on=claimed_on.isoformat(),
    )


def cancel(order: Order, cause: Cause, event: DunningEvent | None = None):
    """Cancel an unpaid prepayment order: reminders withdrawn, the shop told (order.cancelled,
    the message returned)."""
    order = _locked(order)
    _check(order, Event.CANCEL)
    webhook = _transition(order, Event.CANCEL, cause, event)
    order.next_due_on = None
    audit.record(order.merchant_id, cause.actor, "order.cancelled", order.id, reason=cause.reason)
    return webhook


def mark_overdue(order: Order, cause: Cause) -> None:
    order = _locked(order)
    _check(order, Event.MARK_OVERDUE)
    _transition(order, Event.MARK_OVERDUE, cause)
    refresh(order, cause)
    audit.record(
        order.merchant_id, cause.actor, "order.marked_overdue", order.id, reason=cause.reason
    )


def block(order: Order, cause: Cause) -> None:
    order = _locked(order)
    _check(order, Event.BLOCK)
    order.dunning_block = True
    order.dunning_block_reason = cause.reason
    _transition(order, Event.BLOCK, cause)
    order.next_due_on = None
    audit.record(order.merchant_id, cause.actor, "dunning.blocked", order.id, reason=cause.reason)


def unblock(order: Order, cause: Cause) -> None:
    order = _locked(order)
    _check(order, Event.UNBLOCK)
    order.dunning_block = False
    order.dunning_block_reason = None
    _transition(order, Event.UNBLOCK, cause)
    refresh(order, cause)
    audit.record(order.merchant_id, cause.actor, "dunning.unblocked", order.id)


def hand_over(order: Order, cause: Cause, event: DunningEvent | None = None):
    order = _locked(order)
    _check(order, Event.HAND_OVER)
    webhook = _transition(order, Event.HAND_OVER, cause, event)
    refresh(order, cause)
    audit.record(
        order.merchant_id, cause.actor, "collection.handed_over", order.id, reason=cause.reason
    )
    return webhook


def recall(order: Order, cause: Cause) -> None:
    """The collection case is taken back (ledger/collection.py): an order in collection goes
    back into dunning (overdue, or unpaid / partially paid for a prepayment order); a paid or
    written-off order keeps its status."""
    order = _locked(order)
    _check(order, Event.RECALL)
    _transition(order, Event.RECALL, cause)
    refresh(order, cause)
    audit.record(
        order.merchant_id, cause.actor, "collection.recalled", order.id, reason=cause.reason
    )


def refund(order: Order, amount: Decimal, cause: Cause, reference: str | None = None):
    """Pay back a credit (an overpayment, a payment after cancellation)."""
    order = _locked(order)
    _check(order, Event.REFUND)
    if amount <= 0 or amount > order.statement.credit:
        raise Refused("refund_amount", credit=order.statement.credit)
    entry = entries.post(
        order,
        EntryKind.REFUND,
        amount,
        cause.today,
        cause.source,
        cause.actor,
        reference=reference,
        note=cause.reason,
    )
    _transition(order, Event.REFUND, cause)
    if order.statement.credit <= 0:
        order.refund_requested_on = None
    if order.status == Status.CANCELLED and order.statement.credit <= 0:
        order.paid_after_cancellation = False
    audit.record(
        order.merchant_id,
        cause.actor,
        "payment.refunded",
        order.id,
        amount=str(amount),
        reference=reference,
    )
    return entry


def reverse_refund(order: Order, entry: LedgerEntry, cause: Cause) -> LedgerEntry:
    """Undo a refund that is not paid out after all (its SEPA transfer cancelled before the
    bank executed it, ledger/refunds.py): an opposite refund entry, and the credit is back."""
    order = _locked(order)
    if entry.order_id != order.id or entry.kind != EntryKind.REFUND or entry.amount <= 0:
        raise Refused("not_a_refund")
    already = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id))
    if already:
        raise Refused("refund_reversed_already")
    _check(order, Event.REFUND_REVERSAL)
    reversal = entries.post(
        order,
        EntryKind.REFUND,
        -entry.amount,
        cause.today,
        cause.source,
        cause.actor,
        reference=entry.reference,
        reverses=entry,
        note=cause.reason,
    )
    _transition(order, Event.REFUND_REVERSAL, cause)
    refresh(order, cause)
    audit.record(
        order.merchant_id,
        cause.actor,
        "refund.reversed",
        order.id,
        amount=str(entry.amount),
        reference=entry.reference,
        reason=cause.reason,
    )
    return reversal


def write_off(order: Order, cause: Cause) -> LedgerEntry:
    """Give up the whole open amount (uncollectible): the order leaves dunning."""
    order = _locked(order)
    _check(order, Event.WRITE_OFF)
    amount = order.statement.open
    entry = entries.post(
        order,
        EntryKind.WRITE_OFF,
        amount,
        cause.today,
        cause.source,
        cause.actor,
        note=cause.reason,
    )
    _transition(order, Event.WRITE_OFF, cause)
    order.next_due_on = None
    audit.record(
        order.merchant_id,
        cause.actor,
        "order.written_off",
        order.id,
        amount=str(amount),
        reason=cause.reason,
    )
    return entry


def reopen(order: Order, cause: Cause) -> None:
    """Undo a write-off (its entries reversed by an opposite one) or a cancellation: the order
    is back in dunning with its level and history, and what was paid counts for it again."""
    order = _locked(order)
    _check(order, Event.REOPEN)
    if order.status == Status.WRITTEN_OFF:
        written = entries.total(order.id, EntryKind.WRITE_OFF)
        if written:
            entries.post(
                order,
                EntryKind.WRITE_OFF,
                -written,
                cause.today,
                cause.source,
                cause.actor,
                note=notes.text("write_off_undone"),
            )
    else:
        order.cancelled_on = None
        order.paid_after_cancellation = False
    _transition(order, Event.REOPEN, cause)
    refresh(order, cause)
    audit.record(order.merchant_id, cause.actor, "order.reopened", order.id, reason=cause.reason)


def reactivate(order: Order, cause: Cause) -> None:
    """A cancelled order that was paid after all: it becomes a paid order (order.reactivated)."""
    order = _locked(order)
    _check(order, Event.REACTIVATE)
    order.cancelled_on = None
    order.paid_after_cancellation = False
    _transition(order, Event.REACTIVATE, cause)
    refresh(order, cause)
    audit.record(
        order.merchant_id, cause.actor, "order.reactivated", order.id, status=str(order.status)
    )


def request_refund(order: Order, cause: Cause) -> None:
    """The merchant decides to pay a credit back (a payment after cancellation, an overpayment):
    the order is listed among the refunds to make until `refund` books the money going out.
    The status does not change."""
    order = _locked(order)
    credit = order.statement.credit
    if credit <= 0:
        raise Refused("no_credit")
    if order.refund_requested_on is not None:
        raise Refused("refund_requested_already")
    order.refund_requested_on = cause.today
    order.updated_at = utcnow()
    audit.record(order.merchant_id, cause.actor, "refund.requested", order.id, amount=str(credit))


def charge(
    order: Order,
    kind: EntryKind,
    amount: Decimal,
    cause: Cause,
    event_id: int | None = None,
    note: str | None = None,
) -> LedgerEntry | None:
    """A dunning fee or interest on an open order."""
    order = _locked(order)
    _check(order, Event.CHARGE)
    if kind not in (EntryKind.FEE, EntryKind.INTEREST):
        raise Refused("not_a_charge", kind=kind)
    if amount <= 0:
        return None
    entry = entries.post(
        order, kind, amount, cause.today, cause.source, cause.actor, event_id=event_id, note=note
    )
    _transition(order, Event.CHARGE, cause)
    return entry


def remind(order: Order, level: int, cause: Cause) -> None:
    """A reminder of `level` goes out: the order's level rises to it."""
    order = _locked(order)
    _check(order, Event.REMIND)
    order.dunning_level = max(order.dunning_level, level)
    _transition(order, Event.REMIND, cause)


def erase(order: Order, cause: Cause, scrub: Callable[[Order], None]) -> None:
    """Erase who the customer is (GDPR Art. 17); `scrub` takes the personal data out of the
    order's messages and audit trail. Amounts, dates and numbers stay for the books."""
    order = _locked(order)
    _check(order, Event.ERASE)
    scrub(order)
    order.erased_at = utcnow()
    order.next_due_on = None
    _transition(order, Event.ERASE, cause)
    audit.record(order.merchant_id, cause.actor, "order.erased", order.id)


def begin_step(order: Order) -> str | None:
    """Before a rules step: why it must not fire on the fresh, locked row (None: it may)."""
    return why_not(_locked(order), Event.STEP)


def may_message(order: Order | None, purpose: str = "reminder") -> str | None:
    """The last look before a customer message goes out: why not, or None. A reminder follows
    the table (not to a paid, cancelled or blocked order); payment information and an invoice
    with its payment slip, which the merchant asked for, go while the order is owed, even
    blocked, and never once it is paid, cancelled, written off or erased. A cancellation
    notice goes only while the order is cancelled and no payment came in after the
    cancellation (reactivated or paid meanwhile: it would be wrong); a payment confirmation
    only while the order is paid and the customer did not unsubscribe."""
    if order is None:
        return None
    if purpose == "reminder":
        return why_not(order, Event.REMIND)
    if purpose == "payment_received":  # undone meanwhile, unsubscribed, erased: not sent
        if order.status != Status.PAID:
            return Refusal("status", status=Status(order.status))
        if order.notifications_off:
            return Refusal("unsubscribed")
        if order.erased_at is not None:
            return Refusal("erased")
        return None
    if purpose == "cancellation":
        if order.status != Status.CANCELLED:
            return Refusal("status", status=Status(order.status))
        if order.paid_after_cancellation:
            return Refusal("paid_already")
        if order.erased_at is not None:
            return Refusal("erased")
        return None
    if order.status not in OPEN_STATUSES:
        return Refusal("status", status=Status(order.status))
    if order.erased_at is not None:
        return Refusal("erased")
    return None


def held_because(order: Order, today: date) -> str | None:
    """Why the order's step due today waits for bank data ("held: bank data from 27.11., older
    than 3 days"), or None."""
    _version, program = program_for(order)
    if program is None or not order.is_open or order.erased_at or order.dunning_block:
        return None
    facts = scheduling.order_facts(order)
    decision = program.decide(facts, scheduling.order_history(order), today)
    if decision is None or decision.deferred_to is None:
        return None
    why = (decision.deferred_because or "").split("; ")
    return next((part for part in why if part.startswith("held")), None)


def upcoming(order: Order, today: date, until: date | None = None):
    """(version, schedule): the active rules' plan for the order from today, simulated through
    this module's transition table; the schedule is None when nothing can be planned."""
    version, program = program_for(order)
    if program is None or not order.is_open or order.erased_at or order.dunning_block:
        return version, None
    facts = scheduling.order_facts(order)
    history = scheduling.order_history(order)
    return version, program.schedule(facts, history, today, until, transition=status_after)

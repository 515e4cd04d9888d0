"""Matching stored bank transactions to orders: find candidates through the reference index
(never a scan of the open orders), rank them (ledger.bank.scoring, pure), and apply what is
decided through the order lifecycle. A payment is assigned on its own only when one order is
clearly ahead; otherwise it waits in the Payments inbox with its ranked suggestions."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import defer

from ledger import bulk, lifecycle
from ledger.bank import index, references, scoring
from ledger.bank.statements import Transaction
from ledger.db import db
from ledger.models import (
    BankTransaction,
    EntryKind,
    LedgerEntry,
    Merchant,
    Order,
    OrderReference,
    PaymentAssignment,
    Source,
    Status,
    TransactionState,
)

BATCH = 1000  # transactions per transaction: fewer round trips; up to as many orders locked at once
MATCHER = "matcher"
# Statuses whose orders a payment may be for: open ones, and cancelled ones (paid after
# cancellation); a paid order gets a second payment only by a person's choice.
PAYABLE = (*lifecycle.OPEN_STATUSES, Status.CANCELLED)
MAX_SUGGESTIONS = 5
KEYS_PER_QUERY = 500  # index keys per IN (...) look-up


def match_new(ids: list[int], actor: str, today: date) -> Counter:
    """Match the given transactions that are still `new`; each batch commits on its own.

    A batch looks up the index keys of all its transactions in one go, reads (and locks) every
    candidate order in one query, and reads the merchants' rules once: the per-transaction work
    is the scoring and the booking itself. The orders are filtered for each transaction when
    it comes up, so a payment sees what the batch's earlier ones booked."""
    counts: Counter = Counter()
    indexed: set[int] = set()  # merchants whose orders' keys a committed batch brought up to date
    for start in range(0, len(ids), BATCH):
        now_indexed: set[int] = set()
        batch = ids[start : start + BATCH]
        counts += lifecycle.retrying(partial(_match_batch, batch, today, indexed, now_indexed))
        indexed.update(now_indexed)  # only now: a retry's rollback undid an attempt's indexing
    return counts


def _match_batch(batch: list[int], today: date, indexed: set[int], now_indexed: set[int]):
    found: Counter = Counter()
    rows = db.session.scalars(
        select(BankTransaction)
        .where(bulk.among(BankTransaction.id, batch), BankTransaction.state == TransactionState.NEW)
        .order_by(BankTransaction.id)
        .options(defer(BankTransaction.raw))  # the bank's fields, for people to read
    ).all()
    now_indexed.clear()
    for merchant_id in dict.fromkeys(row.merchant_id for row in rows):
        if merchant_id not in indexed:
            index.ensure_indexed(merchant_id)
            now_indexed.add(merchant_id)
    context = _BatchContext.of(rows)
    for row in rows:
        found[match_one(row, today, context)] += 1
    context.settle()
    return found


class _BatchContext:
    """What the transactions of one batch share: the orders their keys point at (row id ->
    order id -> the kinds of key that matched), those orders, read and locked together, and
    the payments booked on them (one lifecycle.PaymentBatch: no statement per payment) with
    their assignments, written together by `settle`."""

    def __init__(
        self,
        rows: list[BankTransaction],
        hits: dict[int, dict[int, set[str]]],
        orders: dict[int, Order],
        merchants: dict[int, Merchant],
    ):
        self.rows = rows
        self.hits = hits
        self.orders = orders
        self.merchants = merchants  # of the batch's rows, read once (a get per payment adds up)
        self.payments = lifecycle.PaymentBatch()
        self._assigned: list[tuple[dict, LedgerEntry]] = []
        self._written: set[int] = set()  # rows whose decision `settle` wrote already

    def assigned(self, values: dict, entry: LedgerEntry) -> None:
        self._assigned.append((values, entry))

    def settle(self) -> None:
        """Write the payments, assignments and decisions made so far (an INSERT of the
        assignments, an UPDATE of the transactions: one statement each)."""
        decided = [
            row
            for row in self.rows
            if row.state != TransactionState.NEW and row.id not in self._written
        ]
        _write_decisions(decided)
        self._written.update(row.id for row in decided)
        self.payments.finish()
        if self._assigned:
            bulk.insert_rows(
                PaymentAssignment.__table__,
                [values | {"entry_id": entry.id} for values, entry in self._assigned],
                ids=False,
            )
        self._assigned = []

    @classmethod
    def of(cls, rows: list[BankTransaction]) -> _BatchContext:
        merchants = {m: db.session.get(Merchant, m) for m in {row.merchant_id for row in rows}}
        wanted: dict[int, set[str]] = {}  # row id -> its keys, for rows that look for orders
        for row in rows:
            if row.credit and not ignored_by(merchants[row.merchant_id], row):
                keys = _keys(row)
                if keys:
                    wanted[row.id] = keys
        by_merchant: dict[int, set[str]] = defaultdict(set)
        merchant_of = {row.id: row.merchant_id for row in rows}
        for row_id, keys in wanted.items():
            by_merchant[merchant_of[row_id]] |= keys
        found = {
            merchant_id: _indexed(merchant_id, keys) for merchant_id, keys in by_merchant.items()
        }
        hits: dict[int, dict[int, set[str]]] = {}
        for row_id, keys in wanted.items():
            row_hits: dict[int, set[str]] = defaultdict(set)
            for key in keys:
                for order_id, kind in found[merchant_of[row_id]].get(key, ()):
                    row_hits[order_id].add(kind)
            if row_hits:
                hits[row_id] = row_hits
        order_ids = {order_id for row_hits in hits.values() for order_id in row_hits}
        orders = {order.id: order for order in lifecycle.lock_many(order_ids)}
        context = cls(rows, hits, orders, merchants)
        context.payments.expect(order_ids, Source.BANK, [_payment_reference(row) for row in rows])
        return context

    def candidates(self, row: BankTransaction) -> list[scoring.Candidate]:
        """The orders the transaction's references point at that it may pay, from what the
        batch read, as the orders are now."""
        hits = self.hits.get(row.id)
        if not hits:
            return []
        return [
            candidate(order, hits[order_id])
            for order_id in sorted(hits)
            if (order := self.orders.get(order_id)) is not None
            and order.status in PAYABLE
            and order.currency == row.currency
            and order.erased_at is None
        ]


DECIDED = ("state", "reason", "suggestions")


def _write_decisions(rows: list[BankTransaction]) -> None:
    """The transactions' new state, reason and suggestions in one statement (ledger.bulk; the
    ORM would send one per set of changed columns); the session then holds them as written."""
    if not rows:
        return
    bulk.update_rows(
        BankTransaction.__table__,
        [{"id": row.id} | {key: getattr(row, key) for key in DECIDED} for row in rows],
        where=("id",),
    )
    for row in rows:
        bulk.written(row, {key: getattr(row, key) for key in DECIDED})


def as_transaction(row: BankTransaction) -> Transaction:
    return Transaction(
        booking_date=row.booking_date,
        amount=row.amount,
        currency=row.currency,
        credit=row.credit,
        value_date=row.value_date,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        remittance=row.remittance,
        structured_reference=row.structured_reference,
        end_to_end_id=row.end_to_end_id,
        account_servicer_ref=row.account_servicer_ref,
        bank_code=row.bank_code,
        return_reason=row.return_reason,
        reversal=row.reversal,
    )


def _keys(row: BankTransaction) -> set[str]:
    """Index keys in the transaction: its fuzzy keys and its structured references."""
    text = scoring.search_text(row)
    return references.text_keys(text) | {
        value for _kind, value in references.structured_references(text)
    }


def ignored_by(merchant: Merchant, row: BankTransaction) -> str | None:
    """The merchant's ignore keyword the transaction carries (a transfer a payment provider
    reported already): plain words match case-insensitively, `re:` starts a regex."""
    text = f"{row.counterparty_name or ''} {row.remittance}"
    for keyword in merchant.ignore_keywords or []:
        if keyword.startswith("re:"):
            if re.search(keyword[3:], text, re.IGNORECASE):
                return keyword
        elif keyword.casefold() in text.casefold():
            return keyword
    return None


def _indexed(merchant_id: int, keys) -> dict[str, list[tuple[int, str]]]:
    """key -> [(order id, kind of key)] from the reference index, KEYS_PER_QUERY keys a query
    (never a scan of the open orders)."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEYS_PER_QUERY):
        for order_id, kind, key in db.session.execute(
            select(OrderReference.order_id, OrderReference.kind, OrderReference.key).where(
                OrderReference.merchant_id == merchant_id,
                bulk.among(OrderReference.key, ordered[start : start + KEYS_PER_QUERY]),
            )
        ):
            found[key].append((order_id, kind))
    return found


def candidate(order: Order, matched_by: set[str]) -> scoring.Candidate:
    return scoring.Candidate(
        order_id=order.id,
        number=order.number,
        invoice_number=order.invoice_number,
        extra_references=tuple(order.extra_references or ()),
        customer_name=order.customer_name,
        extra_names=tuple(order.payer_names or ()),
        customer_iban=None,
        # A cancelled order owes nothing any more; a payment for it pays what it lacked.
        open_amount=(
            order.statement.principal_open
            if order.status == Status.CANCELLED
            else order.open_amount
        ),
        amount=order.amount,
        currency=order.currency,
        status=str(order.status),
        discount_amount=order.discount_amount,
        discount_until=order.discount_until,
        matched_by=frozenset(matched_by),
    )


def match_one(row: BankTransaction, today: date, context: _BatchContext) -> str:
    """Decide one transaction and apply the decision; returns its new state. `context`: what
    its batch read for it (_BatchContext.of)."""
    merchant = context.merchants[row.merchant_id]
    keyword = ignored_by(merchant, row)
    if keyword:
        return _set(row, TransactionState.IGNORED, state_reason("ignore_keyword", keyword=keyword))
    if not row.credit:
        if row.reversal or row.return_reason:
            context.settle()  # the payment it takes back may be this batch's
            return reverse(row, today)
        return _set(row, TransactionState.IGNORED, state_reason("debit"))
    found = context.candidates(row)
    decision = scoring.rank(as_transaction(row), found, merchant.payment_tolerance)
    row.suggestions = [
        {
            "order_id": s.order_id,
            "score": s.score,
            "reasons": list(s.reasons),
            "amount_fit": s.amount_fit,
        }
        for s in decision.suggestions[:MAX_SUGGESTIONS]
    ]
    targets = (
        list(decision.split)
        if decision.split and decision.auto is not None
        else [(decision.auto, row.amount)]
        if decision.auto is not None
        else []
    )
    for order_id, amount in targets:  # checked before any is booked: all or none
        target = context.orders.get(order_id) or db.session.get(Order, order_id)
        if reason := lifecycle.payment_refusal(target, amount):
            return _set(row, TransactionState.SUGGESTED, state_reason("not_booked", reason=reason))
    if decision.split and decision.auto is not None:
        for order_id, amount in decision.split:
            assign(row, order_id, amount, MATCHER, decision.reason, today, context=context)
        return row.state
    if decision.auto is not None:
        assign(row, decision.auto, row.amount, MATCHER, decision.reason, today, context=context)
        return row.state
    if decision.suggestions:
        return _set(row, TransactionState.SUGGESTED, decision.reason)
    return _set(row, TransactionState.UNMATCHED, decision.reason or state_reason("no_order"))


# Why a transaction is in its state, beside the scorer's decisions (scoring.DECISION_REASONS)
# and a person's (ledger.bank.inbox): stored in English in BankTransaction.reason and
# PaymentAssignment.reason; the portal reads them back by template (refusals.parse) to show
# them translated (portal/reasons.py).
STATE_REASONS = {
    "ignore_keyword": "ignore keyword {keyword!r}",
    "debit": "a debit, not a customer's payment",
    "no_order": "no order found",
    "not_booked": "not booked: {reason}",  # a lifecycle refusal's English text
    "no_payment_returned": "a return or reversal of no payment found",
    "returned": "returned by the bank ({bank_code})",
    "by_hand": "assigned by hand",
    "split_by_hand": "split over {count} orders",
    "ignored_note": "not for us ({actor}): {note}",
    "ignored": "not for us ({actor})",
    "refund_note": "to refund ({actor}): {note}",
    "refund": "to refund ({actor})",
}


def state_reason(code: str, /, **values) -> str:
    return STATE_REASONS[code].format(**values)


def _set(row: BankTransaction, state: str, reason: str | None) -> str:
    row.state = state
    row.reason = (reason or None) and reason[:500]
    return state


def allowance_for(order: Order, amount: Decimal, paid_on: date, merchant: Merchant):
    """What settles the rest of a payment that is a little short: a Skonto paid in time, or a
    shortfall within the merchant's tolerance (written off unless the merchant keeps it open)."""
    rest = order.open_amount - amount
    if rest <= 0:
        return None
    if (
        order.discount_amount is not None
        and order.discount_until is not None
        and paid_on <= order.discount_until
        and amount >= order.discount_amount
    ):
        return (EntryKind.DISCOUNT, rest)
    if rest <= merchant.payment_tolerance and merchant.short_payment_write_off:
        return (EntryKind.WRITE_OFF, rest)
    return None


def assign(
    row: BankTransaction,
    order_id: int,
    amount: Decimal,
    actor: str,
    reason: str,
    today: date,
    *,
    context: _BatchContext | None = None,
) -> None:
    """Book (part of) the transaction as a payment of the order, through the lifecycle.
    `context`: the matcher's batch, which locked the order already and writes the payment
    and the assignment when it settles."""
    merchant = (
        context.merchants[row.merchant_id]
        if context is not None
        else db.session.get(Merchant, row.merchant_id)
    )
    order = context.orders.get(order_id) if context is not None else None
    if order is None:
        order = lifecycle.lock(order_id)
    if order.merchant_id != row.merchant_id:
        raise lifecycle.Refused("other_merchant")
    cause = lifecycle.Cause(actor=actor, source=Source.BANK, today=today, reason=reason)
    entry, _created = lifecycle.record_payment(
        order,
        amount,
        row.booking_date,
        cause,
        reference=_payment_reference(row),
        note=(row.remittance or "")[:500] or None,
        allowance=allowance_for(order, amount, row.booking_date, merchant),
        batch=context.payments if context is not None else None,
    )
    values = {
        "merchant_id": row.merchant_id,
        "transaction_id": row.id,
        "order_id": order.id,
        "amount": amount,
        "actor": actor,
        "reason": (reason or "")[:500],
    }
    if context is not None:
        context.assigned(values, entry)
    else:
        db.session.add(PaymentAssignment(entry_id=entry.id, **values))
    _set(row, TransactionState.MATCHED, reason)


def _payment_reference(row: BankTransaction) -> str:
    """The reference of the ledger entries a transaction books (one per order it pays)."""
    return f"bank:{row.id}"


def reverse(row: BankTransaction, today: date) -> str:
    """A returned transfer or a direct-debit reversal: find the payment it takes back (the
    original transaction by its end-to-end id, else an order its text names with a payment of
    the same amount) and reverse it, which puts the order back into dunning where it was."""
    entry = _payment_taken_back(row)
    if entry is None:
        return _set(row, TransactionState.UNMATCHED, state_reason("no_payment_returned"))
    order = db.session.get(Order, entry.order_id)
    cause = lifecycle.Cause(
        actor=MATCHER,
        source=Source.BANK,
        today=today,
        reason=state_reason("returned", bank_code=row.return_reason or row.bank_code or "reversal"),
    )
    lifecycle.reverse_payment(order, entry, cause)
    db.session.add(
        PaymentAssignment(
            merchant_id=row.merchant_id,
            transaction_id=row.id,
            order_id=order.id,
            amount=-row.amount,
            entry_id=entry.id,
            actor=MATCHER,
            reason=cause.reason,
        )
    )
    return _set(row, TransactionState.REVERSED, cause.reason)


def _payment_taken_back(row: BankTransaction) -> LedgerEntry | None:
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    if row.end_to_end_id:
        original = db.session.scalar(
            select(BankTransaction).where(
                BankTransaction.merchant_id == row.merchant_id,
                BankTransaction.end_to_end_id == row.end_to_end_id,
                BankTransaction.credit.is_(True),
                BankTransaction.state == TransactionState.MATCHED,
            )
        )
        if original is not None:
            for assignment in original.assignments:
                entry = db.session.get(LedgerEntry, assignment.entry_id)
                if entry is not None and entry.amount == row.amount:
                    return entry
    order_ids = sorted(
        {
            order_id
            for hits in _indexed(row.merchant_id, _keys(row)).values()
            for order_id, _k in hits
        }
    )  # the orders the text names, whatever their status (a paid order's payment comes back)
    if not order_ids:
        return None
    return db.session.scalar(
        select(LedgerEntry)
        .where(
            LedgerEntry.order_id.in_(order_ids),
            LedgerEntry.kind == EntryKind.PAYMENT,
            LedgerEntry.amount == row.amount,
            LedgerEntry.id.not_in(reversed_ids),
        )
        .order_by(LedgerEntry.id.desc())
    )

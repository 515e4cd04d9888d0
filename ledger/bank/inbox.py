"""The Payments inbox: what the matcher did not assign on its own, and what a person does with
it — assign it to an order (or split it over several), mark it "not for us", or "refund". Every
action goes through the order lifecycle (ledger.bank.matching.assign) and is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select

from ledger import audit, lifecycle, refusals
from ledger.bank import matching
from ledger.db import db
from ledger.models import (
    BankImport,
    BankTransaction,
    Order,
    PaymentAssignment,
    TransactionState,
)

WAITING = (TransactionState.SUGGESTED, TransactionState.UNMATCHED)
PAGE = 50


class InboxError(refusals.Refused):
    """An inbox action that cannot be done, with the reason (a code of ledger.refusals.TEXTS and
    its values); nothing was changed."""


@dataclass(frozen=True)
class Part:
    order_number: str
    amount: Decimal


def waiting(merchant_id: int, state: str | None = None, query: str = "", page: int = 1):
    """Transactions waiting for a person, newest booking first; `query` searches payer and text."""
    states = [state] if state in WAITING else list(WAITING)
    select_rows = select(BankTransaction).where(
        BankTransaction.merchant_id == merchant_id,
        BankTransaction.state.in_(states),
        BankTransaction.credit.is_(True) | BankTransaction.reversal.is_(True),
    )
    if query:
        text = query.strip()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{text}%"  # what was typed, literally: % and _ are not wildcards here
        select_rows = select_rows.where(
            or_(
                BankTransaction.counterparty_name.ilike(like, escape="\\"),
                BankTransaction.remittance.ilike(like, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(select_rows.subquery()))
    rows = db.session.scalars(
        select_rows.order_by(BankTransaction.booking_date.desc(), BankTransaction.id.desc())
        .limit(PAGE)
        .offset(PAGE * (max(page, 1) - 1))
    ).all()
    return rows, total


def counts(merchant_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(BankTransaction.state, func.count())
        .where(BankTransaction.merchant_id == merchant_id)
        .group_by(BankTransaction.state)
    ).all()
    return {state: count for state, count in rows}


def imports(merchant_id: int, limit: int = 20) -> list[BankImport]:
    return list(
        db.session.scalars(
            select(BankImport)
            .where(BankImport.merchant_id == merchant_id)
            .order_by(BankImport.id.desc())
            .limit(limit)
        )
    )


def transaction(merchant_id: int, transaction_id: int) -> BankTransaction | None:
    row = db.session.get(BankTransaction, transaction_id)
    return row if row is not None and row.merchant_id == merchant_id else None


def suggested_orders(row: BankTransaction) -> list[tuple[Order, dict]]:
    """The stored suggestions with their orders, best first."""
    found = []
    for suggestion in row.suggestions or []:
        order = db.session.get(Order, suggestion["order_id"])
        if order is not None and order.merchant_id == row.merchant_id:
            found.append((order, suggestion))
    return found


def _waiting_row(merchant_id: int, transaction_id: int) -> BankTransaction:
    row = transaction(merchant_id, transaction_id)
    if row is None:
        raise InboxError("no_transaction")
    if row.state not in WAITING:
        raise InboxError("transaction_state", state=TransactionState(row.state))
    return row


def assign(
    merchant_id: int, transaction_id: int, parts: list[Part], actor: str, today: date
) -> BankTransaction:
    """Assign the payment to one order, or split it over several (the parts must add up to the
    payment). Commits; an error changes nothing."""
    if not parts:
        raise InboxError("no_parts")

    def unit() -> BankTransaction:
        row = _waiting_row(merchant_id, transaction_id)
        if not row.credit:
            raise InboxError("debit_not_payment")
        given = parts
        if len(parts) == 1 and parts[0].amount == 0:  # one order: the whole payment
            given = [Part(parts[0].order_number, row.amount)]
        total = sum((part.amount for part in given), Decimal("0"))
        if total != row.amount or any(part.amount <= 0 for part in given):
            raise InboxError("parts_sum", total=total, amount=row.amount)
        numbers = [part.order_number for part in given]
        if len(set(numbers)) != len(numbers):
            raise InboxError("order_twice")
        reason = (
            matching.state_reason("by_hand")
            if len(given) == 1
            else matching.state_reason("split_by_hand", count=len(given))
        )
        for part in given:
            order = db.session.scalar(
                select(Order).where(
                    Order.merchant_id == merchant_id, Order.number == part.order_number
                )
            )
            if order is None or order.erased_at is not None:
                raise InboxError("unknown_order", number=part.order_number)
            if order.currency != row.currency:
                raise InboxError(
                    "order_currency",
                    number=order.number,
                    order_currency=order.currency,
                    currency=row.currency,
                )
            try:
                matching.assign(row, order.id, part.amount, actor, reason, today)
            except lifecycle.Refused as exc:
                raise InboxError("order_refused", number=order.number, reason=exc.reason) from exc
        audit.record(merchant_id, actor, "bank.assigned", None, transaction=row.id, orders=numbers)
        return row

    return lifecycle.retrying(unit)


def set_aside(
    merchant_id: int, transaction_id: int, state: str, actor: str, note: str | None = None
) -> BankTransaction:
    """Mark a waiting transaction "not for us" (ignored) or "refund" (to be paid back)."""
    if state not in (TransactionState.IGNORED, TransactionState.REFUND):
        raise InboxError("unknown_choice", choice=state)
    row = _waiting_row(merchant_id, transaction_id)
    code = "ignored" if state == TransactionState.IGNORED else "refund"
    row.state = state
    if note:
        row.reason = matching.state_reason(f"{code}_note", actor=actor, note=note)[:500]
    else:
        row.reason = matching.state_reason(code, actor=actor)[:500]
    audit.record(merchant_id, actor, f"bank.{state}", None, transaction=row.id, note=note)
    db.session.commit()
    return row


def refunds(merchant_id: int) -> list[BankTransaction]:
    """Payments to be paid back: marked "refund" in the inbox (the SEPA file comes later)."""
    return list(
        db.session.scalars(
            select(BankTransaction)
            .where(
                BankTransaction.merchant_id == merchant_id,
                BankTransaction.state == TransactionState.REFUND,
            )
            .order_by(BankTransaction.booking_date.desc())
        )
    )


def order_refunds(merchant_id: int) -> list[Order]:
    """Orders whose credit the merchant decided to pay back (order page: Refund)."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.merchant_id == merchant_id, Order.refund_requested_on.is_not(None))
            .order_by(Order.refund_requested_on, Order.id)
        )
    )


def payments_of(order_id: int) -> list[tuple]:
    """The order's bank payments: (assignment, transaction, import) each."""
    return list(
        db.session.execute(
            select(PaymentAssignment, BankTransaction, BankImport)
            .join(BankTransaction, PaymentAssignment.transaction_id == BankTransaction.id)
            .join(BankImport, BankTransaction.import_id == BankImport.id)
            .where(PaymentAssignment.order_id == order_id)
            .order_by(PaymentAssignment.id)
        ).all()
    )

"""The outbox: messages written with the decision that caused them, delivered by the worker."""

from __future__ import annotations

from sqlalchemy import select, update

from ledger.db import db
from ledger.models import MessageState, OutboxMessage, utcnow

# Messages to the customer that a payment or cancellation makes wrong to send.
CUSTOMER_PURPOSES = ("reminder",)
MAX_ATTEMPTS = 5


def add(merchant_id: int, kind: str, purpose: str, recipient: str, **fields) -> OutboxMessage:
    message = OutboxMessage(
        merchant_id=merchant_id, kind=kind, purpose=purpose, recipient=recipient, **fields
    )
    message.state = MessageState.PENDING
    message.attempts = 0
    db.session.add(message)
    return message


def cancel_pending_for_order(order_id: int | None, reason: str) -> None:
    if order_id is not None:
        cancel_pending_for_orders([order_id], reason)


def cancel_pending_for_orders(order_ids: list[int], reason: str) -> None:
    """Stop every customer message still waiting for these orders (one statement for all)."""
    if not order_ids:
        return
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.order_id.in_(order_ids),
            OutboxMessage.state == MessageState.PENDING,
            OutboxMessage.purpose.in_(CUSTOMER_PURPOSES),
        )
        .values(state=MessageState.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )


def pending_ids(run_id: int | None = None, merchant_id: int | None = None) -> list[int]:
    query = select(OutboxMessage.id).where(OutboxMessage.state == MessageState.PENDING)
    if run_id is not None:
        query = query.where(OutboxMessage.run_id == run_id)
    if merchant_id is not None:
        query = query.where(OutboxMessage.merchant_id == merchant_id)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def mark_sent(message: OutboxMessage) -> None:
    message.state = MessageState.SENT
    message.sent_at = utcnow()
    message.attempts += 1
    message.last_error = None


def mark_failed(message: OutboxMessage, error: str) -> bool:
    """Count a failed attempt. Returns True when the message should be tried again."""
    message.attempts += 1
    message.last_error = error[:2000]
    retry = message.attempts < MAX_ATTEMPTS
    message.state = MessageState.PENDING if retry else MessageState.FAILED
    return retry


def mark_cancelled(message: OutboxMessage, reason: str) -> None:
    message.state = MessageState.CANCELLED
    message.last_error = reason

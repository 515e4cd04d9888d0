"""The outbox: messages written with the decision that caused them, delivered by the worker.

Delivery claims a message with a lease (`claim`): the state `sending`, who and when. Only a
lease older than LEASE — longer than any channel's own timeout — is taken over, so a live
worker's send is never started twice, and a worker killed mid-send leaves a message the
sweeper hands to another after the lease. Every claim counts an attempt (so a message that
crashes its worker every time still ends); a failure backs off exponentially (capped), and after
MAX_ATTEMPTS the message is `failed` with its reason, for a person to retry.

What remains: a worker killed between the SMTP server's 250 and the commit of `sent` leaves the
message `sending`; after the lease it is sent again — at most one duplicate per crash, and the
same Message-ID (worker.channels.email) lets the receiving side recognise it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from ledger import bulk
from ledger.db import db
from ledger.models import MessageState, OutboxMessage, utcnow

# Messages to the customer that a payment or cancellation makes wrong to send: they ask for
# money (lifecycle.may_message takes the last look before each goes out).
CUSTOMER_PURPOSES = ("reminder", "payment_info", "invoice")
# Every customer message that gets the last look before it goes out or is printed: those asking
# for money, and the cancellation notice (not to an order no longer cancelled).
LAST_LOOK_PURPOSES = (*CUSTOMER_PURPOSES, "cancellation", "payment_received")
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)  # SMTP and webhooks time out after 60 and 10 seconds
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)


def add(merchant_id: int, kind: str, purpose: str, recipient: str, **fields) -> OutboxMessage:
    message = OutboxMessage(
        merchant_id=merchant_id, kind=kind, purpose=purpose, recipient=recipient, **fields
    )
    message.state = MessageState.PENDING
    message.attempts = 0
    db.session.add(message)
    return message


def add_customer_mail(order, purpose: str, mail, *, manual: bool = True) -> OutboxMessage:
    """An email (a ledger.messages.Mail) to the order's customer; `manual`: asked for by a
    person, not the rules. Not flushed (a batch adds many)."""
    return add(
        order.merchant_id,
        "email",
        purpose,
        order.customer_email,
        order_id=order.id,
        subject=mail.subject,
        body=mail.body,
        html=mail.html,
        payload={"language": order.language, "inline": mail.inline}
        | ({"manual": True} if manual else {}),
    )


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
            bulk.among(OutboxMessage.order_id, order_ids),
            OutboxMessage.state == MessageState.PENDING,
            OutboxMessage.purpose.in_(CUSTOMER_PURPOSES),
        )
        .values(state=MessageState.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )


def pending_ids(
    run_id: int | None = None, merchant_id: int | None = None, after: int = 0
) -> list[int]:
    query = select(OutboxMessage.id).where(
        OutboxMessage.state == MessageState.PENDING, OutboxMessage.id > after
    )
    if run_id is not None:
        query = query.where(OutboxMessage.run_id == run_id)
    if merchant_id is not None:
        query = query.where(OutboxMessage.merchant_id == merchant_id)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def claimable(now: datetime):
    """Pending and due, or sending under an expired lease."""
    return or_(
        and_(
            OutboxMessage.state == MessageState.PENDING,
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ),
        and_(OutboxMessage.state == MessageState.SENDING, OutboxMessage.claimed_at < now - LEASE),
    )


def claim(message_id: int, worker: str, now: datetime | None = None) -> bool:
    """Take the message for delivery (one statement: two workers cannot both win)."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, claimable(now))
        .values(
            state=MessageState.SENDING,
            claimed_at=now,
            claimed_by=worker[:120],
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def due_ids(now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Messages the sweeper hands (again) to the workers: pending and due, a while after they
    were written (their own job normally takes them), or under an expired lease."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(claimable(now), OutboxMessage.created_at < now - timedelta(minutes=1))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def mark_sent(message: OutboxMessage) -> None:
    message.state = MessageState.SENT
    message.sent_at = utcnow()
    message.last_error = None
    forget_link(message)


def forget_link(message: OutboxMessage) -> None:
    """A one-time link (invitation, password reset: ledger/team.py) is struck from the stored
    message once it went out: the outbox keeps what was sent, not a key to an account."""
    link = (message.payload or {}).get("link")
    if link:
        message.body = (message.body or "").replace(link, "[…]")
        message.payload = {key: value for key, value in message.payload.items() if key != "link"}


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def mark_failed(message: OutboxMessage, error: str, permanent: bool = False) -> timedelta | None:
    """A failed attempt (counted at the claim): back off, or end `failed` after MAX_ATTEMPTS or
    a permanent error. Returns the delay before the next try, or None when there is none."""
    message.last_error = error[:2000]
    message.claimed_at = message.claimed_by = None
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.state = MessageState.FAILED
        message.next_attempt_at = None
        return None
    delay = backoff(message.attempts)
    message.state = MessageState.PENDING
    message.next_attempt_at = utcnow() + delay
    return delay


def retry(message: OutboxMessage) -> None:
    """A person asks for a failed message to be tried again (attempts start over)."""
    message.state = MessageState.PENDING
    message.attempts = 0
    message.next_attempt_at = None
    message.claimed_at = message.claimed_by = None


def mark_cancelled(message: OutboxMessage, reason: str) -> None:
    message.state = MessageState.CANCELLED
    message.last_error = reason

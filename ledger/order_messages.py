"""The order's messages (the order page's Messages list) and what can be done with them:
resend (the same content as a new message), send a reminder mail as a letter, and unsubscribe
the customer from optional notifications. Returned mail: ledger/bounces.py; retention:
ledger/retention.py."""

from __future__ import annotations

from sqlalchemy import or_, select

from ledger import audit, outbox
from ledger.db import db
from ledger.digest import DIGEST_PURPOSES
from ledger.models import MessageState, Order, OutboxMessage

# Notifications a customer may turn off (Order.notifications_off). Payment information and
# reminders are never optional: they are the claim itself.
OPTIONAL_PURPOSES = ("payment_received",)
RESENDABLE = (MessageState.SENT, MessageState.FAILED, MessageState.CANCELLED)


class MessageRefused(Exception):
    """Nothing was done; `code` says why (the portal words it)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def of_order(order: Order) -> list[OutboxMessage]:
    """Every email and letter of the order, and the digests that named it, newest first."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.merchant_id == order.merchant_id,
            OutboxMessage.kind.in_(("email", "letter")),
            or_(OutboxMessage.order_id == order.id, OutboxMessage.purpose.in_(DIGEST_PURPOSES)),
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    ).all()
    return [
        m
        for m in rows
        if m.order_id == order.id or order.number in (m.payload or {}).get("orders", ())
    ]


def wanted(order: Order, purpose: str) -> bool:
    """Whether a notification of this purpose may go to the order's customer."""
    return not (purpose in OPTIONAL_PURPOSES and order.notifications_off)


def may_resend(message: OutboxMessage) -> bool:
    return (
        message.order_id is not None
        and message.purged_at is None
        and message.state in RESENDABLE
        and message.purpose not in DIGEST_PURPOSES
    )


def may_send_as_letter(message: OutboxMessage, order: Order) -> bool:
    return (
        message.kind == "email"
        and message.purpose == "reminder"
        and message.purged_at is None
        and not order.erased_at
        and bool((order.postal_address or "").strip())
    )


def may_unsubscribe(order: Order) -> bool:
    return not order.notifications_off and not order.erased_at


def _own(order: Order, message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.order_id != order.id:
        raise MessageRefused("no_message")
    return message


def resend(order: Order, message_id: int, actor: str) -> OutboxMessage:
    """The same content again, as a new message (its resent_from names the first)."""
    first = _own(order, message_id)
    if not may_resend(first):
        raise MessageRefused("not_resendable")
    again = outbox.add(
        first.merchant_id,
        first.kind,
        first.purpose,
        first.recipient,
        order_id=first.order_id,
        event_id=first.event_id,
        subject=first.subject,
        body=first.body,
        html=first.html,
        payload=dict(first.payload or {}),
        resent_from_id=first.id,
    )
    db.session.flush()
    audit.record(order.merchant_id, actor, "message.resent", order.id, message=again.id)
    return again


def send_as_letter(order: Order, message_id: int, actor: str) -> OutboxMessage:
    """A reminder mail's content through the letter channel: a reminder letter of its level
    (the letter channel renders it, with the order's postal address)."""
    mail = _own(order, message_id)
    if not may_send_as_letter(mail, order):
        raise MessageRefused(
            "no_postal_address" if mail.purpose == "reminder" else "not_a_reminder"
        )
    level = (mail.payload or {}).get("level")
    letter = outbox.add(
        order.merchant_id,
        "letter",
        "reminder",
        "\n".join(filter(None, [order.customer_name, order.postal_address]))[:500],
        order_id=order.id,
        event_id=mail.event_id,
        subject=mail.subject,
        body=mail.body,
        payload={"language": order.language, "level": level, "manual": True},
        resent_from_id=mail.id,
    )
    db.session.flush()
    audit.record(
        order.merchant_id, actor, "message.sent_as_letter", order.id, message=letter.id, level=level
    )
    return letter


def unsubscribe(order: Order, actor: str) -> None:
    """The customer gets no optional notifications (OPTIONAL_PURPOSES) for this order."""
    if not may_unsubscribe(order):
        raise MessageRefused("unsubscribed_already")
    order.notifications_off = True
    audit.record(order.merchant_id, actor, "order.unsubscribed", order.id)

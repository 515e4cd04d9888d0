"""Manual actions from the order page that the rules do not take: a reminder now, and erasing
a customer's personal data (GDPR Art. 17) while keeping what the accountant must retain."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ledger import audit, outbox, rulesets, scheduling
from ledger.db import db
from ledger.messages import reminder
from ledger.models import AuditEntry, DunningEvent, Merchant, Order, OutboxMessage, utcnow

ERASED = "[erased]"
# Order fields that identify the customer; amounts, dates, numbers and the country stay.
PERSONAL_FIELDS = ("customer_name", "customer_email", "postal_address", "region")


class ActionRefused(ValueError):
    """The action does not apply to this order in its current state; nothing was changed."""


def remind_now(order: Order, today: date, actor: str) -> OutboxMessage:
    """Send the customer a reminder today, outside the rules: one dunning event (with the next
    level, no fee) and one email in the outbox. The worker delivers it like any other."""
    if order.erased_at:
        raise ActionRefused("the customer's data was erased; there is nobody to remind")
    if not order.is_open:
        raise ActionRefused(f"the order is {order.status.replace('_', ' ')}; it owes nothing")
    if order.dunning_block:
        raise ActionRefused("dunning is blocked for this order; lift the block first")
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    prefix = f"manual/{today.isoformat()}/"
    earlier = db.session.scalar(
        select(func.count(DunningEvent.id)).where(
            DunningEvent.order_id == order.id, DunningEvent.step_key.startswith(prefix)
        )
    )
    level = order.dunning_level + 1
    version, _program = rulesets.program_for(order)
    event = DunningEvent(
        merchant_id=order.merchant_id,
        order=order,
        run_id=None,
        ruleset_version_id=version.id if version else None,
        step_key=f"{prefix}{earlier + 1}",
        action="remind",
        level=level,
        fee=None,
        decided_on=today,
        reason=f"reminder sent by hand ({actor})",
    )
    db.session.add(event)
    order.dunning_level = level
    db.session.flush()
    subject, body = reminder(order, merchant, level, None)
    message = outbox.add(
        order.merchant_id,
        "email",
        "reminder",
        order.customer_email,
        order_id=order.id,
        event_id=event.id,
        subject=subject,
        body=body,
        payload={"language": order.language, "level": level, "manual": True},
    )
    db.session.flush()
    scheduling.refresh_next_due(order)  # the rules see the reminder (e.g. a minimum gap)
    audit.record(
        order.merchant_id, actor, "dunning.reminded", order.id, level=level, message=message.id
    )
    return message


def erase_personal_data(order: Order, actor: str) -> None:
    """Erase who the customer is, keep what the books need (amounts, dates, numbers, payments,
    dunning steps and fees: commercial and tax retention, HGB § 257 / AO § 147). Messages still
    pending for the order are cancelled; sent ones lose recipient and text."""
    if order.erased_at:
        raise ActionRefused("the customer's data was erased already")
    name, email = order.customer_name, order.customer_email

    def scrub(text):
        if not isinstance(text, str):
            return text
        for value in (name, email):
            if value:
                text = text.replace(value, ERASED)
        return text

    order.customer_name = ERASED
    order.customer_email = ERASED
    order.postal_address = None
    order.region = None
    order.erased_at = utcnow()
    order.next_due_on = None
    for payment in order.payments:
        payment.reference = scrub(payment.reference)
    for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.order_id == order.id)
    ):
        if message.state in ("pending", "sending"):
            outbox.mark_cancelled(message, "the customer's data was erased")
        message.recipient = ERASED
        message.body = None
        message.subject = scrub(message.subject)
    # The accounting digests list many orders by customer name: take this one's name out.
    for message in db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.merchant_id == order.merchant_id,
            OutboxMessage.order_id.is_(None),
            OutboxMessage.purpose == "accounting_digest",
        )
    ):
        if order.number in ((message.payload or {}).get("orders") or ()):
            message.body = scrub(message.body)
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id)):
        detail = dict(entry.detail or {})
        scrubbed = {k: (ERASED if k in PERSONAL_FIELDS else scrub(v)) for k, v in detail.items()}
        if scrubbed != detail:
            entry.detail = scrubbed  # a new dict, so the JSON column sees the change
    audit.record(order.merchant_id, actor, "order.erased", order.id)

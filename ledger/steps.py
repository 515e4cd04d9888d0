"""What each rules action does to an order when its step fires: one handler per action of
rules.actions.SPECS, each going through the order lifecycle (ledger.lifecycle).

A step is applied as one lifecycle command (`apply`): the order's fresh, locked row is checked
first; money and status actions come before messages, so a reminder states the fee and interest
its own step charged; every action leaves one dunning event (exactly once per order and step,
by the unique (order, step, action) constraint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import rules
from ledger import collection, interest, lifecycle, notes, outbox
from ledger.db import db
from ledger.messages import reminder
from ledger.models import DunningEvent, EntryKind, LedgerEntry, Merchant, Order, Source
from ledger.money import CENT
from rules.actions import SPECS
from rules.base_rates import BaseRateUnknown


@dataclass
class StepContext:
    merchant: Merchant
    today: date
    run_id: int | None
    version_id: int | None = None  # the rules version deciding the order at hand
    problems: list[str] = field(default_factory=list)  # actions that could not be done, and why

    def cause(self, step: rules.PlannedStep) -> lifecycle.Cause:
        return lifecycle.Cause(
            "system", Source.RULE, self.today, self.run_id, step.source_line.strip(), False
        )


@dataclass
class _Applying:
    """One step being applied to one order."""

    ctx: StepContext
    order: Order
    step: rules.PlannedStep
    cause: lifecycle.Cause
    reminded_before: bool  # a reminder reached the order before this step
    reminders: list[tuple[DunningEvent, rules.Remind]] = field(default_factory=list)
    messages: int = 0

    def event(self, action: str, **fields) -> DunningEvent:
        event = DunningEvent(
            merchant_id=self.order.merchant_id,
            order=self.order,
            run_id=self.ctx.run_id,
            ruleset_version_id=self.ctx.version_id,
            step_key=self.step.key,
            action=action,
            decided_on=self.ctx.today,
            reason=self.step.source_line.strip(),
            **fields,
        )
        db.session.add(event)
        return event


def apply(
    ctx: StepContext, order: Order, decision: rules.Decision, history: rules.OrderHistory
) -> int | None:
    """Apply the decision's step to the order (locked by the caller) whose history is
    `history`; returns the number of outbox messages written, or None when the fresh row
    refuses any step (paid meanwhile, blocked, erased)."""
    if lifecycle.begin_step(order):
        return None
    cause = ctx.cause(decision.step)
    applying = _Applying(ctx, order, decision.step, cause, history.level > 0)
    for skipped in decision.skipped:
        _Applying(ctx, order, skipped, cause, False).event("skipped")
    # Money and status first, messages last: the reminder states what its own step charged.
    actions = sorted(decision.step.actions, key=lambda a: a.kind in ("notify", "send_webhook"))
    for action in actions:
        HANDLERS[action.kind](applying, action)
    _send_reminders(applying)
    return applying.messages


def _remind(a: _Applying, action: rules.Remind) -> None:
    order = a.order
    level = action.level or order.dunning_level + 1
    fee = action.fee.quantize(CENT) if action.fee else None
    event = a.event("remind", level=level, fee=fee)
    db.session.flush()
    lifecycle.remind(order, level, a.cause)
    if fee:
        lifecycle.charge(
            order,
            EntryKind.FEE,
            fee,
            a.cause,
            event_id=event.id,
            note=notes.text("reminder_fee", level=level),
        )
    a.reminders.append((event, action))


def _send_reminders(a: _Applying) -> None:
    """Compose each reminder from the order's real state after the step: its itemised amount
    and whether an earlier reminder went out (the wording of a first or a later reminder)."""
    order = a.order
    for event, action in a.reminders:
        mail = reminder(order, a.ctx.merchant, event.level, event.fee, a.reminded_before)
        for channel in action.channels or ("email",):
            if channel == "email":
                recipient = order.customer_email
            else:
                recipient = "\n".join(filter(None, [order.customer_name, order.postal_address]))
            outbox.add(
                order.merchant_id,
                channel,
                "reminder",
                recipient,
                order=order,
                event=event,
                run_id=a.ctx.run_id,
                subject=mail.subject,
                body=mail.body,
                html=mail.html if channel == "email" else None,
                payload={"language": order.language, "level": event.level}
                | ({"inline": mail.inline} if channel == "email" else {}),
            )
            a.messages += 1


def _cancel(a: _Applying, action) -> None:
    if lifecycle.why_not(a.order, lifecycle.Event.CANCEL):
        return  # the checker refuses such rules; never cancel an invoice by accident
    event = a.event("cancel")
    a.messages += lifecycle.cancel(a.order, a.cause, event) is not None


def _mark_overdue(a: _Applying, action) -> None:
    a.event("mark_overdue")
    if lifecycle.why_not(a.order, lifecycle.Event.MARK_OVERDUE) is None:
        lifecycle.mark_overdue(a.order, a.cause)


def _notify(a: _Applying, action: rules.Notify) -> None:
    a.event("notify", recipient=recipient_address(a.ctx.merchant, action.recipient))
    # sent as one digest per recipient at the end of the run (ledger.digest)


def _release_reservation(a: _Applying, action) -> None:
    event = a.event("release_reservation")
    _webhook(a, "order.reservation_released", event)


def _hand_over(a: _Applying, action) -> None:
    """A collection case to the merchant's partner (ledger.collection), once: an order in
    collection or with an open case is not handed over again; without a partner set, the run
    says so and the order stays where it is."""
    event = a.event("hand_over_to_collection")
    reason = collection.why_not_hand_over(a.order)
    if reason is None:
        collection.hand_over(a.order, a.cause, event=event)
        if a.ctx.merchant.webhook_url:  # order.handed_over_to_collection, collection.handed_over
            a.messages += 2
    elif reason.code in ("no_collection_partner", "collection_open"):
        a.ctx.problems.append(f"{a.order.number}: not handed over to collection: {reason}")


def _charge_interest(a: _Applying, action: rules.ChargeInterest) -> None:
    """Default interest on the open principal, per day, from the due date or the end of the
    last interest charged; by the law of the customer's country, or the one the merchant's
    terms choose (Merchant.interest_base, ledger.interest.governing_country)."""
    order = a.order
    start = max(order.due_on, _interest_charged_until(order))
    statement = order.statement
    country = interest.governing_country(order.country, a.ctx.merchant.interest_base)
    try:
        if action.statutory:
            result = interest.statutory_interest(
                statement.principal_open, country, order.customer_type, start, a.ctx.today
            )
        else:
            result = interest.fixed_interest(
                statement.principal_open, action.rate, start, a.ctx.today
            )
    except (interest.InterestNotApplicable, BaseRateUnknown) as exc:
        a.ctx.problems.append(f"{order.number}: no interest charged: {exc}")
        return
    event = a.event("charge_interest", fee=result.amount)
    db.session.flush()
    note = notes.text(
        "interest", start=start.isoformat(), end=a.ctx.today.isoformat(), law=result.law
    )
    lifecycle.charge(order, EntryKind.INTEREST, result.amount, a.cause, event.id, note)
    flat = interest.flat_fee(country, order.customer_type, order.currency)
    if action.statutory and flat and not _flat_fee_charged(order):
        lifecycle.charge(order, EntryKind.FEE, flat, a.cause, event.id, FLAT_FEE_NOTE)


FLAT_FEE_NOTE = notes.text("flat_fee")


def _interest_charged_until(order: Order) -> date:
    last = db.session.scalar(
        db.select(LedgerEntry.booked_on)
        .where(LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.INTEREST)
        .order_by(LedgerEntry.booked_on.desc())
        .limit(1)
    )
    return last or date.min


def _flat_fee_charged(order: Order) -> bool:
    return (
        db.session.scalar(
            db.select(LedgerEntry.id).where(
                LedgerEntry.order_id == order.id, LedgerEntry.note == FLAT_FEE_NOTE
            )
        )
        is not None
    )


def _send_webhook(a: _Applying, action: rules.SendWebhook) -> None:
    event = a.event("send_webhook", recipient=action.name)
    _webhook(a, action.name, event)


def _webhook(a: _Applying, name: str, event: DunningEvent) -> None:
    if lifecycle.queue_webhook(a.order, name, a.cause, event) is not None:
        a.messages += 1


HANDLERS: dict[str, Callable] = {
    "remind": _remind,
    "cancel": _cancel,
    "mark_overdue": _mark_overdue,
    "notify": _notify,
    "release_reservation": _release_reservation,
    "hand_over_to_collection": _hand_over,
    "charge_interest": _charge_interest,
    "send_webhook": _send_webhook,
}
assert set(HANDLERS) == set(SPECS), "every action of rules.actions has a handler"


def recipient_address(merchant: Merchant, recipient: str) -> str:
    if recipient == "accounting":
        return merchant.accounting_email
    if recipient == "team":
        return merchant.team_email or merchant.accounting_email
    return recipient

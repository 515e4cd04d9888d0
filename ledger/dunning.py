"""The daily dunning run: decide what each due order gets, and record it with its messages.

Per batch of due orders, the decisions, their dunning events and their outbox messages commit in
one transaction. The unique (order, step, action) constraint makes every step fire once, even if
two runs race. Delivery is the worker's job; this module only writes the outbox.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

import rules
from ledger import audit, outbox, rulesets, scheduling
from ledger.db import db
from ledger.messages import digest, reminder
from ledger.models import (
    OPEN_STATUSES,
    DunningEvent,
    DunningRun,
    Merchant,
    Order,
    OutboxMessage,
    RulesetVersion,
    utcnow,
)
from ledger.money import CENT, format_money

BATCH_SIZE = 500
ACTION_WORDS = {
    "remind": "reminded",
    "cancel": "cancelled",
    "mark_overdue": "marked overdue",
    "release_reservation": "reservation released",
    "hand_over_to_collection": "handed over to collection",
    "charge_interest": "interest charged",
    "send_webhook": "webhook sent",
}


@dataclass
class RunSummary:
    run_on: date
    dry_run: bool = False
    orders_due: int = 0
    orders_examined: int = 0
    steps: Counter = field(default_factory=Counter)  # action kind → count
    skipped: int = 0
    deferred: int = 0
    messages_queued: int = 0
    note: str | None = None


@dataclass
class _Context:
    merchant: Merchant
    book: rulesets.Rulebook
    run: DunningRun | None
    today: date
    summary: RunSummary
    cancelled: list[int] = field(default_factory=list)  # this batch's cancelled order ids
    version: RulesetVersion | None = None  # the version deciding the order at hand


def due_order_ids(merchant_id: int, today: date) -> list[int]:
    return list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.merchant_id == merchant_id,
                Order.next_due_on <= today,
                Order.status.in_(OPEN_STATUSES),
                Order.dunning_block.is_(False),
                Order.erased_at.is_(None),
            )
            .order_by(Order.id)
        )
    )


def execute(
    merchant: Merchant,
    today: date,
    run: DunningRun | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Run the active rules for one merchant on `today`. A dry run decides everything the same
    way and then rolls it all back."""
    summary = RunSummary(run_on=today, dry_run=dry_run)
    book = rulesets.Rulebook.active(merchant.id)
    if book.program is None:
        summary.note = "no active rules"
        return summary
    if book.version.recomputed_at is None:
        # Newly activated rules whose background recompute has not finished: the due dates
        # the run selects by must be the new rules' first.
        scheduling.recompute_all(merchant, book.version)
        if not dry_run:
            db.session.commit()
    ctx = _Context(merchant, book, run, today, summary)
    ids = due_order_ids(merchant.id, today)
    summary.orders_due = len(ids)
    for start in range(0, len(ids), BATCH_SIZE):
        _run_batch(ctx, ids[start : start + BATCH_SIZE], dry_run)
        if progress:
            progress(summary.orders_examined, summary.orders_due)
    _write_digests(ctx)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return summary


def _run_batch(ctx: _Context, ids: list[int], dry_run: bool) -> None:
    try:
        counts = _decide_batch(ctx, ids)
        if not dry_run:
            db.session.commit()
    except IntegrityError:
        # Another run fired some of these steps first; theirs stands. Decide again on fresh data.
        db.session.rollback()
        counts = _decide_batch(ctx, ids)
        if not dry_run:
            db.session.commit()
    ctx.summary.orders_examined += len(ids)
    ctx.summary.steps.update(counts["steps"])
    ctx.summary.skipped += counts["skipped"]
    ctx.summary.deferred += counts["deferred"]
    ctx.summary.messages_queued += counts["messages"]


def _decide_batch(ctx: _Context, ids: list[int]) -> dict:
    counts = {"steps": Counter(), "skipped": 0, "deferred": 0, "messages": 0}
    orders = db.session.scalars(select(Order).where(Order.id.in_(ids)).with_for_update()).all()
    found = scheduling.histories(ids, ctx.merchant.bank_data_as_of)
    for order in orders:
        history = scheduling.with_claim(found[order.id], order)
        ctx.version, program = ctx.book.for_order(order)
        if not order.is_open or order.dunning_block or program is None:
            order.next_due_on = None
            continue
        decision = program.decide(scheduling.order_facts(order), history, ctx.today)
        if decision is None:
            following = program.next_due_on(scheduling.order_facts(order), history)
            # Never leave an order due today that nothing fired for: it would be re-read daily.
            order.next_due_on = following and max(following, ctx.today + timedelta(days=1))
            continue
        if decision.deferred_to is not None:
            order.next_due_on = decision.deferred_to
            counts["deferred"] += 1
            continue
        new_messages = _apply(ctx, order, decision)
        counts["messages"] += new_messages
        counts["skipped"] += len(decision.skipped)
        counts["steps"].update(a.kind for a in decision.step.actions)
        done = history.done_steps | {decision.step.key} | {s.key for s in decision.skipped}
        reminded = any(a.kind == "remind" for a in decision.step.actions)
        history = dataclasses.replace(
            history,
            done_steps=frozenset(done),
            last_reminder_on=ctx.today if reminded else history.last_reminder_on,
        )
        if order.is_open and not order.dunning_block:
            order.next_due_on = program.next_due_on(scheduling.order_facts(order), history)
        else:
            order.next_due_on = None
    db.session.flush()
    outbox.cancel_pending_for_orders(ctx.cancelled, "the order was cancelled")
    ctx.cancelled.clear()
    return counts


def _event(ctx: _Context, order: Order, step, action: str, **fields) -> DunningEvent:
    event = DunningEvent(
        merchant_id=order.merchant_id,
        order=order,
        run_id=ctx.run.id if ctx.run else None,
        ruleset_version_id=ctx.version.id,
        step_key=step.key,
        action=action,
        decided_on=ctx.today,
        reason=step.source_line.strip(),
        **fields,
    )
    db.session.add(event)
    return event


def _apply(ctx: _Context, order: Order, decision) -> int:
    """Record the step's actions for one order; returns the number of outbox messages written."""
    for skipped in decision.skipped:
        _event(ctx, order, skipped, "skipped")
    messages = 0
    for action in decision.step.actions:
        handler = HANDLERS[action.kind]
        messages += handler(ctx, order, decision.step, action)
    return messages


def _message(ctx: _Context, order: Order | None, event: DunningEvent | None, **fields):
    run_id = ctx.run.id if ctx.run else None
    return outbox.add(ctx.merchant.id, order=order, event=event, run_id=run_id, **fields)


def _webhook(ctx: _Context, order: Order, event: DunningEvent, name: str) -> int:
    if not ctx.merchant.webhook_url:
        return 0
    payload = {
        "event": name,
        "merchant": ctx.merchant.name,
        "order": {
            "number": order.number,
            "status": order.status,
            "amount": str(order.amount),
            "currency": order.currency,
            "open_amount": str(order.open_amount),
            "dunning_level": order.dunning_level,
        },
        "decided_on": ctx.today.isoformat(),
        "rule": event.reason,
    }
    _message(
        ctx,
        order,
        event,
        kind="webhook",
        purpose=name,
        recipient=ctx.merchant.webhook_url,
        payload=payload,
    )
    return 1


def _remind(ctx: _Context, order: Order, step, action: rules.ast.Remind) -> int:
    level = action.level or order.dunning_level + 1
    fee = action.fee.quantize(CENT) if action.fee else None
    order.dunning_level = max(order.dunning_level, level)
    if fee:
        order.fees_total += fee
    event = _event(ctx, order, step, "remind", level=level, fee=fee)
    subject, body = reminder(order, ctx.merchant, level, fee)
    written = 0
    for channel in action.channels or ("email",):
        if channel == "email":
            recipient = order.customer_email
        else:
            recipient = "\n".join(filter(None, [order.customer_name, order.postal_address]))
        _message(
            ctx,
            order,
            event,
            kind=channel,
            purpose="reminder",
            recipient=recipient,
            subject=subject,
            body=body,
            payload={"language": order.language, "level": level},
        )
        written += 1
    return written


def _cancel(ctx: _Context, order: Order, step, action) -> int:
    if order.payment_method != "prepayment":
        return 0  # the checker refuses such rules; never cancel an invoice by accident
    event = _event(ctx, order, step, "cancel")
    order.status = "cancelled"
    order.cancelled_on = ctx.today
    ctx.cancelled.append(order.id)  # their waiting reminders are stopped at the batch's end
    audit.record(order.merchant_id, "system", "order.cancelled", order.id, rule=event.reason)
    return _webhook(ctx, order, event, "order.cancelled")


def _mark_overdue(ctx: _Context, order: Order, step, action) -> int:
    _event(ctx, order, step, "mark_overdue")
    if order.status in ("unpaid", "partially_paid"):
        order.status = "overdue"
    return 0


def _notify(ctx: _Context, order: Order, step, action: rules.ast.Notify) -> int:
    _event(ctx, order, step, "notify", recipient=_recipient(ctx.merchant, action.recipient))
    return 0  # sent as one digest per recipient at the end of the run


def _release_reservation(ctx: _Context, order: Order, step, action) -> int:
    event = _event(ctx, order, step, "release_reservation")
    return _webhook(ctx, order, event, "order.reservation_released")


def _hand_over(ctx: _Context, order: Order, step, action) -> int:
    event = _event(ctx, order, step, "hand_over_to_collection")
    order.status = "in_collection"
    audit.record(order.merchant_id, "system", "collection.handed_over", order.id)
    return _webhook(ctx, order, event, "order.handed_over_to_collection")


def _charge_interest(ctx: _Context, order: Order, step, action: rules.ast.ChargeInterest) -> int:
    """Default interest on the open principal from the due date: statutory = base rate + 5
    points for consumers, + 9 points for businesses (§ 288 BGB)."""
    if action.statutory:
        base = Decimal(current_app.config.get("BASE_INTEREST_RATE", "1.27"))
        rate = base + (Decimal(9) if order.customer_type == "b2b" else Decimal(5))
    else:
        rate = action.rate
    principal = max(order.amount - order.paid_total, Decimal(0))
    days = (ctx.today - order.due_on).days
    interest = (principal * rate / 100 * days / 365).quantize(CENT, rounding=ROUND_HALF_UP)
    order.fees_total += interest
    _event(ctx, order, step, "charge_interest", fee=interest)
    return 0


def _send_webhook(ctx: _Context, order: Order, step, action: rules.ast.SendWebhook) -> int:
    event = _event(ctx, order, step, "send_webhook", recipient=action.name)
    return _webhook(ctx, order, event, action.name)


HANDLERS = {
    "remind": _remind,
    "cancel": _cancel,
    "mark_overdue": _mark_overdue,
    "notify": _notify,
    "release_reservation": _release_reservation,
    "hand_over_to_collection": _hand_over,
    "charge_interest": _charge_interest,
    "send_webhook": _send_webhook,
}


def _recipient(merchant: Merchant, recipient: str) -> str:
    if recipient == "accounting":
        return merchant.accounting_email
    if recipient == "team":
        return merchant.team_email or merchant.accounting_email
    return recipient


def _write_digests(ctx: _Context) -> None:
    """One email per recipient listing every order whose step asked to notify them. Picks up
    notifications an interrupted earlier run left unsent, too."""
    pending = db.session.scalars(
        select(DunningEvent)
        .where(
            DunningEvent.merchant_id == ctx.merchant.id,
            DunningEvent.action == "notify",
            DunningEvent.digest_message_id.is_(None),
        )
        .options(selectinload(DunningEvent.order))
        .order_by(DunningEvent.id)
    ).all()
    by_recipient: dict[str, list[DunningEvent]] = defaultdict(list)
    for event in pending:
        by_recipient[event.recipient].append(event)
    what = _actions_by_step([e.order_id for e in pending])
    for recipient, events in by_recipient.items():
        rows = [_digest_row(ctx.merchant, e, what) for e in events]
        subject, body = digest(ctx.merchant, ctx.today, rows)
        message = _message(
            ctx,
            None,
            None,
            kind="email",
            purpose="accounting_digest",
            recipient=recipient,
            subject=subject,
            body=body,
            payload={"orders": [r["number"] for r in rows]},
        )
        for event in events:
            event.digest_message = message
        ctx.summary.messages_queued += 1


def _actions_by_step(order_ids: list[int]) -> dict[tuple[int, str], list[str]]:
    """What each (order, step) did, for the digest's "what" column, in one query."""
    done: dict[tuple[int, str], list[str]] = defaultdict(list)
    if order_ids:
        rows = db.session.execute(
            select(DunningEvent.order_id, DunningEvent.step_key, DunningEvent.action)
            .where(
                DunningEvent.order_id.in_(set(order_ids)),
                DunningEvent.action.in_(list(ACTION_WORDS)),
            )
            .order_by(DunningEvent.id)
        )
        for order_id, step_key, action in rows:
            done[(order_id, step_key)].append(ACTION_WORDS[action])
    return done


def _digest_row(merchant: Merchant, event: DunningEvent, what: dict) -> dict:
    order = event.order
    return {
        "number": order.number,
        "customer": order.customer_name,
        "amount": format_money(order.amount, order.currency, merchant.language),
        "days_unpaid": (event.decided_on - order.ordered_on).days,
        "what": ", ".join(what[(order.id, event.step_key)]) or "notified",
    }


def start_run(merchant: Merchant, today: date, trigger: str, started_by: str | None = None):
    """Create the run record the worker executes. Scheduled runs are unique per merchant and day."""
    run = DunningRun(
        merchant_id=merchant.id,
        run_on=today,
        trigger=trigger,
        started_by=started_by,
        schedule_key=f"{merchant.id}:{today.isoformat()}" if trigger == "schedule" else None,
        state="queued",
        steps={},
    )
    db.session.add(run)
    db.session.flush()
    return run


def finish_run(run: DunningRun, summary: RunSummary, error: str | None = None) -> None:
    run.orders_due = summary.orders_due
    run.orders_examined = summary.orders_examined
    run.steps = dict(summary.steps) | ({"skipped": summary.skipped} if summary.skipped else {})
    run.messages_queued = summary.messages_queued
    run.state = "failed" if error else "done"
    run.error = error or summary.note
    run.finished_at = utcnow()


def messages_sent(run_id: int) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.run_id == run_id, OutboxMessage.state == "sent"
        )
    )

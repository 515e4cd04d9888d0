"""What the rules engine needs to know about an order, and the indexed next-due date it yields.

`Order.next_due_on` is the earliest day a rule step could fire. The daily run reads only orders
with next_due_on <= today, so its cost follows the orders due, not all orders. Every change that
can move that date (order data, payments, dunning events, block, active rules) calls
`refresh_next_due`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

import rules
from ledger import rulesets
from ledger.db import db
from ledger.models import OPEN_STATUSES, DunningEvent, Merchant, Order, RulesetVersion, utcnow


def order_facts(order: Order) -> rules.OrderFacts:
    return rules.OrderFacts(
        payment_method=order.payment_method,
        amount=order.amount,
        currency=order.currency,
        country=order.country,
        language=order.language,
        customer_type=order.customer_type,
        ordered_on=order.ordered_on,
        due_on=order.due_on,
        region=order.region,
        tags=frozenset(order.tags or ()),
        status=order.status,
        dunning_block=order.dunning_block,
    )


def histories(order_ids: list[int], bank_data_as_of: date | None) -> dict[int, rules.OrderHistory]:
    """Dunning history for many orders in one query (no N+1 in the daily run)."""
    if not order_ids:
        return {}
    return histories_where(DunningEvent.order_id.in_(order_ids), order_ids, bank_data_as_of)


def histories_where(condition, order_ids, bank_data_as_of: date | None):
    """Histories of `order_ids` from the events matching `condition` (an IN list, or a join
    condition when the ids are too many for one statement)."""
    done: dict[int, set[str]] = defaultdict(set)
    last_reminder: dict[int, date] = {}
    rows = db.session.execute(
        select(
            DunningEvent.order_id,
            DunningEvent.step_key,
            DunningEvent.action,
            DunningEvent.decided_on,
        ).where(condition)
    )
    for order_id, step_key, action, decided_on in rows:
        done[order_id].add(step_key)
        if action == "remind" and decided_on > last_reminder.get(order_id, date.min):
            last_reminder[order_id] = decided_on
    empty = rules.OrderHistory(bank_data_as_of=bank_data_as_of)
    return {
        oid: rules.OrderHistory(
            done_steps=frozenset(done[oid]),
            last_reminder_on=last_reminder.get(oid),
            bank_data_as_of=bank_data_as_of,
        )
        if oid in done
        else empty
        for oid in order_ids
    }


def order_history(order: Order) -> rules.OrderHistory:
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    history = histories([order.id], merchant.bank_data_as_of)[order.id]
    return with_claim(history, order)


def with_claim(history: rules.OrderHistory, order: Order) -> rules.OrderHistory:
    if order.payment_claimed_on is None:
        return history
    return rules.OrderHistory(
        done_steps=history.done_steps,
        last_reminder_on=history.last_reminder_on,
        payment_claimed_on=order.payment_claimed_on,
        bank_data_as_of=history.bank_data_as_of,
    )


def next_due(order: Order, program, history: rules.OrderHistory) -> date | None:
    if program is None or not order.is_open or order.dunning_block or order.erased_at:
        return None
    return program.next_due_on(order_facts(order), with_claim(history, order))


def refresh_next_due(order: Order, book: rulesets.Rulebook | None = None) -> None:
    db.session.flush()
    book = book or rulesets.Rulebook.active(order.merchant_id)
    _version, program = book.for_order(order)
    order.next_due_on = next_due(order, program, order_history(order)) if program else None


def open_order_count(merchant_id: int) -> int:
    return db.session.scalar(
        select(func.count(Order.id)).where(
            Order.merchant_id == merchant_id, Order.status.in_(OPEN_STATUSES)
        )
    )


def recompute_all(
    merchant: Merchant,
    version: RulesetVersion,
    batch_size: int = 2000,
    progress: Callable[[int], bool] | None = None,
) -> int:
    """Recompute next_due_on of every order of a merchant under the active `version`, in
    batches (closed orders just lose theirs). `progress(done)` is called after each batch and
    may return False to stop (a newer version became active). Returns the count."""
    book = rulesets.Rulebook(version, rulesets.program_of(version))
    last_id, count = 0, 0
    while True:
        orders = list(
            db.session.scalars(
                select(Order)
                .where(Order.merchant_id == merchant.id, Order.id > last_id)
                .order_by(Order.id)
                .limit(batch_size)
            )
        )
        if not orders:
            break
        open_ids = [o.id for o in orders if o.is_open]
        found = histories(open_ids, merchant.bank_data_as_of)
        for order in orders:
            _version, program = book.for_order(order)
            history = found.get(order.id)
            order.next_due_on = next_due(order, program, history) if history else None
        count += len(open_ids)
        last_id = orders[-1].id
        db.session.flush()
        if progress is not None and progress(count) is False:
            return count
    version.recompute_done = count
    version.recompute_total = count
    version.recomputed_at = utcnow()
    return count


def due_count(merchant_id: int, today: date) -> int:
    return db.session.scalar(
        select(func.count(Order.id)).where(
            Order.merchant_id == merchant_id, Order.next_due_on <= today
        )
    )

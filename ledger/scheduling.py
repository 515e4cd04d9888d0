"""What the rules engine needs to know about an order, and the indexed next-due date it yields.

`Order.next_due_on` is the earliest day a rule step could fire. The daily run reads only orders
with next_due_on <= today, so its cost follows the orders due, not all orders. The lifecycle
commands (ledger.lifecycle) refresh it with every change that can move it; activating rules
recomputes it for every order (`recompute_all`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

import rules
from ledger import bulk
from ledger.db import db
from ledger.models import OPEN_STATUSES, DunningEvent, Merchant, Order, RulesetVersion, utcnow
from ledger.rulebook import Rulebook, program_of


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
    return histories_where(bulk.among(DunningEvent.order_id, order_ids), order_ids, bank_data_as_of)


def histories_where(condition, order_ids, bank_data_as_of: date | None):
    """Histories of `order_ids` from the events matching `condition` (an IN list, or a join
    condition when the ids are too many for one statement): the steps done and when, and the
    reminder levels that went out (by a rule or by hand) and when each first did."""
    done_on: dict[int, dict[str, date]] = defaultdict(dict)
    level_on: dict[int, dict[int, date]] = defaultdict(dict)
    rows = db.session.execute(
        select(
            DunningEvent.order_id,
            DunningEvent.step_key,
            DunningEvent.action,
            DunningEvent.level,
            DunningEvent.decided_on,
        ).where(condition)
    )
    for order_id, step_key, action, level, decided_on in rows:
        steps = done_on[order_id]
        if step_key not in steps or decided_on < steps[step_key]:
            steps[step_key] = decided_on
        if action == "remind" and level:
            levels = level_on[order_id]
            if level not in levels or decided_on < levels[level]:
                levels[level] = decided_on
    empty = rules.OrderHistory(bank_data_as_of=bank_data_as_of)
    found = {}
    for oid in order_ids:
        if oid not in done_on:
            found[oid] = empty
            continue
        levels = level_on.get(oid, {})
        found[oid] = rules.OrderHistory(
            done_steps=frozenset(done_on[oid]),
            last_reminder_on=max(levels.values(), default=None),
            bank_data_as_of=bank_data_as_of,
            done_on=done_on[oid],
            level=max(levels, default=0),
            level_on=levels,
        )
    return found


def order_history(order: Order) -> rules.OrderHistory:
    merchant = order.merchant or db.session.get(Merchant, order.merchant_id)
    history = histories([order.id], merchant.bank_data_as_of)[order.id]
    return with_claim(history, order)


def with_claim(history: rules.OrderHistory, order: Order) -> rules.OrderHistory:
    if order.payment_claimed_on is None or history.payment_claimed_on == order.payment_claimed_on:
        return history
    return rules.OrderHistory(
        done_steps=history.done_steps,
        last_reminder_on=history.last_reminder_on,
        payment_claimed_on=order.payment_claimed_on,
        bank_data_as_of=history.bank_data_as_of,
        done_on=history.done_on,
        level=history.level,
        level_on=history.level_on,
    )


def next_due(order: Order, program, history: rules.OrderHistory) -> date | None:
    """The one computation of an order's next due date (the run, the lifecycle commands and
    the recompute after an activation all come here)."""
    if program is None or not order.is_open or order.dunning_block or order.erased_at:
        return None
    return program.next_due_on(order_facts(order), with_claim(history, order))


def refresh_next_due(
    order: Order, book: Rulebook | None = None, history: rules.OrderHistory | None = None
) -> None:
    db.session.flush()
    book = book or Rulebook.active(order.merchant_id)
    _version, program = book.for_order(order)
    if program is None:
        order.next_due_on = None
        return
    order.next_due_on = next_due(order, program, history or order_history(order))


def refresh_next_due_many(orders: list[Order], book_for: Callable[[int], Rulebook]) -> None:
    """As `refresh_next_due` for many orders: their histories in one query per merchant, each
    merchant's rules from `book_for(merchant_id)`. The caller flushes what the history must
    see (lifecycle.PaymentBatch needs nothing flushed: payments add no dunning events)."""
    by_merchant: dict[int, list[Order]] = defaultdict(list)
    for order in orders:
        by_merchant[order.merchant_id].append(order)
    for merchant_id, group in by_merchant.items():
        merchant = db.session.get(Merchant, merchant_id)
        found = histories([order.id for order in group], merchant.bank_data_as_of)
        book = book_for(merchant_id)
        for order in group:
            _version, program = book.for_order(order)
            order.next_due_on = next_due(order, program, found[order.id])


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
    book = Rulebook(version, program_of(version))
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
            due = next_due(order, program, history) if history else None
            if order.next_due_on != due:
                order.next_due_on = due
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

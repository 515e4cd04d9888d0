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

from sqlalchemy import and_, func, or_, select, update

import rules
from ledger import bulk
from ledger.db import db
from ledger.models import OPEN_STATUSES, DunningEvent, Merchant, Order, RulesetVersion, utcnow
from ledger.rulebook import Rulebook, program_of


def order_facts(order: Order) -> rules.OrderFacts:
    """The facts the rules read: of an Order, or of a row of its _FACT_COLUMNS."""
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
    return _claimed(history, order.payment_claimed_on)


def _claimed(history: rules.OrderHistory, claimed_on: date | None) -> rules.OrderHistory:
    if claimed_on is None or history.payment_claimed_on == claimed_on:
        return history
    return rules.OrderHistory(
        done_steps=history.done_steps,
        last_reminder_on=history.last_reminder_on,
        payment_claimed_on=claimed_on,
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


def _may_be_due(merchant_id: int):
    """The orders a rule step may still fire for: open, not blocked, not erased."""
    return and_(
        Order.merchant_id == merchant_id,
        Order.status.in_(OPEN_STATUSES),
        Order.dunning_block.is_(False),
        Order.erased_at.is_(None),
    )


def open_order_count(merchant_id: int) -> int:
    """The orders a recompute reads (its progress counts up to this)."""
    return db.session.scalar(select(func.count(Order.id)).where(_may_be_due(merchant_id)))


# The columns the rules read of an order (order_facts), as table columns: rows of them are
# read without the ORM's loading.
_orders = Order.__table__
_FACT_COLUMNS = tuple(
    _orders.c[name]
    for name in (
        "payment_method", "amount", "currency", "country", "language", "customer_type",
        "ordered_on", "due_on", "region", "tags", "status", "dunning_block",
    )
)  # fmt: skip


def recompute_all(
    merchant: Merchant,
    version: RulesetVersion,
    batch_size: int = 5000,
    progress: Callable[[int], bool] | None = None,
) -> int:
    """Recompute next_due_on of every open order of a merchant under the active `version`, in
    batches by id. `progress(done)` is called after each batch and may return False to stop (a
    newer version became active). Returns the count of open orders read (open_order_count).

    A million-order book is mostly closed orders, which keep no date (the lifecycle clears it
    when an order closes; one statement makes sure). Of the open ones only the columns the
    rules read are fetched, no ORM objects, and only the dates that change are written, in one
    statement per batch, each row on its version (a lifecycle command that changed the order
    meanwhile computed its date itself; such an order is read once more at the end)."""
    book = Rulebook(version, program_of(version))
    db.session.flush()  # the statements below bypass the session: its changes first
    never_due = or_(
        Order.status.not_in(OPEN_STATUSES),
        Order.dunning_block.is_(True),
        Order.erased_at.is_not(None),
    )
    db.session.execute(
        update(Order)
        .where(Order.merchant_id == merchant.id, Order.next_due_on.is_not(None), never_due)
        .values(next_due_on=None, version=Order.version + 1)
        .execution_options(synchronize_session=False)
    )
    may_be_due = _may_be_due(merchant.id)
    last_id, count, again = 0, 0, []
    while True:
        rows = _open_rows(and_(may_be_due, Order.id > last_id), batch_size)
        if not rows:
            break
        again += _write_next_due(rows, book, merchant.bank_data_as_of)
        count += len(rows)
        last_id = rows[-1].id
        if progress is not None and progress(count) is False:
            _expire_orders()
            return count
    if again:  # changed by a lifecycle command meanwhile: read once more, on the new version
        rows = _open_rows(and_(may_be_due, bulk.among(Order.id, again)), None)
        _write_next_due(rows, book, merchant.bank_data_as_of)
    version.recompute_done = count
    version.recompute_total = count
    version.recomputed_at = utcnow()
    _expire_orders()
    return count


def _expire_orders() -> None:
    """Orders this session holds are read again: their dates and versions changed beneath."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Order):
            db.session.expire(obj)


def _open_rows(condition, limit: int | None) -> list:
    columns = ("id", "version", "next_due_on", "rules_version_id", "payment_claimed_on")
    query = select(*(_orders.c[name] for name in columns), *_FACT_COLUMNS).where(condition)
    return db.session.execute(query.order_by(_orders.c.id).limit(limit)).all()


def _write_next_due(rows: list, book: Rulebook, bank_data_as_of: date | None) -> list[int]:
    """Compute each row's next due date and write those that changed; returns the ids of rows
    to read once more when some had moved on (those were not written; the others read again
    are unchanged then and not written twice)."""
    found = histories([row.id for row in rows], bank_data_as_of)
    changed = []
    for row in rows:
        _version, program = book.resolve(row.ordered_on, row.rules_version_id)
        due = None
        if program is not None:
            facts = order_facts(row)
            history = _claimed(found[row.id], row.payment_claimed_on)
            due = program.next_due_on(facts, history)
        if due != row.next_due_on:
            changed.append({"id": row.id, "version": row.version, "next_due_on": due})
    written = bulk.update_rows(Order.__table__, changed, where=("id", "version"), bump="version")
    return [] if written == len(changed) else [c["id"] for c in changed]


def due_count(merchant_id: int, today: date) -> int:
    return db.session.scalar(
        select(func.count(Order.id)).where(
            Order.merchant_id == merchant_id, Order.next_due_on <= today
        )
    )

"""The daily dunning run: decide what each due order gets, and apply it through the order
lifecycle (ledger.steps, ledger.lifecycle).

Per batch of due orders, the decisions, their dunning events, money entries and outbox messages
commit in one transaction. The orders of a batch are locked (FOR UPDATE on PostgreSQL; the
order's version column on both databases): a payment that commits while the batch decides makes
the batch's write fail, and the batch is decided again on fresh rows, where the paid order gets
nothing. The unique (order, step, action) constraint makes every step fire once, even if two
runs race. Delivery is the worker's job; this module only writes the outbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ledger import claims, digest, lifecycle, manual, notes, outbox, scheduling, steps
from ledger.db import db
from ledger.models import (
    OPEN_STATUSES,
    DunningRun,
    Merchant,
    MessageState,
    Order,
    OutboxMessage,
    RunState,
    utcnow,
)
from ledger.rulebook import Rulebook

BATCH_SIZE = 500
RETRIES = 8


@dataclass
class RunSummary:
    run_on: date
    dry_run: bool = False
    orders_due: int = 0
    orders_examined: int = 0
    steps: Counter = field(default_factory=Counter)  # action kind → count
    skipped: int = 0
    deferred: int = 0
    held: Counter = field(default_factory=Counter)  # why steps were deferred → how many
    messages_queued: int = 0
    problems: list[str] = field(default_factory=list)
    note: str | None = None


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
    only: list[int] | None = None,
    committed: Callable[[list[int]], None] | None = None,
) -> RunSummary:
    """Run the active rules for one merchant on `today` (for the orders `only`, when given).
    `committed(message_ids)` hears of each batch's outbox messages as soon as the batch is
    committed (the worker queues their delivery then, not at the end of the run). A dry run
    decides everything the same way and then rolls it all back."""
    summary = RunSummary(run_on=today, dry_run=dry_run)
    book = Rulebook.active(merchant.id)
    if book.program is None:
        summary.note = notes.text("run_no_rules")
        return summary
    if book.version.recomputed_at is None:
        # Newly activated rules whose background recompute has not finished: the due dates
        # the run selects by must be the new rules' first.
        scheduling.recompute_all(merchant, book.version)
        if not dry_run:
            db.session.commit()
    if not dry_run:
        manual.end_blocks(merchant.id, today)  # blocks whose end has passed: dunning resumes
    ctx = steps.StepContext(merchant, today, run.id if run else None)
    ids = due_order_ids(merchant.id, today)
    if only is not None:
        ids = sorted(set(ids) & set(only))
    summary.orders_due = len(ids)
    seen = 0  # the run's messages up to this id were handed to `committed` already
    for start in range(0, len(ids), BATCH_SIZE):
        _run_batch(ctx, book, summary, ids[start : start + BATCH_SIZE], dry_run)
        if committed and run is not None and not dry_run:
            written = outbox.pending_ids(run_id=run.id, after=seen)
            seen = written[-1] if written else seen
            committed(written)
        if progress:
            progress(summary.orders_examined, summary.orders_due)
    claims.review(merchant, today)  # "I have paid" claims whose pause ended without the money
    digests = digest.write_digests(merchant, today, ctx.run_id)
    summary.messages_queued += len(digests)
    summary.problems = ctx.problems
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
        if committed:
            committed(digests)
    return summary


def execute_order(merchant: Merchant, order_id: int, today: date, started_by: str):
    """The daily run's decision for one order, now (the order page's "run dunning"): the same
    code as the run, recorded as a run of its own, so a step fires exactly once whichever
    comes first (the unique (order, step, action) of its events). Returns (run, summary)."""
    run = start_run(merchant, today, "portal", started_by)
    summary = RunSummary(run_on=today, orders_due=1)
    book = Rulebook.active(merchant.id)
    if book.program is None:
        summary.note = notes.text("run_no_rules")
    else:
        ctx = steps.StepContext(merchant, today, run.id)
        _run_batch(ctx, book, summary, [order_id], dry_run=False)
        summary.problems = ctx.problems
    finish_run(run, summary)
    db.session.commit()
    return run, summary


def _run_batch(ctx, book, summary: RunSummary, ids: list[int], dry_run: bool) -> None:
    """Decide and apply one batch in one transaction; again on fresh rows when a row changed
    meanwhile (a payment, another run's step), so nothing is decided on a stale read."""
    for attempt in range(RETRIES):
        problems = len(ctx.problems)
        try:
            counts = _decide_batch(ctx, book, ids)
            db.session.flush()
            if not dry_run:
                db.session.commit()
            break
        except (StaleDataError, IntegrityError, OperationalError) as exc:
            db.session.rollback()
            del ctx.problems[problems:]
            if attempt == RETRIES - 1 or not lifecycle.transient(exc):
                raise
    summary.orders_examined += len(ids)
    summary.steps.update(counts["steps"])
    summary.skipped += counts["skipped"]
    summary.deferred += counts["deferred"]
    summary.held.update(counts["held"])
    summary.messages_queued += counts["messages"]


def _decide_batch(ctx: steps.StepContext, book: Rulebook, ids: list[int]) -> dict:
    counts = {"steps": Counter(), "skipped": 0, "deferred": 0, "messages": 0, "held": Counter()}
    orders = lifecycle.lock_many(ids)
    found = scheduling.histories(ids, ctx.merchant.bank_data_as_of)
    for order in orders:
        history = scheduling.with_claim(found[order.id], order)
        version, program = book.for_order(order)
        ctx.version_id = version.id if version else None
        if not order.is_open or order.dunning_block or order.erased_at or program is None:
            order.next_due_on = None
            continue
        facts = scheduling.order_facts(order)
        decision = program.decide(facts, history, ctx.today)
        if decision is None:
            following = program.next_due_on(facts, history)
            # Never leave an order due today that nothing fired for: it would be re-read daily.
            order.next_due_on = following and max(following, ctx.today + timedelta(days=1))
            continue
        if decision.deferred_to is not None:
            order.next_due_on = decision.deferred_to
            counts["deferred"] += 1
            counts["held"][decision.deferred_because or "deferred"] += 1
            continue
        messages = steps.apply(ctx, order, decision, history)
        if messages is None:
            order.next_due_on = None
            continue
        counts["messages"] += messages
        counts["skipped"] += len(decision.skipped)
        counts["steps"].update(a.kind for a in decision.step.actions)
        history = history.after(decision.step, ctx.today, decision.skipped)
        order.next_due_on = scheduling.next_due(order, program, history)
    return counts


def start_run(merchant: Merchant, today: date, trigger: str, started_by: str | None = None):
    """Create the run record the worker executes. Scheduled runs are unique per merchant and day."""
    run = DunningRun(
        merchant_id=merchant.id,
        run_on=today,
        trigger=trigger,
        started_by=started_by,
        schedule_key=f"{merchant.id}:{today.isoformat()}" if trigger == "schedule" else None,
        state=RunState.QUEUED,
        steps={},
    )
    db.session.add(run)
    db.session.flush()
    return run


def hand_to_worker(run_id: int) -> bool:
    """Queue a committed run's job under its fixed id, which the scheduler's recovery looks for.
    With Redis away nothing fails: the run stays queued, and the recovery starts it again once
    its lease is over (worker.jobs.recover_runs)."""
    import logging

    from flask import current_app
    from redis.exceptions import RedisError

    queue = current_app.extensions["job_queue"]
    try:
        queue.enqueue("worker.jobs.run_dunning", run_id, job_id=queue.job_id("run", run_id))
    except (RedisError, OSError) as exc:
        logging.getLogger(__name__).warning(
            "Redis is not answering (%s): run %s waits for the recovery", exc, run_id
        )
        return False
    return True


def finish_run(run: DunningRun, summary: RunSummary, error: str | None = None) -> None:
    run.orders_due = summary.orders_due
    run.orders_examined = summary.orders_examined
    run.steps = dict(summary.steps) | ({"skipped": summary.skipped} if summary.skipped else {})
    run.messages_queued = summary.messages_queued
    run.state = RunState.FAILED if error else RunState.DONE
    held = [
        notes.text("run_held", count=count, why=why) for why, count in sorted(summary.held.items())
    ]
    lines = [n for n in (error or summary.note, *held, *summary.problems) if n]
    run.error = "\n".join(lines) or None
    run.finished_at = utcnow()


def messages_sent(run_id: int) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.run_id == run_id, OutboxMessage.state == MessageState.SENT
        )
    )

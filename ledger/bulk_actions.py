"""One action on many orders of the list: send a reminder now, block, unblock, mark paid,
cancel. The merchant reviews first (`plan`: how many orders the action touches, which it skips
and why), then a BulkJob runs in the worker (`run`), order by order, with the same commands the
order page uses.

Each order's change commits together with the job's position (`done`), so a worker stopped
mid-job resumes where it stopped and never acts twice on an order. An order that changed since
the review is checked again and skipped with its reason; one that fails is rolled back, listed
with the error, and the job goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from rq.timeouts import BaseTimeoutException
from sqlalchemy import select, update

from ledger import audit, lifecycle, manual, notices, queueing
from ledger.bulk import among
from ledger.clock import today_for
from ledger.db import db
from ledger.lifecycle import Event, Refused
from ledger.models import (
    OPEN_STATUSES,
    BulkJob,
    Merchant,
    Order,
    OutboxMessage,
    Source,
    utcnow,
)
from ledger.refusals import Refusal

# action -> the lifecycle event that may refuse it (lifecycle.why_not)
ACTIONS: dict[str, Event] = {
    "remind": Event.REMIND,  # manual.remind_now, the order page's "Send reminder now"
    "block": Event.BLOCK,  # manual.block
    "unblock": Event.UNBLOCK,  # manual.unblock
    "mark_paid": Event.PAYMENT,  # lifecycle.record_payment of the whole open amount
    "cancel": Event.CANCEL,  # lifecycle.cancel
}
NEEDS_REASON = ("block",)  # the order page asks a block's reason too
NOTICES = ("none", "email", "letter")  # a cancellation notice to the customer
MAX_ORDERS = 10_000
CHUNK = 1000
PAID_NOTE = "bulk"


class BulkRefused(Refused):
    """The bulk action cannot start; nothing was stored."""


def _orders(merchant_id: int, order_ids: Iterable[int]) -> list[Order]:
    """The merchant's orders among the ids, in the ids' order (others' ids are left out)."""
    ids = list(dict.fromkeys(order_ids))
    found: dict[int, Order] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(
            (order.id, order)
            for order in db.session.scalars(
                select(Order).where(Order.merchant_id == merchant_id, among(Order.id, chunk))
            )
        )
    return [found[i] for i in ids if i in found]


def why_not(order: Order, action: str, params: dict | None = None) -> Refusal | None:
    """Why the action does not apply to the order now (a Refusal), or None when it does;
    `params`: the job's (a cancel's notice needs its email or postal address)."""
    if order.erased_at is not None:
        return Refusal("erased")
    if action == "mark_paid":
        if order.status not in OPEN_STATUSES:
            return Refusal("status", status=order.status)
        refusal = lifecycle.why_not(order, Event.PAYMENT)
        if refusal is None and order.statement.principal_open <= 0:
            refusal = Refusal("paid_already")
        return refusal
    refusal = lifecycle.why_not(order, ACTIONS[action])
    if refusal is None and action == "remind":
        if not (order.customer_email or "").strip():
            refusal = Refusal("no_customer_email")  # a reminder now is an email (no letter)
        elif order.payment_claimed_on is not None:
            refusal = Refusal("claim_pending")  # the rules pause for it; so does a bulk reminder
    if refusal is None and action == "cancel":
        refusal = notices.cancellation_choices(order).get((params or {}).get("notice") or "none")
    return refusal


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise BulkRefused("bulk_action", action=action)


def plan(
    merchant: Merchant, action: str, order_ids, params: dict | None = None
) -> tuple[list[int], list[dict]]:
    """The ids the action would touch, and the ones it skips: [{"number", "reason"}], the
    reason a Refusal (its English text; the portal words it by its code)."""
    _check_action(action)
    touch, skipped = [], []
    for order in _orders(merchant.id, order_ids):
        reason = why_not(order, action, params)
        if reason is None:
            touch.append(order.id)
        else:
            skipped.append({"number": order.number, "reason": reason})
    return touch, skipped


def start(merchant: Merchant, action: str, order_ids, params: dict, actor: str) -> BulkJob:
    """Plan again (the orders may have changed since the review), store the job (queued, the
    skipped ones listed) and audit it; the caller commits and enqueues it (`enqueue`)."""
    _check_action(action)
    ids = list(dict.fromkeys(order_ids))
    if len(ids) > MAX_ORDERS:
        raise BulkRefused("bulk_too_many", count=len(ids), limit=MAX_ORDERS)
    touch, skipped = plan(merchant, action, ids, params)
    if not touch:
        raise BulkRefused("bulk_empty")
    job = BulkJob(
        merchant_id=merchant.id,
        action=action,
        params=dict(params),
        order_ids=touch,
        total=len(touch),
        done=0,
        skipped=[_skip(s["number"], s["reason"], "review") for s in skipped],
        state="queued",
        created_by=actor,
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        merchant.id, actor, "bulk.started", None,
        job=job.id, bulk_action=action, count=len(touch), skipped=len(skipped),
    )  # fmt: skip
    return job


def enqueue(job: BulkJob) -> None:
    """Hand the committed job to the worker. A worker killed midway leaves the job abandoned;
    RQ's cleanup then runs it again (its retries), and `run` goes on from the job's position."""
    from flask import current_app
    from rq import Retry

    current_app.extensions["job_queue"].enqueue(
        "worker.jobs.run_bulk_job",
        job.id,
        job_id=job_key(job.id),
        job_timeout=4 * 3600,
        retry=Retry(max=3),
    )


def job_key(job_id: int) -> str:
    """The RQ job's id: one per bulk job, so the sweep can see whether it is still there."""
    from flask import current_app

    return current_app.extensions["job_queue"].job_id("bulk", job_id)


def unfinished(before: datetime) -> list[int]:
    """Jobs queued or running, made before `before`: the sweep hands each whose RQ job is gone
    (Redis away at the start or restarted, retries used up by killed workers) to the workers
    again. Handing one over twice is harmless (`run` goes on from the committed position)."""
    return list(
        db.session.scalars(
            select(BulkJob.id)
            .where(BulkJob.state.in_(("queued", "running")), BulkJob.created_at < before)
            .order_by(BulkJob.id)
        )
    )


def _skip(number: str, reason: str, stage: str) -> dict:
    return {"number": number, "reason": str(reason), "stage": stage}


def touched(job: BulkJob) -> int:
    """How many orders the job has acted on so far."""
    return job.done - sum(1 for s in job.skipped or () if s.get("stage") == "run")


class _Moved(Exception):
    """Another worker moved the job on meanwhile: this one stops."""


def _advance(job_id: int, position: int) -> None:
    """The job's position moves on, in the transaction of the order's change: only from where
    this worker found it (a second worker on the same job finds it moved and stops)."""
    moved = db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id, BulkJob.done == position)
        .values(done=position + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise _Moved


def _command(action: str, params: dict, actor: str):
    """The order page's command for the action: (order, cause) -> result."""
    reason = (params.get("reason") or "").strip() or None
    notice = params.get("notice") or "none"

    def remind(order, cause):
        return manual.remind_now(order, cause.today, cause.actor)

    def block(order, cause):
        return manual.block(order, dataclasses.replace(cause, reason=reason), None)

    def unblock(order, cause):
        return manual.unblock(order, cause)

    def mark_paid(order, cause):
        if order.statement.principal_open <= 0:
            raise Refused("paid_already")
        return lifecycle.record_payment(
            order, order.statement.principal_open, cause.today, cause, note=PAID_NOTE
        )[0]

    def cancel(order, cause):
        why = reason or "cancelled in the portal"
        # The customer's notice in the same transaction: refused (no address for it), the
        # order is not cancelled either and is listed as skipped with the reason.
        return manual.cancel(order, dataclasses.replace(cause, reason=why), notice)

    return {
        "remind": remind,
        "block": block,
        "unblock": unblock,
        "mark_paid": mark_paid,
        "cancel": cancel,
    }[action]


def run(job_id: int) -> dict:
    """Run the job from its position on (in the worker). Returns what it did."""
    job = db.session.get(BulkJob, job_id)
    if job is None or job.state in ("done", "failed"):
        return {"skipped": "the job is not waiting"}
    if job.state != "running":
        job.state = "running"
        db.session.commit()
    merchant = db.session.get(Merchant, job.merchant_id)
    action, params, actor = job.action, dict(job.params or {}), job.created_by
    command = _command(action, params, actor)
    order_ids, first = list(job.order_ids), job.done  # read once: 10,000 ids at most
    try:
        for position in range(first, len(order_ids)):
            order_id = order_ids[position]
            order = db.session.get(Order, order_id)
            if order is None or order.merchant_id != job.merchant_id:
                _record_skip(job, position, "?", Refusal("no_order"))
                continue
            number = order.number
            cause = lifecycle.Cause(
                actor, Source.MANUAL, today_for(merchant), reason=params.get("reason") or None
            )

            def unit(order_id=order_id, position=position, cause=cause):
                locked = lifecycle.lock(order_id)
                refusal = why_not(locked, action, params)
                if refusal is not None:
                    raise Refused(refusal)
                result = command(locked, cause)
                _advance(job_id, position)
                return locked, result

            try:
                locked, result = lifecycle.retrying(unit)
            except _Moved:
                return {"stopped": "another worker runs the job"}
            except Refused as exc:
                _record_skip(job, position, number, exc.reason)
                continue
            except BaseTimeoutException:
                raise  # the job's time is up, not the order's fault: RQ retries the job
            except Exception as exc:  # noqa: BLE001 - one order's failure does not stop the job
                detail = f"{type(exc).__name__}: {exc}"[:300]
                _record_skip(job, position, number, Refusal("bulk_failed", detail=detail))
                continue
            _after(result)
        job = db.session.get(BulkJob, job_id)
        job.state = "done"
        job.finished_at = utcnow()
        audit.record(
            job.merchant_id, actor, "bulk.finished", None,
            job=job.id, bulk_action=action, count=touched(job),
            skipped=len(job.skipped or ()),
        )  # fmt: skip
        db.session.commit()
    except _Moved:
        db.session.rollback()
        return {"stopped": "another worker runs the job"}
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(BulkJob, job_id)
        job.state = "failed"
        job.error = f"{type(exc).__name__}: {exc}"[:1000]
        job.finished_at = utcnow()
        db.session.commit()
        raise
    return {"done": job.done, "touched": touched(job), "skipped": len(job.skipped or ())}


def _record_skip(job: BulkJob, position: int, number: str, reason) -> None:
    """The order at `position` is skipped: listed with its reason, the job moves on (one
    transaction)."""
    db.session.rollback()
    job = db.session.get(BulkJob, job.id)
    _advance(job.id, position)
    job.skipped = [*(job.skipped or ()), _skip(number, reason, "run")]
    db.session.commit()


def _after(result) -> None:
    """Once the order's change is committed: its message (a reminder, a cancellation notice)
    to the worker, as the order page does."""
    if isinstance(result, OutboxMessage):
        queueing.deliver_soon(result.id)

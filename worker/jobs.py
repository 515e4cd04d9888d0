"""RQ jobs. They take ids, run inside an app context (see worker.runner) and commit their work."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger import dunning, lifecycle, outbox, rulesets, scheduling
from ledger.clock import DEFAULT_TIMEZONE, today_for
from ledger.db import db
from ledger.models import (
    DunningRun,
    Merchant,
    MessageState,
    OutboxMessage,
    RulesetVersion,
    RunState,
    utcnow,
)
from worker.channels import ChannelError, email, letter, webhook

log = logging.getLogger(__name__)
CHANNELS = {"email": email.send, "webhook": webhook.send, "letter": letter.send}
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)


def _queue():
    return current_app.extensions["job_queue"]


def run_dunning(run_id: int) -> dict:
    """Execute a queued run, then enqueue the delivery of the messages it wrote."""
    claimed = db.session.execute(
        update(DunningRun)
        .where(DunningRun.id == run_id, DunningRun.state == RunState.QUEUED)
        .values(state=RunState.RUNNING, started_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return {"skipped": "run is not queued"}
    run = db.session.get(DunningRun, run_id)
    merchant = db.session.get(Merchant, run.merchant_id)

    def progress(examined: int, due: int) -> None:
        run.orders_examined, run.orders_due = examined, due
        db.session.commit()

    try:
        summary = dunning.execute(merchant, run.run_on, run=run, progress=progress)
    except Exception as exc:
        db.session.rollback()
        dunning.finish_run(
            run, dunning.RunSummary(run.run_on), error=f"{type(exc).__name__}: {exc}"
        )
        db.session.commit()
        raise
    dunning.finish_run(run, summary)
    db.session.commit()
    for message_id in outbox.pending_ids(run_id=run.id):
        _queue().enqueue("worker.jobs.deliver", message_id)
    return {"orders_examined": summary.orders_examined, "steps": dict(summary.steps)}


def _still_wanted(message: OutboxMessage) -> str | None:
    """Last look before a customer hears from us: a reminder to a paid, cancelled or blocked
    order is never sent, whatever happened since the decision (the order lifecycle decides)."""
    if message.purpose not in outbox.CUSTOMER_PURPOSES:
        return None
    return lifecycle.may_message(message.order)


def deliver(message_id: int) -> str:
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == MessageState.PENDING)
        .values(state=MessageState.SENDING)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "not pending"
    message = db.session.get(OutboxMessage, message_id)
    merchant = db.session.get(Merchant, message.merchant_id)
    reason = _still_wanted(message)
    if reason:
        outbox.mark_cancelled(message, reason)
        db.session.commit()
        return "cancelled"
    try:
        CHANNELS[message.kind](message, merchant)
    except ChannelError as exc:
        retry = outbox.mark_failed(message, str(exc)) and not exc.permanent
        if not retry:
            message.state = MessageState.FAILED
        db.session.commit()
        if retry:
            delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
            _queue().queue.enqueue_in(delay, "worker.jobs.deliver", message.id)
        log.warning("delivery of message %s failed: %s", message.id, exc)
        return "failed"
    outbox.mark_sent(message)
    db.session.commit()
    return "sent"


def daily_run_day(timezone: str, now_utc: datetime, hour: int) -> date | None:
    """The merchant's local day when it is past the run hour there, else None."""
    local = now_utc.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE))
    return local.date() if local.hour >= hour else None


def dispatch_daily_runs(now_utc: datetime | None = None) -> list[int]:
    """Fired by the cron scheduler every few minutes: start each merchant's daily run once it is
    past the run hour in the merchant's own time zone (a missed hour is caught up), and pick up
    deliveries a crashed worker left behind."""
    now_utc = now_utc or datetime.now(UTC)
    hour = current_app.config["DAILY_RUN_HOUR"]
    started = []
    for merchant in db.session.scalars(select(Merchant).order_by(Merchant.id)).all():
        if rulesets.active_version(merchant.id) is None:
            continue
        if current_app.config["MAHNWERK_TODAY"]:
            day = today_for(merchant)
        else:
            day = daily_run_day(merchant.timezone, now_utc, hour)
        if day is None:
            continue
        try:
            run = dunning.start_run(merchant, day, "schedule")
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # this day's scheduled run exists already
            continue
        _queue().enqueue("worker.jobs.run_dunning", run.id)
        started.append(run.id)
    requeue_stale_messages()
    return started


def requeue_stale_messages(older_than_minutes: int = 15) -> int:
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    # Never-tried messages whose job was lost, and sends a crashed worker left half-done.
    # Messages already tried have a retry scheduled and keep their back-off.
    stale = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.created_at < cutoff,
            or_(
                OutboxMessage.state == MessageState.SENDING,
                and_(OutboxMessage.state == MessageState.PENDING, OutboxMessage.attempts == 0),
            ),
        )
    ).all()
    for message in stale:
        message.state = MessageState.PENDING
    db.session.commit()
    for message in stale:
        _queue().enqueue("worker.jobs.deliver", message.id)
    return len(stale)


def recompute_next_due(version_id: int) -> dict:
    """After an activation from the portal: every order's next due date under the new rules,
    in batches whose progress the rules page shows. Stops when a newer version took over."""
    version = db.session.get(RulesetVersion, version_id)
    if version is None or not version.active or version.recomputed_at is not None:
        return {"skipped": "not the active version, or recomputed already"}
    merchant = db.session.get(Merchant, version.merchant_id)

    def progress(done: int) -> bool:
        still_active = db.session.scalar(
            select(RulesetVersion.active).where(RulesetVersion.id == version_id)
        )
        version.recompute_done = min(done, version.recompute_total or done)
        db.session.commit()
        return bool(still_active)

    count = scheduling.recompute_all(merchant, version, progress=progress)
    db.session.commit()
    return {"orders": count, "done": version.recomputed_at is not None}

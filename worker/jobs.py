"""RQ jobs. They take ids, run inside an app context (see worker.runner) and commit their work."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger import dashboard, dunning, lifecycle, outbox, rulesets, scheduling
from ledger.clock import DEFAULT_TIMEZONE, today_for
from ledger.db import db
from ledger.models import (
    BulkJob,
    DunningRun,
    Merchant,
    OutboxMessage,
    RulesetVersion,
    RunState,
    utcnow,
)
from worker.bank_inbox import match_stranded, sweep_bank_inboxes
from worker.channels import ChannelError, email, letter, webhook

log = logging.getLogger(__name__)
CHANNELS = {"email": email.send, "webhook": webhook.send, "letter": letter.send}


def _queue():
    return current_app.extensions["job_queue"]


def run_dunning(run_id: int) -> dict:
    """Execute a queued run. Its deliveries are queued as each batch commits; its heartbeat
    (after every batch) tells the scheduler it is alive (recover_runs)."""
    claimed = db.session.execute(
        update(DunningRun)
        .where(DunningRun.id == run_id, DunningRun.state == RunState.QUEUED)
        .values(state=RunState.RUNNING, started_at=utcnow(), heartbeat_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return {"skipped": "run is not queued"}
    run = db.session.get(DunningRun, run_id)
    merchant = db.session.get(Merchant, run.merchant_id)

    def progress(examined: int, due: int) -> None:
        run.orders_examined, run.orders_due = examined, due
        run.heartbeat_at = utcnow()
        db.session.commit()

    try:
        summary = dunning.execute(
            merchant, run.run_on, run=run, progress=progress, committed=_deliver_all
        )
    except Exception as exc:
        db.session.rollback()
        dunning.finish_run(
            run, dunning.RunSummary(run.run_on), error=f"{type(exc).__name__}: {exc}"
        )
        db.session.commit()
        raise
    dunning.finish_run(run, summary)
    db.session.commit()
    if not run.dry_run:
        dashboard.schedule_refresh(run.merchant_id)
    return {"orders_examined": summary.orders_examined, "steps": dict(summary.steps)}


def _deliver_all(message_ids) -> None:
    """Hand messages to the workers. With Redis away they stay pending in the database, and the
    scheduler's sweep (sweep_outbox) hands them over later: a run never fails for it."""
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow

    try:
        for message_id in message_ids:
            _queue().enqueue("worker.jobs.deliver", message_id)
    except (RedisDown, RedisSlow) as exc:
        log.warning("Redis is not answering (%s): the sweeper will deliver these messages", exc)


def _still_wanted(message: OutboxMessage) -> str | None:
    """Last look before a customer hears from us: a request for money to a paid or cancelled
    order is never sent, whatever happened since the decision (the order lifecycle decides)."""
    if message.purpose not in outbox.LAST_LOOK_PURPOSES:
        return None
    return lifecycle.may_message(message.order, message.purpose)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def deliver(message_id: int) -> str:
    """Claim the message under a lease, take the last look, send it, record how it went. Any
    failure — not only the channel's — counts, backs off and is kept with its reason."""
    if not outbox.claim(message_id, _worker_name()):
        return "not due"
    message = db.session.get(OutboxMessage, message_id)
    merchant = db.session.get(Merchant, message.merchant_id)
    reason = _still_wanted(message)
    if reason:
        outbox.mark_cancelled(message, reason)
        db.session.commit()
        return "cancelled"
    try:
        CHANNELS[message.kind](message, merchant)
    except Exception as exc:  # noqa: BLE001 - every failure is counted and kept, never lost
        db.session.rollback()
        message = db.session.get(OutboxMessage, message_id)
        permanent = isinstance(exc, ChannelError) and exc.permanent
        text = str(exc) if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
        delay = outbox.mark_failed(message, text, permanent)
        db.session.commit()
        if delay is not None:
            _queue().queue.enqueue_in(delay, "worker.jobs.deliver", message.id)
        log.warning("delivery of message %s failed: %s", message.id, text)
        return "failed"
    outbox.mark_sent(message)
    db.session.commit()
    return "sent"


def daily_run_day(timezone: str, now_utc: datetime, hour: int) -> date | None:
    """The merchant's local day when it is past the run hour there, else None."""
    local = now_utc.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE))
    return local.date() if local.hour >= hour else None


def run_hour(merchant: Merchant, installation_hour: int) -> int:
    """The local hour of the merchant's daily run: its own (settings), else the installation's
    MAHNWERK_DAILY_RUN_HOUR."""
    return installation_hour if merchant.run_hour is None else merchant.run_hour


def dispatch_daily_runs(now_utc: datetime | None = None) -> list[int]:
    """Fired by the cron scheduler every few minutes: start each merchant's daily run once it is
    past its run hour in the merchant's own time zone (a missed hour is caught up), and pick up
    deliveries a crashed worker left behind. Statement files waiting in the bank inbox folders
    are imported before any run starts."""
    now_utc = now_utc or datetime.now(UTC)
    hour = current_app.config["DAILY_RUN_HOUR"]
    sweep_bank_inboxes()  # payments first: a statement dropped before the run counts in it
    match_stranded()
    started = []
    for merchant in db.session.scalars(select(Merchant).order_by(Merchant.id)).all():
        if rulesets.active_version(merchant.id) is None:
            continue
        if current_app.config["MAHNWERK_TODAY"]:
            day = today_for(merchant)
        else:
            day = daily_run_day(merchant.timezone, now_utc, run_hour(merchant, hour))
        if day is None:
            continue
        try:
            run = dunning.start_run(merchant, day, "schedule")
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # this day's scheduled run exists already
            continue
        dunning.hand_to_worker(run.id)
        started.append(run.id)
    recover_runs()
    recover_bulk_jobs()
    sweep_outbox()
    return started


def sweep_outbox(now: datetime | None = None) -> int:
    """Hand every message that is due and waiting (its job lost with a Redis restart, a retry
    whose delay passed, a lease a killed worker left) to the workers again. Harmless twice:
    the lease lets only one delivery claim a message."""
    ids = outbox.due_ids(now)
    _deliver_all(ids)
    return len(ids)


RUN_LEASE = timedelta(minutes=5)  # a batch of 500 orders takes seconds; its heartbeat follows


def recover_runs(now: datetime | None = None) -> list[int]:
    """Runs that died: `running` without a heartbeat for RUN_LEASE, or `queued` for longer with
    no job left in Redis. Each is marked interrupted and the same day started again; the new
    run does what the dead one did not (the unique step constraint keeps every step once)."""
    now = now or utcnow()
    cutoff = now - RUN_LEASE
    stale = db.session.scalars(
        select(DunningRun).where(
            or_(
                and_(DunningRun.state == RunState.RUNNING, DunningRun.heartbeat_at < cutoff),
                and_(DunningRun.state == RunState.QUEUED, DunningRun.created_at < cutoff),
            )
        )
    ).all()
    restarted = []
    for run in stale:
        # a job RQ still has waits its turn; a failed one (kept for a year) does not count
        if run.state == RunState.QUEUED and _queue().alive(_queue().job_id("run", run.id)):
            continue
        marked = db.session.execute(
            update(DunningRun)
            .where(DunningRun.id == run.id, DunningRun.state == run.state)
            .values(state=RunState.INTERRUPTED, finished_at=now, schedule_key=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not marked:
            db.session.rollback()
            continue
        merchant = db.session.get(Merchant, run.merchant_id)
        again = dunning.start_run(merchant, run.run_on, run.trigger, run.started_by)
        again.restart_of = run.id
        db.session.commit()
        dunning.hand_to_worker(again.id)
        restarted.append(again.id)
    return restarted


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


def refresh_dashboard(merchant_id: int) -> dict:
    """Recompute the merchant's dashboard figures (ledger.dashboard) and store them."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        return {"skipped": "no such merchant"}
    try:
        dashboard.refresh(merchant, today_for(merchant))
        db.session.commit()
    except IntegrityError:  # another worker stored the merchant's first snapshot meanwhile
        db.session.rollback()
        dashboard.refresh(merchant, today_for(merchant))
        db.session.commit()
    return {"merchant": merchant_id}


def refresh_stale_dashboards() -> list[int]:
    """Every few minutes (the scheduler, beside the dispatch): recompute the snapshots that are
    missing, of an earlier day (the nightly recompute, in each merchant's time zone) or older
    than the newest bank import or run (the inbox, the command line, a trigger lost)."""
    asked = []
    for merchant in db.session.scalars(select(Merchant).order_by(Merchant.id)).all():
        stale = dashboard.needs_refresh(merchant, today_for(merchant))
        if stale and dashboard.schedule_refresh(merchant.id):
            asked.append(merchant.id)
    return asked


def purge_old_messages() -> int:
    """Monthly (the scheduler): emails and letters past retention lose their content
    (ledger/retention.py); the rows stay as tombstones."""
    from ledger import retention

    purged = retention.purge()
    db.session.commit()
    log.info("retention: %d messages purged", purged)
    return purged


def recover_bulk_jobs(now: datetime | None = None) -> list[int]:
    """Bulk jobs of the orders list, queued or running for longer than RUN_LEASE, whose RQ job
    is gone or failed (the hand-over to Redis lost, a Redis restart, every retry used up by
    killed workers): to the workers again, going on from their committed position."""
    from redis.exceptions import RedisError

    from ledger import bulk_actions

    handed = []
    try:
        for job_id in bulk_actions.unfinished((now or utcnow()) - RUN_LEASE):
            if not _queue().alive(bulk_actions.job_key(job_id)):
                bulk_actions.enqueue(db.session.get(BulkJob, job_id))
                handed.append(job_id)
    except (RedisError, OSError) as exc:
        log.warning("Redis is not answering (%s): bulk jobs wait", exc)
    return handed


def run_bulk_job(job_id: int) -> dict:
    """A bulk action of the orders list (ledger.bulk_actions): order by order, each change
    committed with the job's position, so a rerun after a stop goes on where it stopped."""
    from ledger import bulk_actions

    return bulk_actions.run(job_id)

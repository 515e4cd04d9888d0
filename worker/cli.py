"""Worker-side commands: worker, scheduler, mail sink, `dunning run`, and `serve` (all at once)."""

from __future__ import annotations

import os
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, func, or_, select

from ledger import dunning, outbox
from ledger.accounts import find_merchant
from ledger.clock import today_for
from ledger.db import db
from ledger.models import DunningRun, Merchant, MessageState, OutboxMessage, RunState
from worker.runner import AppWorker, InlineWorker, make_worker

DISPATCH_CRON = "*/5 * * * *"  # also recovers dead runs and sweeps the outbox
RETENTION_CRON = "17 3 1 * *"  # monthly: mail and letters past retention (ledger/retention.py)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker on the Mahnwerk queue. When Redis goes away it waits and connects
    again (1 s, doubling up to a minute) instead of exiting."""
    from redis.exceptions import ConnectionError as RedisDown

    app = current_app._get_current_object()
    delay = 1.0
    while True:
        try:
            make_worker(app, AppWorker).work(burst=burst, with_scheduler=True)
            return
        except RedisDown as exc:
            click.echo(f"Redis is not answering ({exc}); trying again in {delay:.0f} s", err=True)
            time.sleep(delay)
            delay = min(delay * 2, 60.0)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run RQ's cron scheduler: it starts each merchant's daily run at the run hour, local time."""
    from rq.cron import CronScheduler

    from worker.jobs import dispatch_daily_runs, purge_old_messages, refresh_stale_dashboards

    queue = current_app.extensions["job_queue"]
    scheduler = CronScheduler(connection=queue.connection)
    scheduler.register(dispatch_daily_runs, queue.name, cron=DISPATCH_CRON)
    scheduler.register(refresh_stale_dashboards, queue.name, cron=DISPATCH_CRON)
    scheduler.register(purge_old_messages, queue.name, cron=RETENTION_CRON)
    # Catch up at once after a restart: today's run, runs that died, messages left waiting.
    queue.enqueue("worker.jobs.dispatch_daily_runs")
    scheduler.start()


@click.command("mailsink")
@click.option("--port", default=None, type=int, help="Defaults to MAIL_PORT.")
@with_appcontext
def mailsink_command(port: int | None) -> None:
    """Run the local SMTP sink; every message lands as an .eml file under instance/mail/."""
    from worker.mailsink import start_sink

    folder = current_app.config["MAILSINK_DIR"]
    controller = start_sink(
        folder, port=port or current_app.config["MAIL_PORT"], app=current_app._get_current_object()
    )
    click.echo(f"mail sink on {controller.hostname}:{controller.port}, storing in {folder}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


@click.group("dunning")
def dunning_group() -> None:
    """The dunning run."""


@dunning_group.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Run as of this day.")
@click.option("--merchant", "merchant_name", help="Only this merchant (default: all).")
@click.option("--dry-run", is_flag=True, help="Decide and report, change and send nothing.")
@click.option("--wait", default=120, show_default=True, help="Seconds to wait for delivery.")
@with_appcontext
def run_command(day, merchant_name: str | None, dry_run: bool, wait: int) -> None:
    """Run the rules now; returns once the run's messages are delivered."""
    if merchant_name:
        merchant = find_merchant(merchant_name)
        if merchant is None:
            raise click.ClickException(f"no merchant named {merchant_name!r}")
        merchants = [merchant]
    else:
        merchants = db.session.scalars(select(Merchant).order_by(Merchant.id)).all()
    for merchant in merchants:
        today = day.date() if day else today_for(merchant)
        if dry_run:
            summary = dunning.execute(merchant, today, dry_run=True)
            _print_summary(merchant, summary.orders_examined, summary.steps, None, summary.note)
            continue
        run = dunning.start_run(merchant, today, "cli")
        db.session.commit()
        _execute_and_deliver(run.id, wait)
        run = db.session.get(DunningRun, run.id)
        db.session.refresh(run)
        if run.state == RunState.FAILED:
            raise click.ClickException(f"run {run.id} failed: {run.error}")
        _print_summary(merchant, run.orders_examined, run.steps, run.id, run.error)


def _execute_and_deliver(run_id: int, wait: int) -> None:
    """Enqueue the run and work the queue here until its messages are out. A worker running
    elsewhere may take some of the jobs; then we wait for it."""
    app = current_app._get_current_object()
    dunning.hand_to_worker(run_id)
    make_worker(app, InlineWorker).work(burst=True, logging_level="WARNING")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        db.session.expire_all()
        run = db.session.get(DunningRun, run_id)
        if run.state in (RunState.DONE, RunState.FAILED) and not _undelivered(run_id):
            return
        time.sleep(0.2)
        make_worker(app, InlineWorker).work(burst=True, logging_level="WARNING")
    click.echo(
        f"still undelivered after {wait}s: {_undelivered(run_id)} message(s), retrying later"
    )


def _undelivered(run_id: int) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.run_id == run_id,
            or_(
                OutboxMessage.state == MessageState.SENDING,
                and_(OutboxMessage.state == MessageState.PENDING, OutboxMessage.attempts == 0),
            ),
        )
    )


def _print_summary(merchant, examined: int, steps: dict, run_id: int | None, note) -> None:
    fired = ", ".join(f"{k} {v}" for k, v in sorted(steps.items())) or "none"
    line = f"{merchant.name}: {examined} orders examined; steps: {fired}"
    if run_id is not None:
        line += f"; messages sent: {dunning.messages_sent(run_id)}"
    else:
        line += " (dry run: nothing changed, nothing sent)"
    if note:
        line += f" [{note}]"
    click.echo(line)


@click.command("demo")
@click.option("--orders", default=300, show_default=True)
@with_appcontext
def demo_command(orders: int) -> None:
    """Load a demo merchant whose last 60 days really happened (once; later calls do nothing).

    Each simulated day's messages are delivered as the worker would, to the mail sink (started
    here for the duration) unless MAIL_SERVER is set."""
    from ledger import demo
    from ledger.accounts import find_merchant
    from worker.jobs import deliver
    from worker.mail import mail
    from worker.mailsink import start_sink

    app = current_app._get_current_object()
    sink = None
    if "MAIL_SERVER" not in os.environ:
        sink = start_sink(app.config["MAILSINK_DIR"], port=None)
        app.config["MAIL_PORT"] = sink.port
        mail.init_app(app)

    def deliver_run(run) -> None:
        for message_id in outbox.pending_ids(run_id=run.id):
            deliver(message_id)

    try:
        created = demo.load(orders, after_run=deliver_run)
        if created:  # the letters it asked for, into the print run
            merchant = find_merchant(demo.MERCHANT_NAME)
            for message_id in outbox.pending_ids(merchant_id=merchant.id):
                deliver(message_id)
    finally:
        if sink:
            sink.stop()
    if created:
        click.echo(f"demo data loaded: {orders} orders for {demo.MERCHANT_NAME!r}")
    else:
        click.echo("demo data exists already")
    click.echo(f"demo login: {demo.DEMO_EMAIL} / {demo.DEMO_PASSWORD}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--debug", is_flag=True, help="Flask's development server and debugger.")
@with_appcontext
def serve_command(host: str, port: int, debug: bool) -> None:
    """Start everything: mail sink, redis, worker, scheduler and the portal (under gunicorn,
    MAHNWERK_WEB_WORKERS processes)."""
    from worker.supervisor import serve

    serve(current_app._get_current_object(), host, port, debug=debug)


def register_commands(app) -> None:
    for command in (
        worker_command,
        scheduler_command,
        mailsink_command,
        dunning_group,
        demo_command,
        serve_command,
    ):
        app.cli.add_command(command)

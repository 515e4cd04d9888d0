"""Outages of the parts around the worker: Redis killed and restarted in the middle of a run, the
SMTP server down and back, and two runs of the same day at once. Each ends with every due step
once and every mail once at the real SMTP sink; docs/reliability.md reports the counts
(`pytest -s` prints them)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.faults.parts import (
    RUN_DAY,
    age_leases,
    book,
    delivered,
    start_worker,
    stop_worker,
    wait_for,
)

pytestmark = pytest.mark.slow
ORDERS = 320


def _run_state(app, run_id: int):
    from ledger.db import db
    from ledger.models import DunningRun

    with app.app_context():
        run = db.session.get(DunningRun, run_id)
        return run.state, run.orders_examined


def _counts(app) -> tuple[Counter, Counter, Counter]:
    """Reminders per order, outbox states, run states."""
    from ledger.db import db
    from ledger.models import DunningEvent, DunningRun, OutboxMessage

    with app.app_context():
        reminders = Counter(
            db.session.scalars(select(DunningEvent.order_id).where(DunningEvent.action == "remind"))
        )
        states = Counter(db.session.scalars(select(OutboxMessage.state)))
        runs = Counter(db.session.scalars(select(DunningRun.state)))
    return reminders, states, runs


def _scheduler_tick(app, after: timedelta = timedelta(0)) -> list[int]:
    """What the scheduler does every five minutes, `after` from now: recover dead runs, sweep."""
    from ledger.models import utcnow
    from worker import jobs

    with app.app_context():
        restarted = jobs.recover_runs(utcnow() + after)
        jobs.sweep_outbox(utcnow() + after)
    return restarted


def test_redis_killed_and_restarted_mid_run(app, make_merchant, mail_sink, own_redis, tmp_path):
    """kill -9 of redis-server while the worker runs a run of 320 due orders; a new, empty
    redis-server a second later. The worker stays up, the run completes, nothing is lost."""
    from ledger import dunning
    from ledger.db import db
    from ledger.models import Merchant, RunState

    merchant_id = book(app, make_merchant, ORDERS)
    with app.app_context():
        run = dunning.start_run(db.session.get(Merchant, merchant_id), RUN_DAY, "schedule")
        db.session.commit()
        run_id = run.id
        dunning.hand_to_worker(run_id)
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        wait_for(lambda: _run_state(app, run_id)[1] >= 40, 120, "the run to get going")
        own_redis.kill()
        examined_at_kill = _run_state(app, run_id)[1]
        time.sleep(1)
        own_redis.start()
        state = wait_for(
            lambda: (
                _run_state(app, run_id)[0] in (RunState.DONE, RunState.FAILED)
                and _run_state(app, run_id)[0]
            ),
            120,
            "the run to end",
        )
        assert state == RunState.DONE
        # The deliveries queued before the kill are gone with Redis: the scheduler's next
        # sweep hands every message still pending to the worker, which is still there.
        _scheduler_tick(app, after=timedelta(minutes=2))
        wait_for(lambda: len(delivered(mail_sink)) >= ORDERS, 180, "every reminder at the sink")
        time.sleep(1)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_worker(worker)
    reminders, states, runs = _counts(app)
    assert len(reminders) == ORDERS and set(reminders.values()) == {1}
    assert states == {"sent": ORDERS}
    assert runs == {"done": 1}
    mails = delivered(mail_sink)
    duplicates = sum(n - 1 for n in mails.values())
    assert len(mails) == ORDERS and duplicates == 0
    print(
        f"\nredis killed at {examined_at_kill} of {ORDERS} orders: run {state}, "
        f"mails {sum(mails.values())}, duplicates {duplicates}, worker survived"
    )


def test_smtp_down_then_up(app, make_merchant, mail_sink, tmp_path):
    """The SMTP server is down for a whole run's deliveries: every message waits, counted and
    backing off, none lost; when it answers again, the next sweep delivers each once."""
    from ledger import dunning, outbox
    from ledger.db import db
    from ledger.models import Merchant, OutboxMessage, utcnow
    from tests.conftest import MailSink
    from worker import jobs
    from worker.mailsink import free_port, start_sink

    port = free_port()  # nobody listens here yet
    app.config["MAIL_PORT"] = port
    merchant_id = book(app, make_merchant, ORDERS)
    with app.app_context():
        run = dunning.start_run(db.session.get(Merchant, merchant_id), RUN_DAY, "schedule")
        db.session.commit()
        jobs.run_dunning(run.id)
    start_worker(app, tmp_path / "worker-down.log", burst=True).wait(300)
    with app.app_context():
        waiting = db.session.execute(select(OutboxMessage)).scalars().all()
        assert {(m.state, m.attempts) for m in waiting} == {("pending", 1)}
        assert all("SMTP" in m.last_error and m.next_attempt_at for m in waiting)

    sink = MailSink(tmp_path / "mail", port)
    controller = start_sink(sink.folder, port=port)  # the server is back
    try:
        age_leases(app, outbox.BACKOFF_FIRST * 2)  # the first back-off has passed
        with app.app_context():
            swept = jobs.sweep_outbox(utcnow() + timedelta(minutes=2))
        start_worker(app, tmp_path / "worker-up.log", burst=True).wait(300)
    finally:
        controller.stop()
    _reminders, states, _runs = _counts(app)
    assert states == {"sent": ORDERS}
    mails = delivered(sink)
    duplicates = sum(n - 1 for n in mails.values())
    assert len(mails) == ORDERS and duplicates == 0
    assert mail_sink.messages() == []
    print(
        f"\nSMTP down: {len(waiting)} messages waiting after one attempt each; back up: "
        f"swept {swept}, mails {sum(mails.values())}, duplicates {duplicates}"
    )


def test_two_runs_of_the_same_day_at_once(app, make_merchant, mail_sink, tmp_path):
    """A scheduled and a manual run of the same day, each in a worker of its own, at once over
    320 due orders: every step once, one accounting digest, every mail once."""
    from ledger import dunning
    from ledger.db import db
    from ledger.models import DunningEvent, DunningRun, Merchant, OutboxMessage

    merchant_id = book(
        app, make_merchant, ORDERS, rules="vorkasse after 14 days: remind and notify accounting\n"
    )
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        runs = [dunning.start_run(merchant, RUN_DAY, trigger) for trigger in ("schedule", "cli")]
        db.session.commit()
        for run in runs:
            dunning.hand_to_worker(run.id)
    workers = [start_worker(app, tmp_path / f"worker-{n}.log", burst=True) for n in (1, 2)]
    for worker in workers:
        worker.wait(300)

    with app.app_context():
        events = Counter(
            db.session.execute(select(DunningEvent.order_id, DunningEvent.action)).all()
        )
        purposes = Counter(db.session.scalars(select(OutboxMessage.purpose)))
        examined = [run.orders_examined for run in db.session.scalars(select(DunningRun))]
    reminders, states, runs = _counts(app)
    assert len(reminders) == ORDERS and set(reminders.values()) == {1}
    assert set(events.values()) == {1}  # no duplicate event of any kind
    assert purposes == {"reminder": ORDERS, "accounting_digest": 1}
    assert states == {"sent": ORDERS + 1} and runs == {"done": 2}
    mails = delivered(mail_sink)
    duplicates = sum(n - 1 for n in mails.values())
    assert len(mails) == ORDERS + 1 and duplicates == 0
    print(
        f"\ntwo runs at once (examined {examined}): events {sum(events.values())}, "
        f"digests {purposes['accounting_digest']}, mails {sum(mails.values())}, "
        f"duplicates {duplicates}"
    )

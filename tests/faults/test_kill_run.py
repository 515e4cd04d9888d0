"""kill -9 of the run process at points spread over a run of 320 due orders, then the documented
recovery (the scheduler's recover_runs, the outbox sweeper): every due step exactly once, every
message delivered exactly once at the real SMTP sink, no run left running.
docs/reliability.md reports the counts (`pytest -s` prints them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.faults.parts import ROOT, RUN_DAY, book

pytestmark = pytest.mark.slow

ORDERS = 320
# When the run process is killed: -1 as soon as it started (before it claimed the run), else
# once the run reports that many orders examined (its batches of 20 commit one by one), so the
# kills spread over the run however fast the machine and the database are.
KILL_AT = (-1, 0, 20, 60, 100, 140, 180, 220, 260, 300)

CHILD = """
import json, os, sys
from app import create_app
from ledger import dunning
dunning.BATCH_SIZE = 20  # many small commits: a kill lands between and inside them
app = create_app(json.loads(os.environ["FAULT_CONFIG"]))
with app.app_context():
    from worker.jobs import run_dunning
    print("started", flush=True)
    run_dunning(int(sys.argv[1]))
"""


def _child_config(app) -> dict:
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RQ_QUEUE", "MAIL_SERVER", "MAIL_PORT")
    return {k: app.config[k] for k in keys} | {"TESTING": True}


def _examined(app, run_id: int) -> int | None:
    """Orders the run has examined so far; None while it is not running yet."""
    from ledger.db import db
    from ledger.models import DunningRun

    with app.app_context():
        run = db.session.get(DunningRun, run_id)
        db.session.refresh(run)
        return run.orders_examined if run.state != "queued" else None


@pytest.mark.parametrize("kill_at", KILL_AT)
def test_a_run_killed_anywhere_is_recovered_exactly_once(app, make_merchant, mail_sink, kill_at):
    from ledger import dunning
    from ledger.db import db
    from ledger.models import DunningEvent, DunningRun, Merchant, OutboxMessage, utcnow
    from worker import jobs

    merchant_id = book(app, make_merchant, ORDERS)
    with app.app_context():
        run = dunning.start_run(db.session.get(Merchant, merchant_id), RUN_DAY, "schedule")
        db.session.commit()
        run_id = run.id
    env = dict(os.environ, FAULT_CONFIG=json.dumps(_child_config(app)))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run_id)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60
    while kill_at >= 0 and time.monotonic() < deadline:
        examined = _examined(app, run_id)
        if (examined is not None and examined >= kill_at) or child.poll() is not None:
            break
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait(30)

    with app.app_context():
        run = db.session.get(DunningRun, run_id)
        killed_mid_run = run.state in ("queued", "running")  # else it had finished
        done_before = run.orders_examined
        later = utcnow() + jobs.RUN_LEASE + timedelta(seconds=1)
        restarted = jobs.recover_runs(later)
        assert len(restarted) == (1 if killed_mid_run else 0)
        for again in restarted:
            jobs.run_dunning(again)
        # The sweeper hands every waiting message to a worker; here they are delivered inline.
        from worker.mail import mail

        mail.init_app(app)
        for message_id in jobs.outbox.due_ids(later + timedelta(minutes=2)):
            jobs.deliver(message_id)
        db.session.expire_all()

        reminders = Counter(
            db.session.scalars(select(DunningEvent.order_id).where(DunningEvent.action == "remind"))
        )
        assert len(reminders) == ORDERS and set(reminders.values()) == {1}  # each step once
        states = Counter(db.session.scalars(select(OutboxMessage.state)))
        assert states == {"sent": ORDERS}
        runs = Counter(db.session.scalars(select(DunningRun.state)))
        assert runs["running"] == runs["queued"] == 0
        assert db.session.scalar(select(func.count(DunningRun.id))) == 1 + len(restarted)
    delivered = Counter(m["X-Mahnwerk-Message"] for m in mail_sink.messages())
    duplicates = sum(n - 1 for n in delivered.values())
    assert len(delivered) == ORDERS and duplicates == 0
    print(
        f"\nkill at {kill_at}: mid-run={killed_mid_run} (examined {done_before}), "
        f"restarted {len(restarted)}, mails {sum(delivered.values())}, duplicates {duplicates}"
    )

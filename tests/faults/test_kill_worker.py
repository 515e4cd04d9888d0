"""kill -9 of the worker (with its work horse) ten times, spread over the delivery of 300
reminders, each time started again (as `mahnwerk serve` does); then the documented recovery of
what the dead workers held: after the lease, the scheduler's sweep. Every message reaches the
real SMTP sink; a duplicate is only the crash window (SMTP's 250 came, `sent` was not yet
committed): at most one per kill, with the same Message-ID. docs/reliability.md reports the
counts (`pytest -s` prints them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.faults.parts import (
    RUN_DAY,
    age_leases,
    book,
    delivered,
    kill_group,
    start_worker,
    wait_for,
)

pytestmark = pytest.mark.slow
ORDERS = 300
# The worker is killed as soon as this many mails have arrived at the sink.
KILL_AT = (1, 30, 60, 95, 130, 165, 200, 230, 255, 280)  # each kill may hold one back


def test_a_worker_killed_ten_times_while_delivering_loses_nothing(
    app, make_merchant, mail_sink, tmp_path
):
    from ledger import dunning, outbox
    from ledger.db import db
    from ledger.models import Merchant, OutboxMessage, utcnow
    from worker import jobs

    merchant_id = book(app, make_merchant, ORDERS)
    with app.app_context():
        run = dunning.start_run(db.session.get(Merchant, merchant_id), RUN_DAY, "schedule")
        db.session.commit()
        jobs.run_dunning(run.id)  # decides and queues the 300 deliveries, batch by batch
    kills = []
    for number, kill_at in enumerate(KILL_AT):
        # Each time the worker is started again, as `mahnwerk serve` does with a dead child.
        worker = start_worker(app, tmp_path / f"worker-{number}.log")
        try:
            wait_for(lambda at=kill_at: len(delivered(mail_sink)) >= at, 180, "mails", 0.002)
        finally:
            kill_group(worker)
        with app.app_context():
            sending = db.session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.state == "sending")
            )
        kills.append((sum(delivered(mail_sink).values()), sending))

    # The worker once more, until its queue is empty; what the dead ones held (a job taken from
    # the queue, a message under lease) waits for the lease to run out and the scheduler's sweep.
    start_worker(app, tmp_path / "worker-last.log", burst=True).wait(300)
    age_leases(app, outbox.LEASE + timedelta(minutes=1))
    with app.app_context():
        swept = jobs.sweep_outbox(utcnow() + timedelta(minutes=2))
    start_worker(app, tmp_path / "worker-sweep.log", burst=True).wait(300)

    with app.app_context():
        states = dict(
            db.session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        )
    assert states == {"sent": ORDERS}
    mails = delivered(mail_sink)
    duplicates = sum(n - 1 for n in mails.values())
    assert len(mails) == ORDERS  # none lost
    assert duplicates <= len(KILL_AT)  # the crash window: at most one per kill
    ids = defaultdict(set)
    for mail in mail_sink.messages():
        ids[mail["X-Mahnwerk-Message"]].add(mail["Message-ID"])
    assert all(len(found) == 1 for found in ids.values())  # a resend keeps its Message-ID
    print(
        "\nkilled at (mails at the sink, messages left sending): "
        + ", ".join(f"({at}, {sending})" for at, sending in kills)
        + f"; swept {swept}; mails {sum(mails.values())}; duplicates {duplicates}"
    )

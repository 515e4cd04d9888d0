"""Exactly once when something dies: leased deliveries, failures that count and end, digests
claimed by one run, and runs that are started again after their process died."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import func, select

from ledger import dunning, outbox
from ledger.db import db
from ledger.models import DunningEvent, DunningRun, Merchant, OutboxMessage, RunState, utcnow
from worker import jobs
from worker.mail import mail

REMINDER_DAY = date(2026, 10, 15)
CANCEL_DAY = date(2026, 10, 22)


def _reminders(card_merchant, add_order, count=3):
    for n in range(count):
        add_order(card_merchant, f"P-{n}")
    dunning.execute(card_merchant, REMINDER_DAY)
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def test_a_live_lease_is_not_taken_over_an_expired_one_is(card_merchant, add_order):
    (message_id,) = _reminders(card_merchant, add_order, 1)
    assert outbox.claim(message_id, "worker-a")
    assert not outbox.claim(message_id, "worker-b")  # a live worker is sending it
    later = utcnow() + outbox.LEASE + timedelta(seconds=1)
    assert outbox.due_ids(later) == [message_id]  # the sweeper sees the expired lease
    assert outbox.claim(message_id, "worker-b", later)
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    assert (message.claimed_by, message.attempts) == ("worker-b", 2)


def test_any_failure_counts_backs_off_and_ends_failed(app, card_merchant, add_order, monkeypatch):
    """Not only SMTP errors: a crash inside the channel (a full disk, a bug) is an attempt."""
    (message_id,) = _reminders(card_merchant, add_order, 1)

    def broken(message, merchant):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(jobs.CHANNELS, "email", broken)
    delays = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        message = db.session.get(OutboxMessage, message_id)
        message.next_attempt_at = None  # its back-off has passed
        db.session.commit()
        assert jobs.deliver(message_id) == "failed"
        db.session.refresh(message)
        assert message.attempts == attempt and "No space left" in message.last_error
        if message.next_attempt_at:
            delays.append(round((message.next_attempt_at - utcnow()).total_seconds() / 60))
    assert message.state == "failed"  # after MAX_ATTEMPTS, visible with its reason
    assert delays == [1, 2, 4, 8]  # minutes: exponential, capped at two hours
    outbox.retry(message)
    db.session.commit()
    assert message.state == "pending" and message.attempts == 0


def test_two_runs_writing_digests_at_once_send_one(app, card_merchant, add_order):
    """The digest claims its events: of two overlapping runs one writes it, never both."""
    for n in range(30):
        add_order(card_merchant, f"P-{n}")
    dunning.execute(card_merchant, REMINDER_DAY)
    db.session.commit()
    merchant_id, errors = card_merchant.id, []
    start = threading.Barrier(2)

    def run():
        try:
            with app.app_context():
                merchant = db.session.get(Merchant, merchant_id)
                start.wait()
                dunning.execute(merchant, CANCEL_DAY)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    db.session.expire_all()
    digests = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.purpose == "accounting_digest")
    ).all()
    assert len(digests) == 1 and len(digests[0].payload["orders"]) == 30
    assert db.session.scalar(select(func.count(DunningEvent.id)).where(
        DunningEvent.action == "cancel")) == 30  # fmt: skip


def test_a_big_digest_lists_the_first_rows_and_attaches_all(app, card_merchant, add_order):
    from ledger import digest

    count = digest.ROWS_IN_BODY + 25
    for n in range(count):
        add_order(card_merchant, f"P-{n:04d}")
    dunning.execute(card_merchant, REMINDER_DAY)
    dunning.execute(card_merchant, CANCEL_DAY)
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.purpose == "accounting_digest")
    )
    assert f"{count} Bestellung(en)" in message.subject
    assert "P-0000" in message.body and f"P-{count - 1:04d}" not in message.body
    attachment = message.payload["attachment"]
    assert attachment["text"].count("\n") == count + 1  # header and one line per order
    mail.init_app(app)
    assert jobs.deliver(message.id) == "sent"


def test_a_run_that_died_is_marked_interrupted_and_started_again(app, card_merchant, add_order):
    for n in range(12):
        add_order(card_merchant, f"P-{n}")
    db.session.commit()
    run = dunning.start_run(card_merchant, REMINDER_DAY, "schedule")
    db.session.commit()
    # The run process died after the first batch: half the orders reminded, then silence.
    dunning.execute(card_merchant, REMINDER_DAY, run=run, only=list(range(1, 7)))
    run.state, run.heartbeat_at = RunState.RUNNING, utcnow() - jobs.RUN_LEASE * 2
    db.session.commit()
    assert jobs.recover_runs(utcnow() - jobs.RUN_LEASE * 3) == []  # not yet: heartbeat fresh
    (again,) = jobs.recover_runs()
    assert db.session.get(DunningRun, run.id).state == "interrupted"
    restarted = db.session.get(DunningRun, again)
    assert (
        restarted.restart_of == run.id
        and restarted.schedule_key == f"{card_merchant.id}:2026-10-15"
    )
    assert jobs.run_dunning(again)["steps"] == {"remind": 6}  # the other six, once each
    assert db.session.scalar(select(func.count(DunningEvent.id))) == 12
    assert jobs.recover_runs() == []  # nothing left to recover

"""Delivery and dispatch jobs against the real SMTP sink and real Redis."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from ledger import dunning, lifecycle, outbox
from ledger.db import db
from ledger.models import BulkJob, DunningRun, OutboxMessage
from ledger.webhooks import signature
from worker.jobs import daily_run_day, deliver, dispatch_daily_runs
from worker.mail import mail

REMINDER_DAY = date(2026, 10, 15)  # 14 days after the orders of tests.conftest.DAY0


def _remind_one(card_merchant, add_order, number="P-1"):
    order = add_order(card_merchant, number)
    dunning.execute(card_merchant, REMINDER_DAY)

    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.order_id == order.id))
    return order, message.id


def test_deliver_sends_once_through_smtp(card_merchant, add_order, mail_sink):
    _order, message_id = _remind_one(card_merchant, add_order)
    assert deliver(message_id) == "sent"
    assert deliver(message_id) == "not due"  # a duplicate job sends nothing
    received = mail_sink.messages()
    assert [m["To"] for m in received] == ["p-1@example.de"]
    assert received[0]["X-Mahnwerk-Purpose"] == "reminder"
    message = db.session.get(OutboxMessage, message_id)
    assert message.state == "sent" and message.attempts == 1 and message.sent_at


def test_a_message_sent_again_keeps_its_one_message_id(card_merchant, add_order, mail_sink):
    """After a crash between SMTP's 250 and `sent` the message goes out again: the receiving
    side can recognise it by its Message-ID, of which there is exactly one."""
    _order, message_id = _remind_one(card_merchant, add_order)
    assert deliver(message_id) == "sent"
    message = db.session.get(OutboxMessage, message_id)
    message.state, message.claimed_at = "sending", datetime(2026, 1, 1)  # a dead worker's lease
    db.session.commit()
    assert deliver(message_id) == "sent"
    first, again = mail_sink.messages()
    assert len(first.get_all("Message-ID")) == len(again.get_all("Message-ID")) == 1
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].startswith(f"<mahnwerk.{message_id}.")


def test_last_look_before_sending_to_a_customer(card_merchant, add_order, mail_sink):
    """If the order got paid between decision and delivery, the reminder is not sent."""

    order, message_id = _remind_one(card_merchant, add_order)
    # Paid by a path that does not touch the outbox (e.g. a direct status change).
    order.status = "paid"
    db.session.commit()
    assert deliver(message_id) == "cancelled"
    assert mail_sink.messages() == []
    assert db.session.get(OutboxMessage, message_id).state == "cancelled"


def _payment_info(order):
    message = outbox.add(
        order.merchant_id, "email", "payment_info", order.customer_email, order_id=order.id,
        subject="Zahlungsinformationen", body="Bitte überweisen Sie 80,00 EUR.",
    )  # fmt: skip
    db.session.commit()
    return message.id


def test_last_look_before_payment_information(card_merchant, add_order, mail_sink):
    """Payment information goes to a blocked order (the merchant asked for it) but never to one
    paid or cancelled between the request and delivery."""
    order = add_order(card_merchant, "P-1")
    lifecycle.block(order, lifecycle.Cause("test", "manual", REMINDER_DAY, reason="Rückfrage"))
    db.session.commit()
    assert deliver(_payment_info(order)) == "sent"

    for status in ("paid", "cancelled"):
        message_id = _payment_info(order)
        order.status = status  # by a path that does not touch the outbox
        db.session.commit()
        assert deliver(message_id) == "cancelled"
        assert db.session.get(OutboxMessage, message_id).state == "cancelled"
        order.status = "unpaid"
    assert len(mail_sink.messages()) == 1


def test_smtp_failure_is_retried_later(app, card_merchant, add_order, mail_sink, unused_port):
    _order, message_id = _remind_one(card_merchant, add_order)
    app.config["MAIL_PORT"] = unused_port  # nobody listens there

    mail.init_app(app)
    assert deliver(message_id) == "failed"
    message = db.session.get(OutboxMessage, message_id)
    assert message.state == "pending" and message.attempts == 1
    assert "SMTP" in message.last_error
    scheduled = app.extensions["job_queue"].queue.scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1

    assert message.next_attempt_at > message.created_at  # backs off: not before its time
    assert deliver(message_id) == "not due"

    app.config["MAIL_PORT"] = mail_sink.port
    mail.init_app(app)
    message.next_attempt_at = message.created_at  # the delay has passed
    db.session.commit()
    assert deliver(message_id) == "sent"
    assert len(mail_sink.messages()) == 1
    assert db.session.get(OutboxMessage, message_id).attempts == 2


def test_webhook_is_signed():
    body = b'{"event": "order.cancelled"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret", body) == f"sha256={expected}"


def test_daily_run_starts_at_six_local_time():
    winter_0459_utc = datetime(2026, 11, 23, 4, 59, tzinfo=UTC)  # 05:59 in Berlin
    assert daily_run_day("Europe/Berlin", winter_0459_utc, 6) is None
    at_six = winter_0459_utc + timedelta(minutes=1)
    assert daily_run_day("Europe/Berlin", at_six, 6).isoformat() == "2026-11-23"
    summer = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)  # 06:00 CEST
    assert daily_run_day("Europe/Zurich", summer, 6).isoformat() == "2026-07-01"
    late_evening = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Vienna
    assert daily_run_day("Europe/Vienna", late_evening, 6) is None


def test_dispatch_starts_one_run_per_merchant_and_day(app, card_merchant, make_merchant):
    make_merchant("Ohne Regeln AG")  # no active rules: no run
    seven_berlin = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    started = dispatch_daily_runs(seven_berlin)
    assert len(started) == 1
    assert dispatch_daily_runs(seven_berlin + timedelta(minutes=10)) == []
    assert db.session.scalar(select(func.count(DunningRun.id))) == 1
    run = db.session.get(DunningRun, started[0])
    assert run.trigger == "schedule" and run.run_on.isoformat() == "2026-11-23"
    assert app.extensions["job_queue"].queue.count == 1


def test_a_bulk_job_whose_rq_job_is_gone_goes_to_the_workers_again(app, card_merchant):
    """Redis away when Start was pressed, or lost with a restart: the job stays queued or
    running without an RQ job; the scheduler's sweep hands it over once it has waited longer
    than a run's lease (a fresh one not yet), and not again while RQ has it."""
    from worker.jobs import RUN_LEASE, recover_bulk_jobs

    now = datetime(2026, 12, 1, 8, 0)
    old = now - RUN_LEASE - timedelta(seconds=1)
    jobs = [
        BulkJob(merchant_id=card_merchant.id, action="remind", params={}, order_ids=[],
                created_by="user:owner@x", created_at=when, state=state)
        for when, state in ((old, "queued"), (old, "running"), (old, "done"), (now, "queued"))
    ]  # fmt: skip
    db.session.add_all(jobs)
    db.session.commit()
    waiting, running = jobs[0].id, jobs[1].id
    assert recover_bulk_jobs(now) == [waiting, running]
    queue = app.extensions["job_queue"]
    assert [(job.id, job.func_name, job.args) for job in queue.queue.get_jobs()] == [
        (queue.job_id("bulk", waiting), "worker.jobs.run_bulk_job", (waiting,)),
        (queue.job_id("bulk", running), "worker.jobs.run_bulk_job", (running,)),
    ]
    assert recover_bulk_jobs(now) == []  # RQ has them: not handed over twice

"""Retention: after 36 months an email's and a letter's content goes, a tombstone stays."""

from __future__ import annotations

from datetime import date, datetime, timedelta


def test_cutoff_is_36_months_back():
    from ledger.retention import cutoff

    assert cutoff(date(2026, 12, 1)) == datetime(2023, 12, 1)
    assert cutoff(date(2028, 2, 29)) == datetime(2025, 2, 28)


def test_the_monthly_job_purges_old_messages_and_letters_and_keeps_the_tombstone(
    ctx, card_merchant, add_order
):
    from ledger import outbox
    from ledger.db import db
    from ledger.models import Letter, MessageState, OutboxMessage, utcnow
    from worker.jobs import purge_old_messages

    order = add_order(card_merchant, "R-1")

    def message(created, state=MessageState.SENT, kind="email"):
        found = outbox.add(
            card_merchant.id, kind, "reminder", "r-1@example.de", order_id=order.id,
            subject="Zahlungserinnerung R-1", body="Bitte zahlen", html="<p>Bitte</p>",
            payload={"level": 2, "attachment": {"filename": "x.csv"}}, created_at=created,
        )  # fmt: skip
        found.state = state
        return found

    now = utcnow().replace(microsecond=0)
    long_ago = now - timedelta(days=3 * 365 + 5)
    old = message(long_ago)
    waiting = message(long_ago, state=MessageState.PENDING)
    recent = message(now - timedelta(days=3 * 365 - 30))
    old_letter = message(now - timedelta(days=4 * 365), kind="letter")
    db.session.flush()
    letter = Letter(
        merchant_id=card_merchant.id, order_id=order.id, message_id=old_letter.id,
        kind="reminder", level=2, locale="de", recipient="Kunde R-1\nWeg 1\n10115 Berlin",
        pages=1, pdf=b"%PDF-1.7 ...", created_at=old_letter.created_at,
    )  # fmt: skip
    db.session.add(letter)
    db.session.commit()

    assert purge_old_messages() == 2
    db.session.expire_all()
    tombstone = db.session.get(OutboxMessage, old.id)
    assert tombstone.purged_at is not None
    assert (tombstone.subject, tombstone.body, tombstone.html, tombstone.recipient) == (
        None, None, None, "",
    )  # fmt: skip
    assert tombstone.payload == {"level": 2}
    assert (tombstone.kind, tombstone.purpose, tombstone.created_at) == (
        "email", "reminder", long_ago,
    )  # fmt: skip
    assert db.session.get(OutboxMessage, old_letter.id).purged_at is not None
    kept = db.session.get(Letter, letter.id)
    assert kept.pdf is None and kept.recipient == "" and kept.level == 2
    for untouched in (waiting, recent):
        row = db.session.get(OutboxMessage, untouched.id)
        assert row.purged_at is None and row.body == "Bitte zahlen"
    assert purge_old_messages() == 0  # once
